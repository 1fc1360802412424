package review

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/dataset"
)

// The bad-input tests review two 8×6 images, a/x.png and a/y.png. x is
// always fine (good); the cases spoil y.
var errItems = []Item{
	{Name: "a/x.png", Ann: &dataset.Annotation{Width: 8, Height: 6}},
	{Name: "a/y.png", Ann: &dataset.Annotation{Width: 8, Height: 6}},
}

// writeFiles writes name → content under a new directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := writeFile(dir, name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// errCase is a results directory that ReadResults must reject (want set:
// an error naming file, item and saying want) or accept (verdict set).
type errCase struct {
	name  string
	files map[string]string
	file  string // the results file the error must name, relative
	item  string // the item the error must name, if any
	want  string
	// For accepted results: y's verdict and number of objects.
	verdict Verdict
	objects int
}

func runErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, c.files)
			got, err := ReadResults(dir, errItems, testClasses)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got[1].Verdict != c.verdict || len(got[1].Objects) != c.objects {
					t.Errorf("a/y.png: %s with %d objects, want %s with %d", got[1].Verdict, len(got[1].Objects), c.verdict, c.objects)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; results %+v", got)
			}
			if got != nil {
				t.Errorf("results %+v with the error", got)
			}
			msg := err.Error()
			file := filepath.Join(dir, filepath.FromSlash(c.file))
			if !strings.Contains(msg, file) {
				t.Errorf("error %q does not name the file %s", msg, file)
			}
			if c.item != "" && !strings.Contains(msg, "item "+c.item) {
				t.Errorf("error %q does not name item %s", msg, c.item)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not say %q", msg, c.want)
			}
		})
	}
}

func cvatFile(images string) map[string]string {
	return map[string]string{"annotations.xml": `<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <image id="0" name="a/x.png" width="8" height="6">
    <tag label="review" source="manual"><attribute name="verdict">good</attribute></tag>
  </image>
` + images + `
</annotations>
`}
}

// cvatY is the image a/y.png holding body.
func cvatY(body string) map[string]string {
	return cvatFile(`<image id="1" name="a/y.png" width="8" height="6">` + body + `</image>`)
}

const (
	cvatNeeds = `<tag label="review" source="manual"><attribute name="verdict">needs correction</attribute></tag>`
	cvatMask  = `<mask label="person" source="manual" occluded="0" rle="%s" left="%d" top="%d" width="2" height="2" z_order="0"></mask>`
)

func TestCVATErrors(t *testing.T) {
	const f = "annotations.xml"
	runErrCases(t, []errCase{
		{name: "image not in the package", files: cvatFile(`<image id="1" name="a/y.png" width="8" height="6">` + cvatNeeds + `</image>
			<image id="2" name="b/z.png" width="8" height="6"></image>`),
			file: f, want: `image "b/z.png" (id 2) is not in the review package`},
		{name: "no verdict", files: cvatY(""), file: f, want: "item a/y.png has no verdict in "},
		{name: "unknown verdict", files: cvatY(`<tag label="review"><attribute name="verdict">maybe</attribute></tag>`),
			file: f, item: "a/y.png", want: `unknown verdict "maybe"`},
		{name: "unknown verdict tag", files: cvatY(`<tag label="blurry" source="manual"></tag>`),
			file: f, item: "a/y.png", want: `unknown verdict tag "blurry"`},
		{name: "review tag without verdict", files: cvatY(`<tag label="review" source="manual"></tag>`),
			file: f, item: "a/y.png", want: `no "verdict" attribute`},
		{name: "two verdicts", files: cvatY(cvatNeeds + `<tag label="bad prediction" source="manual"></tag>`),
			file: f, item: "a/y.png", want: `more than one verdict: "needs correction", "bad"`},
		{name: "mask runs do not sum", files: cvatY(cvatNeeds + fmt.Sprintf(cvatMask, "1, 2", 0, 0)),
			file: f, item: "a/y.png", want: "rle: the runs sum to 3, want width*height = 4"},
		{name: "mask runs too long", files: cvatY(cvatNeeds + fmt.Sprintf(cvatMask, "1, 4", 0, 0)),
			file: f, item: "a/y.png", want: "rle: the runs exceed width*height = 4"},
		{name: "mask runs not numbers", files: cvatY(cvatNeeds + fmt.Sprintf(cvatMask, "1, a, 2", 0, 0)),
			file: f, item: "a/y.png", want: `rle: run 1 ("a")`},
		{name: "mask partly outside", files: cvatY(cvatNeeds + fmt.Sprintf(cvatMask, "0, 4", 7, 2)),
			file: f, item: "a/y.png", want: "lies (partly) outside the 8x6 image"},
		{name: "mask with no pixel", files: cvatY(cvatNeeds + fmt.Sprintf(cvatMask, "4", 0, 0)),
			file: f, item: "a/y.png", want: "no set pixels"},
		{name: "unknown class", files: cvatY(cvatNeeds + `<polygon label="cat" source="manual" occluded="0" points="1.00,1.00;4.00,1.00;4.00,4.00" z_order="0"></polygon>`),
			file: f, item: "a/y.png", want: `unknown class "cat"`},
		{name: "polygon of two points", files: cvatY(cvatNeeds + `<polygon label="person" points="1,1;4,1"></polygon>`),
			file: f, item: "a/y.png", want: "polygon with 2 vertices"},
		{name: "rotated box", files: cvatY(cvatNeeds + `<box label="car" xtl="1" ytl="1" xbr="4" ybr="4" rotation="30.00"></box>`),
			file: f, item: "a/y.png", want: "rotated shapes are not supported"},
		{name: "size differs", files: cvatFile(`<image id="1" name="a/y.png" width="9" height="6">` + cvatNeeds + `</image>`),
			file: f, item: "a/y.png", want: `is "9"x"6", the package's image is 8x6`},
		{name: "image twice", files: cvatFile(`<image id="1" name="a/y.png" width="8" height="6">` + cvatNeeds + `</image>
			<image id="2" name="a/y.png" width="8" height="6">` + cvatNeeds + `</image>`),
			file: f, item: "a/y.png", want: "the image appears twice"},
		{name: "missing item", files: cvatFile(""), file: f, want: "1 items of the review package have no results: a/y.png"},
		{name: "malformed", files: map[string]string{f: "<annotations><image"}, file: f, want: "not a CVAT for images 1.1 annotations file"},
		{name: "not annotations", files: map[string]string{f: "<html></html>"}, file: f, want: "not a CVAT"},
		{name: "tracks", files: cvatFile(`<track id="0" label="person"></track>`), file: f, want: "tracks"},

		{name: "verdict tag per label", files: cvatY(`<tag label="bad" source="manual"></tag>`), verdict: Bad},
		{name: "same verdict twice", files: cvatY(cvatNeeds + cvatNeeds), verdict: NeedsCorrection, objects: 0},
		{name: "shapes", files: cvatY(cvatNeeds + fmt.Sprintf(cvatMask, "1, 3", 6, 4) +
			`<box label="car" source="manual" occluded="0" xtl="0.40" ytl="1.00" xbr="3.00" ybr="2.60" z_order="0"></box>
			<polygon label="person" source="manual" occluded="0" points="1,1;4,1;4,4" z_order="0"></polygon>
			<polyline label="person" points="1,1;4,1"></polyline><ellipse label="person" cx="1" cy="1" rx="1" ry="1"></ellipse>`),
			verdict: NeedsCorrection, objects: 3},
		{name: "folder prefix", files: cvatFile(`<image id="1" name="images/a/y.png" width="8" height="6"><tag label="review"><attribute name="verdict">bad</attribute></tag></image>`),
			verdict: Bad},
		{name: "file name only", files: cvatFile(`<image id="1" name="y.png" width="8" height="6"><tag label="review"><attribute name="verdict">bad</attribute></tag></image>`),
			verdict: Bad},
	})
}

func lsExport(tasks ...string) map[string]string {
	return map[string]string{"project-1-at-2024.json": "[\n" + strings.Join(append([]string{
		`{"id": 1, "data": {"dsbuild_item": "a/x.png", "image": "images/a/x.png"}, "annotations": [{"id": 1, "completed_by": {"id": 1, "email": "r@example.com"}, "result": [` + lsChoice("good") + `]}], "predictions": [7]}`,
	}, tasks...), ",\n") + "\n]\n"}
}

func lsChoice(v string) string {
	return `{"id": "v", "type": "choices", "from_name": "verdict", "to_name": "image", "value": {"choices": ["` + v + `"]}}`
}

// lsY is the task of a/y.png with one annotation holding results.
func lsY(results ...string) string {
	return `{"id": 2, "data": {"dsbuild_item": "a/y.png", "image": "images/a/y.png"}, "annotations": [{"id": 2, "was_cancelled": false, "result": [` + strings.Join(results, ", ") + `]}]}`
}

const lsPoly = `{"type": "polygonlabels", "from_name": "poly", "to_name": "image", "original_width": 8, "original_height": 6, "value": {"points": %s, "polygonlabels": [%s]}}`

func TestLabelStudioErrors(t *testing.T) {
	const f = "project-1-at-2024.json"
	needs := lsChoice("needs correction")
	brush := func(rle string) string {
		return `{"type": "brushlabels", "from_name": "mask", "to_name": "image", "original_width": 8, "original_height": 6, "value": {"format": "rle", "rle": ` + rle + `, "brushlabels": ["person"]}}`
	}
	// A brush holding pixel (0, 0) of the 8×6 image.
	px := &dataset.Mask{W: 8, H: 6, Bits: make([]uint8, 48)}
	px.Bits[0] = 1
	goodRLE := strings.ReplaceAll(fmt.Sprint(encodeBrush(px)), " ", ", ")
	runErrCases(t, []errCase{
		{name: "task not in the package", files: lsExport(lsY(needs),
			`{"id": 3, "data": {"dsbuild_item": "b/z.png", "image": "images/b/z.png"}, "annotations": []}`),
			file: f, want: `task 2 (id 3): image "b/z.png" is not in the review package`},
		{name: "no verdict", files: lsExport(lsY()), file: f, want: "item a/y.png has no verdict in "},
		{name: "no annotation", files: lsExport(`{"id": 2, "data": {"dsbuild_item": "a/y.png"}}`), file: f, want: "item a/y.png has no verdict in "},
		{name: "only cancelled annotations", files: lsExport(`{"id": 2, "data": {"dsbuild_item": "a/y.png"}, "annotations": [{"was_cancelled": true, "result": [` + lsChoice("good") + `]}]}`),
			file: f, want: "item a/y.png has no verdict in "},
		{name: "unknown verdict", files: lsExport(lsY(lsChoice("maybe"))), file: f, item: "a/y.png", want: `unknown verdict "maybe"`},
		{name: "two verdicts", files: lsExport(lsY(`{"type": "choices", "from_name": "verdict", "value": {"choices": ["good", "bad"]}}`)),
			file: f, item: "a/y.png", want: `more than one verdict: "good", "bad"`},
		{name: "brush does not decode", files: lsExport(lsY(needs, brush("[0, 0, 0, 24, 57]"))),
			file: f, item: "a/y.png", want: "rle: 24 values, want 4*8*6 = 192"},
		{name: "brush not bytes", files: lsExport(lsY(needs, brush(`"abc"`))),
			file: f, item: "a/y.png", want: "brushlabels value"},
		{name: "polygon partly outside", files: lsExport(lsY(needs, fmt.Sprintf(lsPoly, "[[0, 0], [120, 0], [50, 50]]", `"person"`))),
			file: f, item: "a/y.png", want: "lies (partly) outside the 8x6 image"},
		{name: "unknown class", files: lsExport(lsY(needs, fmt.Sprintf(lsPoly, "[[0, 0], [50, 0], [50, 50]]", `"cat"`))),
			file: f, item: "a/y.png", want: `unknown class "cat"`},
		{name: "two labels", files: lsExport(lsY(needs, fmt.Sprintf(lsPoly, "[[0, 0], [50, 0], [50, 50]]", `"car", "person"`))),
			file: f, item: "a/y.png", want: "polygonlabels region has 2 labels, want 1"},
		{name: "other image size", files: lsExport(lsY(needs, strings.Replace(brush(goodRLE), `"original_width": 8`, `"original_width": 16`, 1))),
			file: f, item: "a/y.png", want: "original_width is 16, the package's image is 8x6"},
		{name: "unsupported region", files: lsExport(lsY(needs, `{"type": "ellipselabels", "value": {"x": 1, "y": 1, "radiusX": 2, "radiusY": 2, "ellipselabels": ["person"]}}`)),
			file: f, item: "a/y.png", want: `result type "ellipselabels" is not supported`},
		{name: "rotated rectangle", files: lsExport(lsY(needs, `{"type": "rectanglelabels", "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 15, "rectanglelabels": ["car"]}}`)),
			file: f, item: "a/y.png", want: "rotated rectangle"},
		{name: "task twice", files: lsExport(lsY(needs), lsY(needs)), file: f, item: "a/y.png", want: "the image appears twice"},
		{name: "missing item", files: lsExport(), file: f, want: "1 items of the review package have no results: a/y.png"},
		{name: "not JSON", files: map[string]string{f: "[{"}, file: f, want: "not a Label Studio JSON export"},
		{name: "tasks not objects", files: map[string]string{f: "[1, 2]"}, file: f, want: "not a Label Studio JSON export"},

		{name: "regions", files: lsExport(lsY(needs, brush(goodRLE),
			fmt.Sprintf(lsPoly, "[[0, 0], [50, 0], [50, 50]]", `"person"`),
			`{"type": "rectanglelabels", "value": {"x": 25, "y": 50, "width": 50, "height": 50, "rotation": 0, "rectanglelabels": ["car"]}}`,
			`{"type": "textarea", "from_name": "comment", "value": {"text": ["hard one"]}}`)),
			verdict: NeedsCorrection, objects: 3},
		{name: "latest annotation that is not cancelled", files: lsExport(`{"id": 2, "data": {"dsbuild_item": "a/y.png"}, "annotations": [
			{"id": 5, "updated_at": "2024-05-01T10:00:00.000000Z", "result": [` + lsChoice("good") + `]},
			{"id": 6, "updated_at": "2024-05-02T10:00:00.000000Z", "result": [` + lsChoice("bad") + `]},
			{"id": 7, "updated_at": "2024-05-03T10:00:00.000000Z", "was_cancelled": true, "result": [` + lsChoice("good") + `]},
			{"id": 4, "updated_at": "2024-04-30T10:00:00.000000Z", "result": [` + lsChoice("good") + `]}]}`),
			verdict: Bad},
		{name: "matched by uploaded file name", files: lsExport(`{"id": 2, "data": {"image": "/data/upload/5/62be90dd-y.png"}, "annotations": [{"result": [` + lsChoice("bad") + `]}]}`),
			verdict: Bad},
		{name: "matched by local files path", files: lsExport(`{"id": 2, "data": {"image": "/data/local-files/?d=review/images/a/y.png"}, "annotations": [{"result": [` + lsChoice("bad") + `]}]}`),
			verdict: Bad},
		{name: "verdict from another control", files: lsExport(lsY(`{"type": "choices", "from_name": "review", "value": {"choices": ["Bad prediction"]}}`,
			`{"type": "choices", "from_name": "weather", "value": {"choices": ["rain"]}}`)),
			verdict: Bad},
	})
}

func svFiles(yAnn string) map[string]string {
	files := map[string]string{
		"meta.json":          string(dataset.EncodeMeta(&dataset.Meta{Classes: testClasses})),
		"a/img/x.png":        "png",
		"a/ann/x.png.json":   `{"size": {"width": 8, "height": 6}, "tags": ["good prediction"], "objects": []}`,
		"notes/readme.txt":   "not a dataset",
		"a/ann/.DS_Store":    "junk",
		"a/ann/notes.txt":    "not an annotation",
		"a/img/y.png":        "png",
		"a/ann/y.png.json":   yAnn,
		"b/ann/.hidden.json": "{",
	}
	if yAnn == "" {
		delete(files, "a/ann/y.png.json")
	}
	return files
}

// svY is the annotation of a/y.png with tags and objects (JSON lists).
func svY(tags, objects string) string {
	return `{"size": {"width": 8, "height": 6}, "tags": ` + tags + `, "objects": ` + objects + `}`
}

func TestSuperviselyErrors(t *testing.T) {
	const f = "a/ann/y.png.json"
	data, _, err := dataset.EncodeBitmap(block(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	bmp := func(class string, x, y int) string {
		return fmt.Sprintf(`[{"classTitle": %q, "geometryType": "bitmap", "tags": [], "bitmap": {"origin": [%d, %d], "data": %q}}]`, class, x, y, data)
	}
	needs := `["needs correction"]`
	withZ := svFiles(svY(needs, "[]"))
	withZ["a/ann/z.png.json"] = svY(needs, "[]")
	runErrCases(t, []errCase{
		{name: "image not in the package", files: withZ, file: "a/ann/z.png.json", want: `image "a/z.png" is not in the review package`},
		{name: "no verdict", files: svFiles(svY("[]", "[]")), file: f, want: "item a/y.png has no verdict in "},
		{name: "unknown verdict tag", files: svFiles(svY(`["blurry"]`, "[]")), file: f, item: "a/y.png", want: `unknown verdict tag "blurry"`},
		{name: "unknown verdict value", files: svFiles(svY(`[{"name": "verdict", "value": "meh"}]`, "[]")),
			file: f, item: "a/y.png", want: `tag "verdict": unknown verdict "meh"`},
		{name: "two verdicts", files: svFiles(svY(`["good prediction", {"name": "bad prediction"}]`, "[]")),
			file: f, item: "a/y.png", want: `more than one verdict: "good", "bad"`},
		{name: "bitmap does not decode", files: svFiles(svY(needs, `[{"classTitle": "person", "geometryType": "bitmap", "bitmap": {"origin": [0, 0], "data": "bm90IGEgcG5n"}}]`)),
			file: f, item: "a/y.png", want: "decode bitmap"},
		{name: "bitmap partly outside", files: svFiles(svY(needs, bmp("person", 7, 5))),
			file: f, item: "a/y.png", want: "lies (partly) outside the 8x6 image"},
		{name: "unknown class", files: svFiles(svY(needs, bmp("cat", 1, 1))), file: f, item: "a/y.png", want: `unknown class "cat"`},
		{name: "size differs", files: svFiles(`{"size": {"width": 8, "height": 7}, "tags": ["bad prediction"], "objects": []}`),
			file: f, item: "a/y.png", want: "the annotation's size is 8x7, the package's image is 8x6"},
		{name: "malformed annotation", files: svFiles(`{"size": `), file: f, item: "a/y.png", want: "annotation JSON"},
		{name: "missing item", files: svFiles(""), want: "1 items of the review package have no results: a/y.png"},
		{name: "malformed meta", files: map[string]string{"meta.json": "{"}, want: "meta.json"},

		{name: "correction", files: svFiles(svY(needs, bmp("person", 1, 1))), verdict: NeedsCorrection, objects: 1},
		{name: "nothing there", files: svFiles(svY(needs, "[]")), verdict: NeedsCorrection, objects: 0},
		{name: "verdict tag with value", files: svFiles(svY(`[{"name": "verdict", "value": "bad"}]`, bmp("person", 1, 1))), verdict: Bad},
	})
}

// TestMissingItems lists up to 5 missing items and counts them all.
func TestMissingItems(t *testing.T) {
	var items []Item
	for i := range 8 {
		items = append(items, Item{Name: fmt.Sprintf("a/%d.png", i), Ann: &dataset.Annotation{Width: 8, Height: 6}})
	}
	dir := writeFiles(t, map[string]string{"annotations.xml": `<annotations><image name="a/0.png" width="8" height="6"><tag label="good"/></image></annotations>`})
	_, err := ReadResults(dir, items, testClasses)
	want := filepath.Join(dir, "annotations.xml") + ": 7 items of the review package have no results: a/1.png, a/2.png, a/3.png, a/4.png, a/5.png, …"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

// TestManyProblems caps the list at 10 problems and says how many more.
func TestManyProblems(t *testing.T) {
	var items []Item
	var images strings.Builder
	for i := range 14 {
		name := fmt.Sprintf("a/%d.png", i)
		items = append(items, Item{Name: name, Ann: &dataset.Annotation{Width: 8, Height: 6}})
		fmt.Fprintf(&images, `<image name=%q width="8" height="6"><tag label="review"><attribute name="verdict">so-so</attribute></tag></image>`, name)
	}
	dir := writeFiles(t, map[string]string{"annotations.xml": "<annotations>" + images.String() + "</annotations>"})
	_, err := ReadResults(dir, items, testClasses)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 11 || lines[10] != "and 4 more problems" {
		t.Errorf("error:\n%v", err)
	}
}

func TestWritePackageErrors(t *testing.T) {
	img := pngImage(t, 8, 6)
	item := func(name string, objs ...dataset.Object) Item {
		return Item{Name: name, Image: img, Ann: &dataset.Annotation{Width: 8, Height: 6, Objects: objs}}
	}
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "old.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		items []Item
		dir   string
		want  string
	}{
		{"unknown class", []Item{item("a/x.png", bitmap("cat", block(2, 2), 0, 0))}, "", `item a/x.png: predicted object 0: unknown class "cat"`},
		{"outside", []Item{item("a/x.png", bitmap("person", block(2, 2), 7, 0))}, "", "lies (partly) outside the 8x6 image"},
		{"empty mask", []Item{item("a/x.png", bitmap("person", &dataset.Mask{W: 2, H: 2, Bits: make([]uint8, 4)}, 0, 0))}, "", "no set pixels"},
		{"twice", []Item{item("a/x.png"), item("a/x.png")}, "", "item a/x.png is given twice"},
		{"bad name", []Item{item("x.png")}, "", "must be <dataset>/<file>"},
		{"no image", []Item{{Name: "a/x.png", Ann: &dataset.Annotation{Width: 8, Height: 6}}}, "", "item a/x.png has no image bytes"},
		{"image size", []Item{{Name: "a/x.png", Image: pngImage(t, 9, 6), Ann: &dataset.Annotation{Width: 8, Height: 6}}}, "", "the PNG image is 9x6, the prediction is for 8x6"},
		{"no annotation", []Item{{Name: "a/x.png", Image: img}}, "", "has no annotation"},
		{"reserved dataset", []Item{item("meta.json/x.png")}, "", "reserved"},
		{"directory not empty", []Item{item("a/x.png")}, full, "is not empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := c.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "pkg")
			}
			err := WritePackage(dir, c.items, testClasses)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestSimulateErrors(t *testing.T) {
	items := []Item{{Name: "a/x.png", Ann: &dataset.Annotation{Width: 8, Height: 6}}}
	truth := map[string]*dataset.Annotation{"a/x.png": {Width: 8, Height: 6}}
	for _, c := range []struct {
		name      string
		truth     map[string]*dataset.Annotation
		good, bad float64
		format    string
		want      string
	}{
		{"thresholds", truth, 0.5, 0.6, FormatCVAT, "0 ≤ badIoU ≤ goodIoU ≤ 1"},
		{"above 1", truth, 1.5, 0.6, FormatCVAT, "0 ≤ badIoU ≤ goodIoU ≤ 1"},
		{"format", truth, 0.8, 0.2, "coco", `unknown format "coco"`},
		{"no truth", nil, 0.8, 0.2, FormatCVAT, "item a/x.png: no truth annotation"},
		{"truth size", map[string]*dataset.Annotation{"a/x.png": {Width: 4, Height: 6}}, 0.8, 0.2, FormatCVAT, "the truth is 4x6"},
	} {
		_, err := Simulate(items, testClasses, c.truth, c.good, c.bad, c.format, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestClassShapes: corrected objects take the shape of their class without
// changing pixels; a class of rectangles takes only rectangles.
func TestClassShapes(t *testing.T) {
	dir := writeFiles(t, cvatY(cvatNeeds+
		`<polygon label="person" points="1,1;4,1;4,4;1,4"></polygon>`+
		fmt.Sprintf(`<mask label="sign" rle="0, 1, 1, 2" left="%d" top="%d" width="2" height="2"></mask>`, 5, 3)+
		`<box label="car" xtl="0" ytl="0" xbr="2" ybr="1"></box>`))
	got, err := ReadResults(dir, errItems, testClasses)
	if err != nil {
		t.Fatal(err)
	}
	objs := got[1].Objects
	if len(objs) != 3 {
		t.Fatalf("objects %+v", objs)
	}
	wantShapes := map[string]string{"person": dataset.ShapeBitmap, "sign": dataset.ShapePolygon, "car": dataset.ShapeRectangle}
	for _, o := range objs {
		if o.Shape != wantShapes[o.Class] {
			t.Errorf("%s is a %s, want %s", o.Class, o.Shape, wantShapes[o.Class])
		}
	}
	want := objectKeys(t, []dataset.Object{
		rect("person", 1, 1, 4, 4),
		bitmap("sign", maskOf("#.", "##"), 5, 3),
		rect("car", 0, 0, 2, 1),
	}, 8, 6)
	if g := objectKeys(t, objs, 8, 6); strings.Join(g, "|") != strings.Join(want, "|") {
		t.Errorf("pixels changed:\n%v\nwant\n%v", g, want)
	}

	dir = writeFiles(t, cvatY(cvatNeeds+`<polygon label="plate" points="1,1;4,1;4,4"></polygon>`))
	_, err = ReadResults(dir, errItems, testClasses)
	if err == nil || !strings.Contains(err.Error(), `item a/y.png: <polygon> 1 (label "plate"): class "plate" takes rectangles; a polygon is not one`) {
		t.Errorf("a polygon for a class of rectangles: %v", err)
	}
}

func TestMatch(t *testing.T) {
	ix, err := newIndex([]Item{
		{Name: "a/y.png", Ann: &dataset.Annotation{Width: 1, Height: 1}},
		{Name: "b/y.png", Ann: &dataset.Annotation{Width: 1, Height: 1}},
		{Name: "b/z.png", Ann: &dataset.Annotation{Width: 1, Height: 1}},
	}, nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"b/y.png": "b/y.png", "images/b/y.png": "b/y.png", "/x/a/y.png": "a/y.png",
		"z.png": "b/z.png", "c/z.png": "b/z.png", "y.png": "", "c/y.png": "", "": "",
	} {
		got := ""
		if it := ix.match(name); it != nil {
			got = it.Name
		}
		if got != want {
			t.Errorf("match(%q) = %q, want %q", name, got, want)
		}
	}
}
