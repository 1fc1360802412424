package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/rogpeppe/go-internal/txtar"

	"dsbuild/engine"
	"dsbuild/steps"
)

// TestRecipeLimitsGenerated loads recipes too large or too deeply nested to
// commit under testdata/recipes-bad: each must be refused, quickly, with
// one diagnostic that names the file and line, instead of a Go stack
// overflow (100,000 brackets), memory exhaustion (1,000,000 parentheses)
// or minutes of parsing.
func TestRecipeLimitsGenerated(t *testing.T) {
	const head = "files \"src\" {\n  path = \"data\"\n}\n\n"
	const comment = "# a comment line of some length, many times\n"
	rep := strings.Repeat
	big := "/*" + rep("x\n", 499998) + "*/"
	cases := []struct {
		name    string
		files   map[string]string
		summary string
		file    string // where the diagnostic points
		line    int
	}{
		{"100000 brackets", map[string]string{"main.hcl": head + "locals {\n  x = " + rep("[", 100000) + rep("]", 100000) + "\n}\n"},
			"Recipe nested too deeply", "main.hcl", 6},
		{"1000000 parentheses", map[string]string{"main.hcl": head + "locals {\n  x = " + rep("(", 1000000) + "1" + rep(")", 1000000) + "\n}\n"},
			"Recipe file too large", "main.hcl", 6},
		{"one line of 1+1+… in 1 MiB", map[string]string{"main.hcl": head + "locals {\n  x = 1" + rep("+1", 500000) + "\n}\n"},
			"Recipe nested too deeply", "main.hcl", 6},
		{"200000 unary minus", map[string]string{"main.hcl": head + "locals {\n  x = " + rep("-", 200000) + "1\n}\n"},
			"Recipe nested too deeply", "main.hcl", 6},
		{"100000 conditionals", map[string]string{"main.hcl": head + "locals {\n  x = " + rep("true?1:", 100000) + "2\n}\n"},
			"Recipe nested too deeply", "main.hcl", 6},
		{"50000 nested template ifs in a heredoc", map[string]string{"main.hcl": head + "locals {\n  x = <<EOT\n" + rep("%{if true}\n", 50000) + rep("%{endif}\n", 50000) + "EOT\n}\n"},
			"Recipe nested too deeply", "main.hcl", 7 + 253},
		{"50000 nested interpolations", map[string]string{"main.hcl": head + "locals {\n  x = " + rep(`"${`, 50000) + "1" + rep(`}"`, 50000) + "\n}\n"},
			"Recipe nested too deeply", "main.hcl", 6},
		// The limit is passed on the line holding byte MaxRecipeFileBytes:
		// after head's 4 lines, that many comment lines.
		{"a file of 2 MiB of comments", map[string]string{"main.hcl": head + rep(comment, 2<<20/len(comment))},
			"Recipe file too large", "main.hcl", 4 + (engine.MaxRecipeFileBytes-len(head))/len(comment) + 1},
		// a.hcl to d.hcl hold 4*1000000 bytes (one comment each, which
		// is quick to parse): e.hcl passes MaxRecipeBytes on the line
		// holding its byte MaxRecipeBytes-4000000.
		{"five files of 1000000 bytes", map[string]string{
			"a.hcl": big, "b.hcl": big, "c.hcl": big, "d.hcl": big, "e.hcl": big},
			"Recipe too large", "e.hcl", (engine.MaxRecipeBytes-4000000-2)/2 + 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, src := range c.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			diags := loadNoPanic(t, dir, engine.LoadOptions{Kinds: steps.Kinds()})
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("Load took %v", took)
			}
			if len(diags) != 1 {
				t.Fatalf("%d diagnostics, want 1: %v", len(diags), diags)
			}
			d := diags[0]
			if d.Severity != hcl.DiagError || d.Summary != c.summary || d.Subject == nil {
				t.Fatalf("diagnostic %q (subject %v), want an error %q with a location", d.Summary, d.Subject, c.summary)
			}
			if got := fmt.Sprintf("%s:%d", filepath.Base(d.Subject.Filename), d.Subject.Start.Line); got != fmt.Sprintf("%s:%d", c.file, c.line) {
				t.Errorf("diagnostic at %s, want %s:%d (%s)", got, c.file, c.line, d.Detail)
			}
			if !strings.Contains(d.Detail, c.file) && !strings.Contains(d.Detail, "level 257") {
				t.Errorf("detail %q names neither the file nor the level", d.Detail)
			}
		})
	}
}

// TestRecipeLimitsVariables: a -var-file is a recipe file, and a -var
// value an expression, under the same limits.
func TestRecipeLimitsVariables(t *testing.T) {
	dir := t.TempDir()
	recipe := "variable \"v\" {\n  type    = list(number)\n  default = []\n}\n\nfiles \"src\" {\n  path = \"data\"\n}\n"
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	varFile := filepath.Join(t.TempDir(), "deep.tfvars")
	if err := os.WriteFile(varFile, []byte("# deep\nv = "+deep+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	diags := loadNoPanic(t, dir, engine.LoadOptions{Kinds: steps.Kinds(), VarFiles: []string{varFile}})
	if len(diags) != 1 || diags[0].Summary != "Recipe nested too deeply" || diags[0].Subject == nil ||
		diags[0].Subject.Filename != varFile || diags[0].Subject.Start.Line != 2 {
		t.Errorf("-var-file: got %v, want one \"Recipe nested too deeply\" at %s:2", diags, varFile)
	}
	diags = loadNoPanic(t, dir, engine.LoadOptions{Kinds: steps.Kinds(), Vars: []string{"v=" + deep}})
	if len(diags) != 1 || diags[0].Summary != "Invalid -var value" || !strings.Contains(diags[0].Detail, "Recipe nested too deeply") {
		t.Errorf("-var: got %v, want one \"Invalid -var value\" saying the value is nested too deeply", diags)
	}
}

// TestRecipeLimitsBoundary: 256 levels are accepted, 257 are not, and
// brackets that are text (strings, heredocs, comments) do not count.
func TestRecipeLimitsBoundary(t *testing.T) {
	rep := strings.Repeat
	// "x = " at the top level: the brackets are the only levels.
	for _, c := range []struct {
		src  string
		want bool // refused
	}{
		{"x = " + rep("[", 256) + rep("]", 256) + "\n", false},
		{"x = " + rep("[", 257) + rep("]", 257) + "\n", true},
		{"x = 1" + rep("+1", 256) + "\n", false},
		{"x = 1" + rep("+1", 257) + "\n", true},
		// Operators of separate elements and attributes do not add up.
		{"x = [" + rep("1"+rep("+1", 200)+",", 50) + "]\n", false},
		{rep("x = 1"+rep("+1", 200)+"\n", 50), false},
		{"x = {\n" + rep("a = 1"+rep("+1", 200)+"\n", 50) + "}\n", false},
		// Inside parentheses a newline does not end the expression.
		{"x = (1" + rep("+\n1", 257) + ")\n", true},
		// Text.
		{"x = \"" + rep("[(", 10000) + "\"\n", false},
		{"x = <<EOT\n" + rep("[{(\n", 10000) + "EOT\n", false},
		{"# " + rep("[", 10000) + "\n// " + rep("(", 10000) + "\n/* " + rep("{", 10000) + " */\n", false},
		{"x = \"" + rep("${1}%{if true}[%{endif}", 1000) + "\"\n", false},
		// A closing token of the wrong kind does not close anything.
		{"x = " + rep("(]", 300) + "\n", true},
	} {
		diags := engine.CheckSource([]byte(c.src), "t.hcl")
		if got := diags.HasErrors(); got != c.want {
			short := c.src
			if len(short) > 60 {
				short = short[:60] + "…"
			}
			t.Errorf("CheckSource(%q): refused=%v, want %v (%v)", short, got, c.want, diags)
		}
	}
}

// TestRecipeLimitsShippedRecipes: no recipe of the repository (recipes/,
// the scripts' recipes, the fixtures) comes near a limit.
func TestRecipeLimitsShippedRecipes(t *testing.T) {
	n := 0
	check := func(name string, src []byte) {
		n++
		if d := engine.CheckSource(src, name); d.HasErrors() {
			t.Errorf("%s is refused: %v", name, d)
		}
	}
	for _, root := range []string{filepath.Join("..", "recipes"), filepath.Join("..", "testdata")} {
		err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case e.IsDir() && e.Name() == "recipes-bad":
				return filepath.SkipDir
			case strings.HasSuffix(p, ".hcl"):
				src, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				check(p, src)
			case strings.HasSuffix(p, ".txtar"):
				a, err := txtar.ParseFile(p)
				if err != nil {
					return err
				}
				for _, f := range a.Files {
					if filepath.Base(p) == "recipe_limits.txtar" && f.Name == "deep/main.hcl" {
						continue // refused on purpose
					}
					if strings.HasSuffix(f.Name, ".hcl") {
						check(p+":"+f.Name, f.Data)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 20 {
		t.Fatalf("checked %d recipe files; the walk found too few", n)
	}
	t.Logf("%d recipe files within the limits", n)
}
