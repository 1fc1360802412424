package dataset

import (
	"errors"
	"strings"
	"testing"
)

// TestResolve: Generate fills the image and the annotation, Load the
// annotation; their failure breaks the item with an *ItemError naming it
// (one they return as an *ItemError is kept, naming its own file, the item
// named once); complete and broken items are left alone.
func TestResolve(t *testing.T) {
	ann := &Annotation{Width: 4, Height: 3}
	calls := 0
	gen := func() ([]byte, *Annotation, error) { calls++; return []byte("img"), ann, nil }
	load := func() (*Annotation, error) { calls++; return ann, nil }
	boom := errors.New("boom")

	it := &SourceItem{Name: "d/a.png", Generate: gen}
	it.Resolve()
	if it.Err != nil || string(it.ImageBytes) != "img" || it.Ann != ann || calls != 1 {
		t.Fatalf("generated item: %q, %v, %v after %d calls", it.ImageBytes, it.Ann, it.Err, calls)
	}
	it.Resolve() // whole: not generated again
	if calls != 1 {
		t.Errorf("a whole item was generated again")
	}

	it = &SourceItem{Name: "d/a.png", File: "ann/a.json", Load: load}
	it.Resolve()
	if it.Err != nil || it.Ann != ann || calls != 2 {
		t.Fatalf("loaded item: %v, %v after %d calls", it.Ann, it.Err, calls)
	}

	for _, it := range []*SourceItem{
		{Name: "d/a.png", Generate: func() ([]byte, *Annotation, error) { return nil, nil, boom }},
		{Name: "d/a.png", File: "ann/a.json", Load: func() (*Annotation, error) { return nil, boom }},
	} {
		it.Resolve()
		var ie *ItemError
		if !errors.As(it.Err, &ie) || ie.Item != "d/a.png" || ie.File != it.File || !errors.Is(it.Err, boom) || it.Ann != nil || it.ImageBytes != nil {
			t.Errorf("failed item: error %v, annotation %v, image %q", it.Err, it.Ann, it.ImageBytes)
		}
	}

	own := &ItemError{Item: "d/a.png", File: "img/a.png", Err: boom}
	it = &SourceItem{Name: "d/a.png", File: "ann/a.json", Load: func() (*Annotation, error) { return nil, own }}
	it.Resolve()
	if it.Err != own || strings.Count(it.Err.Error(), "d/a.png") != 1 {
		t.Errorf("an ItemError of Load became %v", it.Err)
	}

	broken := &SourceItem{Name: "d/a.png", Err: boom, Generate: gen, Load: load}
	broken.Resolve()
	whole := &SourceItem{Name: "d/a.png", Ann: ann, Load: load}
	whole.Resolve()
	if calls != 2 || broken.Err != boom || broken.Ann != nil || whole.Err != nil {
		t.Errorf("Resolve ran a broken or complete item (%d calls)", calls)
	}
}
