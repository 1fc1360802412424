package formats_test

import (
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
)

// drawLabels is what a masks export of an annotation shows: the class of
// the topmost object at each pixel ("" for background), objects drawn in
// their order.
func drawLabels(t *testing.T, a *dataset.Annotation) []string {
	t.Helper()
	out := make([]string, a.Width*a.Height)
	for _, o := range a.Objects {
		m, err := o.Raster(a.Width, a.Height)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range m.Bits {
			if b != 0 {
				out[i] = o.Class
			}
		}
	}
	return out
}

// A masks export reads back: import → export masks → import masks gives
// the same items and images, every class of the meta, and per item one
// object per class that shows, whose pixels are exactly those the class
// has in the drawn mask (so the counts are the classes present per item);
// exporting it again writes the same files, byte for byte.
func TestMasksRoundTrip(t *testing.T) {
	s, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ format, dir, mode string }{
		{"coco", "coco", "index"},
		{"coco", "coco_overlap", "index"},
		{"supervisely", "supervisely", "index"},
		{"supervisely", "supervisely", "color"},
		{"supervisely", "supervisely_overlap", "color"},
		{"pascal_voc", "pascal_voc", "index"},
		{"cityscapes", "cityscapes", "index"},
	} {
		t.Run(c.dir+"_"+c.mode, func(t *testing.T) {
			ds := importDir(t, s, c.format, fixture(c.dir), nil)
			opt := dataset.Options{"mode": c.mode}
			first := exportTo(t, s, ds, "masks", opt)
			back := importDir(t, s, "masks", first, nil)
			if len(back.Entries) != len(ds.Entries) {
				t.Fatalf("%d items, then %d", len(ds.Entries), len(back.Entries))
			}
			for _, cl := range ds.Meta.Classes {
				if back.Meta.Class(cl.Title) == nil {
					t.Errorf("class %q is lost", cl.Title)
				}
			}
			if len(back.Meta.Classes) != len(ds.Meta.Classes) {
				t.Errorf("%d classes, then %d", len(ds.Meta.Classes), len(back.Meta.Classes))
			}
			want, got := map[string]int{}, map[string]int{}
			for i, e := range ds.Entries {
				b := back.Entries[i]
				if b.Name != e.Name || b.Image != e.Image {
					t.Fatalf("item %s (image %s) came back as %s (image %s)", e.Name, e.Image.Short(), b.Name, b.Image.Short())
				}
				a, err := ds.Annotation(s, e)
				if err != nil {
					t.Fatal(err)
				}
				ab, err := back.Annotation(s, b)
				if err != nil {
					t.Fatal(err)
				}
				labels := drawLabels(t, a)
				present := map[string]bool{}
				for _, l := range labels {
					if l != "" && !present[l] {
						present[l] = true
						want[l]++
					}
				}
				gotLabels := make([]string, len(labels))
				for _, o := range ab.Objects {
					got[o.Class]++
					m, err := o.Raster(ab.Width, ab.Height)
					if err != nil {
						t.Fatal(err)
					}
					for i, v := range m.Bits {
						if v != 0 {
							if gotLabels[i] != "" {
								t.Fatalf("%s: pixel %d in two objects", e.Name, i)
							}
							gotLabels[i] = o.Class
						}
					}
				}
				bad := 0
				for i := range labels {
					if labels[i] != gotLabels[i] {
						bad++
					}
				}
				if bad > 0 || ab.Width != a.Width || ab.Height != a.Height {
					t.Errorf("%s: %d pixels of %d differ (size %dx%d, then %dx%d)", e.Name, bad, len(labels), a.Width, a.Height, ab.Width, ab.Height)
				}
			}
			if len(want) == 0 {
				t.Fatal("the fixture shows no class")
			}
			for cl, n := range want {
				if got[cl] != n {
					t.Errorf("class %s: %d objects, want %d (the items it shows in)", cl, got[cl], n)
				}
			}
			if len(got) != len(want) {
				t.Errorf("objects per class %v, want %v", got, want)
			}
			if diff := compareDirs(t, first, exportTo(t, s, back, "masks", opt)); diff != "" {
				t.Errorf("export → import → export differs: %s", diff)
			}
		})
	}
}
