package files

import (
	"fmt"
	"path"
	"strings"
)

// pattern is a slash-separated glob where "**" matches any number of path
// elements (including none) and other elements follow path.Match.
type pattern []string

func compile(p string) (pattern, error) {
	if p == "" || strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("pattern %q must be a non-empty relative path", p)
	}
	elems := strings.Split(path.Clean(p), "/")
	for _, e := range elems {
		if e == ".." {
			return nil, fmt.Errorf("pattern %q must not contain ..", p)
		}
		if _, err := path.Match(e, ""); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	return elems, nil
}

// match reports whether the slash-separated path rel matches.
func (p pattern) match(rel string) bool {
	return matchElems(p, strings.Split(rel, "/"))
}

func matchElems(p, name []string) bool {
	for len(p) > 0 {
		if p[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchElems(p[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(p[0], name[0]); !ok {
			return false
		}
		p, name = p[1:], name[1:]
	}
	return len(name) == 0
}

// mayMatchBelow reports whether some path below directory dir could match p,
// so that walking into dir is useful.
func (p pattern) mayMatchBelow(dir string) bool {
	elems := strings.Split(dir, "/")
	for i, e := range elems {
		if i >= len(p) {
			return false
		}
		if p[i] == "**" {
			return true
		}
		if ok, _ := path.Match(p[i], e); !ok {
			return false
		}
	}
	return len(p) > len(elems)
}

// filter decides membership from include and exclude patterns: a file is in
// when it matches an include pattern (all files when there are none) and
// no exclude pattern; a directory matching an exclude pattern is pruned.
type filter struct {
	include, exclude []pattern
}

func (f *filter) keep(rel string, isDir bool) bool {
	for _, p := range f.exclude {
		if p.match(rel) {
			return false
		}
		if isDir && len(p) > 1 && p[len(p)-1] == "**" && pattern(p[:len(p)-1]).match(rel) {
			return false
		}
	}
	if len(f.include) == 0 {
		return true
	}
	for _, p := range f.include {
		if isDir && p.mayMatchBelow(rel) {
			return true
		}
		if !isDir && p.match(rel) {
			return true
		}
	}
	return false
}
