package preannotate

import (
	"image"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"dsbuild/dataset"
	"dsbuild/model/annotate"
)

// Two images: 1 is 4 wide and 3 high, 2 is 5×5.
var testImages = []predImage{{ID: 1, Name: "ds/a.png", W: 4, H: 3}, {ID: 2, Name: "ds/b.jpg", W: 5, H: 5}}

// describe renders an image's objects as "class@x,y:WxH=area conf".
func describe(objs []dataset.Object) string {
	var parts []string
	for _, o := range objs {
		conf := ""
		for _, t := range o.Tags {
			conf += " " + t.Name + "=" + t.Value
		}
		parts = append(parts, o.Class+"@"+pt(o.Origin)+":"+itoa(o.Mask.W)+"x"+itoa(o.Mask.H)+"="+itoa(o.Mask.Area())+conf)
		if o.Shape != dataset.ShapeBitmap {
			parts = append(parts, "not a bitmap")
		}
	}
	return strings.Join(parts, "; ")
}

func pt(p image.Point) string { return itoa(p.X) + "," + itoa(p.Y) }

var itoa = strconv.Itoa

// A results list: RLE as a compressed string and as a list of runs,
// polygons (several: their union), bbox ignored; objects are bitmaps
// cropped to their box, tagged confidence, ordered by (top, left, area);
// an image no result names has none, and an empty mask gives no object.
func TestParseResults(t *testing.T) {
	t.Parallel()
	// Image 1 is 3 high: column-major runs. "327" = counts [3, 2, 7]:
	// column 0 unset, then (1, 0) and (1, 1) set.
	results := `[
	  {"image_id": 2, "category_id": 2, "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2], [3, 3, 5, 3, 5, 5, 3, 5]], "score": 0.25, "bbox": "ignored"},
	  {"image_id": 1, "category_id": 1, "segmentation": {"size": [3, 4], "counts": "327"}, "score": 0.5},
	  {"image_id": 1, "category_id": 1, "segmentation": {"size": [3, 4], "counts": [0, 1, 11]}, "score": 1},
	  {"image_id": 1, "category_id": 2, "segmentation": {"size": [3, 4], "counts": [12]}, "score": 0}
	]`
	got, err := parseResults([]byte(results), testImages, []string{"person", "car"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"person@0,0:1x1=1 confidence=1; person@1,0:1x2=2 confidence=0.5",
		"car@0,0:5x5=8 confidence=0.25",
	}
	for i := range want {
		if d := describe(got[i]); d != want[i] {
			t.Errorf("image %d: %s, want %s", i+1, d, want[i])
		}
	}
	// The union of the two squares, cropped at (0, 0).
	if m := got[1][0].Mask; !m.At(0, 0) || !m.At(1, 1) || m.At(2, 2) || !m.At(3, 3) || !m.At(4, 4) {
		t.Errorf("union of two squares: %v", m.Bits)
	}
	// An image no result names has no objects.
	got, err = parseResults([]byte(`[]`), testImages, []string{"person"})
	if err != nil || len(got) != 2 || got[0] != nil || got[1] != nil {
		t.Errorf("no results: %v, %v", got, err)
	}
	// The compressed form is pycocotools': this dataset.RLE round trip
	// decodes like the hand-made string.
	m, _ := dataset.NewMask(4, 3)
	m.Set(1, 0, true)
	m.Set(1, 1, true)
	r, _ := dataset.EncodeRLE(m)
	if s := r.CountsString(); s != "327" {
		t.Errorf("counts string of the test mask: %q", s)
	}
}

// Every malformed result is an error naming the file, the result's index
// and what is wrong.
func TestParseResultsErrors(t *testing.T) {
	t.Parallel()
	ok := `{"image_id": 1, "category_id": 1, "segmentation": {"size": [3, 4], "counts": [12]}, "score": 0.5}`
	for _, tc := range []struct{ name, results, want string }{
		{"not a list", `{"image_id": 1}`, "predictions/results.json: not a JSON list; write a COCO results list"},
		{"bad JSON", `[{"image_id": 1,]`, "predictions/results.json: not valid JSON"},
		{"not an object", `[` + ok + `, 3]`, "predictions/results.json: result 1: not a JSON object"},
		{"unknown image", `[` + ok + `, {"image_id": 99, "category_id": 1, "segmentation": [], "score": 0.5}]`,
			"predictions/results.json: result 1: image_id 99 is not one of the 2 images in inputs/images.json"},
		{"no image_id", `[{"category_id": 1}]`, "result 0: no image_id: give the id of an image in inputs/images.json"},
		{"image_id a name", `[{"image_id": "ds/a.png"}]`, `result 0: image_id "ds/a.png" is not a whole number`},
		{"image_id fraction", `[{"image_id": 1.5}]`, `result 0: image_id 1.5 is not a whole number`},
		{"no category", `[{"image_id": 1, "segmentation": [], "score": 0.5}]`, "result 0: no category_id: give the id of a category in inputs/images.json (1 to 1: 1 person)"},
		{"unknown category", `[{"image_id": 1, "category_id": 2}]`, "result 0: category_id 2 is not a category of inputs/images.json (1 to 1: 1 person); a class the model predicts must be in the step's classes"},
		{"category 0", `[{"image_id": 1, "category_id": 0}]`, "result 0: category_id 0 is not a category"},
		{"no score", `[{"image_id": 1, "category_id": 1, "segmentation": []}]`, "result 0: no score: give each prediction its confidence, a number from 0 to 1"},
		{"score above 1", `[{"image_id": 1, "category_id": 1, "score": 1.5}]`, "result 0: score 1.5 is not a number from 0 to 1 (a probability, not a logit or a percentage)"},
		{"negative score", `[{"image_id": 1, "category_id": 1, "score": -0.1}]`, "result 0: score -0.1 is not a number from 0 to 1"},
		{"infinite score", `[{"image_id": 1, "category_id": 1, "score": 1e999}]`, "result 0: score 1e999 is not a number from 0 to 1"},
		{"score a string", `[{"image_id": 1, "category_id": 1, "score": "0.9"}]`, `result 0: score "0.9" is not a number: give a number from 0 to 1`},
		{"no segmentation", `[{"image_id": 1, "category_id": 1, "score": 0.9}]`, "result 0: no segmentation: give each result a mask"},
		{"segmentation a number", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": 7}]`, "result 0: image_id 1 (ds/a.png): segmentation: 7 is neither an RLE object nor a list of polygons"},
		{"RLE of another size", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": {"size": [4, 3], "counts": [12]}}]`,
			"predictions/results.json: result 0: image_id 1 (ds/a.png): segmentation: RLE size [4, 3] is not the image's [height, width] = [3, 4]; encode the mask at the image's size"},
		{"RLE without size", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": {"counts": [12]}}]`, "segmentation: RLE size (none) is not [height, width]"},
		{"RLE without counts", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": {"size": [3, 4]}}]`, "segmentation: RLE without counts"},
		{"RLE runs short", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": {"size": [3, 4], "counts": [3, 2]}}]`, "segmentation: RLE counts list: rle: counts sum to 5, want h*w = 3*4 = 12"},
		{"RLE negative run", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": {"size": [3, 4], "counts": [13, -1]}}]`, "segmentation: RLE counts list: count 1 is -1"},
		{"RLE bad string", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": {"size": [3, 4], "counts": "3~"}}]`, "segmentation: RLE counts string: parse rle string: count 1: byte 1 ('~') outside '0'…'o'"},
		{"RLE string short", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": {"size": [3, 4], "counts": "32"}}]`, "segmentation: RLE counts string: parse rle string: rle: counts sum to 5"},
		{"RLE counts object", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": {"size": [3, 4], "counts": {}}}]`, "segmentation: RLE counts {} is neither a string nor a list of numbers"},
		{"empty polygon list", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": []}]`, "segmentation: an empty list: give polygons"},
		{"list of RLEs", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": [{"size": [3, 4], "counts": [12]}]}]`, "segmentation: a list of RLE objects: give one RLE object"},
		{"polygon of 2 points", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": [[0, 0, 1, 1]]}]`, "segmentation: polygon 0 has 4 numbers; a polygon is at least 3 points"},
		{"odd polygon", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": [[0, 0, 1, 1, 2, 2, 3]]}]`, "segmentation: polygon 0 has 7 numbers"},
		{"flat polygon", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": [0, 0, 1, 0, 1, 1]}]`, "segmentation: polygon 0: 0 is not a list of numbers [x1, y1, x2, y2, …]"},
		{"polygon outside", `[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": [[0, 0, 3, 0, 3, 9]]}]`,
			"segmentation: polygon 0: point 2 (3, 9) lies outside the 4×3 image; coordinates are pixels from its top-left corner, x along the width"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseResults([]byte(tc.results), testImages, []string{"person"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant …%s…", err, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), ResultsFile+": ") {
				t.Errorf("%v does not name %s", err, ResultsFile)
			}
		})
	}
	// One image: the message says so.
	_, err := parseResults([]byte(`[{"image_id": 2}]`), testImages[:1], []string{"person"})
	if want := "result 0: image_id 2 is not the one image in inputs/images.json"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %s", err, want)
	}
}

// A Supervisely project: <dataset>/ann/<file>.json per image, any
// geometry, scores in "confidence" or "score" tags, checked like results.
func TestParseSupervisely(t *testing.T) {
	t.Parallel()
	ann := func(w, h int, objects string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(`{"size": {"width": ` + itoa(w) + `, "height": ` + itoa(h) + `}, "tags": [], "objects": [` + objects + `]}`)}
	}
	poly := `{"classTitle": "person", "geometryType": "polygon", "points": {"exterior": [[1, 1], [3, 1], [3, 3], [1, 3]], "interior": []}, "tags": [{"name": "confidence", "value": 0.75}]}`
	rect := `{"classTitle": "car", "geometryType": "rectangle", "points": {"exterior": [[0, 0], [1, 0]], "interior": []}, "tags": [{"name": "score", "value": 0.5}]}`
	meta := &fstest.MapFile{Data: []byte(`{"classes": [{"title": "person", "shape": "polygon", "color": "#FF0000"}, {"title": "car", "shape": "any", "color": "#00FF00"}], "tags": []}`)}
	src := fstest.MapFS{
		"meta.json":            meta,
		"ds/ann/b.jpg.json":    ann(5, 5, poly+", "+rect),
		"ds/img/b.jpg":         &fstest.MapFile{Data: []byte("not read")},
		"ds/ann/notes.txt":     &fstest.MapFile{Data: []byte("ignored")},
		"other/readme.json":    &fstest.MapFile{Data: []byte("ignored: not an ann file")},
		"ds/ann/deeper/x.json": &fstest.MapFile{Data: []byte("ignored")},
	}
	got, err := parseSupervisely(src, testImages, []string{"person", "car"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0]) != 0 {
		t.Errorf("image 1 has no annotation file, but %d objects", len(got[0]))
	}
	// Supervisely's vertices are pixel centres: the square from centre
	// (1, 1) to centre (3, 3) covers pixels 1 and 2 of each axis.
	if d, want := describe(got[1]), "car@0,0:2x1=2 confidence=0.5; person@1,1:2x2=4 confidence=0.75"; d != want {
		t.Errorf("image 2: %s, want %s", d, want)
	}
	for _, tc := range []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"unknown image", fstest.MapFS{"ds/ann/c.png.json": ann(4, 3, "")},
			"predictions/ds/ann/c.png.json: image ds/c.png is not one of the 2 images in inputs/images.json (the annotation of image <dataset>/<file> is <dataset>/ann/<file>.json)"},
		{"stem name", fstest.MapFS{"ds/ann/a.json": ann(4, 3, "")}, "predictions/ds/ann/a.json: image ds/a is not one of the 2 images"},
		{"unknown class", fstest.MapFS{"ds/ann/b.jpg.json": ann(5, 5, poly+", "+strings.Replace(poly, "person", "dog", 1))},
			`predictions/ds/ann/b.jpg.json: object 1: class "dog" is not one of the step's classes (person, car); add it to classes, or have the predictor name one of them`},
		{"no score", fstest.MapFS{"ds/ann/b.jpg.json": ann(5, 5, strings.Replace(poly, "confidence", "conf", 1))},
			`predictions/ds/ann/b.jpg.json: object 0: no tag "confidence" (nor "score"): give each object its score`},
		{"score out of range", fstest.MapFS{"ds/ann/b.jpg.json": ann(5, 5, strings.Replace(poly, "0.75", "75", 1))},
			`predictions/ds/ann/b.jpg.json: object 0: tag "confidence": score 75 is not a number from 0 to 1`},
		{"score a string", fstest.MapFS{"ds/ann/b.jpg.json": ann(5, 5, strings.Replace(poly, "0.75", `"high"`, 1))},
			`object 0: tag "confidence" is "high", not a number`},
		{"other size", fstest.MapFS{"ds/ann/a.png.json": ann(3, 4, "")},
			"predictions/ds/ann/a.png.json: size 3×4 (width × height) is not the image's 4×3"},
		{"bad JSON", fstest.MapFS{"ds/ann/a.png.json": &fstest.MapFile{Data: []byte("{")}}, "predictions/ds/ann/a.png.json: annotation JSON:"},
		{"bad meta", fstest.MapFS{"meta.json": &fstest.MapFile{Data: []byte("[7]")}}, "predictions/meta.json: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSupervisely(tc.fs, testImages, []string{"person", "car"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant …%s…", err, tc.want)
			}
		})
	}
}

// No predictions/, or predictions/ without results.json: the error says
// what the command must write.
func TestReadPredictionsMissing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := readPredictions(dir, FormatCOCO, testImages, []string{"person"})
	if want := "the command wrote no predictions/ directory: a predictor writes predictions/results.json (a COCO results list), for the images listed in inputs/images.json"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	_, err = readPredictions(dir, FormatSupervisely, testImages, []string{"person"})
	if want := "predictions/ as a Supervisely project"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want …%s…", err, want)
	}
	if err := os.Mkdir(filepath.Join(dir, "predictions"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = readPredictions(dir, FormatCOCO, testImages, []string{"person"})
	if want := "predictions/results.json: not found: the command wrote predictions/ but no results.json in it"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want …%s…", err, want)
	}
}

// A detector's results: each result's bbox is a box of its image (the
// pixels it touches), filtered by category and score; every image gets a
// list; errors are checked as for masks.
func TestParseBoxes(t *testing.T) {
	t.Parallel()
	results := `[
	  {"image_id": 2, "category_id": 1, "bbox": [0.5, 1, 2, 2.5], "score": 0.9, "segmentation": "ignored"},
	  {"image_id": 2, "category_id": 2, "bbox": [0, 0, 1, 1], "score": 0.9},
	  {"image_id": 2, "category_id": 1, "bbox": [3, 3, 1, 1], "score": 0.1},
	  {"image_id": 2, "category_id": 1, "bbox": [3, 3, 4, 4], "score": 0.6}
	]`
	got, err := parseBoxes([]byte(results), testImages, []string{"person", "car"}, []int{1}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] == nil || len(got[0]) != 0 {
		t.Errorf("image 1: %v, want an empty list", got[0])
	}
	want := []annotate.Box{{Rect: image.Rect(0, 1, 3, 4), Score: 0.9}, {Rect: image.Rect(3, 3, 7, 7), Score: 0.6}}
	if !reflect.DeepEqual(got[1], want) {
		t.Errorf("image 2: %v, want %v", got[1], want)
	}
	for _, tc := range []struct{ name, results, want string }{
		{"unknown image", `[{"image_id": 3, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]`, "predictions/results.json: result 0: image_id 3 is not one of the 2 images in inputs/images.json"},
		{"unknown category", `[{"image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1], "score": 0.5}]`, "result 0: category_id 3 is not a category of inputs/images.json (1 to 2: 1 person, 2 car)"},
		{"no bbox", `[{"image_id": 1, "category_id": 1, "score": 0.5}]`, `result 0: no bbox: in mode = "boxes" each result is a box`},
		{"short bbox", `[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "score": 0.5}]`, "result 0: bbox [0, 0, 1] is not [x, y, width, height] in pixels"},
		{"negative size", `[{"image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 1], "score": 0.5}]`, "result 0: bbox [0 0 -1 1] has a negative size"},
		{"huge", `[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1e12, 1], "score": 0.5}]`, "is out of range"},
		{"outside", `[{"image_id": 1, "category_id": 1, "bbox": [4, 0, 2, 2], "score": 0.5}]`, "result 0: image_id 1 (ds/a.png): bbox [4 0 2 2] lies outside the 4×3 image"},
		{"bad score", `[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 2}]`, "result 0: score 2 is not a number from 0 to 1"},
		{"not a list", `{}`, "predictions/results.json: not a JSON list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseBoxes([]byte(tc.results), testImages, []string{"person", "car"}, nil, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant …%s…", err, tc.want)
			}
		})
	}
}
