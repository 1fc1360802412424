package ingest

import (
	"context"
	"fmt"
	"image"
	"io/fs"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
)

// Two items with the same name: the one the format emitted first is kept and
// the later one is the bad item, whatever order the workers finish in; so
// the dataset, the report and the error are the same on every run.
func TestImportDuplicatesAreDeterministic(t *testing.T) {
	t.Parallel()
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
		res, err := importWith(context.Background(), engine.BareRun(s, 0, nil), nil, &fakeFormat{testMeta, items}, Settings{Format: "fake", Workers: 8, Skip: true})
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

// corruptSource is a Source whose every file is a corrupt store object.
type corruptSource struct{}

func (corruptSource) Open(name string) (fs.File, error) {
	return nil, &cache.CorruptError{Reason: "test: " + name}
}

func (corruptSource) Digest(name string) (cache.Digest, int64, error) {
	return cache.Digest{}, 0, nil
}

// An error that is no item's (a corrupt store object) fails the import; when
// several items have one, the error is that of the first item the format
// emitted, whatever order the workers finish in.
func TestImportFatalErrorIsDeterministic(t *testing.T) {
	t.Parallel()
	img := pngBytes(t, 8, 6)
	var items []*dataset.SourceItem
	for i := 0; i < 40; i++ {
		it := &dataset.SourceItem{Name: fmt.Sprintf("ds/%02d.png", i), File: "a.json", Ann: &dataset.Annotation{}}
		if i < 10 {
			it.ImageBytes = img
		} else {
			it.Image = fmt.Sprintf("img/%02d.png", i)
		}
		items = append(items, it)
	}
	for run := 0; run < 20; run++ {
		_, err := importWith(context.Background(), engine.BareRun(newStore(t), 0, nil), corruptSource{}, &fakeFormat{testMeta, items}, Settings{Format: "fake", Workers: 8})
		if err == nil || !strings.Contains(err.Error(), "test: img/10.png") {
			t.Fatalf("run %d: error %v, want the one of img/10.png", run, err)
		}
	}
}

// A format's item error that lacks the item or the file is completed from
// the item, so that the report and the error always name both.
func TestImportItemErrorNamesItemAndFile(t *testing.T) {
	t.Parallel()
	items := []*dataset.SourceItem{
		{Name: "ds/a.png", File: "a.json", Err: &dataset.ItemError{Err: errString("bad")}},
		{Name: "ds/b.png", File: "b.json", Err: &dataset.ItemError{Item: "ds/b.png", Err: errString("bad")}},
	}
	res, err := importWith(context.Background(), engine.BareRun(newStore(t), 0, nil), nil, &fakeFormat{testMeta, items}, Settings{Format: "fake", Skip: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Skipped{{Item: "ds/a.png", File: "a.json", Error: "bad"}, {Item: "ds/b.png", File: "b.json", Error: "bad"}}
	if fmt.Sprint(res.Report.Skipped) != fmt.Sprint(want) {
		t.Errorf("skipped %+v, want %+v", res.Report.Skipped, want)
	}
	_, err = importWith(context.Background(), engine.BareRun(newStore(t), 0, nil), nil, &fakeFormat{testMeta, items}, Settings{Format: "fake"})
	if err == nil || !strings.HasPrefix(err.Error(), "a.json (item ds/a.png): bad") {
		t.Errorf("import without skip: %v", err)
	}
}
