package review

import (
	"fmt"
	"image"
	"math"
	"path/filepath"

	"dsbuild/dataset"
)

// SimulatedLabelStudioFile is the name of the export Simulate writes in the
// Label Studio format.
const SimulatedLabelStudioFile = "export.json"

// Simulate plays the reviewer from ground truth and writes the results into
// dir (which must not exist or be empty) in format ([FormatSupervisely],
// [FormatCVAT] or [FormatLabelStudio]), as a reviewer using that tool would
// export them, so that [ReadResults] reads them back.
//
// For each item, the foreground of the truth is the union of the truth
// objects whose class is one of classes (other truth objects are not
// looked at); the prediction is the union of all predicted objects. With
// IoU the intersection over union of the two ([dataset.IoU]; 1 when both
// are empty), the verdict is:
//
//	good              IoU ≥ goodIoU
//	bad               IoU < badIoU
//	needs correction  otherwise; the correction is the truth objects of
//	                  classes, clipped to the image (an object partly
//	                  outside becomes the bitmap of its pixels inside),
//	                  and for a class of rectangles, the bounding box of
//	                  an object of another shape.
//
// So an image with neither truth foreground nor prediction is good. It
// needs 0 ≤ badIoU ≤ goodIoU ≤ 1, a truth annotation of the image's size
// for every item, and predictions as [WritePackage] does (image bytes are
// optional; Supervisely results include them when given).
//
// What is written, per format:
//   - supervisely: a project (meta.json, <dataset>/img/<file> when the image
//     bytes are given, <dataset>/ann/<file>.json) whose annotations hold the
//     verdict tag ("good prediction", ...) and, for good and bad, the
//     predicted objects unchanged, for needs correction the truth objects
//     in the shape of their class, as Supervisely draws them (see
//     [ReadResults] on shapes);
//   - cvat: annotations.xml with the predicted shapes (source "auto") or
//     the corrected ones (source "manual"), and the tag "review" with its
//     attribute "verdict";
//   - label-studio: export.json, the tasks of the package with ids and one
//     annotation each: the verdict choice and the regions, from the
//     prediction (origin "prediction") or corrected (origin "manual").
//
// The bytes are a pure function of the arguments.
//
// It returns each item's IoU, the figure its verdict was given by, keyed by
// item name: what the reviewer's files cannot carry, for statistics of the
// predictions' quality.
func Simulate(items []Item, classes []dataset.Class, truth map[string]*dataset.Annotation, goodIoU, badIoU float64, format, dir string) (map[string]float64, error) {
	if math.IsNaN(goodIoU) || math.IsNaN(badIoU) || badIoU < 0 || goodIoU > 1 || badIoU > goodIoU {
		return nil, fmt.Errorf("simulate review: thresholds must satisfy 0 ≤ badIoU ≤ goodIoU ≤ 1; they are badIoU %v, goodIoU %v", badIoU, goodIoU)
	}
	switch format {
	case FormatSupervisely, FormatCVAT, FormatLabelStudio:
	default:
		return nil, fmt.Errorf("simulate review: unknown format %q (want %q, %q or %q)", format, FormatSupervisely, FormatCVAT, FormatLabelStudio)
	}
	ix, err := newIndex(items, classes, true, false)
	if err != nil {
		return nil, fmt.Errorf("simulate review: %w", err)
	}
	preds := sortedEntries(ix)
	entries := make([]entry, len(preds))
	ious := make(map[string]float64, len(preds))
	for i, p := range preds {
		e, iou, err := simulateItem(ix, p, truth[p.it.Name], goodIoU, badIoU)
		if err != nil {
			return nil, fmt.Errorf("simulate review: item %s: %w", p.it.Name, err)
		}
		entries[i] = e
		ious[p.it.Name] = iou
	}
	if err := emptyDir(dir); err != nil {
		return nil, fmt.Errorf("simulate review: %w", err)
	}
	switch format {
	case FormatSupervisely:
		// The reviewer's project is the package's: its classes keep their
		// shapes, and corrections take them.
		meta, err := svMeta(ix, preds, entries)
		if err != nil {
			return nil, fmt.Errorf("simulate review: %w", err)
		}
		for i := range entries {
			e := &entries[i]
			if !e.manual {
				continue
			}
			var objs []dataset.Object
			for _, o := range e.objects {
				c, err := conformObject(o, meta.Class(o.Class).Shape, e.it.Ann.Width, e.it.Ann.Height)
				if err != nil {
					return nil, fmt.Errorf("simulate review: item %s: %w", e.it.Name, err)
				}
				objs = append(objs, c...)
			}
			e.objects = objs
		}
		err = writeSupervisely(dir, entries, meta)
	case FormatCVAT:
		var data []byte
		if data, err = encodeCVAT(entries, ix.classes); err == nil {
			err = writeFile(dir, "annotations.xml", data)
		}
	case FormatLabelStudio:
		var data []byte
		if data, err = encodeLSTasks(entries, preds, true, lsImagePath); err == nil {
			err = writeFile(dir, SimulatedLabelStudioFile, data)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("simulate review: %s: %w", filepath.Base(dir), err)
	}
	return ious, nil
}

// simulateItem gives the verdict of one item and the IoU it was given by.
func simulateItem(ix *index, pred entry, tr *dataset.Annotation, goodIoU, badIoU float64) (entry, float64, error) {
	w, h := pred.it.Ann.Width, pred.it.Ann.Height
	if tr == nil {
		return entry{}, 0, fmt.Errorf("no truth annotation")
	}
	if tr.Width != w || tr.Height != h {
		return entry{}, 0, fmt.Errorf("the truth is %dx%d, the image %dx%d", tr.Width, tr.Height, w, h)
	}
	predicted, err := union(pred.objects, w, h)
	if err != nil {
		return entry{}, 0, fmt.Errorf("prediction: %w", err)
	}
	var fgObjs, corr []dataset.Object
	for j := range tr.Objects {
		o := tr.Objects[j]
		if _, ok := ix.shape[o.Class]; !ok {
			continue
		}
		o, ok, err := o.ClipTo(w, h)
		if err != nil {
			return entry{}, 0, fmt.Errorf("truth object %d: %w", j, err)
		}
		if !ok {
			continue
		}
		fgObjs = append(fgObjs, o)
		if ix.shape[o.Class] == dataset.ShapeRectangle && o.Shape != dataset.ShapeRectangle {
			// A reviewer draws a box for a class of boxes.
			m, at, ok, err := o.TightRaster(w, h)
			if err != nil {
				return entry{}, 0, fmt.Errorf("truth object %d: %w", j, err)
			}
			if !ok {
				continue
			}
			o = dataset.Object{Class: o.Class, Tags: o.Tags, Shape: dataset.ShapeRectangle, Rect: image.Rect(0, 0, m.W, m.H).Add(at)}
		}
		if err := ix.checkObject(&o, w, h); err != nil {
			return entry{}, 0, fmt.Errorf("truth object %d: %w", j, err)
		}
		corr = append(corr, o)
	}
	fg, err := union(fgObjs, w, h)
	if err != nil {
		return entry{}, 0, fmt.Errorf("truth: %w", err)
	}
	iou := dataset.IoU(predicted, fg)
	e := pred
	switch {
	case iou >= goodIoU:
		e.verdict = Good
	case iou < badIoU:
		e.verdict = Bad
	default:
		e.verdict, e.objects, e.manual = NeedsCorrection, corr, true
	}
	return e, iou, nil
}

// union returns the w×h mask of the pixels of objs.
func union(objs []dataset.Object, w, h int) (*dataset.Mask, error) {
	u, err := dataset.NewMask(w, h)
	if err != nil {
		return nil, err
	}
	for j := range objs {
		m, err := objs[j].Raster(w, h)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", j, err)
		}
		u.Paste(m, 0, 0)
	}
	return u, nil
}
