package engine_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"dsbuild/engine"
	"dsbuild/steps"
)

// TestBadRecipes loads every case under testdata/recipes-bad and checks that
// Load reports exactly the errors the case's files announce, in the style of
// Terraform's config tests:
//
//   - Each case is a directory of *.hcl files (a recipe).
//   - An expected error is a comment `# ERROR: <Summary>` at the end of the
//     line where the diagnostic's Subject starts. Several may share a line:
//     `# ERROR: A # ERROR: B`.
//   - `# ERROR: <Summary> | <text>` also requires the diagnostic's Detail to
//     contain <text> (a did-you-mean, say).
//   - `# ERROR-NOLOC: <Summary>`, anywhere in the case, expects an error
//     with no Subject (only -var errors have none). Every other diagnostic
//     must name a location.
//   - An optional vars.txt holds -var options, one NAME=VALUE a line (blank
//     lines and lines starting with # are skipped).
//
// Load must never panic; a panic fails the case with its stack.
func TestBadRecipes(t *testing.T) {
	root := filepath.Join("..", "testdata", "recipes-bad")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		dir := filepath.Join(root, e.Name())
		t.Run(e.Name(), func(t *testing.T) { checkBadRecipe(t, dir) })
	}
	if n == 0 {
		t.Fatalf("no cases under %s", root)
	}
}

const noLoc = "(no location)"

// expectation is one announced error.
type expectation struct {
	key     string // "file.hcl:12" or noLoc
	summary string
	detail  string // substring the Detail must hold; "" for any
}

func (x expectation) String() string {
	s := x.key + ": " + x.summary
	if x.detail != "" {
		s += " | " + x.detail
	}
	return s
}

func checkBadRecipe(t *testing.T, dir string) {
	want, sources := readExpectations(t, dir)
	if len(want) == 0 {
		t.Fatalf("%s announces no errors: add `# ERROR: <Summary>` comments", dir)
	}
	vars := readVars(t, dir)

	diags := loadNoPanic(t, dir, engine.LoadOptions{Kinds: steps.Kinds(), Vars: vars})
	if !diags.HasErrors() {
		t.Errorf("Load reported no errors")
	}

	// Every diagnostic, keyed like the expectations.
	type gotDiag struct {
		key string
		d   *hcl.Diagnostic
	}
	var got []gotDiag
	for _, d := range diags {
		key := noLoc
		if d.Subject != nil {
			key = fmt.Sprintf("%s:%d", filepath.Base(d.Subject.Filename), d.Subject.Start.Line)
			if !sources[filepath.Base(d.Subject.Filename)] {
				t.Errorf("diagnostic %q points into %q, which is not a file of this case", d.Summary, d.Subject.Filename)
			}
			if d.Subject.Start.Line < 1 || d.Subject.End.Byte < d.Subject.Start.Byte {
				t.Errorf("diagnostic %q has a malformed Subject %#v", d.Summary, *d.Subject)
			}
		}
		summary := d.Summary
		if d.Severity != hcl.DiagError {
			summary = "warning: " + summary
		}
		got = append(got, gotDiag{key, &hcl.Diagnostic{Severity: d.Severity, Summary: summary, Detail: d.Detail, Subject: d.Subject}})
	}

	// Match expectations to diagnostics (a multiset match on key and
	// summary), then check the Detail of the matched ones.
	used := make([]bool, len(got))
	var missing, badDetail []string
	for _, w := range want {
		match := -1
		for pass := 0; pass < 2 && match < 0; pass++ {
			for i, g := range got {
				if used[i] || g.key != w.key || g.d.Summary != w.summary {
					continue
				}
				// First pass: the Detail must fit too.
				if pass == 0 && !strings.Contains(g.d.Detail, w.detail) {
					continue
				}
				match = i
				break
			}
		}
		if match < 0 {
			missing = append(missing, w.String())
			continue
		}
		used[match] = true
		if w.detail != "" && !strings.Contains(got[match].d.Detail, w.detail) {
			badDetail = append(badDetail, fmt.Sprintf("%s\n        detail is: %q", w, got[match].d.Detail))
		}
	}
	var unexpected []string
	for i, g := range got {
		if used[i] {
			continue
		}
		s := fmt.Sprintf("%s: %s", g.key, g.d.Summary)
		if g.key == noLoc {
			s += "   <- this error names no location: give it a Subject"
		}
		unexpected = append(unexpected, s+fmt.Sprintf("\n        detail: %q", g.d.Detail))
	}
	if len(missing)+len(unexpected)+len(badDetail) == 0 {
		return
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	var b strings.Builder
	fmt.Fprintf(&b, "diagnostics differ from the # ERROR comments in %s\n", dir)
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "  %s:\n", title)
		for _, l := range lines {
			fmt.Fprintf(&b, "    - %s\n", l)
		}
	}
	section("expected but not reported", missing)
	section("reported but not expected", unexpected)
	section("reported, but the Detail lacks the expected text", badDetail)
	fmt.Fprintf(&b, "  all diagnostics (%d):\n", len(diags))
	for _, g := range got {
		fmt.Fprintf(&b, "    %s: %s\n        %s\n", g.key, g.d.Summary, g.d.Detail)
	}
	t.Error(b.String())
}

// loadNoPanic calls engine.Load and turns a panic into a test failure.
func loadNoPanic(t *testing.T, dir string, opt engine.LoadOptions) (diags hcl.Diagnostics) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Load panicked: %v\n%s", r, debug.Stack())
		}
	}()
	_, diags = engine.Load(dir, opt)
	return diags
}

// readExpectations collects the # ERROR and # ERROR-NOLOC comments of the
// case's *.hcl files, and returns the set of file base names.
func readExpectations(t *testing.T, dir string) ([]expectation, map[string]bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("%s has no *.hcl files", dir)
	}
	sources := map[string]bool{}
	var want []expectation
	for _, f := range files {
		base := filepath.Base(f)
		sources[base] = true
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			key := fmt.Sprintf("%s:%d", base, i+1)
			for _, m := range markers(line) {
				x := expectation{key: key, summary: m.text}
				if m.noLoc {
					x.key = noLoc
				}
				if s, d, ok := strings.Cut(m.text, " | "); ok {
					x.summary, x.detail = strings.TrimSpace(s), strings.TrimSpace(d)
				}
				if x.summary == "" {
					t.Fatalf("%s:%d: empty ERROR comment", f, i+1)
				}
				want = append(want, x)
			}
		}
	}
	return want, sources
}

type marker struct {
	noLoc bool
	text  string
}

// markers splits the "# ERROR: ..." and "# ERROR-NOLOC: ..." markers out of
// one line.
func markers(line string) []marker {
	const errTag, noLocTag = "# ERROR: ", "# ERROR-NOLOC: "
	var out []marker
	for {
		i := strings.Index(line, "# ERROR")
		if i < 0 {
			return out
		}
		rest := line[i:]
		var m marker
		switch {
		case strings.HasPrefix(rest, errTag):
			rest = rest[len(errTag):]
		case strings.HasPrefix(rest, noLocTag):
			rest, m.noLoc = rest[len(noLocTag):], true
		default:
			line = rest[len("# ERROR"):]
			continue
		}
		next := strings.Index(rest, "# ERROR")
		if next < 0 {
			m.text, line = strings.TrimSpace(rest), ""
		} else {
			m.text, line = strings.TrimSpace(rest[:next]), rest[next:]
		}
		out = append(out, m)
	}
}

// readVars reads the case's optional vars.txt.
func readVars(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "vars.txt"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vars []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		vars = append(vars, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vars
}
