package annotate

import (
	"image"
	"reflect"
	"strings"
	"testing"
)

func TestParseDetections(t *testing.T) {
	items := []string{"persons/a.jpg", "persons/b.jpg", "other/c.png", "persons/a.jpg"}
	data := `[
		{"image_id": "persons/a.jpg", "category_id": 1, "bbox": [10.5, 20, 30, 40.2], "score": 0.9},
		{"image_id": "b.jpg", "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5, "segmentation": {"counts": "x", "size": [1, 1]}},
		{"image_id": 17, "file_name": "c.png", "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.7},
		{"image_id": "persons/a.jpg", "category_id": 3, "bbox": [1, 1, 1, 1], "score": 0.99},
		{"image_id": "persons/a.jpg", "category_id": 1, "bbox": [5, 5, 0, 0], "score": 0.8},
		{"image_id": "b.jpg", "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.1}
	]`
	got, err := ParseDetections([]byte(data), items, []int{1, 2}, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Box{
		"persons/a.jpg": {
			{Rect: image.Rect(10, 20, 41, 61), Score: 0.9},
			{Rect: image.Rect(5, 5, 5, 5), Score: 0.8},
		},
		"persons/b.jpg": {{Rect: image.Rect(0, 0, 5, 5), Score: 0.5}},
		"other/c.png":   {{Rect: image.Rect(1, 2, 4, 6), Score: 0.7}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	// No category filter: category 3 is kept, and category_id may be
	// missing.
	got, err = ParseDetections([]byte(`[{"image_id": "a.jpg", "bbox": [1, 1, 1, 1], "score": 1},
		{"image_id": "a.jpg", "category_id": 3, "bbox": [2, 2, 1, 1], "score": 1}]`), items, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got["persons/a.jpg"]) != 2 {
		t.Errorf("without a filter: %v", got)
	}
	// Every item has an entry, empty and not nil without detections, so
	// that Boxes does not run stage 1 for it.
	got, err = ParseDetections([]byte(" [ ] "), items, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("%d items, want 3", len(got))
	}
	for name, boxes := range got {
		if boxes == nil || len(boxes) != 0 {
			t.Errorf("item %s: %#v, want an empty non-nil slice", name, boxes)
		}
	}
}

func TestParseDetectionsErrors(t *testing.T) {
	items := []string{"d1/a.jpg", "d2/a.jpg", "d1/b.jpg"}
	ok := `{"image_id": "b.jpg", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}`
	for _, tc := range []struct {
		name, entry string
		cats        []int
		want        string
	}{
		{"not an object", `[1, 2]`, nil, "not a JSON object"},
		{"null entry", `null`, nil, "not a JSON object"},
		{"missing image_id", `{"bbox": [0, 0, 1, 1], "score": 1}`, nil, "missing image_id"},
		{"bool image_id", `{"image_id": true, "bbox": [0, 0, 1, 1], "score": 1}`, nil, "must be a string or a number"},
		{"numeric id alone", `{"image_id": 7, "bbox": [0, 0, 1, 1], "score": 1}`, nil, "number 7 without a file_name"},
		{"numeric id, bad file_name", `{"image_id": 7, "file_name": 3, "bbox": [0, 0, 1, 1], "score": 1}`, nil, "file_name is not a string"},
		{"empty name", `{"image_id": "", "bbox": [0, 0, 1, 1], "score": 1}`, nil, "empty image name"},
		{"missing bbox", `{"image_id": "b.jpg", "score": 1}`, nil, "missing bbox"},
		{"null bbox", `{"image_id": "b.jpg", "bbox": null, "score": 1}`, nil, "missing bbox"},
		{"short bbox", `{"image_id": "b.jpg", "bbox": [0, 0, 1], "score": 1}`, nil, "must be [x, y, width, height]"},
		{"text in bbox", `{"image_id": "b.jpg", "bbox": [0, "0", 1, 1], "score": 1}`, nil, "must be [x, y, width, height]"},
		{"negative width", `{"image_id": "b.jpg", "bbox": [0, 0, -1, 1], "score": 1}`, nil, "negative size"},
		{"negative height", `{"image_id": "b.jpg", "bbox": [0, 0, 1, -0.5], "score": 1}`, nil, "negative size"},
		{"huge", `{"image_id": "b.jpg", "bbox": [1e12, 0, 1, 1], "score": 1}`, nil, "out of range"},
		{"missing score", `{"image_id": "b.jpg", "bbox": [0, 0, 1, 1]}`, nil, "missing score"},
		{"text score", `{"image_id": "b.jpg", "bbox": [0, 0, 1, 1], "score": "high"}`, nil, "score is \"high\""},
		{"missing category", `{"image_id": "b.jpg", "bbox": [0, 0, 1, 1], "score": 1}`, []int{1}, "missing category_id"},
		{"fractional category", `{"image_id": "b.jpg", "category_id": 1.5, "bbox": [0, 0, 1, 1], "score": 1}`, nil, "must be an integer"},
		{"unknown image", `{"image_id": "z.jpg", "bbox": [0, 0, 1, 1], "score": 1}`, nil, `unknown image "z.jpg"`},
		{"unknown full name", `{"image_id": "d3/b.jpg", "bbox": [0, 0, 1, 1], "score": 1}`, nil, `unknown image "d3/b.jpg"`},
		{"ambiguous", `{"image_id": "a.jpg", "bbox": [0, 0, 1, 1], "score": 1}`, nil, `"a.jpg" is ambiguous: it may be d1/a.jpg, d2/a.jpg`},
		{"unknown, filtered anyway", `{"image_id": "z.jpg", "bbox": [0, 0, 1, 1], "score": 0}`, nil, `unknown image`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := "[" + ok + "," + tc.entry + "]"
			if strings.HasPrefix(tc.entry, "[") {
				data = "[" + ok + "," + strings.Trim(tc.entry, "[]") + "]"
			}
			_, err := ParseDetections([]byte(data), items, tc.cats, 0.2)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "detections: entry 1: ") {
				t.Fatalf("error %v; want \"detections: entry 1: …%s…\"", err, tc.want)
			}
		})
	}
	for _, data := range []string{``, `null`, `{"image_id": "b.jpg"}`, `[{]`, `"x"`} {
		if _, err := ParseDetections([]byte(data), items, nil, 0); err == nil || !strings.HasPrefix(err.Error(), "detections: ") {
			t.Errorf("ParseDetections(%q): error %v", data, err)
		}
	}
	// Full names resolve even when the file name is ambiguous.
	got, err := ParseDetections([]byte(`[{"image_id": "d2/a.jpg", "bbox": [0, 0, 1, 1], "score": 1}]`), items, nil, 0)
	if err != nil || len(got["d2/a.jpg"]) != 1 {
		t.Fatalf("%v, %v", got, err)
	}
}
