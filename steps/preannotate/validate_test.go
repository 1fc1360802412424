package preannotate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"dsbuild/engine"
	"dsbuild/steps"
)

// The modes' attributes are checked when the recipe loads, each error on
// the line of the attribute to change.
func TestModeValidation(t *testing.T) {
	t.Parallel()
	const head = `import "pool" {
  format  = "synthetic"
  options = { count = "2", width = "32", height = "32", figures = "1", seed = "1" }
}
train "m" {
  data       = import.pool
  input_size = 32
  depth      = 1
  width      = 4
  epochs     = 1
}
files "dets" {
  path = "."
}
preannotate "p" {
  model  = train.m
  images = import.pool
`
	const first = 18 // the line of the first extra attribute
	for _, tc := range []struct {
		name, extra string
		sev         hcl.DiagnosticSeverity
		line        int // 0: the block's header
		want        string
	}{
		{"boxes without crop_model", `  mode = "boxes"` + "\n", hcl.DiagError, first,
			`Invalid mode: mode = "boxes" needs crop_model, the model that segments each padded box: a train step trained on crops that a transform's instances_crop made with pad = "<n>%" and with crop_padding = n/100`},
		{"crop_model in scene mode", "  crop_model = train.m\n", hcl.DiagError, first,
			`Invalid crop_model: crop_model is used by mode = "boxes" only`},
		{"crop_model with mode scene", "  mode = \"scene\"\n  crop_model = train.m\n", hcl.DiagError, first + 1,
			`Invalid crop_model: crop_model is used by mode = "boxes" only`},
		{"detections in scene mode", "  detections = files.dets\n", hcl.DiagError, first,
			`Invalid detections: detections are stage 1 of mode = "boxes"`},
		{"unknown mode", `  mode = "crops"` + "\n", hcl.DiagError, first,
			`Invalid mode: mode is "crops"; use "scene"`},
		{"padding not a whole percent", "  mode = \"boxes\"\n  crop_model = train.m\n  padding = 0.125\n", hcl.DiagError, first + 2,
			`Invalid padding: padding is 0.125; it must be a whole percent`},
		{"padding too large", "  mode = \"boxes\"\n  crop_model = train.m\n  padding = 5\n", hcl.DiagError, first + 2,
			`Invalid padding: padding is 5; it must be 0 to 4.`},
		{"padding in scene mode", "  padding = 0.1\n", hcl.DiagWarning, first,
			`Attribute padding ignored: padding pads the boxes of mode = "boxes"; scene mode has no boxes and ignores it.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(head+tc.extra+"}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, diags := engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds(), Macros: steps.Macros()})
			if len(diags) != 1 {
				t.Fatalf("%d diagnostics, want 1: %v", len(diags), diags)
			}
			d := diags[0]
			if got := d.Summary + ": " + d.Detail; d.Severity != tc.sev || !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q (severity %v), want %q…", got, d.Severity, tc.want)
			}
			if d.Subject == nil || d.Subject.Start.Line != tc.line {
				t.Errorf("the diagnostic points at %v, want line %d", d.Subject, tc.line)
			}
		})
	}
	// Both modes load with their own attributes.
	for _, extra := range []string{"", `  mode = "scene"` + "\n", "  mode = \"boxes\"\n  crop_model = train.m\n  detections = files.dets\n  padding = 0.1\n"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(head+extra+"}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, diags := engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds(), Macros: steps.Macros()}); len(diags) != 0 {
			t.Errorf("%q: %v", extra, diags)
		}
	}
}
