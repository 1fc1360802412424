package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"

	"dsbuild/engine"
)

// printDiags prints load-time diagnostics on stderr.
func printDiags(files map[string]*hcl.File, diags hcl.Diagnostics) {
	width, color := diagStyle(os.Stderr)
	writeDiagnostics(os.Stderr, files, diags, width, color)
}

// diagStyle is how diagnostics print on f: in color on a terminal (unless
// NO_COLOR is set) and as wide as it is; else plain, 78 columns wide.
func diagStyle(f *os.File) (width uint, color bool) {
	width = 78
	if term.IsTerminal(int(f.Fd())) {
		color = os.Getenv("NO_COLOR") == ""
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			width = uint(w)
		}
	}
	return width, color
}

// writeDiagnostics prints diags as hcl's text writer does (the severity
// and summary, the recipe's lines around the subject, the detail), with
// the subject underlined: by the terminal where color is on, else by a
// line of carets under it, so that logs and pipes show the place too.
func writeDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, width uint, color bool) {
	for _, d := range diags {
		var b strings.Builder
		if err := hcl.NewDiagnosticTextWriter(&b, files, width, color).WriteDiagnostic(d); err != nil {
			fmt.Fprintf(w, "%s\n", d.Error())
			continue
		}
		text := b.String()
		if !color && d.Subject != nil {
			if f := files[d.Subject.Filename]; f != nil {
				text = underline(text, f.Bytes, *d.Subject)
			}
		}
		io.WriteString(w, text)
	}
}

// underline puts a line of carets under the part of rng on its first line
// in text, a diagnostic that hcl's writer printed from src: below the
// snippet line that shows it ("  12:   skip = 10"), as far in as the
// source line's characters (tabs kept), as many as rng covers there (one
// for an empty range). text comes back unchanged where the line is not
// in it.
func underline(text string, src []byte, rng hcl.Range) string {
	start := rng.Start.Byte
	if start < 0 || start > len(src) {
		return text
	}
	lineStart := bytes.LastIndexByte(src[:start], '\n') + 1
	lineEnd := len(src)
	if i := bytes.IndexByte(src[lineStart:], '\n'); i >= 0 {
		lineEnd = lineStart + i
	}
	line := strings.TrimSuffix(string(src[lineStart:lineEnd]), "\r")
	end := min(max(rng.End.Byte, start), lineStart+len(line))
	if start > end {
		// The range starts at the end of a line that ends in "\r\n".
		start = end
	}
	prefix := fmt.Sprintf("%4d: ", rng.Start.Line)
	shown := "\n" + prefix + line + "\n"
	at := strings.Index(text, shown)
	if at < 0 {
		return text
	}
	var c strings.Builder
	c.WriteString(strings.Repeat(" ", len(prefix)))
	for _, r := range string(src[lineStart:start]) {
		if r == '\t' {
			c.WriteRune('\t')
		} else {
			c.WriteByte(' ')
		}
	}
	c.WriteString(strings.Repeat("^", max(1, utf8.RuneCount(src[start:end]))))
	at += len(shown)
	return text[:at] + c.String() + "\n" + text[at:]
}

// recipeView is what a reporter needs to show a failure on the recipe:
// the recipe's files, and how diagnostics print on the reporter's stream.
type recipeView struct {
	files map[string]*hcl.File
	width uint
	color bool
}

// viewOn is the view of r's files for diagnostics printed on f (see
// diagStyle); r may be nil.
func viewOn(r *engine.Recipe, f *os.File) recipeView {
	v := recipeView{}
	if r != nil {
		v.files = r.Files
	}
	v.width, v.color = diagStyle(f)
	return v
}

// stepReport is a step's status line and, for a failure at a place in the
// recipe (an engine.SourceError in its chain), the failure as a diagnostic
// on that place, which is said once: with the recipe's line and the value
// underlined, under the line that names the step. Other failures keep
// statusLine's form.
func (v recipeView) stepReport(r *engine.StepResult) string {
	d := engine.SourceDiagnostic(r.Err)
	if d == nil || r.Status != engine.Failed {
		return statusLine(r)
	}
	bare := *r
	bare.Err = nil
	var b strings.Builder
	b.WriteString(statusLine(&bare))
	b.WriteString("\n\n")
	writeDiagnostics(&b, v.files, hcl.Diagnostics{d}, v.width, v.color)
	return strings.TrimRight(b.String(), "\n") + "\n"
}
