// Package release is where datasets get names. It owns the two things a
// command resolves a name through:
//
//   - the release record that dsbuild tag writes ([Record]): a JSON blob
//     naming a dataset tree, the recipe state that made it ([RecipeDigest])
//     and the dsbuild that built it, kept under a tag of the store together
//     with the dataset, so that both are gc roots ([Write], [Read]);
//   - dataset references ([ParseRef], [Resolver]), the names commands take
//     for a dataset (diff, stats, tag): a tag, a digest or digest prefix,
//     FORMAT:PATH, or a step output as a recipe's lockfile records it.
//
// A record is read back from the store like any blob (re-hashed); one that
// is missing or does not parse is an error naming its tag, never a guess.
// Nothing here knows how a recipe is loaded or a directory imported: the
// [Resolver]'s caller supplies both.
package release

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
)

// RecordVersion is the version of the record's JSON layout.
const RecordVersion = 1

// Record is what dsbuild tag records: its JSON (one line, fields in this
// order) is the blob the tag names first.
type Record struct {
	Version int    `json:"version"`
	Name    string `json:"name"`    // the tag
	Ref     string `json:"ref"`     // the reference it was made from, as written
	Dataset string `json:"dataset"` // the dataset's tree digest
	Model   string `json:"model,omitempty"`
	Recipe  string `json:"recipe"` // RecipeDigest of the recipe's directory
	Dsbuild string `json:"dsbuild"`
}

// Write stores rec as a blob and points the tag rec.Name at it and at the
// dataset it names, replacing a tag of that name. Whether an existing tag
// may be replaced is the caller's decision.
func Write(store *cache.Store, rec *Record) error {
	ds, err := cache.ParseDigest(rec.Dataset)
	if err != nil {
		return fmt.Errorf("release %s: dataset: %w", rec.Name, err)
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	d, err := store.PutBytes(append(raw, '\n'))
	if err != nil {
		return err
	}
	return store.SetTag(rec.Name, []cache.Digest{d, ds})
}

// Read reads the record that tag name points at.
func Read(store *cache.Store, name string) (*Record, error) {
	roots, err := store.Tag(name)
	if err != nil {
		return nil, err
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("tag %s is empty", name)
	}
	raw, err := store.ReadBlob(roots[0])
	if err != nil {
		return nil, fmt.Errorf("tag %s: %w", name, err)
	}
	var rec Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("tag %s: %w", name, err)
	}
	return &rec, nil
}

// OpenDataset opens the dataset of the release tagged name.
func OpenDataset(store *cache.Store, name string) (*dataset.Dataset, error) {
	rec, err := Read(store, name)
	if err != nil {
		return nil, err
	}
	d, err := cache.ParseDigest(rec.Dataset)
	if err != nil {
		return nil, err
	}
	return dataset.Open(store, d)
}

// RecipeDigest hashes the recipe in dir: a line "<digest> <name>" per
// *.hcl file and the lockfile (when there is one), sorted by path, hashed
// together. Other files of the directory do not count.
func RecipeDigest(dir string) (cache.Digest, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err != nil {
		return cache.Digest{}, err
	}
	files = append(files, filepath.Join(dir, engine.LockfileName))
	sort.Strings(files)
	var b bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return cache.Digest{}, err
		}
		fmt.Fprintf(&b, "%s %s\n", cache.Sum(data), filepath.Base(f))
	}
	return cache.Sum(b.Bytes()), nil
}
