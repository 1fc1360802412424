package release

import (
	"fmt"
	"slices"
	"strings"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/formats"
	"dsbuild/engine"
)

// RefKind is what a dataset reference names.
type RefKind int

const (
	// RefStep is a step output, kind.name[.output], as the recipe's
	// lockfile records it (the default: anything that is none of the
	// others).
	RefStep RefKind = iota
	// RefDigest is a tree digest or a prefix of one: sha256:<hex>.
	RefDigest
	// RefTag is a release's tag: a name without '.', ':' or '/'.
	RefTag
	// RefPath is a directory in an import format: FORMAT:PATH.
	RefPath
)

// Ref is a parsed dataset reference.
type Ref struct {
	Kind RefKind
	Text string // the reference as written
	// Format and Path are the parts of a RefPath.
	Format, Path string
}

// ParseRef tells what ref names, by its form alone: a digest prefix
// first, then a tag (no '.', ':' or '/'), then FORMAT:PATH for a known
// import format, else a step output.
func ParseRef(ref string) Ref {
	switch {
	case strings.HasPrefix(ref, cache.Prefix):
		return Ref{Kind: RefDigest, Text: ref}
	case !strings.ContainsAny(ref, ".:/"):
		return Ref{Kind: RefTag, Text: ref}
	}
	if format, path, ok := strings.Cut(ref, ":"); ok && slices.Contains(formats.ImportNames(), format) {
		return Ref{Kind: RefPath, Text: ref, Format: format, Path: path}
	}
	return Ref{Kind: RefStep, Text: ref}
}

// Resolver opens the dataset a reference names. Tags and digests it
// resolves in Store; FORMAT:PATH and step outputs through its caller's
// functions, which load what they need only when called.
type Resolver struct {
	Store *cache.Store
	// Import reads the directory path in an import format.
	Import func(format, path string) (*dataset.Dataset, error)
	// Step returns the tree of a step output reference as the recipe's
	// lockfile records it, checked (engine.ResolveOutput).
	Step func(ref string) (cache.Digest, error)
}

// Dataset opens the dataset ref names. A name of the tag form that is no
// tag is an error listing the tags, with a did-you-mean.
func (r *Resolver) Dataset(ref string) (*dataset.Dataset, error) {
	p := ParseRef(ref)
	switch p.Kind {
	case RefDigest:
		d, err := r.Store.ResolvePrefix(ref)
		if err != nil {
			return nil, err
		}
		return dataset.Open(r.Store, d)
	case RefTag:
		if _, err := r.Store.Tag(ref); err == nil {
			return OpenDataset(r.Store, ref)
		}
		var names []string
		if tags, err := r.Store.Tags(); err == nil {
			for _, t := range tags {
				names = append(names, t.Name)
			}
		}
		list := "none"
		if len(names) > 0 {
			list = strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("no tag %q;%s a ref is a tag (%s), a step like transform.people, sha256:<digest prefix>, or FORMAT:PATH", ref, engine.Suggest(ref, names), list)
	case RefPath:
		return r.Import(p.Format, p.Path)
	}
	d, err := r.Step(ref)
	if err != nil {
		return nil, err
	}
	return dataset.Open(r.Store, d)
}
