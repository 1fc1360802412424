package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"dsbuild/cache"
)

// Store is what datasets need of the content-addressed store;
// *cache.Store has it.
type Store interface {
	PutBytes(data []byte) (cache.Digest, error)
	ReadBlob(d cache.Digest) ([]byte, error)
	PutTree(entries []cache.TreeEntry) (cache.Digest, error)
	ReadTree(d cache.Digest) ([]cache.TreeEntry, error)
}

// Entry is one item of a dataset manifest. Images and annotations are
// referenced by digest, never copied.
type Entry struct {
	Name      string       `json:"name"` // "<dataset>/<image file>"
	Image     cache.Digest `json:"image"`
	ImageSize int64        `json:"image_size"`
	Ann       cache.Digest `json:"ann"`
	AnnSize   int64        `json:"ann_size"`
	Width     int          `json:"width"`
	Height    int          `json:"height"`
}

// Dataset is a dataset artifact: a tree laid out as a Supervisely project,
//
//	meta.json                    canonical meta
//	manifest.jsonl               one Entry per line, sorted by name
//	<dataset>/img/<file>         the image, by digest
//	<dataset>/ann/<file>.json    its canonical annotation
//
// so that materializing it gives a project any Supervisely tool opens, and
// two datasets that differ only in annotations share every image blob.
type Dataset struct {
	Tree cache.Digest
	Meta *Meta
	// MetaDigest is the digest of the tree's meta.json: what a per-item
	// memo key names for the meta that parses the annotations.
	MetaDigest cache.Digest
	Entries    []Entry // sorted by Name
}

// Files in a dataset tree.
const (
	MetaFile     = "meta.json"
	ManifestFile = "manifest.jsonl"
)

// ValidItemName checks an item name: "<dataset>/<file>", two valid path
// elements (not empty, "." or "..", no NUL or line break), neither hidden,
// valid UTF-8 without a backslash (a path separator on Windows). It is the
// one rule for item names: importers apply it to what they read, Builder to
// what it adds, Open to every manifest line and every exporter (through
// CheckNames) before it writes a file named after an item, so that no name
// can lead a file out of the directory it is written to.
func ValidItemName(name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("item name %q is not valid UTF-8", name)
	}
	if strings.Contains(name, `\`) {
		return fmt.Errorf("item name %q holds a backslash, a path separator on some systems", name)
	}
	ds, file, ok := strings.Cut(name, "/")
	if !ok || strings.Contains(file, "/") {
		return fmt.Errorf("item name %q must be <dataset>/<file>", name)
	}
	for _, p := range []string{ds, file} {
		if err := cache.ValidName(p); err != nil {
			return fmt.Errorf("item name %q: %w", name, err)
		}
		if strings.HasPrefix(p, ".") {
			return fmt.Errorf("item name %q: parts must not start with a dot", name)
		}
	}
	return nil
}

// CheckNames checks every item name of d with ValidItemName and that none
// appears twice. Every exporter calls it before writing anything, whatever
// made the dataset.
func (d *Dataset) CheckNames() error {
	seen := make(map[string]bool, len(d.Entries))
	for _, e := range d.Entries {
		if err := ValidItemName(e.Name); err != nil {
			return err
		}
		if seen[e.Name] {
			return fmt.Errorf("duplicate item name %q", e.Name)
		}
		seen[e.Name] = true
	}
	return nil
}

// Builder assembles a dataset artifact. Add may be called from several
// goroutines; the result does not depend on the order of calls.
type Builder struct {
	store   Store
	mu      sync.Mutex
	entries []Entry
	names   map[string]bool
}

// NewBuilder returns a builder that stores into s.
func NewBuilder(s Store) *Builder {
	return &Builder{store: s, names: map[string]bool{}}
}

// Add encodes and stores the annotation and records the item. The image
// blob must already be in the store.
func (b *Builder) Add(name string, image cache.Digest, imageSize int64, a *Annotation) (Entry, error) {
	if err := ValidItemName(name); err != nil {
		return Entry{}, err
	}
	raw, err := EncodeAnnotation(a)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", name, err)
	}
	d, err := b.store.PutBytes(raw)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: storing the annotation: %w", name, err)
	}
	e := Entry{Name: name, Image: image, ImageSize: imageSize, Ann: d, AnnSize: int64(len(raw)), Width: a.Width, Height: a.Height}
	return e, b.AddEntry(e)
}

// AddEntry records an item whose annotation is already stored.
func (b *Builder) AddEntry(e Entry) error {
	if err := ValidItemName(e.Name); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.names[e.Name] {
		return fmt.Errorf("duplicate item name %q", e.Name)
	}
	b.names[e.Name] = true
	b.entries = append(b.entries, e)
	return nil
}

// Len returns the number of items added.
func (b *Builder) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries)
}

// Finish stores the meta, the manifest and the tree, and returns the
// dataset.
func (b *Builder) Finish(meta *Meta) (*Dataset, error) {
	b.mu.Lock()
	entries := append([]Entry(nil), b.entries...)
	b.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	var man bytes.Buffer
	enc := json.NewEncoder(&man)
	enc.SetEscapeHTML(false)
	type dirs struct{ img, ann []cache.TreeEntry }
	byDS := map[string]*dirs{}
	var dsNames []string
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return nil, err
		}
		ds, file, _ := strings.Cut(e.Name, "/")
		d := byDS[ds]
		if d == nil {
			d = &dirs{}
			byDS[ds] = d
			dsNames = append(dsNames, ds)
		}
		d.img = append(d.img, cache.TreeEntry{Name: file, Kind: cache.File, Digest: e.Image, Size: e.ImageSize})
		d.ann = append(d.ann, cache.TreeEntry{Name: file + ".json", Kind: cache.File, Digest: e.Ann, Size: e.AnnSize})
	}
	// Sort a copy: the caller's meta (often a format's, shared) is left
	// as it is.
	m := *meta
	m.Classes = append([]Class(nil), meta.Classes...)
	m.Tags = append([]TagMeta(nil), meta.Tags...)
	m.Sort()
	metaRaw := EncodeMeta(&m)
	metaD, err := b.store.PutBytes(metaRaw)
	if err != nil {
		return nil, err
	}
	manD, err := b.store.PutBytes(man.Bytes())
	if err != nil {
		return nil, err
	}
	root := []cache.TreeEntry{
		{Name: MetaFile, Kind: cache.File, Digest: metaD, Size: int64(len(metaRaw))},
		{Name: ManifestFile, Kind: cache.File, Digest: manD, Size: int64(man.Len())},
	}
	sort.Strings(dsNames)
	for _, ds := range dsNames {
		if ds == MetaFile || ds == ManifestFile {
			return nil, fmt.Errorf("dataset name %q is reserved", ds)
		}
		d := byDS[ds]
		var size int64
		sub := make([]cache.TreeEntry, 0, 2)
		for _, part := range []struct {
			name    string
			entries []cache.TreeEntry
		}{{"ann", d.ann}, {"img", d.img}} {
			td, err := b.store.PutTree(part.entries)
			if err != nil {
				return nil, fmt.Errorf("dataset %s: %w", ds, err)
			}
			var n int64
			for _, e := range part.entries {
				n += e.Size
			}
			sub = append(sub, cache.TreeEntry{Name: part.name, Kind: cache.Dir, Digest: td, Size: n})
			size += n
		}
		td, err := b.store.PutTree(sub)
		if err != nil {
			return nil, err
		}
		root = append(root, cache.TreeEntry{Name: ds, Kind: cache.Dir, Digest: td, Size: size})
	}
	tree, err := b.store.PutTree(root)
	if err != nil {
		return nil, err
	}
	return &Dataset{Tree: tree, Meta: &m, MetaDigest: metaD, Entries: entries}, nil
}

// Open reads the dataset artifact tree.
func Open(s Store, tree cache.Digest) (*Dataset, error) {
	entries, err := s.ReadTree(tree)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", tree.Short(), err)
	}
	var metaD, manD cache.Digest
	for _, e := range entries {
		switch e.Name {
		case MetaFile:
			metaD = e.Digest
		case ManifestFile:
			manD = e.Digest
		}
	}
	if metaD.IsZero() || manD.IsZero() {
		return nil, fmt.Errorf("tree %s is not a dataset: it has no %s and %s", tree.Short(), MetaFile, ManifestFile)
	}
	metaRaw, err := s.ReadBlob(metaD)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %s: %w", tree.Short(), MetaFile, err)
	}
	meta, err := ParseMeta(metaRaw)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", tree.Short(), err)
	}
	ds := &Dataset{Tree: tree, Meta: meta, MetaDigest: metaD}
	if ents, ok := parsedManifests.Get(manD); ok {
		ds.Entries = slices.Clone(ents)
		return ds, nil
	}
	manRaw, err := s.ReadBlob(manD)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %s: %w", tree.Short(), ManifestFile, err)
	}
	if err := parseManifest(ds, manRaw); err != nil {
		return nil, err
	}
	parsedManifests.Put(manD, slices.Clone(ds.Entries), len(ds.Entries))
	return ds, nil
}

// parsedManifests keeps the entries of the manifests parsed last, by the
// digest of the manifest blob (about 150 bytes an entry, 2M entries at
// most). A worker opens a step's input once for each shard it runs;
// parsing the whole manifest every time made each shard cost in proportion
// to the input, not to its own items. Readers get a copy of their own.
var parsedManifests = &cache.Decoded[[]Entry]{MaxWeight: 2 << 20}

// parseManifest reads the lines of manifest.jsonl into ds.Entries,
// checking each item's name.
func parseManifest(ds *Dataset, manRaw []byte) error {
	tree := ds.Tree
	sc := bufio.NewScanner(bytes.NewReader(manRaw))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		var e Entry
		line := len(ds.Entries) + 1
		if !utf8.Valid(sc.Bytes()) {
			// json.Unmarshal would quietly turn bad bytes into U+FFFD.
			return fmt.Errorf("dataset %s: %s line %d: not valid UTF-8", tree.Short(), ManifestFile, line)
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("dataset %s: %s line %d: %w", tree.Short(), ManifestFile, line, err)
		}
		// A manifest may come from anywhere (an exec step writes its
		// own): its names are checked here, once, for every reader.
		if err := ValidItemName(e.Name); err != nil {
			return fmt.Errorf("dataset %s: %s line %d: %w", tree.Short(), ManifestFile, line, err)
		}
		if seen[e.Name] {
			return fmt.Errorf("dataset %s: %s line %d: duplicate item name %q", tree.Short(), ManifestFile, line, e.Name)
		}
		seen[e.Name] = true
		ds.Entries = append(ds.Entries, e)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("dataset %s: %s: %w", tree.Short(), ManifestFile, err)
	}
	return nil
}

// Annotation reads and parses the annotation of e.
func (d *Dataset) Annotation(s Store, e Entry) (*Annotation, error) {
	raw, err := s.ReadBlob(e.Ann)
	if err != nil {
		return nil, fmt.Errorf("%s: annotation: %w", e.Name, err)
	}
	a, err := ParseAnnotation(raw, d.Meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	return a, nil
}

// Split returns the dataset and file parts of an item name.
func Split(name string) (dataset, file string) {
	dataset, file, _ = strings.Cut(name, "/")
	return dataset, file
}

// Ext returns the image file extension of an item name, lower-case, with
// the dot.
func Ext(name string) string { return strings.ToLower(path.Ext(name)) }
