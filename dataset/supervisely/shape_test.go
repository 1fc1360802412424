package supervisely

import (
	"strings"
	"testing"
)

// An object drawn as another geometry than its class's shape in the meta
// (a polygon on a bitmap class, as the SDK and a hand edit can leave) is an
// item error that names the object, the class and both shapes, and says
// what to do, not "unexpected end of JSON input".
func TestObjectShapeDisagreesWithClass(t *testing.T) {
	poly := `{"id":41,"classTitle":"blob","geometryType":"polygon","points":{"exterior":[[1,1],[5,1],[5,5]],"interior":[]}}`
	files := map[string]string{
		"meta.json":            testMeta,
		"ds/img/poly.png":      "x",
		"ds/ann/poly.png.json": `{"size":{"height":10,"width":20},"objects":[{"classTitle":"person","points":{"exterior":[[1,1],[8,1],[8,6]],"interior":[]}},` + poly + `]}`,
		"ds/img/bmp.png":       "x",
		"ds/ann/bmp.png.json":  `{"size":{"height":10,"width":20},"objects":[{"classTitle":"person","geometryType":"bitmap","bitmap":{"origin":[1,1],"data":"eJzzSM3JyVcozy/KSQEAGgQEXQ=="}}]}`,
		"ds/img/none.png":      "x",
		"ds/ann/none.png.json": `{"size":{"height":10,"width":20},"objects":[{"classTitle":"blob","geometryType":"bitmap"}]}`,
	}
	_, items, err := importSource(t, mem(files), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ds/poly.png": `ds/ann/poly.png.json (item ds/poly.png): object 1: class "blob" is a bitmap class in the meta, but the object (id 41) is a polygon, with no "bitmap" field; the class's shape decides how its objects are read (as in the Supervisely SDK): give the class the object's shape, or "any", in meta.json, or convert the object`,
		"ds/bmp.png":  `ds/ann/bmp.png.json (item ds/bmp.png): object 0: class "person" is a polygon class in the meta, but the object is a bitmap, with no "points" field`,
		"ds/none.png": `ds/ann/none.png.json (item ds/none.png): object 0: class "blob": bitmap object without a "bitmap" field`,
	}
	if len(items) != len(want) {
		t.Fatalf("%d items, want %d", len(items), len(want))
	}
	for _, it := range items {
		if it.Err == nil {
			t.Errorf("%s: no error", it.Name)
			continue
		}
		if msg := it.Err.Error(); !strings.Contains(msg, want[it.Name]) || strings.Contains(msg, "JSON input") {
			t.Errorf("%s: error\n%s\nwant\n%s", it.Name, msg, want[it.Name])
		}
	}
}
