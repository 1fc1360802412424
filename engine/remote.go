package engine

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// RemoteConfig is a recipe's remote block: the remote cache that commands
// on the recipe use unless --remote or $DSBUILD_REMOTE name another.
//
//	remote {
//	  url     = "s3://team-datasets/dsbuild"  # or grpc[s]://host:port
//	  upload  = false                         # optional; default true
//	  ca_file = "certs/ca.pem"                # optional, grpcs only
//	}
//
// It holds no secrets: credentials come from the environment (AWS_*,
// DSBUILD_REMOTE_HEADERS) or --remote-header. Its values are literals, so
// commands that do not evaluate the recipe (checkout, push, pull) read it
// too. It is not part of any step's key: where results are shared never
// changes what they are.
type RemoteConfig struct {
	URL    string
	Upload bool   // default true
	CAFile string // absolute; "" when not set
	// Range is the block's header, for messages that name it.
	Range hcl.Range
}

// remoteAttrs are the remote block's attributes and what each must be.
var remoteAttrs = map[string]cty.Type{"url": cty.String, "upload": cty.Bool, "ca_file": cty.String}

// secretAttrs are attribute names that would put a credential into a
// recipe, with where that credential belongs instead.
var secretAttrs = []string{"header", "token", "password", "secret", "key", "credential", "auth"}

// LoadRemote reads only the remote block of the recipe in dir (nil when
// it has none), for commands that do not load the whole recipe.
func LoadRemote(dir string) (*RemoteConfig, hcl.Diagnostics, map[string]*hcl.File) {
	r, files, diags := parseRecipe(dir)
	if diags.HasErrors() {
		return nil, diags, r.Files
	}
	var blocks []*hclsyntax.Block
	for _, f := range files {
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if b.Type == "remote" {
				blocks = append(blocks, b)
			}
		}
	}
	rc, d := decodeRemote(r.Dir, blocks)
	return rc, append(diags, d...), r.Files
}

// decodeRemote checks the recipe's remote blocks (at most one) and decodes
// it; dir resolves a relative ca_file.
func decodeRemote(dir string, blocks []*hclsyntax.Block) (*RemoteConfig, hcl.Diagnostics) {
	if len(blocks) == 0 {
		return nil, nil
	}
	var diags hcl.Diagnostics
	for _, b := range blocks[1:] {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate remote block",
			Detail:  fmt.Sprintf("A recipe names one remote; the first is at %s.", rangeString(blocks[0].TypeRange)),
			Subject: b.TypeRange.Ptr()})
	}
	b := blocks[0]
	if d := wantLabels(b, 0, "remote"); d != nil {
		return nil, append(diags, d)
	}
	if len(b.Body.Blocks) > 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unexpected block in remote",
			Detail: "remote holds the attributes url, upload and ca_file only.", Subject: b.Body.Blocks[0].TypeRange.Ptr()})
	}
	rc := &RemoteConfig{Upload: true, Range: b.TypeRange}
	for _, a := range sortedAttrs(b.Body.Attributes) {
		want, ok := remoteAttrs[a.Name]
		if !ok {
			detail := fmt.Sprintf("remote has the attributes url, upload and ca_file.%s", Suggest(a.Name, []string{"url", "upload", "ca_file"}))
			for _, s := range secretAttrs {
				if strings.Contains(strings.ToLower(a.Name), s) {
					detail = "Credentials never go into a recipe (it is committed and shared): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for s3://, or DSBUILD_REMOTE_HEADERS / --remote-header for grpc:// (see dsbuild help remote)."
					break
				}
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported attribute in remote",
				Detail: detail, Subject: a.NameRange.Ptr()})
			continue
		}
		v, d := a.Expr.Value(nil)
		if d.HasErrors() {
			for _, dd := range d {
				dd.Detail += " The remote block's values are literals: commands that do not evaluate the recipe read them too. To choose a remote per run, use --remote or DSBUILD_REMOTE."
			}
			diags = append(diags, d...)
			continue
		}
		if v.IsNull() || !v.Type().Equals(want) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid remote " + a.Name,
				Detail: fmt.Sprintf("remote's %s is a %s.", a.Name, want.FriendlyName()), Subject: a.Expr.Range().Ptr()})
			continue
		}
		switch a.Name {
		case "url":
			rc.URL = v.AsString()
			if u, err := url.Parse(rc.URL); err == nil && u.User != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Credentials in the remote url",
					Detail:  "Credentials never go into a recipe (it is committed and shared): remove USER:PASSWORD@ from the url and set them in the environment (DSBUILD_REMOTE_HEADERS, or DSBUILD_REMOTE with the full url; see dsbuild help remote).",
					Subject: a.Expr.Range().Ptr()})
			}
		case "upload":
			rc.Upload = v.True()
		case "ca_file":
			rc.CAFile = v.AsString()
			if rc.CAFile != "" && !filepath.IsAbs(rc.CAFile) {
				rc.CAFile = filepath.Join(dir, rc.CAFile)
			}
		}
	}
	if _, ok := b.Body.Attributes["url"]; !ok {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing remote url",
			Detail:  `remote needs url = "s3://BUCKET/PREFIX" or "grpc[s]://HOST:PORT".`,
			Subject: b.TypeRange.Ptr()})
	} else if rc.URL == "" && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty remote url",
			Detail:  `remote needs url = "s3://BUCKET/PREFIX" or "grpc[s]://HOST:PORT"; to build without a remote, remove the block or pass --remote ''.`,
			Subject: b.Body.Attributes["url"].Expr.Range().Ptr()})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return rc, nil
}
