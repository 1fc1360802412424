// Package files is the files step kind: a directory of the recipe's sources
// becomes a tree artifact. Files are hashed through the store's stat cache,
// so an unchanged file is never read twice, and a touched but unchanged
// file leaves every downstream step cached.
//
// Sources are never shared with the store in a way that an edit can
// corrupt. By default (link = "copy") each file enters the store as an
// independent copy: a reflink (a copy-on-write clone that shares the data
// blocks, so nothing is copied) where the file system supports it (btrfs,
// XFS, bcachefs …), else a byte copy, compressed when that pays. Editing a
// source afterwards, in place or not, leaves every stored blob intact.
//
// link = "hard" opts into hard links (when the store is on the same file
// system): no copy and no extra space, but the store and the source then
// share one inode. dsbuild removes the write bits of each file it links, so
// that an in-place edit fails instead of silently changing the stored
// bytes. If a linked file is edited in place anyway (after chmod, or as
// root), the edit changes the stored blob too: the stat cache (size, mtime,
// ctime, inode, mode) misses, the file is hashed again, the stale blob is
// removed, and every read re-hashes, so a wrong byte is never served; but
// the old content is gone, and builds that used it re-run. Tools that
// write a new file and rename it over the old one are safe. Going back to
// the default copies each linked file out of the store's inode at the next
// build.
//
// The link mode is not part of the step key: it never changes a digest.
package files

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
)

// Kind is the files step kind.
type Kind struct{}

func (Kind) Name() string { return "files" }
func (Kind) Version() int { return 1 }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "A directory of source files, relative to the recipe, as a tree artifact.",
		Attrs: []engine.AttrSpec{
			{Name: "path", Type: cty.String, Required: true, Doc: "directory, relative to the recipe directory"},
			{Name: "include", Type: cty.List(cty.String), Doc: `globs of files to keep ("**" spans directories); all files if absent`},
			{Name: "exclude", Type: cty.List(cty.String), Doc: "globs of files and directories to leave out"},
			engine.LinkAttr,
			engine.CopyAttr,
		},
		Outputs: []string{"tree"},
	}
}

// settings are a files step's parameters, decoded when the recipe loads.
type settings struct {
	path  string // relative to the recipe directory
	keep  *filter
	adopt cache.Adopt // from link
}

// Decode reads and checks the parameters, compiling the globs
// (engine.Decoder).
func (Kind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	set := &settings{path: cfg.String("path"), keep: &filter{}, adopt: engine.SourceAdopt(cfg)}
	diags := engine.ValidateLink(cfg)
	if filepath.IsAbs(set.path) {
		r := cfg.Range("path")
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Absolute source path",
			Detail:  fmt.Sprintf("path %q must be relative to the recipe directory, so that the recipe builds the same anywhere.", set.path),
			Subject: &r})
	}
	for _, attr := range []struct {
		name string
		to   *[]pattern
	}{{"include", &set.keep.include}, {"exclude", &set.keep.exclude}} {
		for _, g := range cfg.StringList(attr.name) {
			p, err := compile(g)
			if err != nil {
				r := cfg.Range(attr.name)
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid glob", Detail: err.Error(), Subject: &r})
				continue
			}
			*attr.to = append(*attr.to, p)
		}
	}
	return set, diags
}

// Sources hashes (and, when building, stores) the source directory through
// engine.HashSource. Its tree digest enters the key as "input source".
func (Kind) Sources(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	set := engine.Decoded[*settings](rc.Config)
	d, err := engine.HashSource(ctx, rc, set.path, set.keep.keep, set.adopt)
	if err != nil {
		return nil, err
	}
	return map[string]cache.Digest{"source": d}, nil
}

// Run returns the source tree itself: Sources already stored it.
func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	return map[string]cache.Digest{"tree": rc.Inputs["source"]}, nil
}
