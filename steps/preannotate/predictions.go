package preannotate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"dsbuild/dataset"
	"dsbuild/dataset/supervisely"
	"dsbuild/model/annotate"
)

// A predictor's output, checked strictly: every error names the file, the
// result or object, and what to do. Formats:
//
//   - "coco": predictions/results.json, a COCO results list.
//   - "supervisely": predictions/ as a Supervisely project.
//
// Both give, per image of inputs/images.json, its objects as the built-in
// mode makes them: a bitmap of its class cropped to its box, tagged
// "confidence" = the score.

// Prediction formats.
const (
	FormatCOCO        = "coco"
	FormatSupervisely = "supervisely"
)

// PredictionsDir is the directory the command writes; ResultsFile is the
// COCO results file in it.
const (
	PredictionsDir = "predictions"
	ResultsFile    = "predictions/results.json"
)

// predImage is one image the command was given (an entry of
// inputs/images.json).
type predImage struct {
	ID   int    `json:"id"`
	Name string `json:"file_name"` // the item name, "<dataset>/<file>"
	W    int    `json:"width"`
	H    int    `json:"height"`
}

// readPredictions reads the command's predictions in scratch directory
// dir: the objects of each image, by images' index.
func readPredictions(dir, format string, images []predImage, classes []string) ([][]dataset.Object, error) {
	pd := filepath.Join(dir, PredictionsDir)
	if fi, err := os.Stat(pd); err != nil || !fi.IsDir() {
		want := ResultsFile + " (a COCO results list)"
		if format == FormatSupervisely {
			want = PredictionsDir + "/ as a Supervisely project (meta.json, <dataset>/ann/<file>.json)"
		}
		return nil, fmt.Errorf("the command wrote no %s/ directory: a predictor writes %s, for the images listed in inputs/images.json", PredictionsDir, want)
	}
	switch format {
	case FormatSupervisely:
		return parseSupervisely(os.DirFS(pd), images, classes)
	default:
		raw, err := os.ReadFile(filepath.Join(dir, ResultsFile))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: not found: the command wrote %s/ but no results.json in it (predictions_format = %q: a COCO results list [{\"image_id\", \"category_id\", \"segmentation\", \"score\"}, …])", ResultsFile, PredictionsDir, FormatCOCO)
		}
		if err != nil {
			return nil, err
		}
		return parseResults(raw, images, classes)
	}
}

// imagesNote is "one of the 3 images in inputs/images.json".
func imagesNote(n int) string {
	if n == 1 {
		return "the one image in inputs/images.json"
	}
	return fmt.Sprintf("one of the %d images in inputs/images.json", n)
}

// parseResults reads a COCO results list: [{"image_id", "category_id",
// "segmentation", "score"}, …] (other keys, bbox among them, are ignored).
func parseResults(data []byte, images []predImage, classes []string) ([][]dataset.Object, error) {
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '[' {
		return nil, fmt.Errorf("%s: not a JSON list; write a COCO results list, [{\"image_id\": 1, \"category_id\": 1, \"segmentation\": …, \"score\": 0.9}, …]", ResultsFile)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("%s: not valid JSON: %v", ResultsFile, err)
	}
	byID := make(map[int]int, len(images))
	for i, im := range images {
		byID[im.ID] = i
	}
	out := make([][]dataset.Object, len(images))
	for i, raw := range entries {
		img, ob, ok, err := parseResult(raw, images, byID, classes)
		if err != nil {
			return nil, fmt.Errorf("%s: result %d: %w", ResultsFile, i, err)
		}
		if ok {
			out[img] = append(out[img], ob)
		}
	}
	for _, objs := range out {
		sortObjects(objs)
	}
	return out, nil
}

// rawResult is one COCO result, its fields raw to tell a missing one from
// a wrong one.
type rawResult struct {
	ImageID      json.RawMessage `json:"image_id"`
	CategoryID   json.RawMessage `json:"category_id"`
	Segmentation json.RawMessage `json:"segmentation"`
	Score        json.RawMessage `json:"score"`
}

func absent(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// wholeNumber reads a JSON integer.
func wholeNumber(raw json.RawMessage) (int, bool) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n != int64(int(n)) {
		return 0, false
	}
	return int(n), true
}

// parseResult checks one result and makes its object; ok is false for a
// mask without a pixel (no object).
func parseResult(raw json.RawMessage, images []predImage, byID map[int]int, classes []string) (img int, ob dataset.Object, ok bool, err error) {
	var r rawResult
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return 0, ob, false, errors.New("not a JSON object")
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return 0, ob, false, err
	}
	img, cat, err := resultImageCategory(r, images, byID, classes)
	if err != nil {
		return 0, ob, false, err
	}
	im, id := images[img], images[img].ID
	score, err := parseScore(r.Score)
	if err != nil {
		return 0, ob, false, err
	}
	if absent(r.Segmentation) {
		return 0, ob, false, errors.New("no segmentation: give each result a mask, as an RLE {\"size\": [h, w], \"counts\": …} or polygons [[x1, y1, x2, y2, …], …]")
	}
	m, err := segmentationMask(r.Segmentation, im)
	if err != nil {
		return 0, ob, false, fmt.Errorf("image_id %d (%s): segmentation: %w", id, im.Name, err)
	}
	ob, ok, err = bitmapObject(m, classes[cat-1], score)
	return img, ob, ok, err
}

// resultImageCategory checks a result's image_id and category_id: the
// image's index in images, and the category id.
func resultImageCategory(r rawResult, images []predImage, byID map[int]int, classes []string) (img, cat int, err error) {
	if absent(r.ImageID) {
		return 0, 0, errors.New("no image_id: give the id of an image in inputs/images.json")
	}
	id, isInt := wholeNumber(r.ImageID)
	if !isInt {
		return 0, 0, fmt.Errorf("image_id %s is not a whole number: give the id of an image in inputs/images.json", r.ImageID)
	}
	img, known := byID[id]
	if !known {
		return 0, 0, fmt.Errorf("image_id %d is not %s", id, imagesNote(len(images)))
	}
	if absent(r.CategoryID) {
		return 0, 0, fmt.Errorf("no category_id: give the id of a category in inputs/images.json (1 to %d: %s)", len(classes), categoryList(classes))
	}
	cat, isInt = wholeNumber(r.CategoryID)
	if !isInt || cat < 1 || cat > len(classes) {
		return 0, 0, fmt.Errorf("category_id %s is not a category of inputs/images.json (1 to %d: %s); a class the model predicts must be in the step's classes", r.CategoryID, len(classes), categoryList(classes))
	}
	return img, cat, nil
}

// categoryList is "1 person, 2 car".
func categoryList(classes []string) string {
	parts := make([]string, len(classes))
	for i, c := range classes {
		parts[i] = fmt.Sprintf("%d %s", i+1, c)
	}
	return strings.Join(parts, ", ")
}

// parseScore reads a score: a finite number from 0 to 1.
func parseScore(raw json.RawMessage) (float64, error) {
	if absent(raw) {
		return 0, errors.New("no score: give each prediction its confidence, a number from 0 to 1")
	}
	s, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("score %s is not a number: give a number from 0 to 1", raw)
	}
	return checkScore(s, string(raw))
}

func checkScore(s float64, text string) (float64, error) {
	if math.IsInf(s, 0) || math.IsNaN(s) || s < 0 || s > 1 {
		return 0, fmt.Errorf("score %s is not a number from 0 to 1 (a probability, not a logit or a percentage)", text)
	}
	return s, nil
}

// segmentationMask decodes a COCO segmentation over the whole image: an
// RLE object or a list of polygons (their union).
func segmentationMask(raw json.RawMessage, im predImage) (*dataset.Mask, error) {
	switch t := bytes.TrimSpace(raw); t[0] {
	case '{':
		return rleMask(t, im)
	case '[':
		return polygonMask(t, im)
	}
	return nil, fmt.Errorf("%s is neither an RLE object nor a list of polygons", clip(raw))
}

// clip shortens a raw value for a message.
func clip(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:37]) + "…"
	}
	return string(raw)
}

// rleMask decodes {"size": [h, w], "counts": "…" or [n, …]}, which must
// be the image's size.
func rleMask(raw []byte, im predImage) (*dataset.Mask, error) {
	var r struct {
		Size   json.RawMessage `json:"size"`
		Counts json.RawMessage `json:"counts"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("RLE: %v", err)
	}
	var size []int
	if absent(r.Size) || json.Unmarshal(r.Size, &size) != nil || len(size) != 2 {
		return nil, fmt.Errorf("RLE size %s is not [height, width]", orNone(r.Size))
	}
	if size[0] != im.H || size[1] != im.W {
		return nil, fmt.Errorf("RLE size [%d, %d] is not the image's [height, width] = [%d, %d]; encode the mask at the image's size", size[0], size[1], im.H, im.W)
	}
	var rle *dataset.RLE
	switch c := bytes.TrimSpace(r.Counts); {
	case absent(c):
		return nil, errors.New("RLE without counts")
	case c[0] == '"':
		var s string
		if err := json.Unmarshal(c, &s); err != nil {
			return nil, fmt.Errorf("RLE counts: %v", err)
		}
		var err error
		if rle, err = dataset.ParseRLEString(im.H, im.W, s); err != nil {
			return nil, fmt.Errorf("RLE counts string: %w", err)
		}
	case c[0] == '[':
		var counts []int64
		if err := json.Unmarshal(c, &counts); err != nil {
			return nil, fmt.Errorf("RLE counts list: %s is not a list of whole numbers", clip(c))
		}
		rle = &dataset.RLE{H: im.H, W: im.W, Counts: make([]uint32, len(counts))}
		for i, n := range counts {
			if n < 0 || n > math.MaxUint32 {
				return nil, fmt.Errorf("RLE counts list: count %d is %d", i, n)
			}
			rle.Counts[i] = uint32(n)
		}
		if err := rle.Validate(); err != nil {
			return nil, fmt.Errorf("RLE counts list: %w", err)
		}
	default:
		return nil, fmt.Errorf("RLE counts %s is neither a string nor a list of numbers", clip(c))
	}
	return rle.Decode()
}

func orNone(raw json.RawMessage) string {
	if absent(raw) {
		return "(none)"
	}
	return clip(raw)
}

// polygonSlack is how far outside the image a polygon vertex may lie, in
// pixels: a traced outline may run along the far side of the border
// pixels, or round past it.
const polygonSlack = 1

// polygonMask rasterizes a list of polygons [[x1, y1, x2, y2, …], …] in
// COCO's continuous pixel frame (dataset.Rasterize's pixel-centre rule):
// the union of the polygons.
func polygonMask(raw []byte, im predImage) (*dataset.Mask, error) {
	var lists []json.RawMessage
	if err := json.Unmarshal(raw, &lists); err != nil {
		return nil, fmt.Errorf("polygons: %v", err)
	}
	if len(lists) == 0 {
		return nil, errors.New("an empty list: give polygons [[x1, y1, x2, y2, …], …] or an RLE")
	}
	polys := make([]dataset.Polygon, len(lists))
	for i, l := range lists {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] == '{' {
			return nil, errors.New("a list of RLE objects: give one RLE object {\"size\", \"counts\"} per result")
		}
		var xy []float64
		if err := json.Unmarshal(l, &xy); err != nil {
			return nil, fmt.Errorf("polygon %d: %s is not a list of numbers [x1, y1, x2, y2, …]", i, clip(l))
		}
		if len(xy) < 6 || len(xy)%2 != 0 {
			return nil, fmt.Errorf("polygon %d has %d numbers; a polygon is at least 3 points, x and y each: [x1, y1, x2, y2, x3, y3, …]", i, len(xy))
		}
		ring := make([]dataset.Point, len(xy)/2)
		for j := range ring {
			x, y := xy[2*j], xy[2*j+1]
			if x < -polygonSlack || y < -polygonSlack || x > float64(im.W+polygonSlack) || y > float64(im.H+polygonSlack) {
				return nil, fmt.Errorf("polygon %d: point %d (%g, %g) lies outside the %d×%d image; coordinates are pixels from its top-left corner, x along the width", i, j, x, y, im.W, im.H)
			}
			ring[j] = dataset.Point{X: x, Y: y}
		}
		polys[i] = dataset.Polygon{Exterior: ring}
	}
	return dataset.Rasterize(im.W, im.H, polys)
}

// bitmapObject makes the object of a whole-image mask: a bitmap of class
// cropped to its box, tagged confidence = score; ok is false when the
// mask has no pixel.
func bitmapObject(m *dataset.Mask, class string, score float64) (dataset.Object, bool, error) {
	x0, y0, x1, y1, ok := m.BBox()
	if !ok {
		return dataset.Object{}, false, nil
	}
	c, err := m.Crop(x0, y0, x1-x0, y1-y0)
	if err != nil {
		return dataset.Object{}, false, err
	}
	return dataset.Object{
		Class:  class,
		Tags:   []dataset.Tag{dataset.NumberTag("confidence", score)},
		Shape:  dataset.ShapeBitmap,
		Mask:   c,
		Origin: image.Pt(x0, y0),
	}, true, nil
}

// sortObjects orders an image's objects as the built-in mode does: by
// (top, left, area), stably (the predictor's order breaks ties).
func sortObjects(objs []dataset.Object) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := &objs[i], &objs[j]
		switch {
		case a.Origin.Y != b.Origin.Y:
			return a.Origin.Y < b.Origin.Y
		case a.Origin.X != b.Origin.X:
			return a.Origin.X < b.Origin.X
		}
		return a.Mask.Area() < b.Mask.Area()
	})
}

// parseSupervisely reads predictions/ as a Supervisely project: meta.json
// (optional: it decides a class's geometry as in the SDK) and
// <dataset>/ann/<file>.json for an image <dataset>/<file> of
// inputs/images.json. Each object's score is its tag "confidence" (or
// "score"); its class must be one of classes.
func parseSupervisely(src fs.FS, images []predImage, classes []string) ([][]dataset.Object, error) {
	var meta *dataset.Meta
	if _, err := fs.Stat(src, "meta.json"); err == nil {
		if meta, err = supervisely.ReadMeta(src); err != nil {
			return nil, fmt.Errorf("%s/%v", PredictionsDir, err)
		}
	}
	byName := make(map[string]int, len(images))
	for i, im := range images {
		byName[im.Name] = i
	}
	out := make([][]dataset.Object, len(images))
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		parts := strings.Split(p, "/")
		if d.IsDir() || len(parts) != 3 || parts[1] != "ann" || path.Ext(p) != ".json" {
			return nil
		}
		file := PredictionsDir + "/" + p
		name := parts[0] + "/" + strings.TrimSuffix(parts[2], ".json")
		img, ok := byName[name]
		if !ok {
			return fmt.Errorf("%s: image %s is not %s (the annotation of image <dataset>/<file> is <dataset>/ann/<file>.json)", file, name, imagesNote(len(images)))
		}
		raw, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		objs, err := superviselyObjects(raw, meta, images[img], classes)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		out[img] = objs
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// superviselyObjects checks one annotation file and makes its objects.
func superviselyObjects(raw []byte, meta *dataset.Meta, im predImage, classes []string) ([]dataset.Object, error) {
	a, err := dataset.ParseAnnotation(raw, meta)
	if err != nil {
		return nil, err
	}
	if a.Width != im.W || a.Height != im.H {
		return nil, fmt.Errorf("size %d×%d (width × height) is not the image's %d×%d", a.Width, a.Height, im.W, im.H)
	}
	var objs []dataset.Object
	for i, o := range a.Objects {
		if !slices.Contains(classes, o.Class) {
			return nil, fmt.Errorf("object %d: class %q is not one of the step's classes (%s); add it to classes, or have the predictor name one of them", i, o.Class, strings.Join(classes, ", "))
		}
		score, err := objectScore(o.Tags)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		m, err := o.Raster(im.W, im.H)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		ob, ok, err := bitmapObject(m, o.Class, score)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		if ok {
			objs = append(objs, ob)
		}
	}
	sortObjects(objs)
	return objs, nil
}

// objectScore is the value of an object's tag "confidence", else "score".
func objectScore(tags []dataset.Tag) (float64, error) {
	for _, name := range []string{"confidence", "score"} {
		for _, t := range tags {
			if t.Name != name {
				continue
			}
			if !t.Number {
				return 0, fmt.Errorf("tag %q is %q, not a number: give the score as a number from 0 to 1", name, t.Value)
			}
			s, _ := strconv.ParseFloat(t.Value, 64)
			if _, err := checkScore(s, t.Value); err != nil {
				return 0, fmt.Errorf("tag %q: %w", name, err)
			}
			return s, nil
		}
	}
	return 0, errors.New("no tag \"confidence\" (nor \"score\"): give each object its score, {\"name\": \"confidence\", \"value\": 0.9}")
}

// parseBoxes reads a detector's COCO results list, [{"image_id",
// "category_id", "bbox": [x, y, w, h], "score"}, …] (segmentation and
// other keys ignored), checked as parseResults checks masks, and returns
// each image's boxes in file order: those of a category in categories
// (all when empty) scoring at least minScore. A box covers the pixels it
// touches, [⌊x⌋, ⌈x+w⌉) × [⌊y⌋, ⌈y+h⌉), and must overlap its image. Every
// image gets a non-nil slice (no boxes: no objects).
func parseBoxes(data []byte, images []predImage, classes []string, categories []int, minScore float64) ([][]annotate.Box, error) {
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '[' {
		return nil, fmt.Errorf("%s: not a JSON list; write a COCO results list, [{\"image_id\": 1, \"category_id\": 1, \"bbox\": [x, y, width, height], \"score\": 0.9}, …]", ResultsFile)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("%s: not valid JSON: %v", ResultsFile, err)
	}
	byID := make(map[int]int, len(images))
	out := make([][]annotate.Box, len(images))
	for i, im := range images {
		byID[im.ID] = i
		out[i] = []annotate.Box{}
	}
	for i, raw := range entries {
		img, cat, box, err := parseBox(raw, images, byID, classes)
		if err != nil {
			return nil, fmt.Errorf("%s: result %d: %w", ResultsFile, i, err)
		}
		if box.Score < minScore || len(categories) > 0 && !slices.Contains(categories, cat) {
			continue
		}
		out[img] = append(out[img], box)
	}
	return out, nil
}

// parseBox checks one detection.
func parseBox(raw json.RawMessage, images []predImage, byID map[int]int, classes []string) (img, cat int, box annotate.Box, err error) {
	var r struct {
		rawResult
		BBox json.RawMessage `json:"bbox"`
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return 0, 0, box, errors.New("not a JSON object")
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return 0, 0, box, err
	}
	if img, cat, err = resultImageCategory(r.rawResult, images, byID, classes); err != nil {
		return 0, 0, box, err
	}
	if box.Score, err = parseScore(r.Score); err != nil {
		return 0, 0, box, err
	}
	im := images[img]
	if absent(r.BBox) {
		return 0, 0, box, errors.New("no bbox: in mode = \"boxes\" each result is a box, \"bbox\": [x, y, width, height] in pixels")
	}
	bb, rect, err := annotate.ParseBBox(r.BBox)
	if err != nil {
		return 0, 0, box, err
	}
	box.Rect = rect
	if !box.Rect.Overlaps(image.Rect(0, 0, im.W, im.H)) {
		return 0, 0, box, fmt.Errorf("image_id %d (%s): bbox %v lies outside the %d×%d image; a box is [x, y, width, height] in pixels from its top-left corner", images[img].ID, im.Name, bb, im.W, im.H)
	}
	return img, cat, box, nil
}
