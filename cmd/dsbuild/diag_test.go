package main

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Without color, a diagnostic's subject is underlined by carets under its
// snippet line: as far in as the line's characters (a tab stays a tab, a
// multi-byte character is one column), as many as the subject covers on
// its first line, and one for an empty range.
func TestWriteDiagnosticsUnderlines(t *testing.T) {
	src := "take \"a\" {\n\tname = \"ünï\" # x\n  count = [\n    1,\n  ]\n}\n"
	f, diags := hclsyntax.ParseConfig([]byte(src), "main.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files := map[string]*hcl.File{"main.hcl": f}
	attrs, _ := f.Body.(*hclsyntax.Body).Blocks[0].Body.JustAttributes()
	for _, c := range []struct {
		name string
		rng  hcl.Range
		want string // the snippet line and the carets under it
	}{
		{"tab and multi-byte", attrs["name"].Expr.Range(), "   2: \tname = \"ünï\" # x\n      \t       ^^^^^\n"},
		{"first line of several", attrs["count"].Expr.Range(), "   3:   count = [\n                ^\n"},
		{"empty range", hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 2, Column: 2, Byte: 12}, End: hcl.Pos{Line: 2, Column: 2, Byte: 12}},
			"   2: \tname = \"ünï\" # x\n      \t^\n"},
	} {
		var b strings.Builder
		rng := c.rng
		writeDiagnostics(&b, files, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Bad", Subject: &rng}}, 78, false)
		if got := b.String(); !strings.Contains(got, c.want) || strings.Count(got, "^") != strings.Count(c.want, "^") {
			t.Errorf("%s:\n%s\nwant it to hold\n%s", c.name, got, c.want)
		}
	}
	// In color the terminal underlines; no carets. A file that is not
	// loaded has no snippet to underline.
	var b strings.Builder
	rng := attrs["name"].Expr.Range()
	writeDiagnostics(&b, files, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Bad", Subject: &rng}}, 78, true)
	if strings.Contains(b.String(), "^") {
		t.Errorf("carets in color:\n%s", b.String())
	}
	b.Reset()
	writeDiagnostics(&b, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Bad", Subject: &rng}}, 78, false)
	if strings.Contains(b.String(), "^") || !strings.Contains(b.String(), "main.hcl line 2") {
		t.Errorf("without the file:\n%s", b.String())
	}
}
