package release_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/release"
)

func testStore(t *testing.T) *cache.Store {
	t.Helper()
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// oneItem stores a dataset of one unannotated item.
func oneItem(t *testing.T, s *cache.Store) *dataset.Dataset {
	t.Helper()
	b := dataset.NewBuilder(s)
	img := []byte("not really a png")
	d, err := s.PutBytes(img)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add("ds/a.png", d, int64(len(img)), &dataset.Annotation{Width: 4, Height: 3}); err != nil {
		t.Fatal(err)
	}
	ds, err := b.Finish(&dataset.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestWriteRead checks the record's bytes (one JSON line, fields in
// order, model left out when empty), that the tag names the record and
// then the dataset, and that Read and OpenDataset give them back.
func TestWriteRead(t *testing.T) {
	s := testStore(t)
	ds := oneItem(t, s)
	recipe := cache.Sum([]byte("recipe"))
	rec := &release.Record{Version: release.RecordVersion, Name: "v1", Ref: "split.a.train", Dataset: ds.Tree.String(), Recipe: recipe.String(), Dsbuild: "test (go)"}
	if err := release.Write(s, rec); err != nil {
		t.Fatal(err)
	}
	roots, err := s.Tag("v1")
	if err != nil || len(roots) != 2 || roots[1] != ds.Tree {
		t.Fatalf("tag v1 = %v, %v; want the record and %v", roots, err, ds.Tree)
	}
	raw, err := s.ReadBlob(roots[0])
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"version":1,"name":"v1","ref":"split.a.train","dataset":"%s","recipe":"%s","dsbuild":"test (go)"}`+"\n", ds.Tree, recipe)
	if string(raw) != want {
		t.Errorf("record blob:\n got %s\nwant %s", raw, want)
	}
	got, err := release.Read(s, "v1")
	if err != nil || *got != *rec {
		t.Errorf("Read = %+v, %v; want %+v", got, err, rec)
	}
	back, err := release.OpenDataset(s, "v1")
	if err != nil || back.Tree != ds.Tree || len(back.Entries) != 1 {
		t.Errorf("OpenDataset = %v, %v; want %v with 1 item", back, err, ds.Tree)
	}

	// A record whose dataset is not a digest is refused, and no tag made.
	bad := &release.Record{Version: 1, Name: "v2", Dataset: "split.a.train"}
	if err := release.Write(s, bad); err == nil || !strings.Contains(err.Error(), "release v2: dataset") {
		t.Errorf("Write of a record without a dataset digest = %v", err)
	}
	if _, err := s.Tag("v2"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("tag v2 after a refused Write: %v, want none", err)
	}
}

// TestReadErrors checks that a missing, empty or unreadable record is an
// error naming its tag.
func TestReadErrors(t *testing.T) {
	s := testStore(t)
	if _, err := release.Read(s, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read of a missing tag = %v, want fs.ErrNotExist", err)
	}
	if err := s.SetTag("empty", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := release.Read(s, "empty"); err == nil || err.Error() != "tag empty is empty" {
		t.Errorf("Read of an empty tag = %v", err)
	}
	junk, err := s.PutBytes([]byte("not json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetTag("junk", []cache.Digest{junk}); err != nil {
		t.Fatal(err)
	}
	if _, err := release.Read(s, "junk"); err == nil || !strings.HasPrefix(err.Error(), "tag junk: ") {
		t.Errorf("Read of a tag naming a non-record = %v", err)
	}
	if _, err := release.OpenDataset(s, "junk"); err == nil || !strings.HasPrefix(err.Error(), "tag junk: ") {
		t.Errorf("OpenDataset of a tag naming a non-record = %v", err)
	}
}

// TestRecipeDigest checks what the recipe digest covers: each *.hcl file
// and the lockfile by content and name, in path order, and nothing else.
func TestRecipeDigest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	digest := func() cache.Digest {
		t.Helper()
		d, err := release.RecipeDigest(dir)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	write("b.hcl", "B")
	write("a.hcl", "A")
	write("notes.txt", "n")
	lines := fmt.Sprintf("%s a.hcl\n%s b.hcl\n", cache.Sum([]byte("A")), cache.Sum([]byte("B")))
	if got, want := digest(), cache.Sum([]byte(lines)); got != want {
		t.Errorf("RecipeDigest without a lockfile = %v, want %v", got, want)
	}
	write("notes.txt", "changed")
	if got, want := digest(), cache.Sum([]byte(lines)); got != want {
		t.Errorf("RecipeDigest after a non-recipe file changed = %v, want %v", got, want)
	}
	write("dsbuild.lock", "{}")
	lines += fmt.Sprintf("%s dsbuild.lock\n", cache.Sum([]byte("{}")))
	if got, want := digest(), cache.Sum([]byte(lines)); got != want {
		t.Errorf("RecipeDigest with a lockfile = %v, want %v", got, want)
	}
}

// TestParseRef checks what each form of reference names.
func TestParseRef(t *testing.T) {
	for _, c := range []struct {
		ref  string
		want release.Ref
	}{
		{"sha256:3f2a", release.Ref{Kind: release.RefDigest, Text: "sha256:3f2a"}},
		{"person-v1", release.Ref{Kind: release.RefTag, Text: "person-v1"}},
		{"coco:data/coco", release.Ref{Kind: release.RefPath, Text: "coco:data/coco", Format: "coco", Path: "data/coco"}},
		{"pascal_voc:/abs/VOC:x", release.Ref{Kind: release.RefPath, Text: "pascal_voc:/abs/VOC:x", Format: "pascal_voc", Path: "/abs/VOC:x"}},
		{"split.people.train", release.Ref{Kind: release.RefStep, Text: "split.people.train"}},
		{"nosuchformat:dir", release.Ref{Kind: release.RefStep, Text: "nosuchformat:dir"}}, // then an unknown step
		{"dir/x", release.Ref{Kind: release.RefStep, Text: "dir/x"}},
	} {
		if got := release.ParseRef(c.ref); got != c.want {
			t.Errorf("ParseRef(%q) = %+v, want %+v", c.ref, got, c.want)
		}
	}
}

// TestResolverDataset checks that each form of reference reaches its
// resolver, and the error for a tag-shaped name that is no tag.
func TestResolverDataset(t *testing.T) {
	s := testStore(t)
	ds := oneItem(t, s)
	if err := release.Write(s, &release.Record{Version: 1, Name: "v1", Dataset: ds.Tree.String()}); err != nil {
		t.Fatal(err)
	}
	var calls []string
	rs := &release.Resolver{
		Store: s,
		Import: func(format, path string) (*dataset.Dataset, error) {
			calls = append(calls, "import "+format+" "+path)
			return ds, nil
		},
		Step: func(ref string) (cache.Digest, error) {
			calls = append(calls, "step "+ref)
			return ds.Tree, nil
		},
	}
	for _, ref := range []string{"v1", ds.Tree.String()[:len(cache.Prefix)+6], "coco:data/c", "split.a.train"} {
		got, err := rs.Dataset(ref)
		if err != nil || got.Tree != ds.Tree {
			t.Errorf("Dataset(%q) = %v, %v; want %v", ref, got, err, ds.Tree)
		}
	}
	if want := []string{"import coco data/c", "step split.a.train"}; fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("resolver calls = %q, want %q", calls, want)
	}
	_, err := rs.Dataset("v2")
	if want := `no tag "v2"; Did you mean "v1"? a ref is a tag (v1), a step like transform.people, sha256:<digest prefix>, or FORMAT:PATH`; err == nil || err.Error() != want {
		t.Errorf("Dataset(v2) = %v, want %s", err, want)
	}
	_, err = (&release.Resolver{Store: testStore(t)}).Dataset("v2")
	if want := `no tag "v2"; a ref is a tag (none), a step like transform.people, sha256:<digest prefix>, or FORMAT:PATH`; err == nil || err.Error() != want {
		t.Errorf("Dataset(v2) without tags = %v, want %s", err, want)
	}
}
