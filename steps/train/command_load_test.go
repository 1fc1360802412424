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

const seedImport = `import "seed" {
  format  = "synthetic"
  options = { count = "4", width = "32", height = "32", figures = "1", seed = "1" }
}
files "code" {
  path = "code"
}
`

// loadSrc loads a recipe of seedImport and src.
func loadSrc(t *testing.T, src string) (*engine.Recipe, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(seedImport+src), 0o644); err != nil {
		t.Fatal(err)
	}
	return engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds(), Macros: steps.Macros()})
}

// Each of the built-in trainer's parameters is an error on its own line
// in a step with a command.
func TestCommandRefusesBuiltinParameters(t *testing.T) {
	for _, tc := range []struct{ attr, value string }{
		{"foreground", `["person"]`}, {"ignore", `["neutral"]`}, {"depth", "2"}, {"width", "8"},
		{"batch_norm", "true"}, {"input_size", "64"}, {"resize", "true"}, {"batch", "4"},
		{"micro_batch", "2"}, {"epochs", "3"}, {"steps", "10"}, {"learning_rate", "0.01"},
		{"bce", "1"}, {"dice", "1"}, {"flip", "false"}, {"random_crop", "0.5"}, {"rotate", "5"},
		{"color", "0.1"}, {"edge_band", "1"}, {"edge_weight", "2"}, {"seed", `"x"`},
		{"crop_padding", "0.1"}, {"gemm", `"gonum"`}, {"memory_limit", "100"}, {"lr_schedule", `"cosine"`}, {"keep", `"last"`},
	} {
		_, diags := loadSrc(t, `train "m" {
  command = ["sh", "train.sh"]
  data    = import.seed
  `+tc.attr+` = `+tc.value+`
}
`)
		if len(diags) != 1 {
			t.Errorf("%s: diagnostics %v; want one", tc.attr, diags)
			continue
		}
		want := tc.attr + " is a parameter of the built-in trainer; a train step with a command takes its parameters in command."
		if d := diags[0]; d.Summary != "Parameter of the built-in trainer" || d.Detail != want || d.Subject == nil || d.Subject.Start.Line != 11 {
			t.Errorf("%s: %s: %s at %v; want %q on line 11", tc.attr, d.Summary, d.Detail, d.Subject, want)
		}
	}
}

// data_format, env, inputs and deterministic are errors without a command.
func TestCommandAttributesWithoutCommand(t *testing.T) {
	for _, tc := range []struct{ attr, value, want string }{
		{"data_format", `"coco"`, "data_format is for train steps with a command (your own trainer); the built-in trainer has no use for it. Set command, or remove data_format."},
		{"env", `["HOME"]`, "env is for train steps with a command (your own trainer); the built-in trainer has no use for it. Set command, or remove env."},
		{"inputs", `{ code = files.code }`, "inputs is for train steps with a command (your own trainer); the built-in trainer has no use for it. Set command, or remove inputs."},
		{"deterministic", "true", "deterministic is for train steps with a command; the built-in trainer is deterministic."},
	} {
		_, diags := loadSrc(t, `train "m" {
  data       = import.seed
  input_size = 32
  `+tc.attr+` = `+tc.value+`
}
`)
		if len(diags) != 1 || diags[0].Detail != tc.want || diags[0].Subject.Start.Line != 11 {
			t.Errorf("%s: diagnostics %v; want %q on line 11", tc.attr, diags, tc.want)
		}
	}
}

func TestCommandChecks(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`command = []`, "command must name a program"},
		{"command = [\"sh\"]\n  data_format = \"voc\"", `data_format is "voc"; it must be "supervisely", "coco" or "masks".`},
		{"command = [\"sh\"]\n  env = [\"A-B\"]", `"A-B" is not a variable name.`},
		{"command = [\"sh\"]\n  inputs = { validation = files.code }", `inputs cannot have an entry named "validation"`},
		{"command = [\"sh\"]\n  inputs = { from = files.code }", `inputs cannot have an entry named "from"`},
	} {
		_, diags := loadSrc(t, "train \"m\" {\n  data = import.seed\n  "+tc.body+"\n}\n")
		if len(diags) != 1 || !strings.Contains(diags[0].Detail, tc.want) {
			t.Errorf("%q: diagnostics %v; want one with %q", tc.body, diags, tc.want)
		}
	}
}

// A step with a command has none of the built-in trainer's key lines
// (parameters, micro-batch, gemm, image decoder) but its variables' values
// and its data's export; the built-in trainer's key has none of command
// mode's.
func TestCommandKey(t *testing.T) {
	t.Setenv("DSB_TRAIN_TEST", "v1")
	r, diags := loadSrc(t, `train "cmd" {
  command       = ["sh", "inputs/code/train.sh"]
  inputs        = { code = files.code }
  data          = import.seed
  data_format   = "masks"
  env           = ["DSB_TRAIN_TEST", "DSB_TRAIN_UNSET"]
  deterministic = false
}
train "builtin" {
  data       = import.seed
  input_size = 32
}
`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	cmd, err := engine.Preimage(r.Step("train.cmd"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range cmd {
		for _, p := range []string{"param depth", "param epochs", "param gemm", "micro_batch_used", "gemm ", "jpeg "} {
			if strings.HasPrefix(l, p) {
				t.Errorf("command step's key line %q", l)
			}
		}
	}
	for _, want := range []string{`param command ["sh","inputs/code/train.sh"]`, `param data_format "masks"`, "data_format masks export v3",
		`env DSB_TRAIN_TEST "v1"`, "env DSB_TRAIN_UNSET unset"} {
		if !slices.Contains(cmd, want) {
			t.Errorf("command step's key lacks %q: %q", want, cmd)
		}
	}
	if !r.Step("train.cmd").Nondeterministic {
		t.Error("deterministic = false is not recorded")
	}
	builtin, err := engine.Preimage(r.Step("train.builtin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range builtin {
		if strings.Contains(l, "command") || strings.Contains(l, "data_format") || strings.HasPrefix(l, "env ") {
			t.Errorf("built-in step's key line %q", l)
		}
	}
	if !slices.Contains(builtin, "param depth 3") || !slices.ContainsFunc(builtin, func(l string) bool { return strings.HasPrefix(l, "micro_batch_used ") }) {
		t.Errorf("built-in step's key lost its lines: %q", builtin)
	}
	// The default format is supervisely.
	r, diags = loadSrc(t, "train \"m\" {\n  data = import.seed\n  command = [\"sh\"]\n}\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if lines := (train.Kind{}).KeyLines(r.Step("train.m").Config); !slices.Contains(lines, "data_format supervisely export v3") {
		t.Errorf("key lines %q", lines)
	}
}

// A bootstrap's train block with a command expands into train steps with
// that command, each round continuing from the last.
func TestCommandInBootstrap(t *testing.T) {
	r, diags := loadSrc(t, `import "pool" {
  format  = "synthetic"
  options = { count = "6", width = "32", height = "32", figures = "1", seed = "2", dataset = "pool" }
}
bootstrap "b" {
  rounds    = 2
  seed_data = import.seed
  pool      = import.pool
  batch     = 3
  train {
    command     = ["sh", "inputs/code/train.sh"]
    inputs      = { code = files.code }
    data_format = "coco"
  }
  preannotate {
    device = "cpu"
  }
  review {}
}
`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, addr := range []string{"train.b_round0", "train.b_round1", "train.b_round2"} {
		s := r.Step(addr)
		if s == nil {
			t.Fatalf("no step %s", addr)
		}
		lines, err := engine.Preimage(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(lines, "data_format coco export v3") || slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "micro_batch_used") }) {
			t.Errorf("%s: key %q", addr, lines)
		}
		var names []string
		for _, in := range s.Config.Inputs {
			names = append(names, in.Name)
		}
		want := []string{"code", "data"}
		if addr != "train.b_round0" {
			want = []string{"code", "data", "from"}
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s: inputs %q, want %q", addr, names, want)
		}
	}
}
