package dataset

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"dsbuild/cache"
)

// escapingNames are item names that could lead a file named after the
// item out of the directory it is written to, or mean another file on
// another system.
var escapingNames = []string{
	"../../x.png",
	"train/../../x.png",
	"train/../x.png",
	"/etc/x.png",
	"/x.png",
	"train//x.png",
	"train/./x.png",
	"./x.png",
	"../x.png",
	"train/..",
	"train/.",
	"..\\..\\x.png",
	"train/..\\x.png",
	"train/x\\y.png",
	"train/x\x00.png",
	"train/x\n.png",
	"train/\xff\xfe.png",
	"train/",
	"/",
	"",
	"x.png",
}

func TestValidItemNameRefusesEscapes(t *testing.T) {
	for _, n := range escapingNames {
		if err := ValidItemName(n); err == nil {
			t.Errorf("ValidItemName(%q) = nil", n)
		}
	}
	for _, n := range []string{"train/x.png", "val/2008_000001.jpg", "päivä/kuva 1.jpg"} {
		if err := ValidItemName(n); err != nil {
			t.Errorf("ValidItemName(%q): %v", n, err)
		}
	}
}

// storeManifest stores a dataset tree whose manifest holds lines as
// given: what an exec step may produce.
func storeManifest(t *testing.T, s *cache.Store, lines ...[]byte) cache.Digest {
	t.Helper()
	meta := EncodeMeta(&Meta{})
	md, err := s.PutBytes(meta)
	if err != nil {
		t.Fatal(err)
	}
	raw := bytes.Join(lines, []byte("\n"))
	manD, err := s.PutBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := s.PutTree([]cache.TreeEntry{
		{Name: ManifestFile, Kind: cache.File, Digest: manD, Size: int64(len(raw))},
		{Name: MetaFile, Kind: cache.File, Digest: md, Size: int64(len(meta))},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func entryLine(t *testing.T, name string) []byte {
	t.Helper()
	b, err := json.Marshal(Entry{Name: name, Width: 1, Height: 1})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Open checks every manifest line's item name: a manifest made outside
// dsbuild's builders (by an exec step) cannot carry a name that escapes.
func TestOpenRefusesEscapingNames(t *testing.T) {
	s, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range escapingNames {
		if !utf8.ValidString(n) {
			continue // json.Marshal would write U+FFFD; raw bytes below
		}
		tree := storeManifest(t, s, entryLine(t, "train/ok.png"), entryLine(t, n))
		_, err := Open(s, tree)
		if err == nil {
			t.Errorf("Open accepted item name %q", n)
			continue
		}
		if !strings.Contains(err.Error(), ManifestFile+" line 2") {
			t.Errorf("item name %q: %v; want the manifest line named", n, err)
		}
	}
	// Raw bytes that are not UTF-8 (json would turn them into U+FFFD).
	tree := storeManifest(t, s, []byte(`{"name":"train/`+"\xff"+`.png","width":1,"height":1}`))
	if _, err := Open(s, tree); err == nil || !strings.Contains(err.Error(), "line 1: not valid UTF-8") {
		t.Errorf("non-UTF-8 manifest line: %v", err)
	}
	tree = storeManifest(t, s, entryLine(t, "train/a.png"), entryLine(t, "train/a.png"))
	if _, err := Open(s, tree); err == nil || !strings.Contains(err.Error(), `line 2: duplicate item name "train/a.png"`) {
		t.Errorf("duplicate item: %v", err)
	}
	tree = storeManifest(t, s, entryLine(t, "train/a.png"), entryLine(t, "val/b.png"))
	if ds, err := Open(s, tree); err != nil || len(ds.Entries) != 2 {
		t.Errorf("a good manifest: %v", err)
	}
}

func TestCheckNames(t *testing.T) {
	for _, n := range escapingNames {
		ds := &Dataset{Entries: []Entry{{Name: "train/ok.png"}, {Name: n}}}
		if err := ds.CheckNames(); err == nil {
			t.Errorf("CheckNames accepted %q", n)
		}
	}
	ds := &Dataset{Entries: []Entry{{Name: "train/a.png"}, {Name: "train/a.png"}}}
	if err := ds.CheckNames(); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate: %v", err)
	}
}
