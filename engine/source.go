package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
)

// The source contract. Kinds that read a directory of the recipe from disk
// ([Sourced]: files, import, review results) hash it with [HashSource]: a
// source enters the key as the digest of its tree, hashed through the
// store's stat cache (so an unchanged file is not read again) and, unless
// planning, stored. How the files enter the store is the link attribute's
// choice ([LinkAttr], [SourceAdopt]); it never changes a digest, so it is
// not part of the key.

// The values of the link attribute.
const (
	// LinkCopy stores an independent copy of each source file: a reflink
	// where the file system supports it, else a byte copy (cache.Clone).
	LinkCopy = "copy"
	// LinkHard shares each source file with the store by hard link
	// (cache.Link): no copy, but an in-place edit of the source reaches
	// the stored blob (detected, never served; the old content is lost).
	LinkHard = "hard"
)

// LinkAttr is the link attribute of kinds that read sources from disk
// (files, import). It is not part of the key: every mode gives the same
// digests.
var LinkAttr = AttrSpec{
	Name: "link", Type: cty.String, Default: cty.StringVal(LinkCopy), NotInKey: true,
	Doc: `how source files enter the store: "copy" (a reflink where the file system supports it, else a copy; an edit of the source never changes the store) or "hard" (hard links, read-only: no copy, but the source and the store share the file)`,
}

// CopyAttr is the deprecated copy attribute: copying is now the default.
var CopyAttr = AttrSpec{
	Name: "copy", Type: cty.Bool, NotInKey: true,
	Doc: `deprecated: sources are copied (or reflinked) by default; link = "hard" shares them instead`,
}

// ValidateLink checks the link attribute and warns about copy.
func ValidateLink(cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	link := cfg.String("link")
	if link != LinkCopy && link != LinkHard {
		r := cfg.Range("link")
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid link",
			Detail:  fmt.Sprintf("link is %q; use %q (the default: a reflink or a copy) or %q (hard links).", link, LinkCopy, LinkHard),
			Subject: &r})
	}
	if cfg.Has("copy") {
		r := cfg.Range("copy")
		switch {
		case cfg.Bool("copy") && link == LinkHard:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Conflicting copy and link",
				Detail:  `copy = true asks for copies and link = "hard" for hard links: remove copy (it is deprecated).`,
				Subject: &r})
		default:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Deprecated attribute copy",
				Detail:  `Sources are now copied (reflinked where the file system can) by default, so copy has no effect: remove it. To share sources with the store by hard link, as copy = false used to, write link = "hard".`,
				Subject: &r})
		}
	}
	return diags
}

// SourceAdopt says how a step's sources enter the store, from its link
// attribute: cache.Link with link = "hard", else cache.Clone.
func SourceAdopt(cfg *Config) cache.Adopt {
	if cfg.String("link") == LinkHard {
		return cache.Link
	}
	return cache.Clone
}

// HashSource hashes the directory rel (relative to the recipe) through the
// store's stat cache and, unless rc.DryRun, stores it as adopt says
// (SourceAdopt for a step's sources). keep, if not nil, filters paths. It
// returns the tree's digest; a missing directory is an error naming rel and
// where it was looked for.
//
// A plan (rc.DryRun) hashes without storing and leaves the stat cache as
// it is: its hits are trusted to be stored. With rc.Repairing, stored
// blobs that the stat cache vouches for are verified again.
func HashSource(ctx context.Context, rc *RunContext, rel string, keep func(string, bool) bool, adopt cache.Adopt) (cache.Digest, error) {
	dir := filepath.Join(rc.RecipeDir, rel)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return cache.Digest{}, fmt.Errorf("path %q: no such directory (looked for %s)", rel, dir)
	}
	sc, err := rc.Store.OpenStatCache(dir)
	if err != nil {
		return cache.Digest{}, err
	}
	seen := map[string]bool{}
	walkKeep := func(rel string, isDir bool) bool {
		ok := keep == nil || keep(rel, isDir)
		if ok && !isDir {
			seen[rel] = true
		}
		return ok
	}
	d, _, err := rc.Store.PutDir(ctx, dir, cache.IngestOptions{
		Keep:         walkKeep,
		Adopt:        adopt,
		StatCache:    sc,
		HashOnly:     rc.DryRun,
		VerifyStored: rc.Repairing,
		Progress:     rc.Progress,
	})
	if err != nil {
		return cache.Digest{}, fmt.Errorf("reading %s: %w", rel, err)
	}
	// A plan (and every command that checks a lockfile entry) hashes
	// without storing: its digests must not enter the stat cache, whose
	// hits are trusted to be stored, nor replace what a build recorded
	// there (the digests of hard-linked files, which detect in-place
	// edits).
	if rc.DryRun {
		return d, nil
	}
	if err := sc.Save(rc.Store, func(rel string) bool { return seen[rel] }); err != nil {
		rc.Logf("could not save the stat cache: %v", err)
	}
	return d, nil
}
