package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"dsbuild/cache"
)

// LockfileName is the lockfile's name in the recipe directory.
const LockfileName = "dsbuild.lock"

// Lockfile records, for each step, its key, its output digests and the
// preimage of its key. It is JSON with sorted keys and no timestamps, so the
// same build always writes the same bytes and a VCS diff shows only what
// changed.
type Lockfile struct {
	Version int                  `json:"version"`
	Steps   map[string]*LockStep `json:"steps"`
}

// LockStep is one step's entry.
type LockStep struct {
	Key      cache.Digest            `json:"key"`
	Outputs  map[string]cache.Digest `json:"outputs"`
	Preimage []string                `json:"preimage"`
}

// ReadLockfile reads the lockfile of the recipe in dir; a missing lockfile
// is an empty one.
func ReadLockfile(dir string) (*Lockfile, error) {
	p := filepath.Join(dir, LockfileName)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lockfile{Version: 1, Steps: map[string]*LockStep{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var lf Lockfile
	if err := json.Unmarshal(data, &lf); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it and build again to recreate it)", p, err)
	}
	if lf.Version != 1 {
		return nil, fmt.Errorf("%s: version %d, this dsbuild reads version 1", p, lf.Version)
	}
	if lf.Steps == nil {
		lf.Steps = map[string]*LockStep{}
	}
	return &lf, nil
}

// Encode returns the lockfile's canonical bytes.
func (lf *Lockfile) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(lf); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Write saves the lockfile atomically into dir, only if its bytes changed.
func (lf *Lockfile) Write(dir string) error {
	data, err := lf.Encode()
	if err != nil {
		return err
	}
	p := filepath.Join(dir, LockfileName)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := cache.WriteFileAtomic(p, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// Roots returns the digests and keys the lockfile names, for garbage
// collection.
func (lf *Lockfile) Roots() (roots, actions []cache.Digest) {
	for _, name := range keys(lf.Steps) {
		s := lf.Steps[name]
		actions = append(actions, s.Key)
		for _, o := range keys(s.Outputs) {
			roots = append(roots, s.Outputs[o])
		}
	}
	return roots, actions
}
