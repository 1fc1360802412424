package model

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dsbuild/cache"
)

// writeModel writes files (name → content) into a new directory.
func writeModel(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A foreign model keeps the contract with a declared format, any weight
// files and, optionally, metrics with any of dsbuild's figures.
func TestContractForeignModel(t *testing.T) {
	dir := writeModel(t, map[string]string{
		"config.json":        `{"format": "torch-unet/1", "arch": "unet", "classes": ["person"]}`,
		"weights/model.pt":   "not really torch",
		"metrics.json":       `{"validation": true, "best_epoch": 2, "epochs": [{"epoch": 1, "train_loss": 0.9, "val_iou": 0.41}, {"epoch": 2, "train_loss": 0.5, "val_iou": 0.62}]}`,
		"notes/training.log": "epoch 1\nepoch 2\n",
	})
	info, err := InspectDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != "torch-unet/1" || info.Native != nil {
		t.Errorf("format %q, native %v", info.Format, info.Native != nil)
	}
	var names []string
	for _, f := range info.Files {
		names = append(names, f.Name)
	}
	if want := []string{"config.json", "metrics.json", "notes/training.log", "weights/model.pt"}; !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	if !slices.Equal(info.Fields, []string{"train_loss", "val_iou"}) {
		t.Errorf("fields %v", info.Fields)
	}
	if m := info.Metrics; m == nil || m.BestEpoch != 2 || len(m.Epochs) != 2 || m.Best().ValIoU != 0.62 || m.Epochs[0].Figure("train_loss") != 0.9 {
		t.Errorf("metrics %+v", info.Metrics)
	}
	// Without metrics.json it is still a model.
	if err := os.Remove(filepath.Join(dir, "metrics.json")); err != nil {
		t.Fatal(err)
	}
	if info, err := InspectDir(dir); err != nil || info.Metrics != nil {
		t.Errorf("without metrics: %v, %v", info, err)
	}
}

// What breaks the contract is named.
func TestContractViolations(t *testing.T) {
	weights := "w"
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no config", map[string]string{"model.pt": weights}, "not a model: no config.json"},
		{"config not an object", map[string]string{"config.json": `[1]`, "model.pt": weights}, "config.json: not a JSON object"},
		{"no format", map[string]string{"config.json": `{"arch": "unet"}`, "model.pt": weights}, `config.json has no "format"`},
		{"empty format", map[string]string{"config.json": `{"format": ""}`, "model.pt": weights}, `format "": a format is a non-empty string`},
		{"format with spaces", map[string]string{"config.json": `{"format": " x "}`, "model.pt": weights}, `format " x "`},
		{"no weights", map[string]string{"config.json": `{"format": "x/1"}`, "metrics.json": `{"epochs": []}`}, "the weights are missing"},
		{"epochs out of order", map[string]string{"config.json": `{"format": "x/1"}`, "model.pt": weights, "metrics.json": `{"epochs": [{"epoch": 2}, {"epoch": 1}]}`},
			`metrics.json: epochs[1]: "epoch" must be a whole number above the previous epoch's (2)`},
		{"epoch 0", map[string]string{"config.json": `{"format": "x/1"}`, "model.pt": weights, "metrics.json": `{"epochs": [{"epoch": 0}]}`}, `epochs[0]: "epoch" must be`},
		{"figure not a number", map[string]string{"config.json": `{"format": "x/1"}`, "model.pt": weights, "metrics.json": `{"epochs": [{"epoch": 1, "val_iou": "high"}]}`},
			`metrics.json: epoch 1: val_iou: "high" is not a number`},
		{"best epoch unknown", map[string]string{"config.json": `{"format": "x/1"}`, "model.pt": weights, "metrics.json": `{"best_epoch": 3, "epochs": [{"epoch": 1}]}`},
			"best_epoch 3 is not one of the epochs"},
		{"dsbuild format, foreign weights", map[string]string{"config.json": `{"format": "dsbuild-model/1", "config": {"arch": "unet"}}`, "model.pt": weights}, "config.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := InspectDir(writeModel(t, c.files))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to say %q", err, c.want)
			}
		})
	}
}

// dsbuild's own artifacts keep the contract, and are loaded in full.
func TestContractNativeModel(t *testing.T) {
	st, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	c := testConfig(false)
	a := &Artifact{Config: *c, Weights: Init(c, 1), Metrics: Metrics{Validation: true, BestEpoch: 1, Epochs: []Epoch{{Epoch: 1, Steps: 3, TrainLoss: 0.7, ValIoU: 0.5}}}}
	tree, err := a.Save(st)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(st, tree)
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != Format || info.Native == nil || info.Native.Config.Width != c.Width {
		t.Errorf("format %q, native %+v", info.Format, info.Native)
	}
	if len(info.Files) != 4 || info.Metrics == nil || info.Metrics.Best().ValIoU != 0.5 {
		t.Errorf("files %v, metrics %+v", info.Files, info.Metrics)
	}
}
