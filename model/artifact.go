package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
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
// axis, 0–1, when there is validation) by epoch as a small SVG, with the
// kept epoch marked. Each axis has ticks with values: the epoch axis at
// whole epochs, the loss axis at a 1-2-5 step over a range rounded out
// from the data's own minimum and maximum (not from 0), so the curve's
// shape fills the plot. Numbers are printed with fixed decimals, so the
// file is stable.
func Curve(m *Metrics) []byte {
	const (
		w, h                     = 520.0, 280.0
		left, right, top, bottom = 56.0, 52.0, 36.0, 44.0
		lossColor, iouColor      = "#d62728", "#1f77b4"
	)
	pw, ph := w-left-right, h-top-bottom
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", int(w), int(h), int(w), int(h))
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	n := len(m.Epochs)
	x := func(epoch float64) float64 {
		if n <= 1 {
			return left + pw/2
		}
		return left + (epoch-1)*pw/float64(n-1)
	}
	var losses []float64
	for _, e := range m.Epochs {
		losses = append(losses, e.TrainLoss)
	}
	lo, hi, lstep := axisRange(losses, 5)
	yLoss := func(v float64) float64 { return top + ph - (v-lo)/(hi-lo)*ph }
	yIoU := func(v float64) float64 { return top + ph - v*ph }

	// Grid and axes.
	b.WriteString(`<g stroke="#e5e5e5">` + "\n")
	for _, v := range ticks(lo, hi, lstep) {
		fmt.Fprintf(&b, `<path d="M%.2f %.2f H%.2f"/>`+"\n", left, yLoss(v), left+pw)
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, `<path d="M%.2f %.2f V%.2f H%.2f" stroke="#444" fill="none"/>`+"\n", left, top, top+ph, left+pw)

	// Epoch axis: whole epochs, at most about 10 labels.
	estep := 1
	if n > 10 {
		estep = max(1, int(niceStep(float64(n-1), 8)))
	}
	b.WriteString(`<g class="axis-epoch" text-anchor="middle">` + "\n")
	for e := 1; e <= n; e++ {
		if (e-1)%estep != 0 && e != n {
			continue
		}
		fmt.Fprintf(&b, `<path d="M%.2f %.2f v4" stroke="#444"/><text x="%.2f" y="%.2f">%d</text>`+"\n", x(float64(e)), top+ph, x(float64(e)), top+ph+15, e)
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" text-anchor="middle">epoch</text>`+"\n", left+pw/2, h-8)

	// Loss axis on the left.
	dec := decimals(lstep)
	fmt.Fprintf(&b, `<g class="axis-loss" text-anchor="end" fill="%s">`+"\n", lossColor)
	for _, v := range ticks(lo, hi, lstep) {
		fmt.Fprintf(&b, `<path d="M%.2f %.2f h-4" stroke="#444"/><text x="%.2f" y="%.2f">%.*f</text>`+"\n", left, yLoss(v), left-6, yLoss(v)+4, dec, v)
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" fill="%s">training loss</text>`+"\n", left, top-20, lossColor)

	if m.Validation {
		fmt.Fprintf(&b, `<path d="M%.2f %.2f V%.2f" stroke="#444" fill="none"/>`+"\n", left+pw, top, top+ph)
		fmt.Fprintf(&b, `<g class="axis-iou" text-anchor="start" fill="%s">`+"\n", iouColor)
		for _, v := range ticks(0, 1, 0.2) {
			fmt.Fprintf(&b, `<path d="M%.2f %.2f h4" stroke="#444"/><text x="%.2f" y="%.2f">%.1f</text>`+"\n", left+pw, yIoU(v), left+pw+6, yIoU(v)+4, v)
		}
		b.WriteString("</g>\n")
		fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" fill="%s" text-anchor="end">validation IoU</text>`+"\n", left+pw, top-20, iouColor)
	}

	// The kept epoch.
	if m.BestEpoch >= 1 && m.BestEpoch <= n {
		bx := x(float64(m.BestEpoch))
		fmt.Fprintf(&b, `<path d="M%.2f %.2f V%.2f" stroke="#999" stroke-dasharray="3 3"/>`+"\n", bx, top, top+ph)
		fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" fill="#666" text-anchor="middle">kept</text>`+"\n", bx, top-4)
	}

	line := func(val func(Epoch) float64, y func(float64) float64, color string) {
		var d strings.Builder
		for i, e := range m.Epochs {
			op := "L"
			if i == 0 {
				op = "M"
			}
			fmt.Fprintf(&d, "%s%.2f %.2f ", op, x(float64(i+1)), y(val(e)))
		}
		if n > 0 {
			fmt.Fprintf(&b, `<path d="%s" stroke="%s" stroke-width="2" fill="none"/>`+"\n", strings.TrimSpace(d.String()), color)
		}
		for i, e := range m.Epochs {
			fmt.Fprintf(&b, `<circle cx="%.2f" cy="%.2f" r="2.5" fill="%s"/>`+"\n", x(float64(i+1)), y(val(e)), color)
		}
	}
	line(func(e Epoch) float64 { return e.TrainLoss }, yLoss, lossColor)
	if m.Validation {
		line(func(e Epoch) float64 { return e.ValIoU }, yIoU, iouColor)
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// axisRange rounds the range of vs out to a 1-2-5 tick step that gives
// about target intervals, and returns it with the step. A flat or empty
// series gets a range around its value.
func axisRange(vs []float64, target int) (lo, hi, step float64) {
	if len(vs) == 0 {
		return 0, 1, 0.2
	}
	lo, hi = vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	if span := hi - lo; span < 1e-9*max(1, math.Abs(hi)) {
		pad := max(0.05*math.Abs(hi), 0.01)
		lo, hi = lo-pad, hi+pad
	}
	step = niceStep(hi-lo, target)
	// The tolerance keeps a value that is a multiple of the step up to
	// rounding from adding an interval.
	lo = math.Floor(lo/step+1e-9) * step
	hi = math.Ceil(hi/step-1e-9) * step
	return lo, hi, step
}

// niceStep is the smallest of 1, 2 or 5 times a power of ten that cuts
// span into at most target intervals.
func niceStep(span float64, target int) float64 {
	raw := span / float64(target)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, f := range []float64{1, 2, 5} {
		if f*mag >= raw*(1-1e-9) {
			return f * mag
		}
	}
	return 10 * mag
}

// ticks lists lo, lo+step, … up to hi, each computed from its index.
func ticks(lo, hi, step float64) []float64 {
	var out []float64
	for i := 0; ; i++ {
		v := lo + float64(i)*step
		if v > hi+step*1e-6 {
			return out
		}
		out = append(out, v)
	}
}

// decimals is the number of decimals that shows a multiple of step.
func decimals(step float64) int {
	d := 0
	for step < 1-1e-9 && d < 9 {
		step *= 10
		d++
	}
	if math.Abs(step-math.Round(step)) > 1e-6 {
		d++
	}
	return d
}
