package preannotate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/jpeg"
	"dsbuild/engine"
	"dsbuild/model"
	"dsbuild/steps/exec"
)

// Command mode: the user's predictor (command = [...]) runs once over the
// images whose results are not memoized; see the package doc.

// commandScheme is the item scheme of command mode (built-in mode's is
// "preannotate item v3").
const commandScheme = "preannotate command item v1"

// ImagesFile is the list of the images the command is given, relative to
// its directory.
const ImagesFile = "inputs/images.json"

// commandItems lays out command mode's items, one per image of ds: their
// key lines (the model, the step's other inputs, the image) and, with
// result, their work (the entry of image i). Run and PlanItems share it.
func commandItems(rc *engine.RunContext, ds *dataset.Dataset, result func(i int) (dataset.Entry, error)) (engine.ItemWork[dataset.Entry], []engine.Item[dataset.Entry]) {
	return commandWork(rc, ds, commandScheme, []string{"model " + rc.Inputs["model"].String()}, false, result)
}

// commandWork lays out the items of a mode with a command, one per image
// of ds: their key lines (shared, then the step's other inputs, then the
// image) and, with result, their work (the entry of image i), which reads
// the image itself when reads is set (the command's own reads are its).
func commandWork(rc *engine.RunContext, ds *dataset.Dataset, scheme string, shared []string, reads bool, result func(i int) (dataset.Entry, error)) (engine.ItemWork[dataset.Entry], []engine.Item[dataset.Entry]) {
	work := engine.ItemWork[dataset.Entry]{
		Scheme: scheme,
		Refs:   func(e dataset.Entry) []cache.Digest { return []cache.Digest{e.Image, e.Ann} },
	}
	for _, in := range rc.Config.Inputs { // sorted by name
		if in.Attr == "inputs" {
			shared = append(shared, "input "+in.Name+" "+rc.Inputs[in.Name].String())
		}
	}
	items := make([]engine.Item[dataset.Entry], len(ds.Entries))
	for i, e := range ds.Entries {
		items[i] = engine.Item[dataset.Entry]{
			Name: e.Name,
			Key:  append(append([]string(nil), shared...), "image "+e.Image.String()),
			Run:  func() (dataset.Entry, error) { return result(i) },
		}
		if reads {
			items[i].Reads = []cache.Digest{e.Image}
		}
	}
	return work, items
}

// classesOf resolves the step's classes: as set, else the model's
// config.json "classes", else its "foreground" (a dsbuild-model/1 model's
// config.foreground).
func classesOf(rc *engine.RunContext, set *settings, info *model.Info) ([]string, error) {
	if len(set.classes) > 0 {
		return set.classes, nil
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(info.Config, &cfg); err != nil {
		return nil, fmt.Errorf("model: %s: %w", model.ConfigFile, err)
	}
	for _, key := range []string{"classes", "foreground"} {
		raw, ok := cfg[key]
		if !ok {
			continue
		}
		var classes []string
		if err := json.Unmarshal(raw, &classes); err != nil || len(classes) == 0 || slicesHasEmpty(classes) {
			return nil, engine.Errorf(rc.Config.Block, "the model's %s has %q = %s, not a list of class names; set classes = [\"person\", …] on the step: the classes of category ids 1, 2, … in %s", model.ConfigFile, key, clip(raw), ImagesFile)
		}
		return classes, nil
	}
	if info.Native != nil && len(info.Native.Config.Foreground) > 0 {
		return info.Native.Config.Foreground, nil
	}
	return nil, engine.Errorf(rc.Config.Block, "the model's %s (format %q) names no classes (no \"classes\" or \"foreground\" list); set classes = [\"person\", …] on the step: the classes of category ids 1, 2, … in %s", model.ConfigFile, info.Format, ImagesFile)
}

func slicesHasEmpty(s []string) bool {
	for _, c := range s {
		if c == "" {
			return true
		}
	}
	return false
}

// runCommand is Run in command mode.
func runCommand(ctx context.Context, rc *engine.RunContext, set *settings) (map[string]cache.Digest, error) {
	info, err := model.Inspect(rc.Store, rc.Inputs["model"])
	if err != nil {
		return nil, engine.Errorf(rc.Config.Range("model"), "model: %w", err)
	}
	classes, err := classesOf(rc, set, info)
	if err != nil {
		return nil, err
	}
	ds, err := dataset.Open(rc.Store, rc.Inputs["images"])
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	var preds map[int]*dataset.Annotation // by entry index: the missing images'
	work, items := commandItems(rc, ds, func(i int) (dataset.Entry, error) {
		a, ok := preds[i]
		if !ok {
			return dataset.Entry{}, errGone
		}
		return storeEntry(rc.Store, ds.Entries[i], a)
	})
	if missing := missingItems(rc, work, items); len(missing) > 0 {
		if preds, err = predict(ctx, rc, set, ds, missing, classes); err != nil {
			return nil, err
		}
	}
	return runItems(ctx, rc, work, items, predictionsMeta(ds.Meta, classes, false))
}

// errGone is the error of an item whose memo record went between
// missingItems and engine.Items (a gc), so that the command did not
// predict it.
var errGone = errors.New("its memoized prediction disappeared while the command ran (a gc?); build again")

// missingItems lists the indices of the items engine.Items would run: the
// images the command must predict.
func missingItems(rc *engine.RunContext, work engine.ItemWork[dataset.Entry], items []engine.Item[dataset.Entry]) []int {
	var missing []int
	for i, miss := range engine.Misses(rc, work, items) {
		if miss {
			missing = append(missing, i)
		}
	}
	return missing
}

// storeEntry stores an image's annotation and returns its entry.
func storeEntry(s *cache.Store, e dataset.Entry, a *dataset.Annotation) (dataset.Entry, error) {
	raw, err := dataset.EncodeAnnotation(a)
	if err != nil {
		return dataset.Entry{}, err
	}
	d, err := s.PutBytes(raw)
	if err != nil {
		return dataset.Entry{}, err
	}
	return dataset.Entry{Name: e.Name, Image: e.Image, ImageSize: e.ImageSize, Ann: d, AnnSize: int64(len(raw)), Width: a.Width, Height: a.Height}, nil
}

// predict runs the command over the images of ds at the indices missing
// and returns their annotations by index.
func predict(ctx context.Context, rc *engine.RunContext, set *settings, ds *dataset.Dataset, missing []int, classes []string) (map[int]*dataset.Annotation, error) {
	out := make(map[int]*dataset.Annotation, len(missing))
	err := runPredictor(ctx, rc, set, ds, missing, classes, func(dir string, images []predImage) error {
		objs, err := readPredictions(dir, set.format, images, classes)
		if err != nil {
			return err
		}
		for k, i := range missing {
			out[i] = &dataset.Annotation{Width: images[k].W, Height: images[k].H, Objects: objs[k]}
		}
		return nil
	})
	return out, err
}

// runPredictor runs the command in a scratch directory laid out for the
// images of ds at the indices missing, then read on its directory and
// the images it was given.
func runPredictor(ctx context.Context, rc *engine.RunContext, set *settings, ds *dataset.Dataset, missing []int, classes []string, read func(dir string, images []predImage) error) error {
	sc, err := exec.NewScratch(rc.Store, "preannotate-")
	if err != nil {
		return err
	}
	defer sc.Close()
	if err := sc.Materialize(ctx, rc.Store, "model", rc.Inputs["model"]); err != nil {
		return err
	}
	if err := sc.MaterializeMap(ctx, rc, "inputs"); err != nil {
		return err
	}
	images, err := writeImages(ctx, rc.Store, sc, ds, missing, classes)
	if err != nil {
		return err
	}
	if err := sc.Seal(); err != nil {
		return err
	}
	if rc.Status != nil {
		rc.Status(fmt.Sprintf("predicting %d of %d images", len(missing), len(ds.Entries)), map[string]any{"images": len(missing), "of": len(ds.Entries)})
	}
	if err := sc.Run(ctx, exec.Command{Argv: set.command, Env: set.env, Progress: exec.StatusOf(rc)}); err != nil {
		return err
	}
	return read(sc.Dir, images)
}

// writeImages puts the images at the indices missing at
// inputs/images/<item name> and lists them, with the categories, in
// inputs/images.json (ids 1, 2, … in the order of missing, categories in
// the order of classes).
func writeImages(ctx context.Context, s *cache.Store, sc *exec.Scratch, ds *dataset.Dataset, missing []int, classes []string) ([]predImage, error) {
	byDS := map[string][]cache.TreeEntry{}
	var dsNames []string
	for _, i := range missing {
		e := ds.Entries[i]
		name, file, _ := strings.Cut(e.Name, "/")
		if byDS[name] == nil {
			dsNames = append(dsNames, name)
		}
		byDS[name] = append(byDS[name], cache.TreeEntry{Name: file, Kind: cache.File, Digest: e.Image, Size: e.ImageSize})
	}
	var root []cache.TreeEntry
	for _, name := range dsNames {
		var size int64
		for _, e := range byDS[name] {
			size += e.Size
		}
		d, err := s.PutTree(byDS[name])
		if err != nil {
			return nil, err
		}
		root = append(root, cache.TreeEntry{Name: name, Kind: cache.Dir, Digest: d, Size: size})
	}
	tree, err := s.PutTree(root)
	if err != nil {
		return nil, err
	}
	if err := sc.Materialize(ctx, s, "images", tree); err != nil {
		return nil, err
	}
	images := make([]predImage, len(missing))
	for k, i := range missing {
		e := ds.Entries[i]
		raw, err := os.ReadFile(filepath.Join(sc.Input("images"), filepath.FromSlash(e.Name)))
		if err != nil {
			return nil, err
		}
		cfg, err := imageConfig(raw)
		if err != nil {
			return nil, fmt.Errorf("images: item %s: decoding the image's header: %v", e.Name, err)
		}
		images[k] = predImage{ID: k + 1, Name: e.Name, W: cfg.Width, H: cfg.Height}
	}
	type category struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	list := struct {
		Images     []predImage `json:"images"`
		Categories []category  `json:"categories"`
	}{Images: images}
	for i, c := range classes {
		list.Categories = append(list.Categories, category{i + 1, c})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(list); err != nil {
		return nil, err
	}
	p := filepath.Join(sc.Dir, filepath.FromSlash(ImagesFile))
	if err := os.WriteFile(p, buf.Bytes(), 0o444); err != nil {
		return nil, err
	}
	return images, nil
}

// imageConfig reads an image file's header (JPEG through dataset/jpeg,
// as dataset.DecodeImage does, else the registered decoders: PNG).
func imageConfig(raw []byte) (image.Config, error) {
	if len(raw) >= 2 && raw[0] == 0xFF && raw[1] == 0xD8 {
		return jpeg.DecodeConfigBytes(raw)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(raw))
	return cfg, err
}

// decodeCommand reads and checks command mode's parameters: the built-in
// network's attributes are refused, as are a mode other than scene, an
// unknown format, empty or repeated classes, and invalid variable names.
func decodeCommand(cfg *engine.Config, set *settings, mode string) hcl.Diagnostics {
	set.command = cfg.StringList("command")
	set.format = cfg.String("predictions_format")
	if set.format == "" && !cfg.Has("predictions_format") {
		set.format = FormatCOCO
	}
	set.classes, set.env = cfg.StringList("classes"), cfg.StringList("env")
	var diags hcl.Diagnostics
	bad := func(attr, msg string) {
		r := cfg.Range(attr)
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + attr, Detail: msg, Subject: &r})
	}
	if len(set.command) == 0 {
		r := cfg.Range("command")
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty command",
			Detail: "command must name a program, as in [\"sh\", \"predict.sh\"].", Subject: &r})
	}
	switch {
	case mode == "boxes":
		// The command is stage 1's detector: its results' bbox are the
		// boxes that crop_model segments, as a detections file's are.
		if written(cfg, "detections") {
			bad("detections", `detections are stage 1's boxes, which the command gives in mode = "boxes"; remove detections, or remove command to use the file.`)
		}
		if !written(cfg, "crop_model") {
			bad("mode", `mode = "boxes" with command needs crop_model: the command is stage 1's detector (its COCO results' bbox are the boxes) and crop_model, a train step's model trained on instances_crop crops with crop_padding set, segments each padded box. Add crop_model = train.<name>, or remove mode to take the command's masks.`)
		}
		if set.format == FormatSupervisely {
			bad("predictions_format", fmt.Sprintf(`predictions_format is %q; in mode = "boxes" the command is a detector that writes %s, COCO results with a "bbox" each: remove predictions_format.`, set.format, ResultsFile))
		}
	case mode != "scene":
		bad("mode", fmt.Sprintf(`mode is %q; use "scene" (the default: the command's masks are the instances) or "boxes" (the command's boxes, each segmented by crop_model).`, mode))
	default:
		for _, attr := range builtinOnly {
			if written(cfg, attr) {
				bad(attr, fmt.Sprintf("%s is an attribute of the built-in network; with command, your predictor makes the masks and scores. Remove %s, or remove command to run the built-in network (or set mode = \"boxes\" and crop_model to segment the command's boxes).", attr, attr))
			}
		}
	}
	if f := set.format; f != FormatCOCO && f != FormatSupervisely {
		bad("predictions_format", fmt.Sprintf("predictions_format is %q; use %q (predictions/results.json, a COCO results list) or %q (predictions/ as a Supervisely project).", f, FormatCOCO, FormatSupervisely))
	}
	if cfg.Has("classes") && len(set.classes) == 0 {
		bad("classes", "classes is empty; name the classes of category ids 1, 2, … (classes = [\"person\"]), or remove classes to take the model's.")
	}
	seen := map[string]bool{}
	for _, c := range set.classes {
		switch {
		case strings.TrimSpace(c) == "":
			bad("classes", "a class name is empty.")
		case seen[c]:
			bad("classes", fmt.Sprintf("class %q is listed twice; each category id is one class.", c))
		}
		seen[c] = true
	}
	for _, e := range set.env {
		if !exec.ValidEnvName(e) {
			bad("env", fmt.Sprintf("%q is not a variable name.", e))
		}
	}
	return diags
}
