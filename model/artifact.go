package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"dsbuild/cache"
)

// Files of a model artifact, a tree in the store:
//
//	config.json          {"format", "config", "training", "weights"}
//	weights.safetensors  the parameters (see EncodeSafetensors)
//	metrics.json         per-epoch figures and the kept epoch
//	curve.svg            training loss and validation IoU by epoch
const (
	ConfigFile  = "config.json"
	WeightsFile = "weights.safetensors"
	MetricsFile = "metrics.json"
	CurveFile   = "curve.svg"
	// Format names the artifact layout in config.json.
	Format = "dsbuild-model/1"
)

// Epoch is one training epoch's figures. Validation figures are zero
// without a validation set.
type Epoch struct {
	Epoch     int     `json:"epoch"`
	Steps     int     `json:"steps"`
	TrainLoss float64 `json:"train_loss"`
	TrainBCE  float64 `json:"train_bce"`
	TrainDice float64 `json:"train_dice_loss"`
	ValIoU    float64 `json:"val_iou"`
	ValDice   float64 `json:"val_dice"`
	ValAcc    float64 `json:"val_pixel_accuracy"`
}

// Metrics is metrics.json.
type Metrics struct {
	Params     int     `json:"params"`
	Validation bool    `json:"validation"`
	BestEpoch  int     `json:"best_epoch"` // 1-based: the epoch whose weights were kept
	Epochs     []Epoch `json:"epochs"`
}

// Best returns the kept epoch's figures.
func (m *Metrics) Best() Epoch {
	for _, e := range m.Epochs {
		if e.Epoch == m.BestEpoch {
			return e
		}
	}
	return Epoch{}
}

// Artifact is a trained model.
type Artifact struct {
	Config   Config
	Training json.RawMessage // the training parameters, as the step recorded them
	Weights  Weights
	Metrics  Metrics
}

type configFile struct {
	Format   string          `json:"format"`
	Config   Config          `json:"config"`
	Training json.RawMessage `json:"training,omitempty"`
	Weights  weightsRef      `json:"weights"`
}

type weightsRef struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// Store is what artifacts need of the content-addressed store.
type Store interface {
	PutBytes(data []byte) (cache.Digest, error)
	ReadBlob(d cache.Digest) ([]byte, error)
	PutTree(entries []cache.TreeEntry) (cache.Digest, error)
	ReadTree(d cache.Digest) ([]cache.TreeEntry, error)
}

func indentJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Save stores the artifact's files and returns its tree.
func (a *Artifact) Save(s Store) (cache.Digest, error) {
	wb, err := EncodeSafetensors(&a.Config, a.Weights, map[string]string{"format": "pt", "producer": "dsbuild", "arch": a.Config.Arch})
	if err != nil {
		return cache.Digest{}, err
	}
	wd, err := s.PutBytes(wb)
	if err != nil {
		return cache.Digest{}, err
	}
	cb, err := indentJSON(configFile{Format: Format, Config: a.Config, Training: a.Training, Weights: weightsRef{WeightsFile, wd.String()}})
	if err != nil {
		return cache.Digest{}, err
	}
	mb, err := indentJSON(a.Metrics)
	if err != nil {
		return cache.Digest{}, err
	}
	entries := []cache.TreeEntry{{Name: WeightsFile, Kind: cache.File, Digest: wd, Size: int64(len(wb))}}
	for _, f := range []struct {
		name string
		data []byte
	}{{ConfigFile, cb}, {MetricsFile, mb}, {CurveFile, Curve(&a.Metrics)}} {
		d, err := s.PutBytes(f.data)
		if err != nil {
			return cache.Digest{}, err
		}
		entries = append(entries, cache.TreeEntry{Name: f.name, Kind: cache.File, Digest: d, Size: int64(len(f.data))})
	}
	return s.PutTree(entries)
}

// Load reads and checks a model artifact from the store.
func Load(s Store, tree cache.Digest) (*Artifact, error) {
	entries, err := s.ReadTree(tree)
	if err != nil {
		return nil, err
	}
	files := map[string]cache.Digest{}
	for _, e := range entries {
		files[e.Name] = e.Digest
	}
	return decode(func(name string) ([]byte, error) {
		d, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("not a model: the tree has no %s (for datasets use dsbuild stats)", name)
		}
		return s.ReadBlob(d)
	})
}

// LoadDir reads and checks a model artifact checked out to a directory.
func LoadDir(dir string) (*Artifact, error) {
	return decode(func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) })
}

func decode(read func(name string) ([]byte, error)) (*Artifact, error) {
	cb, err := read(ConfigFile)
	if err != nil {
		return nil, err
	}
	var cf configFile
	if err := json.Unmarshal(cb, &cf); err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	if cf.Format != Format {
		return nil, fmt.Errorf("%s: format %q; this dsbuild reads %q", ConfigFile, cf.Format, Format)
	}
	if err := cf.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	wb, err := read(WeightsFile)
	if err != nil {
		return nil, err
	}
	w, shapes, _, err := DecodeSafetensors(wb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", WeightsFile, err)
	}
	if err := CheckShapes(&cf.Config, shapes); err != nil {
		return nil, fmt.Errorf("%s: %w", WeightsFile, err)
	}
	if err := w.Check(&cf.Config); err != nil {
		return nil, fmt.Errorf("%s: %w", WeightsFile, err)
	}
	a := &Artifact{Config: cf.Config, Training: cf.Training, Weights: w}
	if mb, err := read(MetricsFile); err == nil {
		if err := json.Unmarshal(mb, &a.Metrics); err != nil {
			return nil, fmt.Errorf("%s: %w", MetricsFile, err)
		}
	}
	return a, nil
}

// SameArchitecture reports how b differs from a in what the weights'
// shapes depend on, or "" if they match.
func SameArchitecture(a, b *Config) string {
	var diffs []string
	if a.Arch != b.Arch {
		diffs = append(diffs, fmt.Sprintf("arch %s vs %s", a.Arch, b.Arch))
	}
	if a.Depth != b.Depth {
		diffs = append(diffs, fmt.Sprintf("depth %d vs %d", a.Depth, b.Depth))
	}
	if a.Width != b.Width {
		diffs = append(diffs, fmt.Sprintf("width %d vs %d", a.Width, b.Width))
	}
	if a.BatchNorm != b.BatchNorm {
		diffs = append(diffs, fmt.Sprintf("batch_norm %v vs %v", a.BatchNorm, b.BatchNorm))
	}
	if a.InChannels != b.InChannels {
		diffs = append(diffs, fmt.Sprintf("in_channels %d vs %d", a.InChannels, b.InChannels))
	}
	return strings.Join(diffs, ", ")
}

// Curve draws the training loss (left axis) and the validation IoU (right
// axis, 0–1) by epoch as a small SVG. Numbers are printed with two
// decimals, so the file is stable.
func Curve(m *Metrics) []byte {
	const w, h, pad = 480.0, 240.0, 40.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", int(w), int(h), int(w), int(h))
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	fmt.Fprintf(&b, `<path d="M%.2f %.2f V%.2f H%.2f" stroke="#444" fill="none"/>`+"\n", pad, pad/2, h-pad, w-pad)
	n := len(m.Epochs)
	maxLoss := 0.0
	for _, e := range m.Epochs {
		maxLoss = max(maxLoss, e.TrainLoss)
	}
	if maxLoss == 0 {
		maxLoss = 1
	}
	x := func(i int) float64 {
		if n <= 1 {
			return pad
		}
		return pad + float64(i)*(w-2*pad)/float64(n-1)
	}
	y := func(v, top float64) float64 { return h - pad - v/top*(h-1.5*pad) }
	line := func(val func(Epoch) float64, top float64, color string) {
		var d strings.Builder
		for i, e := range m.Epochs {
			op := "L"
			if i == 0 {
				op = "M"
			}
			fmt.Fprintf(&d, "%s%.2f %.2f ", op, x(i), y(val(e), top))
		}
		fmt.Fprintf(&b, `<path d="%s" stroke="%s" stroke-width="2" fill="none"/>`+"\n", strings.TrimSpace(d.String()), color)
	}
	line(func(e Epoch) float64 { return e.TrainLoss }, maxLoss, "#d62728")
	fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" fill="#d62728">training loss (max %.3f)</text>`+"\n", pad, pad/2-4, maxLoss)
	if m.Validation {
		line(func(e Epoch) float64 { return e.ValIoU }, 1, "#1f77b4")
		fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" fill="#1f77b4" text-anchor="end">validation IoU (0–1)</text>`+"\n", w-pad, pad/2-4)
	}
	fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" text-anchor="middle">epoch 1–%d (kept: %d)</text>`+"\n", w/2, h-pad/3, n, m.BestEpoch)
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
