package imports

import (
	"context"
	"fmt"
	"image"
	"testing"

	"dsbuild/dataset"
)

// Two items with the same name: the one the format emitted first is kept and
// the later one is the bad item, whatever order the workers finish in; so
// the dataset, the report and the error are the same on every run.
func TestImportDuplicatesAreDeterministic(t *testing.T) {
	img := pngBytes(t, 8, 6)
	var items []*dataset.SourceItem
	for i := 0; i < 30; i++ {
		name := fmt.Sprintf("ds/%02d.png", i/3) // three items per name
		items = append(items, &dataset.SourceItem{Name: name, ImageBytes: img, File: "same.json",
			Ann: &dataset.Annotation{Objects: []dataset.Object{rectObj("human", image.Rect(i%8, 0, i%8+1, 1))}}})
	}
	// Two bad items with the same name and file but different errors.
	items = append(items,
		&dataset.SourceItem{Name: "ds/zz.png", File: "f.json", Err: &dataset.ItemError{Item: "ds/zz.png", File: "f.json", Err: errString("first")}},
		&dataset.SourceItem{Name: "ds/zz.png", File: "f.json", Err: &dataset.ItemError{Item: "ds/zz.png", File: "f.json", Err: errString("second")}},
	)
	var first *Result
	for run := 0; run < 20; run++ {
		s := newStore(t)
		res, err := importWith(context.Background(), s, nil, &fakeFormat{testMeta, items}, Settings{Format: "fake", Workers: 8, Skip: true})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = res
			// The first of each name is kept: its object is at x = 3*k%8.
			for k, e := range res.Dataset.Entries {
				a, err := res.Dataset.Annotation(s, e)
				if err != nil {
					t.Fatal(err)
				}
				if x := a.Objects[0].Rect.Min.X; x != 3*k%8 {
					t.Errorf("%s: kept the item with x = %d, want the first one (x = %d)", e.Name, x, 3*k%8)
				}
			}
			continue
		}
		if res.Dataset.Tree != first.Dataset.Tree {
			t.Fatalf("run %d: dataset %s, first run %s", run, res.Dataset.Tree.Short(), first.Dataset.Tree.Short())
		}
		if fmt.Sprint(res.Report) != fmt.Sprint(first.Report) {
			t.Fatalf("run %d: report\n%+v\nfirst run\n%+v", run, res.Report, first.Report)
		}
	}
	if n := len(first.Report.Skipped); n != 22 {
		t.Fatalf("skipped %d, want 22", n)
	}
	if sk := first.Report.Skipped[len(first.Report.Skipped)-2:]; sk[0].Error != "first" || sk[1].Error != "second" {
		t.Errorf("bad items of one name and file are not in emission order: %+v", sk)
	}
}
