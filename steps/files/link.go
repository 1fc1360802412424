package files

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
)

// The values of the link attribute.
const (
	// LinkCopy stores an independent copy of each source file: a reflink
	// where the file system supports it, else a byte copy (cache.Clone).
	LinkCopy = "copy"
	// LinkHard shares each source file with the store by hard link
	// (cache.Link); see the package doc for what that costs.
	LinkHard = "hard"
)

// LinkAttr is the link attribute of steps that read sources from disk
// (files, import). It is not part of the key: every mode gives the same
// digests.
var LinkAttr = engine.AttrSpec{
	Name: "link", Type: cty.String, Default: cty.StringVal(LinkCopy), NotInKey: true,
	Doc: `how source files enter the store: "copy" (a reflink where the file system supports it, else a copy; an edit of the source never changes the store) or "hard" (hard links, read-only: no copy, but the source and the store share the file)`,
}

// CopyAttr is the deprecated copy attribute: copying is now the default.
var CopyAttr = engine.AttrSpec{
	Name: "copy", Type: cty.Bool, NotInKey: true,
	Doc: `deprecated: sources are copied (or reflinked) by default; link = "hard" shares them instead`,
}

// ValidateLink checks the link attribute and warns about copy.
func ValidateLink(cfg *engine.Config) hcl.Diagnostics {
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

// AdoptOf says how a step's sources enter the store, from its link
// attribute.
func AdoptOf(cfg *engine.Config) cache.Adopt {
	if cfg.String("link") == LinkHard {
		return cache.Link
	}
	return cache.Clone
}
