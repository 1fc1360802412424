// Package preannotate is the preannotate step kind: models applied to a
// dataset's images (package model/annotate), giving a dataset of instance
// predictions with a confidence tag each. Two modes:
//
//	preannotate "round1" {
//	  model     = train.round0
//	  images    = take.round1
//	  mode      = "scene"   # the default: one pass, every component an instance
//	  threshold = 0.5
//	  device    = "auto"    # cpu, cuda, or auto: cuda when a GPU answers
//	  flip      = true      # optional: also segment the mirrored image, average
//	}
//
//	preannotate "round1" {
//	  mode       = "boxes"          # two stages, two models
//	  model      = train.round0     # stage 1: its components' boxes
//	  crop_model = train.crops0     # stage 2: trained with crop_padding
//	  images     = take.round1
//	  detections = files.dets       # optional: stage 1's boxes instead
//	}
//
// flip = true (either mode) averages each segmentation with its mirror
// image's (annotate.FlipAverage): twice the network's work, usually a
// slightly better mask. Unset, it stays out of the key.
//
// In boxes mode the boxes are padded by the crop model's recorded
// crop_padding, the padding instances_crop cut its training crops with;
// a recipe's padding must agree with it.
//
// Results are memoized per image under the models' digests, the
// parameters, the device and the image's digest, so a rerun with more
// images computes only the new ones. The device is part of the key: GPU
// and CPU logits may differ in the last bits.
//
// # Command mode: your own predictor
//
//	preannotate "r1" {
//	  command            = ["sh", "inputs/code/predict.sh"]
//	  inputs             = { code = files.predictor }
//	  model              = train.m    # any model artifact (docs/model.md)
//	  images             = take.r1
//	  predictions_format = "coco"     # or "supervisely"
//	  classes            = ["person"] # default: the model's
//	  env                = ["OMP_NUM_THREADS"]
//	  deterministic      = false      # optional
//	}
//
// With command, the step runs the user's predictor instead of the built-in
// network, as exec runs a command (steps/exec: a scratch directory, the
// allow-listed environment env, whose values enter the key, no process
// left behind, progress lines "dsbuild:progress k=v …" shown as the
// step's status). The built-in network's attributes (threshold, min_area,
// device, padding, class, detection_categories, min_score, detections,
// crop_model) are refused with it (but see boxes mode below), and command
// mode's (inputs, predictions_format, classes, env, deterministic) without
// it.
//
// model is any artifact that keeps the model contract (model.Inspect,
// checked before the command runs). classes are the classes of category
// ids 1, 2, …: as set, else the model's config.json "classes" list, else
// its "foreground" list (a dsbuild-model/1 model's config.foreground);
// none is an error asking to set classes.
//
// Results are memoized per image, under their own item scheme ("preannotate
// command item v1"): the step's parameters and env values (the salt), the
// model's digest, the other inputs' digests and the image's digest. Before
// the command runs, the images whose results are memoized are set aside
// (engine.Misses); the command runs once, over the others only, and not at
// all when there are none: a rerun with more images predicts the new ones.
// The command's directory holds, read-only:
//
//	inputs/model/            the model tree
//	inputs/images/<item>     the images to predict, as stored ("<dataset>/<file>")
//	inputs/images.json       {"images": [{"id": 1, "file_name": "<dataset>/<file>",
//	                          "width": W, "height": H}, …],
//	                          "categories": [{"id": 1, "name": "person"}, …]}
//	inputs/<name>/           each of inputs
//
// Image ids are 1, 2, … in item name order (of the images given, not of
// the whole dataset); categories follow classes. The command writes
// predictions/:
//
//   - predictions_format = "coco" (the default): predictions/results.json,
//     a COCO results list [{"image_id", "category_id", "segmentation",
//     "score"}, …]. segmentation is an RLE {"size": [h, w], "counts": a
//     compressed string or a list of run lengths} (column-major, runs
//     starting with 0s, as pycocotools), whose size must be the image's,
//     or polygons [[x1, y1, x2, y2, …], …] in pixels from the image's
//     top-left corner (at least 3 points each, within a pixel of the
//     image; their union, rasterized by pixel centres). bbox and any
//     other key are ignored.
//   - predictions_format = "supervisely": predictions/ is a Supervisely
//     project: meta.json (optional; it decides a class's geometry as in
//     the SDK) and <dataset>/ann/<file>.json for image <dataset>/<file>,
//     of the image's size, each object's score in its tag "confidence"
//     (or "score"); any geometry that covers pixels (bitmap, polygon,
//     rectangle).
//
// Validation is strict and names the file, the result (or image and
// object) and what to do: an unknown image_id or annotation file, a
// category id or class not in classes, an RLE of another size, a
// malformed segmentation, a score that is not a number from 0 to 1, no
// predictions/ at all. One error fails the step before anything is
// memoized. An image no result names has no objects; a mask without a
// pixel gives no object.
//
// The output has the built-in mode's shape, so review and merge-back work
// alike: every object a bitmap of its class cropped to its box, tagged
// "confidence" = its score, objects ordered by (top, left, area); the meta
// has every class of classes (bitmap) and the tag "confidence".
//
// # Boxes mode with a command: your detector, dsbuild's crop model
//
//	preannotate "r1" {
//	  mode       = "boxes"
//	  command    = ["python3", "inputs/code/detect.py"]
//	  inputs     = { code = files.detector }
//	  model      = files.detector_weights  # the detector: any model artifact
//	  crop_model = train.crops0            # trained with crop_padding
//	  images     = take.r1
//	  min_score  = 0.3                     # optional, as for detections
//	}
//
// The command is stage 1: laid out and run as above (once, over the images
// not memoized), it writes predictions/results.json, COCO results whose
// "bbox" [x, y, width, height] (pixels; the pixels it touches, which must
// overlap the image) and "score" are each a box; segmentation is ignored.
// Boxes of a category not in detection_categories (when set) or scoring
// below min_score are dropped; then crop_model segments each padded box as
// it does a detections file's (annotate.Boxes), with threshold, min_area,
// padding, class and device as in the built-in boxes mode. Objects carry
// "confidence" and the detector's "score". The items' scheme is
// "preannotate command boxes item v1"; their key lines add the crop
// model's digest and the device, and the key the image decoder.
// predictions_format must be "coco" and detections is refused.
package preannotate

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
	"dsbuild/model"
	"dsbuild/model/annotate"
	"dsbuild/model/gpu"
	"dsbuild/steps/exec"
)

// Kind is the preannotate step kind.
type Kind struct{}

func (Kind) Name() string            { return "preannotate" }
func (Kind) Version() int            { return 2 } // 2: mode, crop_model; padding per axis as instances_crop
func (Kind) PlatformDependent() bool { return true }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: `Predicts instance masks for a dataset's images. mode = "scene" (the default): the whole image segmented once by model, every connected component an instance. mode = "boxes": boxes from model's components (or from detections), each padded box's crop segmented by crop_model.`,
		Attrs: []engine.AttrSpec{
			{Name: "model", Kind: engine.InputOne, Required: true, Doc: `a train step's model: it segments the whole image (scene mode), or its components give stage 1's boxes (boxes mode without detections)`},
			{Name: "crop_model", Kind: engine.InputOne, Doc: `mode = "boxes" only, and required there: a train step's model trained on instances_crop crops with crop_padding set; it segments each padded box`},
			{Name: "images", Kind: engine.InputOne, Required: true, Doc: "the dataset to annotate; its own objects are not used"},
			{Name: "mode", Type: cty.String, Default: cty.StringVal("scene"), Doc: `"scene": one pass over the whole image, each 8-connected component of at least min_area pixels an instance (touching objects merge); "boxes": two stages, boxes then crop_model on each padded box`},
			{Name: "detections", Kind: engine.InputOne, Doc: `mode = "boxes" only, optional: a files step holding one JSON file of detections in COCO results format, used as stage 1's boxes`},
			{Name: "detection_categories", Type: cty.List(cty.Number), Int: true, Default: cty.ListValEmpty(cty.Number), Doc: "COCO category ids of detections to use (empty: all)"},
			{Name: "min_score", Type: cty.Number, Default: cty.NumberFloatVal(0), Doc: "detections scoring lower are dropped"},
			{Name: "class", Type: cty.String, Default: cty.StringVal(""), Doc: "class of the predicted objects (default: the first foreground class of the model that makes the masks: model in scene mode, crop_model in boxes mode)"},
			{Name: "threshold", Type: cty.Number, Default: cty.NumberFloatVal(0.5), Doc: "foreground probability threshold"},
			{Name: "min_area", Type: cty.Number, Default: cty.NumberIntVal(16), Doc: "instances (and stage 1's components) of fewer image pixels are dropped"},
			{Name: "padding", Type: cty.Number, Doc: `mode = "boxes" only: box padding in whole percent of the box's width (left, right) and height (top, bottom), as instances_crop's pad = "<padding·100>%"; default and only allowed value: the crop model's crop_padding`},
			{Name: "device", Type: cty.String, Default: cty.StringVal("auto"), Doc: `"cpu", "cuda", or "auto" (cuda when a GPU answers, else the CPU)`},
			// No default: unset, it stays out of the key, so the
			// steps written before it keep theirs.
			{Name: "flip", Type: cty.Bool, Doc: "test-time flip: segment each image (each crop, in boxes mode) also mirrored left to right and average the two logit maps, for about twice the inference; helps a model trained with flip = true"},
			// Command mode. No defaults: an absent attribute stays out of
			// the key, so built-in steps keep theirs.
			{Name: "command", Type: cty.List(cty.String), Doc: "your predictor: program and arguments (no shell unless you call one), run once over the images not yet predicted, instead of the built-in network; model is then any model artifact (docs/model.md)"},
			{Name: "inputs", Kind: engine.InputMap, Doc: "command only: more step outputs, materialized read-only at inputs/<name>/ (model and images are taken)"},
			{Name: "predictions_format", Type: cty.String, Doc: `command only: what the command writes, "coco" (default: predictions/results.json, a COCO results list) or "supervisely" (predictions/ as a Supervisely project, scores in the objects' "confidence" tags)`},
			{Name: "classes", Type: cty.List(cty.String), Doc: `command only: the classes of category ids 1, 2, … (default: the model's config.json "classes", else its "foreground")`},
			{Name: "env", Type: cty.List(cty.String), Doc: "command only: environment variables passed to the command (their values enter the key)"},
		},
		Outputs: []string{"dataset"},
	}
}

// hasInput reports whether the step sets the input attribute attr.
func hasInput(cfg *engine.Config, attr string) bool {
	for _, in := range cfg.Inputs {
		if in.Attr == attr {
			return true
		}
	}
	return false
}

// settings are a preannotate step's parameters, decoded when the recipe
// loads.
type settings struct {
	boxes      bool     // mode = "boxes"
	padding    *float64 // nil when not set
	threshold  float64
	minArea    int
	class      string // "" for the first foreground class of the model
	device     string // "auto", "cpu" or "cuda", as set
	categories []int  // detection_categories, sorted
	minScore   float64
	flip       bool // flip = true: test-time flip averaging (annotate.FlipAverage)

	// Command mode (command set).
	command []string // the predictor; nil in built-in mode
	format  string   // predictions_format: FormatCOCO or FormatSupervisely
	classes []string // as set; nil: the model's
	env     []string // allow-listed variables
}

// builtinOnly are the attributes of the built-in network, which command
// mode refuses; commandOnly those of command mode.
var (
	builtinOnly = []string{"threshold", "min_area", "device", "padding", "class", "detection_categories", "min_score", "detections", "crop_model", "flip"}
	commandOnly = []string{"inputs", "predictions_format", "classes", "env", engine.DeterministicAttr}
)

// written reports whether the step's block sets attribute attr (a default
// is not written).
func written(cfg *engine.Config, attr string) bool {
	_, ok := cfg.Ranges[attr]
	return ok || hasInput(cfg, attr)
}

// Decode reads and checks the parameters and which inputs the mode takes
// (engine.Decoder).
func (Kind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	mode, minArea := cfg.String("mode"), cfg.Float("min_area")
	set := &settings{boxes: mode == "boxes", threshold: cfg.Float("threshold"), minArea: int(minArea),
		class: cfg.String("class"), device: cfg.String("device"), minScore: cfg.Float("min_score"), flip: cfg.Bool("flip")}
	if cfg.Has("padding") {
		p := cfg.Float("padding")
		set.padding = &p
	}
	if cfg.Has("detection_categories") {
		for it := cfg.Params["detection_categories"].ElementIterator(); it.Next(); {
			_, v := it.Element()
			c, _ := v.AsBigFloat().Int64()
			set.categories = append(set.categories, int(c))
		}
		sort.Ints(set.categories)
	}
	var diags hcl.Diagnostics
	diag := func(sev hcl.DiagnosticSeverity, attr, summary, msg string) {
		r := cfg.Range(attr)
		diags = append(diags, &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: msg, Subject: &r})
	}
	bad := func(attr, msg string) { diag(hcl.DiagError, attr, "Invalid "+attr, msg) }
	command := cfg.Has("command")
	if command && mode != "boxes" {
		return set, append(diags, decodeCommand(cfg, set, mode)...)
	}
	if d := set.device; d != "auto" && d != "cpu" && d != "cuda" {
		bad("device", fmt.Sprintf("device is %q; use \"auto\", \"cpu\" or \"cuda\".", d))
	}
	if t := set.threshold; !(t > 0 && t < 1) {
		bad("threshold", fmt.Sprintf("threshold is %v; it must lie strictly between 0 and 1.", t))
	}
	if minArea < 0 {
		bad("min_area", fmt.Sprintf("min_area is %v; it must be ≥ 0.", minArea))
	}
	if set.padding != nil {
		if p := *set.padding; p < 0 || p > 4 {
			bad("padding", fmt.Sprintf("padding is %v; it must be 0 to 4.", p))
		} else if _, err := annotate.PaddingPercent(p); err != nil {
			bad("padding", err.Error()+".")
		}
	}
	if command { // the command is boxes mode's detector
		return set, append(diags, decodeCommand(cfg, set, mode)...)
	}
	for _, attr := range commandOnly {
		if !written(cfg, attr) {
			continue
		}
		what := "an attribute of command mode"
		if attr == engine.DeterministicAttr {
			what = "for a command that may give other outputs from the same inputs"
		}
		bad(attr, fmt.Sprintf("%s is %s; without command, the step runs dsbuild's network on model. Set command = [...] to run your own predictor, or remove %s.", attr, what, attr))
	}
	switch mode {
	case "scene":
		if hasInput(cfg, "crop_model") {
			bad("crop_model", `crop_model is used by mode = "boxes" only; scene mode segments the whole image with model. Set mode = "boxes", or remove crop_model.`)
		}
		if hasInput(cfg, "detections") {
			bad("detections", `detections are stage 1 of mode = "boxes"; scene mode finds its instances in the whole image's mask. Set mode = "boxes" with a crop_model, or remove detections.`)
		}
		if set.padding != nil {
			diag(hcl.DiagWarning, "padding", "Attribute padding ignored", `padding pads the boxes of mode = "boxes"; scene mode has no boxes and ignores it. Remove it.`)
		}
	case "boxes":
		if !hasInput(cfg, "crop_model") {
			bad("mode", `mode = "boxes" needs crop_model, the model that segments each padded box: a train step trained on crops that a transform's instances_crop made with pad = "<n>%" and with crop_padding = n/100 (for example pad = "10%" and crop_padding = 0.1). Add crop_model = train.<name>, or use mode = "scene" (the default) to segment the whole image with model.`)
		}
	default:
		bad("mode", fmt.Sprintf(`mode is %q; use "scene" (one pass over the whole image) or "boxes" (boxes, then crop_model on each).`, mode))
	}
	return set, diags
}

var probe struct {
	once sync.Once
	err  error
	name string
}

// gpuStatus opens the GPU once per process to see whether one answers.
func gpuStatus() (string, error) {
	probe.once.Do(func() {
		dev, err := gpu.Open()
		if err != nil {
			probe.err = err
			return
		}
		probe.name = dev.Name()
		dev.Close()
	})
	return probe.name, probe.err
}

// device resolves the device parameter: "cpu" or "cuda".
func device(set *settings) string {
	switch d := set.device; d {
	case "auto":
		if _, err := gpuStatus(); err != nil {
			return "cpu"
		}
		return "cuda"
	default:
		return d
	}
}

// KeyLines puts the resolved device in the key: CPU and GPU results may
// differ in the last bits of a logit. So does the image decoder, whose
// pixels the model sees.
//
// In command mode the key has the allow-listed variables' values instead:
// the command reads the image files, not dsbuild's pixels, and no device.
func (Kind) KeyLines(cfg *engine.Config) []string {
	set := engine.Decoded[*settings](cfg)
	builtin := []string{"device " + device(set), dataset.ImageDecoder}
	switch {
	case set.command != nil && set.boxes: // the command's boxes, the crop model's masks
		return append(exec.EnvKeyLines(set.env), builtin...)
	case set.command != nil:
		return exec.EnvKeyLines(set.env)
	}
	return builtin
}

// loadModel loads and folds the model of input attr.
func loadModel(rc *engine.RunContext, attr string) (*model.Artifact, *model.Folded, error) {
	art, err := model.Load(rc.Store, rc.Inputs[attr])
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", attr, err)
	}
	f, err := model.Fold(&art.Config, art.Weights)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", attr, err)
	}
	return art, f, nil
}

// cropPadding is boxes mode's padding: the crop model's recorded
// crop_padding, which a padding the recipe sets must equal.
func cropPadding(rc *engine.RunContext, crop *model.Artifact) (float64, error) {
	rec := crop.Config.CropPadding
	if rec <= 0 {
		return 0, engine.Errorf(rc.Config.Range("crop_model"), "the crop model records no crop padding (its train step did not set crop_padding), so stage 2 cannot pad its boxes as its training crops were padded; train it on instances_crop crops made with pad = \"<n>%%\" and set crop_padding = n/100 on that train step")
	}
	if p := engine.Decoded[*settings](rc.Config).padding; p != nil {
		if set := *p; set != rec {
			return 0, engine.Errorf(rc.Config.Range("padding"), "padding is %v but the crop model was trained on crops padded by %v (its crop_padding); stage 2 must pad as its training crops were: remove padding, or set it to %v", set, rec, rec)
		}
	}
	return rec, nil
}

// detectionsOf reads the boxes of the detections input by image name; nil
// without one.
func detectionsOf(rc *engine.RunContext, ds *dataset.Dataset) (map[string][]annotate.Box, error) {
	d, ok := rc.Inputs["detections"]
	if !ok {
		return nil, nil
	}
	return readDetections(rc, d, ds)
}

// itemsOf lays out the step's items, one per image of ds: their key lines
// (the models, the device, the image, its boxes) and, with run, their work.
// Run and PlanItems share it.
func itemsOf(rc *engine.RunContext, ds *dataset.Dataset, boxes map[string][]annotate.Box, run func(image.Image, []annotate.Box) ([]dataset.Object, error)) (engine.ItemWork[dataset.Entry], []engine.Item[dataset.Entry]) {
	work := engine.ItemWork[dataset.Entry]{
		Scheme: "preannotate item v3",
		Refs:   func(e dataset.Entry) []cache.Digest { return []cache.Digest{e.Image, e.Ann} },
	}
	dev := device(engine.Decoded[*settings](rc.Config))
	items := make([]engine.Item[dataset.Entry], len(ds.Entries))
	for i, e := range ds.Entries {
		dets := ""
		if bs, ok := boxes[e.Name]; ok {
			raw, _ := json.Marshal(bs)
			dets = string(raw)
		}
		items[i] = engine.Item[dataset.Entry]{
			Name: e.Name,
			Key: []string{"model " + rc.Inputs["model"].String(), "crop_model " + rc.Inputs["crop_model"].String(),
				"device " + dev, "image " + e.Image.String(), "detections " + dets},
			Run:   func() (dataset.Entry, error) { return item(rc.Store, run, e, boxes[e.Name], boxes != nil) },
			Reads: []cache.Digest{e.Image},
		}
	}
	return work, items
}

// PlanItems lists the images and their key lines, for plan's estimate.
func (Kind) PlanItems(ctx context.Context, rc *engine.RunContext) (engine.ItemPlan, error) {
	ds, err := dataset.Open(rc.Store, rc.Inputs["images"])
	if err != nil {
		return engine.ItemPlan{}, err
	}
	if set := engine.Decoded[*settings](rc.Config); set.command != nil {
		work, items := commandItems(rc, ds, nil)
		if set.boxes {
			work, items = detectorItems(rc, ds, device(set), nil)
		}
		return engine.PlanOf(work, items), nil
	}
	boxes, err := detectionsOf(rc, ds)
	if err != nil {
		return engine.ItemPlan{}, err
	}
	work, items := itemsOf(rc, ds, boxes, nil)
	return engine.PlanOf(work, items), nil
}

// Itemwise: a step's items can run in shards (engine.ShardRun).
func (Kind) Itemwise() {}

// Commander: a step with command may declare deterministic = false.
func (Kind) Commander() {}

func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	set := engine.Decoded[*settings](rc.Config)
	switch {
	case set.command != nil && set.boxes:
		return runDetector(ctx, rc, set)
	case set.command != nil:
		return runCommand(ctx, rc, set)
	}
	boxesMode := set.boxes
	art, f, err := loadModel(rc, "model")
	if err != nil {
		return nil, err
	}
	ds, err := dataset.Open(rc.Store, rc.Inputs["images"])
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	masks := art // the model whose masks the objects are
	var cropArt *model.Artifact
	var cropF *model.Folded
	pad := 0.0
	if boxesMode {
		if cropArt, cropF, err = loadModel(rc, "crop_model"); err != nil {
			return nil, err
		}
		if pad, err = cropPadding(rc, cropArt); err != nil {
			return nil, err
		}
		masks = cropArt
	}
	class := set.class
	if class == "" {
		class = masks.Config.Foreground[0]
	}
	p := annotate.Params{Class: class, Threshold: set.threshold, MinArea: set.minArea, Padding: pad}
	boxes, err := detectionsOf(rc, ds)
	if err != nil {
		return nil, err
	}

	seg, cropSeg, closeAll, err := segmenters(rc, set, device(set), f, cropF)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	run := func(img image.Image, bs []annotate.Box) ([]dataset.Object, error) {
		if boxesMode {
			return annotate.Boxes(seg, cropSeg, img, bs, p)
		}
		return annotate.Scene(seg, img, p)
	}

	work, items := itemsOf(rc, ds, boxes, run)
	meta := predictionsMeta(ds.Meta, []string{class}, boxes != nil)
	return runItems(ctx, rc, work, items, meta)
}

// predictionsMeta is the meta of a predictions dataset: each class a
// bitmap (in its colour in the images' meta), the confidence tag, and
// with scores the detector's score tag.
func predictionsMeta(images *dataset.Meta, classes []string, scores bool) *dataset.Meta {
	meta := &dataset.Meta{Tags: []dataset.TagMeta{{Name: "confidence", ValueType: dataset.TagAnyNumber, Color: "#1F77B4"}}}
	for _, c := range classes {
		meta.Classes = append(meta.Classes, dataset.Class{Title: c, Shape: dataset.ShapeBitmap, Color: classColor(images, c)})
	}
	if scores {
		meta.Tags = append(meta.Tags, dataset.TagMeta{Name: "score", ValueType: dataset.TagAnyNumber, Color: "#FF7F0E"})
	}
	return meta
}

// runItems runs (or recalls) the items, one entry each, and stores their
// entries, in order, as the step's dataset with meta.
func runItems(ctx context.Context, rc *engine.RunContext, work engine.ItemWork[dataset.Entry], items []engine.Item[dataset.Entry], meta *dataset.Meta) (map[string]cache.Digest, error) {
	results, err := engine.Items(ctx, rc, work, items)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	b := dataset.NewBuilder(rc.Store)
	for _, r := range results {
		if err := b.AddEntry(r.Value); err != nil {
			return nil, err
		}
	}
	out, err := b.Finish(meta)
	if err != nil {
		return nil, err
	}
	return map[string]cache.Digest{"dataset": out.Tree}, nil
}

// segmenters opens the segmenters of f and of cropF (nil: none) on dev,
// each wrapped in annotate.FlipAverage when the step sets flip = true.
func segmenters(rc *engine.RunContext, set *settings, dev string, f, cropF *model.Folded) (seg, cropSeg annotate.Segmenter, closeAll func(), err error) {
	seg, cropSeg, closeAll, err = openSegmenters(rc, set, dev, f, cropF)
	if err != nil || !set.flip {
		return seg, cropSeg, closeAll, err
	}
	seg = annotate.FlipAverage(seg)
	if cropSeg != nil {
		cropSeg = annotate.FlipAverage(cropSeg)
	}
	return seg, cropSeg, closeAll, nil
}

// openSegmenters opens the segmenters of f and of cropF (nil: none) on
// dev: GPU engines, which closeAll closes, or the CPU's. CPU segmenters run
// on the calling goroutine: the items run in parallel on the engine's pool.
func openSegmenters(rc *engine.RunContext, set *settings, dev string, f, cropF *model.Folded) (seg, cropSeg annotate.Segmenter, closeAll func(), err error) {
	if dev == "cuda" {
		return gpuSegmenters(rc, f, cropF)
	}
	if set.device == "auto" {
		_, err := gpuStatus()
		rc.Logf("no GPU (%v); running on the CPU", err)
	}
	seg = annotate.CPU(f)
	if cropF != nil {
		cropSeg = annotate.CPU(cropF)
	}
	return seg, cropSeg, func() {}, nil
}

// gpuSegmenters opens a GPU engine for the model and one for the crop
// model when there is one.
func gpuSegmenters(rc *engine.RunContext, f, cropF *model.Folded) (seg, cropSeg annotate.Segmenter, closeAll func(), err error) {
	var engines []gpu.Engine
	closeAll = func() {
		for _, e := range engines {
			e.Close()
		}
	}
	open := func(f *model.Folded) (annotate.Segmenter, error) {
		eng, err := gpu.NewEngine(f, annotate.DefaultBatch)
		if err != nil {
			r := rc.Config.Range("device")
			return nil, engine.Errorf(r, "device %q: %v; set device = \"cpu\" or \"auto\" to run without a GPU", engine.Decoded[*settings](rc.Config).device, err)
		}
		engines = append(engines, eng)
		return &gpuSegmenter{eng: eng, size: f.Config.InputSize}, nil
	}
	if seg, err = open(f); err != nil {
		return nil, nil, closeAll, err
	}
	rc.Logf("running the network on %s", engines[0].DeviceName())
	if cropF != nil {
		if cropSeg, err = open(cropF); err != nil {
			closeAll()
			return nil, nil, func() {}, err
		}
	}
	return seg, cropSeg, closeAll, nil
}

func classColor(m *dataset.Meta, class string) string {
	for _, c := range m.Classes {
		if c.Title == class {
			return c.Color
		}
	}
	return "#E6194B"
}

// item annotates one image with run.
func item(s *cache.Store, run func(image.Image, []annotate.Box) ([]dataset.Object, error), e dataset.Entry, boxes []annotate.Box, haveDets bool) (dataset.Entry, error) {
	raw, err := s.ReadBlob(e.Image)
	if err != nil {
		return dataset.Entry{}, err
	}
	img, err := dataset.DecodeImage(raw)
	if err != nil {
		return dataset.Entry{}, err
	}
	if haveDets && boxes == nil {
		boxes = []annotate.Box{} // detections given, none for this image
	}
	objs, err := run(img, boxes)
	if err != nil {
		return dataset.Entry{}, err
	}
	a := &dataset.Annotation{Width: img.Bounds().Dx(), Height: img.Bounds().Dy(), Objects: objs}
	annRaw, err := dataset.EncodeAnnotation(a)
	if err != nil {
		return dataset.Entry{}, err
	}
	ad, err := s.PutBytes(annRaw)
	if err != nil {
		return dataset.Entry{}, err
	}
	return dataset.Entry{Name: e.Name, Image: e.Image, ImageSize: e.ImageSize, Ann: ad, AnnSize: int64(len(annRaw)), Width: a.Width, Height: a.Height}, nil
}

// readDetections reads the one JSON file of the detections tree.
func readDetections(rc *engine.RunContext, tree cache.Digest, ds *dataset.Dataset) (map[string][]annotate.Box, error) {
	r := rc.Config.Range("detections")
	var files []string
	digests := map[string]cache.Digest{}
	err := rc.Store.WalkTree(tree, func(p string, e cache.TreeEntry) error {
		if e.Kind != cache.Dir && strings.HasSuffix(strings.ToLower(p), ".json") {
			files = append(files, p)
			digests[p] = e.Digest
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) != 1 {
		return nil, engine.Errorf(r, "detections hold %d JSON files (%s); give exactly one file of COCO results", len(files), strings.Join(files, ", "))
	}
	raw, err := rc.Store.ReadBlob(digests[files[0]])
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ds.Entries {
		names = append(names, e.Name)
	}
	set := engine.Decoded[*settings](rc.Config)
	boxes, err := annotate.ParseDetections(raw, names, set.categories, set.minScore)
	if err != nil {
		return nil, engine.Errorf(r, "detections file %s: %w", files[0], err)
	}
	return boxes, nil
}

// gpuSegmenter adapts a GPU engine to annotate.Segmenter, in chunks of
// the engine's batch.
type gpuSegmenter struct {
	eng  gpu.Engine
	size int
}

func (g *gpuSegmenter) Size() int { return g.size }

func (g *gpuSegmenter) Segment(x []float32, n int) ([]float32, error) {
	per := 3 * g.size * g.size
	var out []float32
	for i := 0; i < n; i += annotate.DefaultBatch {
		k := min(annotate.DefaultBatch, n-i)
		z, err := g.eng.Forward(x[i*per:(i+k)*per], k)
		if err != nil {
			return nil, err
		}
		out = append(out, z...)
	}
	return out, nil
}
