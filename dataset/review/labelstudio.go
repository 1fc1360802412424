package review

// This file writes and reads Label Studio tasks and JSON exports
// (formats.md §7).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"dsbuild/dataset"
)

// Names in the labelling config (config.xml) that results refer to.
const (
	lsImage    = "image"   // the Image tag
	lsVerdict  = "verdict" // the Choices with the verdict
	lsBrush    = "mask"    // BrushLabels
	lsPolygon  = "poly"    // PolygonLabels
	lsRect     = "box"     // RectangleLabels
	lsComment  = "comment" // TextArea
	lsItemKey  = "dsbuild_item"
	lsImageKey = "image"
	lsModel    = "dsbuild"
)

// lsConfig returns the labelling config: the image, the verdict choices,
// brush, polygon and rectangle labels for the classes, and a comment box.
func lsConfig(classes []dataset.Class) []byte {
	var b bytes.Buffer
	b.WriteString("<View>\n")
	fmt.Fprintf(&b, "  <Image name=\"%s\" value=\"$%s\" zoom=\"true\"/>\n", lsImage, lsImageKey)
	fmt.Fprintf(&b, "  <Header value=\"Verdict on the prediction\"/>\n  <Choices name=\"%s\" toName=\"%s\" choice=\"single-radio\" required=\"true\" showInline=\"true\">\n", lsVerdict, lsImage)
	for _, v := range Verdicts {
		fmt.Fprintf(&b, "    <Choice value=\"%s\"/>\n", xmlAttr(string(v)))
	}
	b.WriteString("  </Choices>\n")
	for _, ctl := range []struct{ tag, name string }{{"BrushLabels", lsBrush}, {"PolygonLabels", lsPolygon}, {"RectangleLabels", lsRect}} {
		fmt.Fprintf(&b, "  <%s name=\"%s\" toName=\"%s\">\n", ctl.tag, ctl.name, lsImage)
		for _, c := range classes {
			fmt.Fprintf(&b, "    <Label value=\"%s\" background=\"%s\"/>\n", xmlAttr(c.Title), xmlAttr(c.Color))
		}
		fmt.Fprintf(&b, "  </%s>\n", ctl.tag)
	}
	fmt.Fprintf(&b, "  <TextArea name=\"%s\" toName=\"%s\" placeholder=\"Comment (optional)\"/>\n</View>\n", lsComment, lsImage)
	return b.Bytes()
}

// lsTask is a task as dsbuild writes it: in the package (data and
// predictions) and, from Simulate, as an export (with id and annotations).
type lsTask struct {
	ID          int            `json:"id,omitempty"`
	Data        lsData         `json:"data"`
	Annotations []lsAnnotation `json:"annotations,omitempty"`
	Predictions []lsPrediction `json:"predictions"`
}

type lsData struct {
	Item  string `json:"dsbuild_item"`
	Image string `json:"image"`
}

type lsPrediction struct {
	ModelVersion string     `json:"model_version"`
	Result       []lsResult `json:"result"`
}

type lsAnnotation struct {
	ID           int        `json:"id"`
	CompletedBy  int        `json:"completed_by"`
	WasCancelled bool       `json:"was_cancelled"`
	GroundTruth  bool       `json:"ground_truth"`
	Result       []lsResult `json:"result"`
}

type lsResult struct {
	ID             string   `json:"id"`
	Type           string   `json:"type"`
	FromName       string   `json:"from_name"`
	ToName         string   `json:"to_name"`
	OriginalWidth  int      `json:"original_width,omitempty"`
	OriginalHeight int      `json:"original_height,omitempty"`
	ImageRotation  *int     `json:"image_rotation,omitempty"`
	Origin         string   `json:"origin,omitempty"`
	Score          *float64 `json:"score,omitempty"`
	Value          any      `json:"value"`
}

type lsBrushValue struct {
	Format      string   `json:"format"`
	RLE         []int    `json:"rle"`
	BrushLabels []string `json:"brushlabels"`
}

type lsPolygonValue struct {
	Points        [][2]float64 `json:"points"`
	PolygonLabels []string     `json:"polygonlabels"`
	Closed        bool         `json:"closed"`
}

type lsRectValue struct {
	X               float64  `json:"x"`
	Y               float64  `json:"y"`
	Width           float64  `json:"width"`
	Height          float64  `json:"height"`
	Rotation        float64  `json:"rotation"`
	RectangleLabels []string `json:"rectanglelabels"`
}

type lsChoicesValue struct {
	Choices []string `json:"choices"`
}

// lsImagePath is where the package puts an item's image, relative to
// tasks.json.
func lsImagePath(name string) string { return "images/" + name }

// lsRegions converts objects into Label Studio result items: bitmaps (and
// polygons with holes) as brushlabels, polygons as polygonlabels,
// rectangles as rectanglelabels, coordinates in percent of the image size.
// origin is "" for predictions; scores come from a "confidence" number tag.
func lsRegions(e *entry, origin string) ([]lsResult, error) {
	w, h := e.it.Ann.Width, e.it.Ann.Height
	pct := func(v float64, size int) float64 { return v / float64(size) * 100 }
	zero := 0
	out := make([]lsResult, 0, len(e.objects))
	for j := range e.objects {
		o := &e.objects[j]
		r := lsResult{ID: fmt.Sprintf("r%d", j+1), ToName: lsImage, OriginalWidth: w, OriginalHeight: h,
			ImageRotation: &zero, Origin: origin}
		if origin == "" {
			r.Score = confidence(o)
		}
		switch {
		case o.Shape == dataset.ShapePolygon && len(o.Polygon.Holes) == 0:
			v := lsPolygonValue{PolygonLabels: []string{o.Class}, Closed: true}
			for _, p := range o.Polygon.Exterior {
				v.Points = append(v.Points, [2]float64{pct(p.X, w), pct(p.Y, h)})
			}
			r.Type, r.FromName, r.Value = "polygonlabels", lsPolygon, v
		case o.Shape == dataset.ShapeRectangle:
			rc := o.Rect.Canon()
			r.Type, r.FromName = "rectanglelabels", lsRect
			r.Value = lsRectValue{X: pct(float64(rc.Min.X), w), Y: pct(float64(rc.Min.Y), h),
				Width: pct(float64(rc.Dx()), w), Height: pct(float64(rc.Dy()), h), RectangleLabels: []string{o.Class}}
		default:
			m, err := o.Raster(w, h)
			if err != nil {
				return nil, fmt.Errorf("item %s: object %d: %w", e.it.Name, j, err)
			}
			r.Type, r.FromName = "brushlabels", lsBrush
			r.Value = lsBrushValue{Format: "rle", RLE: encodeBrush(m), BrushLabels: []string{o.Class}}
		}
		out = append(out, r)
	}
	return out, nil
}

// confidence returns the value of o's "confidence" number tag, if any.
func confidence(o *dataset.Object) *float64 {
	for _, t := range o.Tags {
		if t.Name == "confidence" && t.Number {
			if f, err := strconv.ParseFloat(t.Value, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return &f
			}
		}
	}
	return nil
}

// encodeLSTasks writes tasks as a JSON array, one task per line. With
// export set, entries are written as a Label Studio export: task ids, and
// one annotation holding the verdict and the entry's objects.
// imageURL gives each task's data.image.
func encodeLSTasks(entries []entry, preds []entry, export bool, imageURL func(item string) string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i := range entries {
		e := &entries[i]
		predicted, err := lsRegions(&preds[i], "")
		if err != nil {
			return nil, err
		}
		t := lsTask{
			Data:        lsData{Item: e.it.Name, Image: imageURL(e.it.Name)},
			Predictions: []lsPrediction{{ModelVersion: lsModel, Result: predicted}},
		}
		if export {
			t.ID = i + 1
			origin := "prediction"
			if e.manual {
				origin = "manual"
			}
			res, err := lsRegions(e, origin)
			if err != nil {
				return nil, err
			}
			res = append(res, lsResult{ID: "verdict", Type: "choices", FromName: lsVerdict, ToName: lsImage, Origin: "manual",
				Value: lsChoicesValue{Choices: []string{string(e.verdict)}}})
			t.Annotations = []lsAnnotation{{ID: i + 1, CompletedBy: 1, Result: res}}
		}
		raw, err := marshal(t)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", e.it.Name, err)
		}
		b.Write(raw)
		if i < len(entries)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping and without the newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// What ReadResults reads of an export. Fields whose type varies between
// Label Studio versions (ids, completed_by, predictions) are not decoded.
type lsTaskIn struct {
	ID          json.RawMessage            `json:"id"`
	Data        map[string]json.RawMessage `json:"data"`
	Annotations []lsAnnotationIn           `json:"annotations"`
}

type lsAnnotationIn struct {
	ID           json.RawMessage `json:"id"`
	WasCancelled bool            `json:"was_cancelled"`
	CreatedAt    string          `json:"created_at"`
	UpdatedAt    string          `json:"updated_at"`
	Result       []lsResultIn    `json:"result"`
}

type lsResultIn struct {
	Type           string          `json:"type"`
	FromName       string          `json:"from_name"`
	OriginalWidth  *float64        `json:"original_width"`
	OriginalHeight *float64        `json:"original_height"`
	Value          json.RawMessage `json:"value"`
}

type lsValueIn struct {
	Choices         []string    `json:"choices"`
	Format          string      `json:"format"`
	RLE             []int       `json:"rle"`
	BrushLabels     []string    `json:"brushlabels"`
	Points          [][]float64 `json:"points"`
	PolygonLabels   []string    `json:"polygonlabels"`
	X               *float64    `json:"x"`
	Y               *float64    `json:"y"`
	Width           *float64    `json:"width"`
	Height          *float64    `json:"height"`
	Rotation        float64     `json:"rotation"`
	RectangleLabels []string    `json:"rectanglelabels"`
}

// lsIgnored are result types that carry neither a verdict nor a region.
var lsIgnored = map[string]bool{"textarea": true, "rating": true, "number": true, "datetime": true, "relation": true, "taxonomy": true}

// readLS reads a Label Studio JSON export (an array of tasks) into c.
func readLS(data []byte, file string, c *collector) {
	var tasks []lsTaskIn
	if err := json.Unmarshal(data, &tasks); err != nil {
		c.problem(file, "", fmt.Errorf("not a Label Studio JSON export (an array of tasks): %w", err))
		return
	}
	for i := range tasks {
		t := &tasks[i]
		where := fmt.Sprintf("task %d", i)
		if len(t.ID) > 0 {
			where = fmt.Sprintf("task %d (id %s)", i, t.ID)
		}
		it, name := lsMatch(t, c.ix)
		if it == nil {
			c.problem(file, "", fmt.Errorf("%s: image %q is not in the review package", where, name))
			continue
		}
		f, ok := c.item(file, it, where)
		if !ok {
			continue
		}
		a := lsLatest(t.Annotations)
		if a == nil {
			continue // no verdict
		}
		for j := range a.Result {
			readLSResult(&a.Result[j], fmt.Sprintf("%s, result %d", where, j), f, it, c)
		}
	}
}

// hexPrefix is the prefix Label Studio gives uploaded files.
var hexPrefix = regexp.MustCompile(`^[0-9a-f]{8}-`)

// lsMatch finds a task's item: by data.dsbuild_item, or else by the file
// name in data.image. It returns the name it looked for.
func lsMatch(t *lsTaskIn, ix *index) (*Item, string) {
	var name string
	if raw, ok := t.Data[lsItemKey]; ok && json.Unmarshal(raw, &name) == nil && name != "" {
		return ix.byName[name], name
	}
	var img string
	if raw, ok := t.Data[lsImageKey]; !ok || json.Unmarshal(raw, &img) != nil || img == "" {
		return nil, ""
	}
	s := img
	if i := strings.Index(s, "?d="); i >= 0 {
		s = s[i+3:] // local files storage: /data/local-files/?d=<path>
	}
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	if i := strings.LastIndex(s, "images/"); i >= 0 {
		if it := ix.match(s[i+len("images/"):]); it != nil {
			return it, img
		}
	}
	base := path.Base(s)
	if it := ix.match(base); it != nil {
		return it, img
	}
	return ix.match(hexPrefix.ReplaceAllString(base, "")), img
}

// lsLatest returns the latest annotation that was not cancelled: by
// updated_at (or created_at), then id, then position; nil if none.
func lsLatest(anns []lsAnnotationIn) *lsAnnotationIn {
	var best *lsAnnotationIn
	var bestT time.Time
	var bestID float64
	for i := range anns {
		a := &anns[i]
		if a.WasCancelled {
			continue
		}
		ts := a.UpdatedAt
		if ts == "" {
			ts = a.CreatedAt
		}
		t, _ := time.Parse(time.RFC3339Nano, ts) // the zero time when absent or odd
		id, err := strconv.ParseFloat(string(a.ID), 64)
		if err != nil {
			id = math.Inf(-1)
		}
		if best == nil || t.After(bestT) || t.Equal(bestT) && id >= bestID {
			best, bestT, bestID = a, t, id
		}
	}
	return best
}

// readLSResult reads one result item of the chosen annotation.
func readLSResult(r *lsResultIn, where string, f *found, it *Item, c *collector) {
	fail := func(err error) { c.problem(f.file, it.Name, fmt.Errorf("%s: %w", where, err)) }
	if lsIgnored[r.Type] {
		return
	}
	var v lsValueIn
	if err := json.Unmarshal(r.Value, &v); err != nil {
		fail(fmt.Errorf("%s value: %w", r.Type, err))
		return
	}
	if r.Type == "choices" {
		named := r.FromName == lsVerdict || r.FromName == cvatReviewLabel
		for _, ch := range v.Choices {
			if vd, ok := ParseVerdict(ch); ok {
				f.verdict(vd)
			} else if named {
				fail(fmt.Errorf("unknown verdict %q (want %s)", ch, verdictNames()))
			}
		}
		return
	}
	w, h := it.Ann.Width, it.Ann.Height
	for _, d := range []struct {
		p    *float64
		want int
		name string
	}{{r.OriginalWidth, w, "original_width"}, {r.OriginalHeight, h, "original_height"}} {
		if d.p != nil && *d.p != float64(d.want) {
			fail(fmt.Errorf("%s is %v, the package's image is %dx%d", d.name, *d.p, w, h))
			return
		}
	}
	var labels []string
	switch r.Type {
	case "brushlabels":
		labels = v.BrushLabels
	case "polygonlabels":
		labels = v.PolygonLabels
	case "rectanglelabels":
		labels = v.RectangleLabels
	default:
		fail(fmt.Errorf("result type %q is not supported (use brush, polygon or rectangle labels)", r.Type))
		return
	}
	if len(labels) != 1 {
		fail(fmt.Errorf("%s region has %d labels, want 1", r.Type, len(labels)))
		return
	}
	o, err := lsObject(r.Type, labels[0], &v, w, h)
	if err != nil {
		fail(err)
		return
	}
	c.object(f, it, o, where)
}

// px converts a percentage of size into pixels, rounded to 1/1000 so that
// percentages written from whole or half pixels come back exactly.
func px(pct float64, size int) float64 {
	return math.Round(pct*float64(size)*10) / 1000
}

// lsObject converts a region value into an object of class label.
func lsObject(typ, label string, v *lsValueIn, w, h int) (dataset.Object, error) {
	switch typ {
	case "brushlabels":
		if v.Format != "rle" {
			return dataset.Object{}, fmt.Errorf("brush format %q, want \"rle\"", v.Format)
		}
		m, err := decodeBrush(v.RLE, w, h)
		if err != nil {
			return dataset.Object{}, err
		}
		return tightBitmap(label, m, image.Point{})
	case "polygonlabels":
		ring := make([]dataset.Point, 0, len(v.Points))
		for _, p := range v.Points {
			if len(p) != 2 || !finite(p[0]) || !finite(p[1]) {
				return dataset.Object{}, fmt.Errorf("polygon point %v is not [x, y]", p)
			}
			ring = append(ring, dataset.Point{X: px(p[0], w), Y: px(p[1], h)})
		}
		return dataset.Object{Class: label, Shape: dataset.ShapePolygon, Polygon: dataset.Polygon{Exterior: ring}}, nil
	default: // rectanglelabels
		if v.X == nil || v.Y == nil || v.Width == nil || v.Height == nil {
			return dataset.Object{}, errors.New("rectangle without x, y, width and height")
		}
		for _, f := range []float64{*v.X, *v.Y, *v.Width, *v.Height} {
			if !finite(f) {
				return dataset.Object{}, fmt.Errorf("rectangle coordinate %v is out of range", f)
			}
		}
		if v.Rotation != 0 {
			return dataset.Object{}, fmt.Errorf("rotated rectangle (%v°) is not supported; draw a polygon", v.Rotation)
		}
		x0, y0 := math.Round(px(*v.X, w)), math.Round(px(*v.Y, h))
		x1, y1 := math.Round(px(*v.X+*v.Width, w)), math.Round(px(*v.Y+*v.Height, h))
		o := dataset.Object{Class: label, Shape: dataset.ShapeRectangle}
		o.Rect.Min.X, o.Rect.Min.Y, o.Rect.Max.X, o.Rect.Max.Y = int(x0), int(y0), int(x1), int(y1)
		o.Rect = o.Rect.Canon()
		if o.Rect.Empty() {
			return dataset.Object{}, fmt.Errorf("rectangle (%v%%, %v%%, %v%% × %v%%) covers no pixel", *v.X, *v.Y, *v.Width, *v.Height)
		}
		return o, nil
	}
}

// finite reports whether f is a number within ±2^31 (far beyond any
// percentage or pixel coordinate).
func finite(f float64) bool { return !math.IsNaN(f) && math.Abs(f) <= 1<<31 }
