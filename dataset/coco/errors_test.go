package coco

import (
	"errors"
	"image"
	"strings"
	"testing"
	"testing/fstest"

	"dsbuild/dataset"
)

const testFile = "annotations/instances_s.json"

const twoImages = `{"id":1,"file_name":"a.png","width":4,"height":3},{"id":2,"file_name":"b.png","width":4,"height":3}`

// doc is an annotation file with the given images and annotations and one
// category, person (id 1).
func doc(images, anns string) string {
	return `{"images":[` + images + `],"annotations":[` + anns + `],"categories":[{"id":1,"name":"person"}]}`
}

func source(json string, images ...string) mapSource {
	m := fstest.MapFS{testFile: {Data: []byte(json)}}
	for _, im := range images {
		m[im] = &fstest.MapFile{Data: []byte("png")}
	}
	return mapSource{m}
}

func TestImportFileErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		src  mapSource
		opt  dataset.Options
		want string
	}{
		{"truncated", source(`{"images": [`, "s/a.png"), nil, "unexpected EOF"},
		{"syntax", source(`{"images": [}`, "s/a.png"), nil, "invalid character"},
		{"not an object", source(`[1, 2]`), nil, "not a JSON object"},
		{"empty file", source(``), nil, "not JSON"},
		{"no images", source(`{"annotations": []}`), nil, `no "images"`},
		{"images not an array", source(`{"images": {}}`), nil, `"images" is not an array`},
		{"image without file_name", source(`{"images": [{"id": 1}]}`), nil, "images[0] (id 1): no file_name"},
		{"image without id", source(`{"images": [{"file_name": "a.png"}]}`), nil, "images[0]: id: missing"},
		{"image not an object", source(`{"images": [3]}`), nil, "images[0]"},
		{"file_name a number", source(`{"images": [{"id": 1, "file_name": 7}]}`), nil, "images[0]"},
		{"category twice", source(`{"images": [], "categories": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}`), nil, `id 1 is both "a" and "b"`},
		{"category without name", source(`{"images": [], "categories": [{"id": 1}]}`), nil, "categories[0] (id 1): no name"},
		{"trailing data", source(`{"images": []} {}`), nil, "data after the top-level object"},
		{"annotation not an object", source(doc(twoImages, `5`), "s/a.png", "s/b.png"), nil, "annotations[0] is not an object"},
		{"no image directory", source(doc(twoImages, ``)), nil, "image directory s "},
		{"no annotation file", mapSource{fstest.MapFS{"x.json": {}}}, nil, `no annotation file matches "annotations/instances_*.json"`},
		{"two files, one subset", mapSource{fstest.MapFS{"a/instances_s.json": {}, "b/s.json": {}}}, dataset.Options{"annotations": "*/*.json"}, "a/instances_s.json and b/s.json both give subset"},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := c.opt
			if opt == nil {
				opt = dataset.Options{}
			}
			items, _, err := importAll(t, c.src, opt)
			if err == nil {
				t.Fatalf("no error; items %v", items)
			}
			if dataset.IsItemError(err) {
				t.Errorf("a file error is an item error: %v", err)
			}
			file := testFile
			if c.opt != nil || strings.HasPrefix(c.want, "no annotation") {
				file = ""
			}
			if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %s and say %q", err, file, c.want)
			}
		})
	}
}

func TestImportItemErrors(t *testing.T) {
	ann := func(fields string) string { return `{"id":7,"image_id":1,"category_id":1,` + fields + `}` }
	for _, c := range []struct {
		name   string
		json   string
		images []string // files present besides s/a.png and s/b.png
		bad    map[string]string
		good   []string
	}{
		{"unknown image_id", doc(twoImages, `{"id":7,"image_id":99,"category_id":1,"bbox":[0,0,1,1]},{"id":8,"image_id":99}`), nil,
			map[string]string{"s/image_id=99": "annotations[0] and 1 more refer to image_id 99, which is not in images"}, []string{"s/a.png", "s/b.png"}},
		{"unknown ids, one name", doc(twoImages, `{"image_id":"a/b","category_id":1},{"image_id":"a_b","category_id":1}`), nil,
			map[string]string{`s/image_id="a_b"`: `annotations[0] refer to image_id "a/b", which is not in images`}, []string{"s/a.png", "s/b.png"}},
		{"unknown id named like an image", doc(`{"id":1,"file_name":"a.png"},{"id":2,"file_name":"image_id=5"}`, `{"image_id":5,"category_id":1}`), []string{"s/image_id=5"},
			map[string]string{"s/image_id=5": "annotations[0] refer to image_id 5"}, []string{"s/a.png"}},
		{"no image_id", doc(twoImages, `{"id":7,"category_id":1,"bbox":[0,0,1,1]}`), nil,
			map[string]string{"s/image_id=?": "annotations[0] have no valid image_id"}, []string{"s/a.png", "s/b.png"}},
		{"RLE counts sum", doc(twoImages, ann(`"segmentation":{"size":[3,4],"counts":[1,2]}`)), nil,
			map[string]string{"s/a.png": "annotations[0] (id 7): segmentation: rle: counts sum to 3, want h*w = 3*4 = 12"}, []string{"s/b.png"}},
		{"RLE size", doc(twoImages, ann(`"segmentation":{"size":[4,4],"counts":[16]}`)), nil,
			map[string]string{"s/a.png": "RLE size [4, 4] (height, width) differs from the image's 4x3"}, []string{"s/b.png"}},
		{"RLE no size", doc(twoImages, ann(`"segmentation":{"counts":[12]}`)), nil,
			map[string]string{"s/a.png": "RLE size is not [height, width]"}, []string{"s/b.png"}},
		{"RLE bad string", doc(twoImages, ann(`"segmentation":{"size":[3,4],"counts":"zz"}`)), nil,
			map[string]string{"s/a.png": "outside '0'…'o'"}, []string{"s/b.png"}},
		{"RLE negative count", doc(twoImages, ann(`"segmentation":{"size":[3,4],"counts":[-1,13]}`)), nil,
			map[string]string{"s/a.png": "RLE counts[0] is not a count"}, []string{"s/b.png"}},
		{"RLE huge", `{"images":[{"id":1,"file_name":"a.png"}],"annotations":[` + ann(`"segmentation":{"size":[100000,100000],"counts":[0]}`) + `],"categories":[{"id":1,"name":"p"}]}`, nil,
			map[string]string{"s/a.png": "exceeds"}, nil},
		{"polygon of 2 points", doc(twoImages, ann(`"segmentation":[[0,0,1,1]]`)), nil,
			map[string]string{"s/a.png": "segmentation[0] has 4 numbers: a polygon needs an even count of at least 6 (3 points)"}, []string{"s/b.png"}},
		{"polygon odd", doc(twoImages, ann(`"segmentation":[[0,0,1,0,1,1,2]]`)), nil,
			map[string]string{"s/a.png": "has 7 numbers"}, []string{"s/b.png"}},
		{"polygon not numbers", doc(twoImages, ann(`"segmentation":[[0,0,1,0,1,"x"]]`)), nil,
			map[string]string{"s/a.png": "segmentation[0] is not a list of numbers"}, []string{"s/b.png"}},
		{"polygon far away", doc(twoImages, ann(`"segmentation":[[0,0,1e12,0,1,1]]`)), nil,
			map[string]string{"s/a.png": "out of range"}, []string{"s/b.png"}},
		{"segmentation a string", doc(twoImages, ann(`"segmentation":"x"`)), nil,
			map[string]string{"s/a.png": "neither polygons nor RLE"}, []string{"s/b.png"}},
		{"unknown category", doc(twoImages, `{"id":7,"image_id":2,"category_id":5,"bbox":[0,0,1,1]}`), nil,
			map[string]string{"s/b.png": "category_id 5 is not in categories"}, []string{"s/a.png"}},
		{"iscrowd 2", doc(twoImages, ann(`"iscrowd":2,"bbox":[0,0,1,1]`)), nil,
			map[string]string{"s/a.png": "iscrowd is 2, not 0 or 1"}, []string{"s/b.png"}},
		{"no geometry", doc(twoImages, ann(`"area":3`)), nil,
			map[string]string{"s/a.png": "no segmentation, and bbox: missing"}, []string{"s/b.png"}},
		{"empty bbox", doc(twoImages, ann(`"bbox":[1,1,0,2]`)), nil,
			map[string]string{"s/a.png": "has no area"}, []string{"s/b.png"}},
		{"bbox outside", doc(twoImages, ann(`"bbox":[10,10,2,2]`)), nil,
			map[string]string{"s/a.png": "lies outside the 4x3 image"}, []string{"s/b.png"}},
		{"file_name escapes", doc(`{"id":1,"file_name":"../a.png"},{"id":2,"file_name":"b.png"}`, ``), nil,
			map[string]string{"s/a.png": `file_name "../a.png" is not a clean relative path`}, []string{"s/b.png"}},
		{"file_name absolute", doc(`{"id":1,"file_name":"/etc/a.png"},{"id":2,"file_name":"b.png"}`, ``), nil,
			map[string]string{"s/a.png": "would escape the image directory"}, []string{"s/b.png"}},
		{"file_name hidden", doc(`{"id":1,"file_name":".a.png"},{"id":2,"file_name":"b.png"}`, ``), []string{"s/.a.png"},
			map[string]string{"s/.a.png": "must not start with a dot"}, []string{"s/b.png"}},
		{"same file name", doc(`{"id":1,"file_name":"a.png"},{"id":2,"file_name":"b.png"},{"id":3,"file_name":"a.png"}`, `{"id":7,"image_id":3,"category_id":1,"bbox":[0,0,1,1]}`), nil,
			map[string]string{"s/a.png": `images[0] and images[2] have the same file name "a.png"`}, []string{"s/b.png"}},
		{"same id", doc(`{"id":1,"file_name":"a.png"},{"id":1,"file_name":"b.png"},{"id":3,"file_name":"c.png"}`, ``), []string{"s/c.png"},
			map[string]string{"s/a.png": "images[0] and images[1] have the same id 1", "s/b.png": "same id 1"}, []string{"s/c.png"}},
		{"missing image", doc(`{"id":1,"file_name":"a.png"},{"id":3,"file_name":"c.png"}`, ``), nil,
			map[string]string{"s/c.png": `image s/c.png (file_name "c.png") not found`}, []string{"s/a.png"}},
		{"negative width", doc(`{"id":1,"file_name":"a.png","width":-4,"height":3},{"id":2,"file_name":"b.png"}`, ``), nil,
			map[string]string{"s/a.png": "size -4x3 is negative"}, []string{"s/b.png"}},
		{"huge image", doc(`{"id":1,"file_name":"a.png","width":100000,"height":100000},{"id":2,"file_name":"b.png"}`, ``), nil,
			map[string]string{"s/a.png": "exceeds"}, []string{"s/b.png"}},
		{"fractional width", doc(`{"id":1,"file_name":"a.png","width":4.5,"height":3},{"id":2,"file_name":"b.png"}`, ``), nil,
			map[string]string{"s/a.png": "width: 4.5 is not an integer"}, []string{"s/b.png"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := source(c.json, append([]string{"s/a.png", "s/b.png"}, c.images...)...)
			items, _, err := importAll(t, src, dataset.Options{})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for i, it := range items {
				if i > 0 && items[i-1].Name >= it.Name {
					t.Errorf("items not sorted: %s before %s", items[i-1].Name, it.Name)
				}
				seen[it.Name] = true
				want, bad := c.bad[it.Name]
				var ie *dataset.ItemError
				switch {
				case !bad && it.Err != nil:
					t.Errorf("%s: unexpected error %v", it.Name, it.Err)
				case bad && it.Err == nil:
					t.Errorf("%s: no error, want %q", it.Name, want)
				case bad && !errors.As(it.Err, &ie):
					t.Errorf("%s: error %v is not an ItemError", it.Name, it.Err)
				case bad && (ie.Item != it.Name || ie.File != testFile || !strings.Contains(it.Err.Error(), want) ||
					!strings.Contains(it.Err.Error(), testFile) || !strings.Contains(it.Err.Error(), it.Name)):
					t.Errorf("%s: error %q (item %q, file %q) does not name the item and %s and say %q", it.Name, it.Err, ie.Item, ie.File, testFile, want)
				case !bad && it.Ann == nil:
					t.Errorf("%s: no annotation", it.Name)
				}
			}
			for _, n := range c.good {
				if !seen[n] {
					t.Errorf("item %s missing", n)
				}
			}
			for n := range c.bad {
				if !seen[n] {
					t.Errorf("error item %s missing", n)
				}
			}
		})
	}
}

// TestImportForms covers the spellings of ids, counts and segmentations.
func TestImportForms(t *testing.T) {
	images := `{"id":"a1","file_name":"a.png","width":4,"height":3},{"id":2.0,"file_name":"b.png"}`
	anns := `{"image_id":"a1","category_id":1,"segmentation":{"size":[3.0,4],"counts":[0.0,3,9]}},` + // column 0
		`{"image_id":"a1","category_id":"c","segmentation":[{"size":[3,4],"counts":[3,3,6]},{"size":[3,4],"counts":"93"}],"iscrowd":1},` + // columns 1 ∪ 3 (counts [9,3])
		`{"image_id":2,"category_id":1,"segmentation":null,"bbox":[0.5,0.5,1,1.25]},` +
		`{"image_id":2,"category_id":1,"segmentation":[],"bbox":[2,0,2,3],"iscrowd":0},` +
		`{"image_id":2,"category_id":1,"segmentation":{"size":[5,5],"counts":[25]}}` // empty RLE: no object
	src := source(`{"images":[`+images+`],"annotations":[`+anns+`],"categories":[{"id":1,"name":"person"},{"id":"c","name":"crowd person"}]}`, "s/a.png", "s/b.png")
	items, meta, err := importAll(t, src, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("%d items", len(items))
	}
	for _, it := range items {
		if it.Err != nil {
			t.Fatal(it.Err)
		}
	}
	a := items[0].Ann
	if len(a.Objects) != 2 {
		t.Fatalf("a.png: %d objects", len(a.Objects))
	}
	col0 := a.Objects[0]
	if col0.Shape != dataset.ShapeBitmap || col0.Origin != (image.Point{}) || col0.Mask.W != 1 || col0.Mask.H != 3 || col0.Mask.Area() != 3 {
		t.Errorf("column 0: %+v", col0)
	}
	crowd := a.Objects[1]
	m, _ := crowd.Raster(4, 3)
	if crowd.Class != "crowd person" || !hasTag(crowd.Tags, CrowdTag) || m.Area() != 6 || !m.At(1, 0) || !m.At(3, 2) || m.At(2, 1) {
		t.Errorf("merged crowd RLE: %+v, area %d", crowd, m.Area())
	}
	b := items[1].Ann
	if b.Width != 0 || b.Height != 0 || len(b.Objects) != 2 {
		t.Fatalf("b.png: %dx%d, %d objects", b.Width, b.Height, len(b.Objects))
	}
	if r := b.Objects[0].Rect; r != image.Rect(0, 0, 2, 2) {
		t.Errorf("bbox [0.5,0.5,1,1.25] gave %v, want (0,0)-(2,2)", r)
	}
	if r := b.Objects[1].Rect; r != image.Rect(2, 0, 4, 3) {
		t.Errorf("bbox [2,0,2,3] gave %v, want (2,0)-(4,3)", r)
	}
	if meta.Class("crowd person") == nil || meta.Class("person") == nil {
		t.Errorf("meta classes %v", meta.Classes)
	}
}
