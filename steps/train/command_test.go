package train

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinParamsAreTheUNetsAttributes(t *testing.T) {
	want := []string{"foreground", "ignore", "depth", "width", "batch_norm", "input_size", "resize", "batch",
		"micro_batch", "epochs", "steps", "learning_rate", "lr_schedule", "keep", "bce", "dice", "flip", "random_crop", "rotate",
		"color", "edge_band", "edge_weight", "seed", "crop_padding", "gemm", "memory_limit"}
	got := builtinParams()
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("builtinParams() = %q, want %q", got, want)
	}
}

func TestModelDirContract(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(dir string) error
		want  string // "" for no error
	}{
		{"absent", func(string) error { return nil }, "the command did not create model/; a train step's command writes its model into the directory model/"},
		{"file", func(dir string) error { return os.WriteFile(filepath.Join(dir, "model"), nil, 0o644) }, "the command's model/ is a file;"},
		{"link", func(dir string) error {
			if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
				return err
			}
			return os.Symlink("real", filepath.Join(dir, "model"))
		}, "the command's model/ is a symbolic link;"},
		{"no config", func(dir string) error { return write(dir, "model/w.bin", "w") },
			`the command's model/ does not satisfy the model contract (docs/model.md): config.json: missing; write model/config.json declaring the model's "format"`},
		{"no format", func(dir string) error {
			return errorsOf(write(dir, "model/config.json", `{"lr": 1}`), write(dir, "model/w.bin", "w"))
		}, `the command's model/ does not satisfy the model contract (docs/model.md): config.json has no "format"`},
		{"no weights", func(dir string) error { return write(dir, "model/config.json", `{"format": "x/1"}`) },
			"the command's model/ does not satisfy the model contract (docs/model.md): not a model: no file besides config.json"},
		{"bad metrics", func(dir string) error {
			return errorsOf(write(dir, "model/config.json", `{"format": "x/1"}`), write(dir, "model/w.bin", "w"),
				write(dir, "model/metrics.json", `{"epochs": [{"epoch": 2}, {"epoch": 1}]}`))
		}, `the command's model/ does not satisfy the model contract (docs/model.md): metrics.json: epochs[1]: "epoch" must be a whole number above the previous epoch's (2)`},
		{"claims dsbuild-model/1", func(dir string) error {
			return errorsOf(write(dir, "model/config.json", `{"format": "dsbuild-model/1"}`), write(dir, "model/w.bin", "w"))
		}, "the command's model/ does not satisfy the model contract (docs/model.md): "},
		{"good", func(dir string) error {
			return errorsOf(write(dir, "model/config.json", `{"format": "x/1"}`), write(dir, "model/weights/w.pt", "w"),
				write(dir, "model/metrics.json", `{"epochs": [{"epoch": 1, "train_loss": 0.5}]}`))
		}, ""},
	} {
		dir := t.TempDir()
		if err := tc.setup(dir); err != nil {
			t.Fatal(err)
		}
		got, err := checkModelDir(dir)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == "" && got != filepath.Join(dir, "model"):
			t.Errorf("%s: checkModelDir = %q", tc.name, got)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one starting %q", tc.name, err, tc.want)
		}
	}
}

func write(dir, rel, content string) error {
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

func errorsOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestQuotedList(t *testing.T) {
	if got := quotedList(DataFormats); got != `"supervisely", "coco" or "masks"` {
		t.Errorf("quotedList = %s", got)
	}
	if got := quotedList([]string{"a"}); got != `"a"` {
		t.Errorf("quotedList = %s", got)
	}
}

func TestSuggestEndsTheSentence(t *testing.T) {
	if got, want := suggest("persn", []string{"car", "person"}), `. Did you mean "person"?`; got != want {
		t.Errorf("suggest = %q, want %q", got, want)
	}
	if got := suggest("pedestrian", []string{"person"}); got != "" {
		t.Errorf("suggest of a far name = %q, want nothing", got)
	}
}
