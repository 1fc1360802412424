package masks

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/dataset"
	"dsbuild/dataset/internal/importtest"
)

// exportDir exports the test dataset into a directory and returns it.
func exportDir(t *testing.T, opt dataset.Options) string {
	t.Helper()
	s := importtest.NewStore(t)
	ex, err := NewExporter(opt)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := dataset.ExportTo(context.Background(), ex, testDataset(t, s), s, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// importResolved imports dir, resolving lazily loaded items.
func importResolved(t *testing.T, dir string) (*dataset.Meta, []*dataset.SourceItem) {
	t.Helper()
	_, src := importtest.StoreDir(t, dir)
	meta, items, err := importtest.Import(t, NewImporter, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	return meta, items
}

// The importer reads an export back: the items named after their images,
// the meta's classes (neutral included) with their colours, one bitmap per
// class present in the order of classes.json, with the mask's pixels.
func TestImportExport(t *testing.T) {
	for _, mode := range []string{ModeIndex, ModeColor} {
		t.Run(mode, func(t *testing.T) {
			meta, items := importResolved(t, exportDir(t, dataset.Options{"mode": mode}))
			importtest.CheckItemNames(t, items, []string{"ds1/a.jpg", "ds1/b.png", "ds2/a.jpg"})
			for _, want := range []dataset.Class{
				{Title: "car", Shape: dataset.ShapeBitmap, Color: "#00FF00"}, {Title: Neutral, Shape: dataset.ShapeBitmap, Color: "#D2210A"},
				{Title: "person", Shape: dataset.ShapeBitmap, Color: "#FF0000"}, {Title: "zebra", Shape: dataset.ShapeBitmap, Color: "#0000FF"},
			} {
				if c := meta.Class(want.Title); c == nil || *c != want {
					t.Errorf("class %s = %+v, want %+v", want.Title, c, want)
				}
			}
			if len(meta.Classes) != 4 {
				t.Errorf("meta has %d classes, want 4", len(meta.Classes))
			}
			a := items[0]
			if a.Err != nil || a.Image != "ds1/images/a.jpg" || a.Ann.Width != 10 || a.Ann.Height != 8 {
				t.Fatalf("ds1/a.jpg: %+v %v", a, a.Err)
			}
			// Drawn in order person, car, neutral: the car covers the
			// person's top right.
			person, _ := dataset.Rasterize(10, 8, []dataset.Polygon{{Exterior: importtest.Square(1, 1, 7, 7), Holes: [][]dataset.Point{importtest.Square(3, 3, 5, 5)}}})
			car := importtest.RectMask(10, 8, image.Rect(5, 0, 10, 3))
			for i, b := range car.Bits {
				if b != 0 {
					person.Bits[i] = 0
				}
			}
			importtest.CheckObjects(t, a.Name, 10, 8, a.Ann.Objects, []dataset.Object{
				{Class: "car", Shape: dataset.ShapeBitmap, Mask: car},
				{Class: "person", Shape: dataset.ShapeBitmap, Mask: person},
				{Class: Neutral, Shape: dataset.ShapeBitmap, Mask: importtest.RectMask(10, 8, image.Rect(0, 7, 10, 8))},
			})
			if b := items[1]; b.Err != nil || len(b.Ann.Objects) != 0 || b.Ann.Width != 4 {
				t.Errorf("ds1/b.png: %+v %v", b.Ann, b.Err)
			}
		})
	}
}

func TestImportErrors(t *testing.T) {
	write := func(t *testing.T, dir, rel string, data []byte) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gray := func(v uint8) []byte {
		img := image.NewGray(image.Rect(0, 0, 2, 2))
		img.Pix[3] = v
		return importtest.EncodePNG(t, img)
	}
	// Whole-source errors.
	for _, tc := range []struct{ name, classes, want string }{
		{"no classes.json", "", "classes.json: not found; a masks directory has the class listing the masks export writes"},
		{"bad mode", `{"mode":"rgb","classes":[]}`, `classes.json: mode is "rgb"; it must be "index" or "color"`},
		{"duplicate index", `{"mode":"index","classes":[{"index":1,"name":"a","color":"#FF0000"},{"index":1,"name":"b","color":"#00FF00"}]}`, "classes.json: index 1 is given to two classes"},
		{"duplicate name", `{"mode":"index","classes":[{"index":1,"name":"a","color":"#FF0000"},{"index":2,"name":"a","color":"#00FF00"}]}`, `classes.json: class "a" is listed twice`},
		{"index out of range", `{"mode":"index","classes":[{"index":300,"name":"a","color":"#FF0000"}]}`, `class "a" has index 300, out of range for index mode`},
		{"not json", `{`, "classes.json: unexpected end of JSON input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.classes != "" {
				write(t, dir, ClassesFile, []byte(tc.classes))
			}
			_, _, _, _, err := importtest.ImportDir(t, NewImporter, dir, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Import = %v, want %q", err, tc.want)
			}
		})
	}
	// Item errors.
	dir := t.TempDir()
	write(t, dir, ClassesFile, []byte(`{"mode":"index","classes":[{"index":0,"name":"background","color":"#000000"},{"index":1,"name":"a","color":"#FF0000"}]}`))
	write(t, dir, "d/nomask.png", gray(0))    // a mask without image
	write(t, dir, "d/images/lonely.jpg", nil) // an image without mask
	write(t, dir, "d/two.png", gray(1))       // a mask with two images
	write(t, dir, "d/images/two.jpg", nil)    //
	write(t, dir, "d/images/two.png", nil)    //
	write(t, dir, "d/seven.png", gray(7))     // a value classes.json lacks
	write(t, dir, "d/images/seven.jpg", nil)  //
	write(t, dir, "d/rgb.png", importtest.EncodePNG(t, image.NewRGBA(image.Rect(0, 0, 2, 2))))
	write(t, dir, "d/images/rgb.jpg", nil)
	write(t, dir, "d/ok.png", gray(1))
	write(t, dir, "d/images/ok.jpg", nil)
	_, items := importResolved(t, dir)
	if got, want := strings.Join(importtest.Names(items), " "), "d/lonely.jpg d/nomask.png d/ok.jpg d/rgb.jpg d/seven.jpg d/two.png"; got != want {
		t.Fatalf("items %s, want %s", got, want)
	}
	byName := map[string]*dataset.SourceItem{}
	for _, it := range items {
		byName[it.Name] = it
	}
	for _, tc := range []struct{ item, file, want string }{
		{"d/lonely.jpg", "d/images/lonely.jpg", "image without mask: no d/lonely.png"},
		{"d/nomask.png", "d/nomask.png", `no image d/images/nomask.*: the mask's image is missing (an export with option images = "false" leaves the images out)`},
		{"d/rgb.jpg", "d/rgb.png", `mask is a RGB PNG; classes.json says mode "index"`},
		{"d/seven.jpg", "d/seven.png", "pixel (1, 1) has value 7, which classes.json does not list"},
		{"d/two.png", "d/two.png", "several images have the mask's stem: two.jpg, two.png"},
	} {
		var ie *dataset.ItemError
		if it := byName[tc.item]; it == nil || !errors.As(it.Err, &ie) || ie.Item != tc.item || ie.File != tc.file || !strings.Contains(ie.Error(), tc.want) {
			t.Errorf("%s: error %v, want an item error naming %s that says %q", tc.item, it.Err, tc.file, tc.want)
		}
	}
	for _, it := range items {
		if it.Name == "d/ok.jpg" {
			if it.Err != nil || len(it.Ann.Objects) != 1 || it.Ann.Objects[0].Class != "a" || it.Ann.Objects[0].Origin != image.Pt(1, 1) {
				t.Errorf("d/ok.jpg: %+v %v", it.Ann, it.Err)
			}
		}
	}
}
