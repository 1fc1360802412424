package cache

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RegisterLockfile remembers that the lockfile at path records results kept
// in this store, so that garbage collection keeps what it names.
func (s *Store) RegisterLockfile(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	p := filepath.Join(s.dir, "roots", "lock-"+Sum([]byte(abs)).Hex()[:32])
	if b, err := os.ReadFile(p); err == nil && string(b) == abs+"\n" {
		return nil
	}
	return writeFileAtomic(filepath.Join(s.dir, "tmp"), p, []byte(abs+"\n"), 0o644)
}

// Lockfiles lists the registered lockfiles that still exist, sorted.
// Registrations of deleted lockfiles are dropped.
func (s *Store) Lockfiles() ([]string, error) {
	dir := filepath.Join(s.dir, "roots")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "lock-") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		p := strings.TrimSpace(string(b))
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// BuildRecord lists the step keys and output digests of one build.
type BuildRecord struct {
	Actions []ActionKey
	Roots   []Digest
}

// RecordBuild appends a build record; garbage collection keeps the last few.
func (s *Store) RecordBuild(r BuildRecord) error {
	var b bytes.Buffer
	b.WriteString("dsbuild build v1\n")
	for _, a := range r.Actions {
		fmt.Fprintf(&b, "action %s\n", a)
	}
	for _, d := range r.Roots {
		fmt.Fprintf(&b, "root %s\n", d)
	}
	dir := filepath.Join(s.dir, "builds")
	for attempt := 0; attempt < 100; attempt++ {
		seqs, err := s.buildSeqs()
		if err != nil {
			return err
		}
		next := 1
		if len(seqs) > 0 {
			last := seqs[len(seqs)-1]
			if prev, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%010d", last))); err == nil && bytes.Equal(prev, b.Bytes()) {
				return nil // the same as the last build: nothing new to keep
			}
			next = last + 1
		}
		tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "build-*")
		if err != nil {
			return err
		}
		_, werr := tmp.Write(b.Bytes())
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		// Link, unlike rename, fails if another build took the number.
		err = os.Link(tmp.Name(), filepath.Join(dir, fmt.Sprintf("%010d", next)))
		os.Remove(tmp.Name())
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return errors.New("recording build: too many concurrent builds")
}

func (s *Store) buildSeqs() ([]int, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "builds"))
	if err != nil {
		return nil, err
	}
	var seqs []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			seqs = append(seqs, n)
		}
	}
	sort.Ints(seqs)
	return seqs, nil
}

func readBuildRecord(p string) (BuildRecord, error) {
	var r BuildRecord
	data, err := os.ReadFile(p)
	if err != nil {
		return r, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		d, err := ParseDigest(f[1])
		if err != nil {
			return r, fmt.Errorf("%s: %w", p, err)
		}
		switch f[0] {
		case "action":
			r.Actions = append(r.Actions, ActionKey(d))
		case "root":
			r.Roots = append(r.Roots, d)
		}
	}
	return r, nil
}

// SetTag points the tag name at the given root digests (used by releases).
func (s *Store) SetTag(name string, roots []Digest) error {
	if err := ValidName(name); err != nil {
		return err
	}
	var b bytes.Buffer
	for _, d := range roots {
		fmt.Fprintf(&b, "%s\n", d)
	}
	return writeFileAtomic(filepath.Join(s.dir, "tmp"), filepath.Join(s.dir, "tags", name), b.Bytes(), 0o644)
}

// Tag returns the root digests of tag name, in the order SetTag was given
// them; a missing tag is an fs.ErrNotExist error.
func (s *Store) Tag(name string) ([]Digest, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "tags", name))
	if err != nil {
		return nil, err
	}
	var out []Digest
	for _, l := range strings.Fields(string(b)) {
		d, err := ParseDigest(l)
		if err != nil {
			return nil, fmt.Errorf("tag %s: %w", name, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// TagInfo is a tag's name and when it was last set (not part of any
// artifact; for listing).
type TagInfo struct {
	Name    string
	ModTime time.Time
}

// Tags lists the tags, oldest first (then by name).
func (s *Store) Tags() ([]TagInfo, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "tags"))
	if err != nil {
		return nil, err
	}
	var out []TagInfo
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, TagInfo{e.Name(), fi.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].ModTime.Equal(out[j].ModTime) {
			return out[i].ModTime.Before(out[j].ModTime)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func (s *Store) tagRoots() ([]Digest, error) {
	dir := filepath.Join(s.dir, "tags")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Digest
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Fields(string(b)) {
			d, err := ParseDigest(l)
			if err != nil {
				return nil, fmt.Errorf("tag %s: %w", e.Name(), err)
			}
			out = append(out, d)
		}
	}
	return out, nil
}
