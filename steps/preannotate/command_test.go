package preannotate_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"dsbuild/cache"
	"dsbuild/engine"
	"dsbuild/steps"
)

const commandHead = `import "pool" {
  format  = "synthetic"
  options = { count = "2", width = "32", height = "32", figures = "1", seed = "1" }
}
files "m" {
  path = "."
}
preannotate "p" {
  model  = files.m
  images = import.pool
`

// loadStep loads commandHead + extra and returns its diagnostics and, when
// it loads, preannotate.p.
func loadStep(t *testing.T, extra string) (*engine.Step, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(commandHead+extra+"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, diags := engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds(), Macros: steps.Macros()})
	if diags.HasErrors() {
		return nil, diags
	}
	return r.Step("preannotate.p"), diags
}

// Command mode's attributes are checked when the recipe loads: the
// built-in network's are refused with a command, command mode's (and
// deterministic) without one, each on the line to change.
func TestCommandModeValidation(t *testing.T) {
	t.Parallel()
	const first = 11 // the line of the first extra attribute
	cmd := `  command = ["sh", "predict.sh"]` + "\n"
	for _, tc := range []struct {
		name, extra string
		line        int
		want        string
	}{
		{"threshold with command", cmd + "  threshold = 0.3\n", first + 1,
			"Invalid threshold: threshold is an attribute of the built-in network; with command, your predictor makes the masks and scores. Remove threshold, or remove command to run the built-in network (or set mode = \"boxes\" and crop_model to segment the command's boxes)."},
		{"device with command", cmd + "  device = \"cpu\"\n", first + 1, "Invalid device: device is an attribute of the built-in network"},
		{"min_area with command", cmd + "  min_area = 3\n", first + 1, "Invalid min_area: min_area is an attribute of the built-in network"},
		{"class with command", cmd + "  class = \"x\"\n", first + 1, "Invalid class: class is an attribute of the built-in network"},
		{"min_score with command", cmd + "  min_score = 0.1\n", first + 1, "Invalid min_score: min_score is an attribute of the built-in network"},
		{"detection_categories with command", cmd + "  detection_categories = [1]\n", first + 1, "Invalid detection_categories: detection_categories is an attribute of the built-in network"},
		{"padding with command", cmd + "  padding = 0.1\n", first + 1, "Invalid padding: padding is an attribute of the built-in network"},
		{"detections with command", cmd + "  detections = files.m\n", first + 1, "Invalid detections: detections is an attribute of the built-in network"},
		{"flip with command", cmd + "  flip = true\n", first + 1, "Invalid flip: flip is an attribute of the built-in network"},
		{"boxes with command, no crop_model", cmd + "  mode = \"boxes\"\n", first + 1, `Invalid mode: mode = "boxes" with command needs crop_model: the command is stage 1's detector (its COCO results' bbox are the boxes)`},
		{"boxes with command and detections", cmd + "  mode = \"boxes\"\n  crop_model = files.m\n  detections = files.m\n", first + 3, `Invalid detections: detections are stage 1's boxes, which the command gives in mode = "boxes"`},
		{"boxes with command, supervisely", cmd + "  mode = \"boxes\"\n  crop_model = files.m\n  predictions_format = \"supervisely\"\n", first + 3, `Invalid predictions_format: predictions_format is "supervisely"; in mode = "boxes" the command is a detector that writes predictions/results.json`},
		{"boxes with command, bad threshold", cmd + "  mode = \"boxes\"\n  crop_model = files.m\n  threshold = 2\n", first + 3, `Invalid threshold: threshold is 2; it must lie strictly between 0 and 1.`},
		{"unknown mode with command", cmd + "  mode = \"crops\"\n", first + 1, `Invalid mode: mode is "crops"; use "scene" (the default: the command's masks are the instances) or "boxes"`},
		{"empty command", "  command = []\n", first, `Empty command: command must name a program, as in ["sh", "predict.sh"].`},
		{"unknown format", cmd + "  predictions_format = \"voc\"\n", first + 1,
			`Invalid predictions_format: predictions_format is "voc"; use "coco" (predictions/results.json, a COCO results list) or "supervisely" (predictions/ as a Supervisely project).`},
		{"empty classes", cmd + "  classes = []\n", first + 1, "Invalid classes: classes is empty; name the classes of category ids 1, 2, …"},
		{"repeated class", cmd + "  classes = [\"a\", \"a\"]\n", first + 1, `Invalid classes: class "a" is listed twice; each category id is one class.`},
		{"blank class", cmd + "  classes = [\" \"]\n", first + 1, "Invalid classes: a class name is empty."},
		{"bad env", cmd + "  env = [\"A-B\"]\n", first + 1, `Invalid env: "A-B" is not a variable name.`},
		{"classes without command", "  classes = [\"person\"]\n", first,
			"Invalid classes: classes is an attribute of command mode; without command, the step runs dsbuild's network on model. Set command = [...] to run your own predictor, or remove classes."},
		{"format without command", "  predictions_format = \"coco\"\n", first, "Invalid predictions_format: predictions_format is an attribute of command mode"},
		{"env without command", "  env = [\"HOME\"]\n", first, "Invalid env: env is an attribute of command mode"},
		{"inputs without command", "  inputs = { code = files.m }\n", first, "Invalid inputs: inputs is an attribute of command mode"},
		{"deterministic without command", "  deterministic = false\n", first,
			"Invalid deterministic: deterministic is for a command that may give other outputs from the same inputs; without command, the step runs dsbuild's network on model."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := loadStep(t, tc.extra)
			if len(diags) != 1 {
				t.Fatalf("%d diagnostics, want 1: %v", len(diags), diags)
			}
			d := diags[0]
			if got := d.Summary + ": " + d.Detail; d.Severity != hcl.DiagError || !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want %q…", got, tc.want)
			}
			if d.Subject == nil || d.Subject.Start.Line != tc.line {
				t.Errorf("the diagnostic points at %v, want line %d", d.Subject, tc.line)
			}
		})
	}
	// A full command step loads, deterministic = false included.
	s, diags := loadStep(t, cmd+"  inputs = { code = files.m }\n  predictions_format = \"supervisely\"\n  classes = [\"person\"]\n  env = [\"OMP_NUM_THREADS\"]\n  deterministic = false\n  mode = \"scene\"\n")
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	if !s.Nondeterministic {
		t.Error("deterministic = false was not recorded")
	}
	// Boxes mode with a command (a detector) takes the built-in crop
	// model's attributes.
	if _, diags := loadStep(t, cmd+"  mode = \"boxes\"\n  crop_model = files.m\n  threshold = 0.3\n  min_area = 0\n  device = \"cpu\"\n  padding = 0.1\n  class = \"person\"\n  min_score = 0.2\n  detection_categories = [1]\n  classes = [\"person\"]\n"); len(diags) != 0 {
		t.Error(diags)
	}
}

// A built-in step's key preimage is what it was before command mode: no
// line for the new attributes (recipes/person/dsbuild.lock stays valid).
// A command step's key has its command, format, classes and env values
// instead of the device and image decoder.
func TestKeys(t *testing.T) {
	t.Parallel()
	images, _ := cache.ParseDigest("sha256:c74df4cb72cba2182bf162da5fe74a5efa855e7a8f506461bd9bf753575a8cae")
	model, _ := cache.ParseDigest("sha256:3b92d1396fc3a64023d6fabb829029ccae0f618e3dfbc9ff1fd00e632f341ed6")
	inputs := map[string]cache.Digest{"images": images, "model": model}
	s, diags := loadStep(t, "  device = \"cpu\"\n  min_area = 40\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	pre, err := engine.Preimage(s, inputs)
	if err != nil {
		t.Fatal(err)
	}
	// preannotate.person_nomerge_round1's, in recipes/person/dsbuild.lock.
	want := []string{
		"dsbuild step key v1",
		"kind preannotate v2",
		"param class \"\"",
		"param detection_categories []",
		"param device \"cpu\"",
		"param min_area 40",
		"param min_score 0",
		"param mode \"scene\"",
		"param threshold 0.5",
		"device cpu",
		"jpeg dsbuild-ljt v1 (libjpeg-turbo islow, fancy upsampling)",
		"input images sha256:c74df4cb72cba2182bf162da5fe74a5efa855e7a8f506461bd9bf753575a8cae",
		"input model sha256:3b92d1396fc3a64023d6fabb829029ccae0f618e3dfbc9ff1fd00e632f341ed6",
		"platform " + engine.Platform() + " cpu",
		"salt 1",
	}
	if !reflect.DeepEqual(pre, want) {
		t.Errorf("built-in preimage:\n%s\nwant:\n%s", strings.Join(pre, "\n"), strings.Join(want, "\n"))
	}
	// flip = null is unset: the same preimage. flip = true adds its line.
	for _, tc := range []struct {
		flip string
		want []string
	}{
		{"null", want},
		{"true", append(append(append([]string(nil), want[:5]...), "param flip true"), want[5:]...)},
	} {
		s, diags := loadStep(t, "  device = \"cpu\"\n  min_area = 40\n  flip = "+tc.flip+"\n")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		pre, err := engine.Preimage(s, inputs)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(pre, tc.want) {
			t.Errorf("flip = %s: preimage:\n%s\nwant:\n%s", tc.flip, strings.Join(pre, "\n"), strings.Join(tc.want, "\n"))
		}
	}
	os.Unsetenv("DSBUILD_TEST_UNSET")
	s, diags = loadStep(t, `  command = ["sh", "p.sh"]`+"\n  classes = [\"person\"]\n  env = [\"DSBUILD_TEST_UNSET\"]\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if pre, err = engine.Preimage(s, inputs); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(pre, "\n")
	for _, line := range []string{`param command ["sh","p.sh"]`, `param classes ["person"]`, `param env ["DSBUILD_TEST_UNSET"]`, "env DSBUILD_TEST_UNSET unset"} {
		if !strings.Contains(got, "\n"+line+"\n") {
			t.Errorf("command preimage lacks %q:\n%s", line, got)
		}
	}
	if strings.Contains(got, "device cpu") || strings.Contains(got, "jpeg ") {
		t.Errorf("command preimage has the built-in network's lines:\n%s", got)
	}
	// A detector's boxes are segmented by the built-in crop model: its
	// device and image decoder are in the key too.
	s, diags = loadStep(t, `  command = ["sh", "p.sh"]`+"\n  mode = \"boxes\"\n  crop_model = files.m\n  device = \"cpu\"\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if pre, err = engine.Preimage(s, inputs); err != nil {
		t.Fatal(err)
	}
	got = strings.Join(pre, "\n")
	for _, line := range []string{`param command ["sh","p.sh"]`, `param mode "boxes"`, "device cpu", "jpeg "} {
		if !strings.Contains(got, "\n"+line) {
			t.Errorf("detector preimage lacks %q:\n%s", line, got)
		}
	}
}
