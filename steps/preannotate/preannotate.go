// Package preannotate is the preannotate step kind: a model applied to a
// dataset's images, two-stage as in the seed (find each person, then
// segment each box's crop at the model's resolution; package
// model/annotate), giving a dataset of instance predictions with a
// confidence tag each.
//
//	preannotate "round1" {
//	  model     = train.round0
//	  images    = take.round1
//	  threshold = 0.5
//	  device    = "auto"    # cpu, cuda, or auto: cuda when a GPU answers
//	}
//
// Results are memoized per image under the model's digest, the parameters,
// the device and the image's digest, so a rerun with more images computes
// only the new ones. The device is part of the key: GPU and CPU logits may
// differ in the last bits.
package preannotate

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
	"dsbuild/model"
	"dsbuild/model/annotate"
	"dsbuild/model/gpu"
)

// Kind is the preannotate step kind.
type Kind struct{}

func (Kind) Name() string            { return "preannotate" }
func (Kind) Version() int            { return 1 }
func (Kind) PlatformDependent() bool { return true }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "Predicts instance masks for a dataset's images with a trained model: components of the whole-image mask (or given detections) as boxes, then each box's crop segmented at the model's resolution.",
		Attrs: []engine.AttrSpec{
			{Name: "model", Kind: engine.InputOne, Required: true, Doc: "a train step's model"},
			{Name: "images", Kind: engine.InputOne, Required: true, Doc: "the dataset to annotate; its own objects are not used"},
			{Name: "detections", Kind: engine.InputOne, Doc: "optional: a files step holding one JSON file of detections in COCO results format"},
			{Name: "detection_categories", Type: cty.List(cty.Number), Default: cty.ListValEmpty(cty.Number), Doc: "COCO category ids of detections to use (empty: all)"},
			{Name: "min_score", Type: cty.Number, Default: cty.NumberFloatVal(0), Doc: "detections scoring lower are dropped"},
			{Name: "class", Type: cty.String, Default: cty.StringVal(""), Doc: "class of the predicted objects (default: the model's first foreground class)"},
			{Name: "threshold", Type: cty.Number, Default: cty.NumberFloatVal(0.5), Doc: "foreground probability threshold"},
			{Name: "min_area", Type: cty.Number, Default: cty.NumberIntVal(16), Doc: "instances of fewer image pixels are dropped"},
			{Name: "padding", Type: cty.Number, Default: cty.NumberFloatVal(0.1), Doc: "box padding, a fraction of the box's larger side"},
			{Name: "device", Type: cty.String, Default: cty.StringVal("auto"), Doc: `"cpu", "cuda", or "auto" (cuda when a GPU answers, else the CPU)`},
		},
		Outputs: []string{"dataset"},
	}
}

func (Kind) Validate(cfg *engine.Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	bad := func(attr, msg string) {
		r := cfg.Range(attr)
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + attr, Detail: msg, Subject: &r})
	}
	if d := cfg.String("device"); d != "auto" && d != "cpu" && d != "cuda" {
		bad("device", fmt.Sprintf("device is %q; use \"auto\", \"cpu\" or \"cuda\".", d))
	}
	if t := cfg.Float("threshold"); !(t > 0 && t < 1) {
		bad("threshold", fmt.Sprintf("threshold is %v; it must lie strictly between 0 and 1.", t))
	}
	if a := cfg.Float("min_area"); a < 0 {
		bad("min_area", fmt.Sprintf("min_area is %v; it must be ≥ 0.", a))
	}
	if p := cfg.Float("padding"); p < 0 || p > 4 {
		bad("padding", fmt.Sprintf("padding is %v; it must be 0 to 4.", p))
	}
	return diags
}

// annotated counts images run through the network (not recalled from the
// memo); tests read it.
var annotated atomic.Int64

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
func device(cfg *engine.Config) string {
	switch d := cfg.String("device"); d {
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
// differ in the last bits of a logit.
func (Kind) KeyLines(cfg *engine.Config) []string {
	return []string{"device " + device(cfg)}
}

func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	art, err := model.Load(rc.Store, rc.Inputs["model"])
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	f, err := model.Fold(&art.Config, art.Weights)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	ds, err := dataset.Open(rc.Store, rc.Inputs["images"])
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	class := rc.Config.String("class")
	if class == "" {
		class = art.Config.Foreground[0]
	}
	p := annotate.Params{Class: class, Threshold: rc.Config.Float("threshold"),
		MinArea: int(rc.Config.Float("min_area")), Padding: rc.Config.Float("padding")}
	var boxes map[string][]annotate.Box
	detsText := map[string]string{}
	if d, ok := rc.Inputs["detections"]; ok {
		if boxes, err = readDetections(rc, d, ds); err != nil {
			return nil, err
		}
		for name, bs := range boxes {
			raw, _ := json.Marshal(bs)
			detsText[name] = string(raw)
		}
	}

	dev := device(rc.Config)
	var seg annotate.Segmenter
	switch dev {
	case "cuda":
		eng, err := gpu.NewEngine(f, annotate.DefaultBatch)
		if err != nil {
			r := rc.Config.Range("device")
			return nil, engine.Errorf(r, "device %q: %v; set device = \"cpu\" or \"auto\" to run without a GPU", rc.Config.String("device"), err)
		}
		defer eng.Close()
		seg = &gpuSegmenter{eng: eng, size: art.Config.InputSize}
		rc.Logf("running the network on %s", eng.DeviceName())
	default:
		if rc.Config.String("device") == "auto" {
			_, err := gpuStatus()
			rc.Logf("no GPU (%v); running on the CPU", err)
		}
	}

	salt := rc.ItemSalt()
	if seg == nil {
		seg = annotate.CPU(f, 1) // one image per worker; the workers run in parallel
	}
	entries := make([]dataset.Entry, len(ds.Entries))
	err = rc.ForEach(ctx, len(ds.Entries), 0, func(i int) error {
		e := ds.Entries[i]
		key := cache.Sum([]byte(fmt.Sprintf("dsbuild preannotate item v1\n%s\n%s\n%s\n%s\n%s\n%s\n", salt, rc.Inputs["model"], dev, e.Name, e.Image, detsText[e.Name])))
		var err error
		if entries[i], err = item(rc.Store, seg, p, key, e, boxes[e.Name], boxes != nil); err != nil {
			return fmt.Errorf("images: item %s: %w", e.Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b := dataset.NewBuilder(rc.Store)
	for _, e := range entries {
		if err := b.AddEntry(e); err != nil {
			return nil, err
		}
	}
	meta := &dataset.Meta{
		Classes: []dataset.Class{{Title: class, Shape: dataset.ShapeBitmap, Color: classColor(ds.Meta, class)}},
		Tags:    []dataset.TagMeta{{Name: "confidence", ValueType: dataset.TagAnyNumber, Color: "#1F77B4"}},
	}
	if boxes != nil {
		meta.Tags = append(meta.Tags, dataset.TagMeta{Name: "score", ValueType: dataset.TagAnyNumber, Color: "#FF7F0E"})
	}
	out, err := b.Finish(meta)
	if err != nil {
		return nil, err
	}
	return map[string]cache.Digest{"dataset": out.Tree}, nil
}

func classColor(m *dataset.Meta, class string) string {
	for _, c := range m.Classes {
		if c.Title == class {
			return c.Color
		}
	}
	return "#E6194B"
}

// item annotates one image, or recalls its memoized entry.
func item(s *cache.Store, seg annotate.Segmenter, p annotate.Params, key cache.Digest, e dataset.Entry, boxes []annotate.Box, haveDets bool) (dataset.Entry, error) {
	if outs, err := s.GetMemo(key); err == nil && len(outs) == 1 {
		if raw, err := s.ReadBlob(outs[0].Digest); err == nil {
			var m dataset.Entry
			if json.Unmarshal(raw, &m) == nil && s.Has(m.Image) && s.Has(m.Ann) {
				return m, nil
			}
		}
	}
	annotated.Add(1)
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
	objs, err := annotate.Annotate(seg, img, boxes, p)
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
	out := dataset.Entry{Name: e.Name, Image: e.Image, ImageSize: e.ImageSize, Ann: ad, AnnSize: int64(len(annRaw)), Width: a.Width, Height: a.Height}
	mr, _ := json.Marshal(out)
	md, err := s.PutBytes(mr)
	if err != nil {
		return dataset.Entry{}, err
	}
	return out, s.PutMemo(key, []cache.Output{{Name: "entry", Digest: md}})
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
	var cats []int
	for it := rc.Config.Params["detection_categories"].ElementIterator(); it.Next(); {
		_, v := it.Element()
		f, _ := v.AsBigFloat().Int64()
		cats = append(cats, int(f))
	}
	sort.Ints(cats)
	boxes, err := annotate.ParseDetections(raw, names, cats, rc.Config.Float("min_score"))
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
