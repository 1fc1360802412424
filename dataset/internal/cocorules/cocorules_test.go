package cocorules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// doc is a valid file with one 4×3 image and the annotation ann.
func doc(ann string) string {
	return `{"images":[{"id":1,"file_name":"a.png","width":4,"height":3}],` +
		`"categories":[{"id":1,"name":"person"}],"annotations":[` + ann + `]}`
}

const good = `{"id":1,"image_id":1,"category_id":1,"iscrowd":0,"area":2,"bbox":[0,0,2,1],`

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string // want: "" valid, else a substring of the error
	}{
		{"polygons", doc(good + `"segmentation":[[0,0,2,0,2,1],[3,0,4,0,4,1,3,1]]}`), ""},
		{"compressed RLE", doc(good + `"segmentation":{"size":[3,4],"counts":"02:"}}`), ""},
		{"uncompressed RLE", doc(good + `"segmentation":{"size":[3,4],"counts":[0,2,10]}}`), ""},
		{"list of uncompressed RLEs", doc(good + `"segmentation":[{"size":[3,4],"counts":[0,2,10]}]}`), ""},
		{"crowd polygon", doc(`{"id":1,"image_id":1,"category_id":1,"iscrowd":1,"area":2,"bbox":[0,0,2,1],"segmentation":[[0,0,2,0,2,1]]}`), ""},
		{"empty segmentation", doc(good + `"segmentation":[]}`), "IndexError"},
		{"no segmentation", doc(`{"id":1,"image_id":1,"category_id":1,"iscrowd":0,"area":2,"bbox":[0,0,2,1]}`), "no segmentation"},
		{"null segmentation", doc(good + `"segmentation":null}`), "neither a list nor an RLE"},
		{"4-number polygon", doc(good + `"segmentation":[[0,0,2,1]]}`), "as boxes"},
		{"2-point polygon", doc(good + `"segmentation":[[0,0,2,0,2,1],[0,0,1,1]]}`), "at least 6"},
		{"odd polygon", doc(good + `"segmentation":[[0,0,2,0,2,1,3]]}`), "at least 6"},
		{"RLE of another size", doc(good + `"segmentation":{"size":[4,3],"counts":[0,2,10]}}`), "differs from the image"},
		{"RLE counts short", doc(good + `"segmentation":{"size":[3,4],"counts":[0,2,9]}}`), "sum"},
		{"compressed RLE in a list", doc(good + `"segmentation":[{"size":[3,4],"counts":"02:"}]}`), "counts lists"},
		{"unknown image", doc(`{"id":1,"image_id":2,"category_id":1,"iscrowd":0,"area":2,"bbox":[0,0,2,1],"segmentation":[[0,0,2,0,2,1]]}`), "KeyError"},
		{"unknown category", doc(`{"id":1,"image_id":1,"category_id":7,"iscrowd":0,"area":2,"bbox":[0,0,2,1],"segmentation":[[0,0,2,0,2,1]]}`), "not in categories"},
		{"float id", doc(`{"id":1.5,"image_id":1,"category_id":1,"iscrowd":0,"area":2,"bbox":[0,0,2,1],"segmentation":[[0,0,2,0,2,1]]}`), "not an integer"},
		{"iscrowd 2", doc(`{"id":1,"image_id":1,"category_id":1,"iscrowd":2,"area":2,"bbox":[0,0,2,1],"segmentation":[[0,0,2,0,2,1]]}`), "iscrowd"},
		{"no area", doc(`{"id":1,"image_id":1,"category_id":1,"iscrowd":0,"bbox":[0,0,2,1],"segmentation":[[0,0,2,0,2,1]]}`), "area"},
		{"short bbox", doc(`{"id":1,"image_id":1,"category_id":1,"iscrowd":0,"area":2,"bbox":[0,0,2],"segmentation":[[0,0,2,0,2,1]]}`), "bbox"},
		{"duplicate annotation id", doc(good + `"segmentation":[[0,0,2,0,2,1]]},` + good + `"segmentation":[[0,0,2,0,2,1]]}`), "used twice"},
		{"no categories", `{"images":[],"annotations":[]}`, `no "categories"`},
		{"image without size", `{"images":[{"id":1,"file_name":"a.png"}],"annotations":[],"categories":[]}`, "width and height"},
	} {
		err := Check([]byte(tc.file))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// TestFixtureSource: the coco fixture is written as real files are, with
// the box-only forms that pycocotools cannot rasterize ([] and no
// segmentation key); the rules find exactly those two.
func TestFixtureSource(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "testdata", "fixtures", "coco")
	var msgs []string
	for _, f := range []string{"instances_train2017.json", "instances_val2017.json"} {
		data, err := os.ReadFile(filepath.Join(dir, "annotations", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(data); err != nil {
			msgs = append(msgs, strings.Split(err.Error(), "\n")...)
		}
	}
	if len(msgs) != 2 || !strings.Contains(msgs[0], "IndexError") || !strings.Contains(msgs[1], "no segmentation") {
		t.Errorf("fixture violations = %q, want the [] and the missing segmentation of the two bicycles", msgs)
	}
}
