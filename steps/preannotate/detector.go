package preannotate

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
	"dsbuild/model"
	"dsbuild/model/annotate"
)

// Boxes mode with a command: the command is stage 1's detector, run once
// over the images not memoized; its COCO results' bbox are their boxes,
// which crop_model segments as a detections file's boxes are (annotate.Boxes).

// detectorScheme is the item scheme of boxes mode with a command.
const detectorScheme = "preannotate command boxes item v1"

// detectorItems lays out the items, one per image of ds: their key lines
// (the detector model, the crop model, the device, the other inputs, the
// image) and, with result, their work (the entry of image i).
func detectorItems(rc *engine.RunContext, ds *dataset.Dataset, dev string, result func(i int) (dataset.Entry, error)) (engine.ItemWork[dataset.Entry], []engine.Item[dataset.Entry]) {
	shared := []string{"model " + rc.Inputs["model"].String(), "crop_model " + rc.Inputs["crop_model"].String(), "device " + dev}
	return commandWork(rc, ds, detectorScheme, shared, true, result)
}

// runDetector is Run in boxes mode with a command.
func runDetector(ctx context.Context, rc *engine.RunContext, set *settings) (map[string]cache.Digest, error) {
	info, err := model.Inspect(rc.Store, rc.Inputs["model"])
	if err != nil {
		return nil, engine.Errorf(rc.Config.Range("model"), "model: %w", err)
	}
	classes, err := classesOf(rc, set, info)
	if err != nil {
		return nil, err
	}
	cropArt, cropF, err := loadModel(rc, "crop_model")
	if err != nil {
		return nil, err
	}
	pad, err := cropPadding(rc, cropArt)
	if err != nil {
		return nil, err
	}
	class := set.class
	if class == "" {
		class = cropArt.Config.Foreground[0]
	}
	p := annotate.Params{Class: class, Threshold: set.threshold, MinArea: set.minArea, Padding: pad}
	ds, err := dataset.Open(rc.Store, rc.Inputs["images"])
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	dev := device(set)
	var (
		boxes map[int][]annotate.Box // the missing images', by entry index
		crop  annotate.Segmenter
	)
	run := func(img image.Image, bs []annotate.Box) ([]dataset.Object, error) {
		return annotate.Boxes(nil, crop, img, bs, p)
	}
	work, items := detectorItems(rc, ds, dev, func(i int) (dataset.Entry, error) {
		bs, ok := boxes[i]
		if !ok {
			return dataset.Entry{}, errGone
		}
		return item(rc.Store, run, ds.Entries[i], bs, true)
	})
	if missing := missingItems(rc, work, items); len(missing) > 0 {
		if boxes, err = detect(ctx, rc, set, ds, missing, classes); err != nil {
			return nil, err
		}
		var closeAll func()
		if crop, _, closeAll, err = segmenters(rc, set, dev, cropF, nil); err != nil {
			return nil, err
		}
		defer closeAll()
	}
	return runItems(ctx, rc, work, items, predictionsMeta(ds.Meta, []string{class}, true))
}

// detect runs the detector over the images of ds at the indices missing
// and returns their boxes by index.
func detect(ctx context.Context, rc *engine.RunContext, set *settings, ds *dataset.Dataset, missing []int, classes []string) (map[int][]annotate.Box, error) {
	out := make(map[int][]annotate.Box, len(missing))
	err := runPredictor(ctx, rc, set, ds, missing, classes, func(dir string, images []predImage) error {
		raw, err := os.ReadFile(filepath.Join(dir, ResultsFile))
		if err != nil {
			if _, serr := os.Stat(filepath.Join(dir, PredictionsDir)); serr != nil {
				return fmt.Errorf("the command wrote no %s/ directory: a detector writes %s (COCO results with a \"bbox\" each), for the images listed in %s", PredictionsDir, ResultsFile, ImagesFile)
			}
			return fmt.Errorf("%s: not found: the command wrote %s/ but no results.json in it", ResultsFile, PredictionsDir)
		}
		bs, err := parseBoxes(raw, images, classes, set.categories, set.minScore)
		if err != nil {
			return err
		}
		for k, i := range missing {
			out[i] = bs[k]
		}
		return nil
	})
	return out, err
}
