package train_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"dsbuild/engine"
	"dsbuild/steps"
	"dsbuild/steps/train"
)

// load loads a recipe of one import and the train step "m" with extra
// attributes.
func load(t *testing.T, extra string) (*engine.Recipe, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	src := `import "seed" {
  format  = "synthetic"
  options = { count = "4", width = "32", height = "32", figures = "1", seed = "1" }
}
train "m" {
  data       = import.seed
  depth      = 1
  width      = 4
  epochs     = 1
` + extra + `}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds(), Macros: steps.Macros()})
}

// line is the 1-based line of the recipe's first line starting with
// prefix (after indentation).
func line(extra, prefix string) int {
	for i, l := range strings.Split(extra, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return 10 + i // the recipe's first extra line is line 10
		}
	}
	return -1
}

// A micro_batch that does not divide the batch is refused when the recipe
// loads (validate, plan, build), on its own line, with the values it may
// take.
func TestMicroBatchMustDivideBatch(t *testing.T) {
	for _, tc := range []struct {
		extra, want string
	}{
		{"  input_size = 32\n  micro_batch = 3\n", "micro_batch is 3; it must be 0 (chosen from input_size) or divide batch 8: 1, 2, 4 or 8."},
		{"  input_size = 32\n  batch = 6\n  micro_batch = 4\n", "micro_batch is 4; it must be 0 (chosen from input_size) or divide batch 6: 1, 2, 3 or 6."},
		{"  input_size = 32\n  micro_batch = -1\n", "micro_batch is -1;"},
		{"  input_size = 32\n  micro_batch = 16\n", "micro_batch is 16;"},
	} {
		_, diags := load(t, tc.extra)
		if len(diags) != 1 || !diags.HasErrors() {
			t.Errorf("%q: diagnostics %v; want one error", tc.extra, diags)
			continue
		}
		d := diags[0]
		if d.Summary != "Invalid micro_batch" || !strings.Contains(d.Detail, tc.want) {
			t.Errorf("%q: %s: %s; want Invalid micro_batch: …%s", tc.extra, d.Summary, d.Detail, tc.want)
		}
		if want := line(tc.extra, "micro_batch"); d.Subject == nil || d.Subject.Start.Line != want {
			t.Errorf("%q: the error points at %v, want line %d", tc.extra, d.Subject, want)
		}
	}
}

// The default micro-batch divides the batch, and the key records it:
// recipes/person's settings (input 64, batch 8) keep 8; input 96 gets 4,
// where it was 7 and training failed.
func TestDefaultMicroBatchKeyLine(t *testing.T) {
	for _, tc := range []struct {
		extra, want string
	}{
		{"  input_size = 64\n  batch = 8\n", "micro_batch_used 8"},
		{"  input_size = 96\n  batch = 8\n", "micro_batch_used 4"},
		{"  input_size = 96\n  batch = 8\n  micro_batch = 2\n", "micro_batch_used 2"},
	} {
		r, diags := load(t, tc.extra)
		if diags.HasErrors() {
			t.Fatalf("%q: %v", tc.extra, diags)
		}
		lines := train.Kind{}.KeyLines(r.Step("train.m").Config)
		if !slices.Contains(lines, tc.want) {
			t.Errorf("%q: key lines %q, want %q", tc.extra, lines, tc.want)
		}
	}
}

// The optional parameters, crop_padding, lr_schedule and keep: a bad
// value is one error on its own line; unset, the parameter is not in the
// key, so the models of recipes that do not set it keep their keys; set,
// it is. crop_padding is a whole percent from 0 to 4, lr_schedule
// "constant" or "cosine", keep "best" or "last".
func TestOptionalParameters(t *testing.T) {
	for _, tc := range []struct {
		attr    string
		bad     map[string]string // value → the error's detail
		good    string
		keyLine string
	}{
		{"crop_padding", map[string]string{
			"0.125": `crop_padding is 0.125; it must be a whole percent (a multiple of 0.01), as instances_crop's pad = "<n>%" is.`,
			"-0.1":  "crop_padding is -0.1; it must be 0 to 4.",
			"5":     "crop_padding is 5; it must be 0 to 4.",
		}, "0.1", "param crop_padding 0.1"},
		{"lr_schedule", map[string]string{`"cosin"`: `lr_schedule is "cosin"; use "constant" or "cosine".`}, `"cosine"`, `param lr_schedule "cosine"`},
		{"keep", map[string]string{`"first"`: `keep is "first"; use "best" or "last".`}, `"last"`, `param keep "last"`},
	} {
		for value, want := range tc.bad {
			extra := "  input_size = 32\n  " + tc.attr + " = " + value + "\n"
			_, diags := load(t, extra)
			if len(diags) != 1 || diags[0].Summary != "Invalid "+tc.attr || diags[0].Detail != want {
				t.Errorf("%q: diagnostics %v; want Invalid %s: %s", extra, diags, tc.attr, want)
				continue
			}
			if want := line(extra, tc.attr); diags[0].Subject.Start.Line != want {
				t.Errorf("%q: the error points at line %d, want %d", extra, diags[0].Subject.Start.Line, want)
			}
		}
		for _, l := range preimageOf(t, "  input_size = 32\n") {
			if strings.Contains(l, tc.attr) {
				t.Errorf("a step without %s has the key line %q", tc.attr, l)
			}
		}
		if got := preimageOf(t, "  input_size = 32\n  "+tc.attr+" = "+tc.good+"\n"); !slices.Contains(got, tc.keyLine) {
			t.Errorf("%s = %s is not in the key: %q", tc.attr, tc.good, got)
		}
	}
}

// preimageOf is the key preimage of train.m with the extra attributes.
func preimageOf(t *testing.T, extra string) []string {
	t.Helper()
	r, diags := load(t, extra)
	if diags.HasErrors() {
		t.Fatalf("%q: %v", extra, diags)
	}
	lines, err := engine.Preimage(r.Step("train.m"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}
