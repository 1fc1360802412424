package cityscapes

import (
	"os"
	"path/filepath"
	"testing"

	"dsbuild/dataset"
	"dsbuild/dataset/fixtures"
	"dsbuild/dataset/internal/importtest"
)

// TestGray8InstanceMaps: instanceIds maps stored as 8-bit grayscale PNGs
// (here the fixture's labelIds maps put in their place, as tools that
// write no instance ids do) import with the same value rules: each class
// with instances present is one group region of exactly its pixels, and
// stuff and void follow the options.
func TestGray8InstanceMaps(t *testing.T) {
	dir := t.TempDir()
	if err := fixtures.WriteAll(dir, "cityscapes"); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "cityscapes")
	labelIds, err := filepath.Glob(filepath.Join(root, "gtFine", "*", "*", "*_gtFine_labelIds.png"))
	if err != nil || len(labelIds) != 4 {
		t.Fatalf("labelIds maps %v, %v", labelIds, err)
	}
	for _, l := range labelIds {
		data, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		if data[24] != 8 || data[25] != 0 {
			t.Fatalf("%s is not an 8-bit gray PNG", l)
		}
		inst := l[:len(l)-len("_labelIds.png")] + "_instanceIds.png"
		if err := os.WriteFile(inst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	truth := fixtures.CityscapesTruth()
	for _, opt := range []dataset.Options{{}, {"stuff": "keep", "void": "keep"}} {
		keep := opt["stuff"] == "keep"
		_, items := importtest.MustImportDir(t, NewImporter, root, opt)
		if len(items) != len(truth) {
			t.Fatalf("%d items, want %d", len(items), len(truth))
		}
		for _, it := range items {
			// What the 8-bit map holds: per class, the union of the
			// truth's regions, a group region for classes with instances.
			byClass := map[string]*dataset.Object{}
			var want []dataset.Object
			for _, o := range truth[it.Name] {
				id := classID(o.Class)
				if classes[id].kind != kindInstance && !keep {
					continue
				}
				if w := byClass[o.Class]; w != nil {
					w.Mask.Paste(o.Mask, 0, 0)
					continue
				}
				m, _ := dataset.NewMask(o.Mask.W, o.Mask.H)
				m.Paste(o.Mask, 0, 0)
				w := dataset.Object{Class: o.Class, Shape: dataset.ShapeBitmap, Mask: m}
				if classes[id].kind == kindInstance {
					w.Tags = []dataset.Tag{{Name: GroupTag}}
				}
				want = append(want, w)
				byClass[o.Class] = &want[len(want)-1]
			}
			if it.Err != nil {
				t.Fatalf("%s: %v", it.Name, it.Err)
			}
			importtest.CheckObjects(t, it.Name, it.Ann.Width, it.Ann.Height, it.Ann.Objects, want)
		}
	}
}

func classID(name string) int {
	for id, c := range classes {
		if c.name == name {
			return id
		}
	}
	return -1
}
