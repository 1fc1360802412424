package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"dsbuild/cache"
)

// The model artifact contract (docs/model.md): what any model must be for
// dsbuild to store it as a model, show it, diff it and hand it to the next
// round, whoever trained it.
//
//   - config.json: a JSON object whose "format" names the layout, a
//     non-empty string of printable characters without spaces at its ends:
//     Format ("dsbuild-model/1") for dsbuild's own UNet, or the trainer's
//     own name ("acme-maskrcnn/2", "torch-state-dict"). Anything else in it
//     is the trainer's.
//   - at least one other file (the weights, in any form).
//   - metrics.json, optional: {"epochs": [{"epoch": 1, …}, …]}, epochs
//     numbered from 1 up, each with any of the figures dsbuild reports
//     (MetricFields; a figure an epoch does not have is absent, not 0),
//     and optionally "best_epoch" (one of them: the epoch whose weights
//     were kept) and "validation" (true when the val_* figures are on a
//     validation set).
//
// A dsbuild-model/1 artifact must also load (Load): its config, weights and
// shapes are checked.

// MetricFields are the per-epoch figures dsbuild reports, in the order it
// shows them.
var MetricFields = []string{"steps", "train_loss", "train_bce", "train_dice_loss", "val_iou", "val_dice", "val_pixel_accuracy"}

// Info is what the contract says of a model artifact.
type Info struct {
	Format string
	Files  []FileInfo      // every file of the artifact, by name
	Config json.RawMessage // config.json as written
	// Metrics is metrics.json (nil without one); Fields lists the
	// MetricFields some epoch has, in MetricFields' order.
	Metrics *Metrics
	Fields  []string
	has     map[int]map[string]bool // by epoch: the figures it has
	// Native is the loaded artifact of a dsbuild-model/1 model (nil for
	// any other format).
	Native *Artifact
}

// FileInfo is one file of an artifact.
type FileInfo struct {
	Name   string       `json:"name"`
	Size   int64        `json:"size"`
	Digest cache.Digest `json:"digest"`
}

// Inspect reads the model artifact tree from the store and checks it
// against the contract; its error says what is missing or wrong.
func Inspect(s Store, tree cache.Digest) (*Info, error) {
	var files []FileInfo
	byName := map[string]cache.Digest{}
	var walk func(d cache.Digest, prefix string, depth int) error
	walk = func(d cache.Digest, prefix string, depth int) error {
		if depth > 64 {
			return fmt.Errorf("model tree %s: directories nested too deep", tree.Short())
		}
		entries, err := s.ReadTree(d)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Kind == cache.Dir {
				if err := walk(e.Digest, prefix+e.Name+"/", depth+1); err != nil {
					return err
				}
				continue
			}
			files = append(files, FileInfo{Name: prefix + e.Name, Size: e.Size, Digest: e.Digest})
			byName[prefix+e.Name] = e.Digest
		}
		return nil
	}
	if err := walk(tree, "", 0); err != nil {
		return nil, err
	}
	return inspect(files, func(name string) ([]byte, error) {
		d, ok := byName[name]
		if !ok {
			return nil, os.ErrNotExist
		}
		return s.ReadBlob(d)
	}, func() (*Artifact, error) { return Load(s, tree) })
}

// InspectDir checks a model directory (a command's model output, before it
// is stored) against the contract.
func InspectDir(dir string) (*Info, error) {
	var files []FileInfo
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, FileInfo{Name: filepath.ToSlash(rel), Size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inspect(files, func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) },
		func() (*Artifact, error) { return LoadDir(dir) })
}

func inspect(files []FileInfo, read func(name string) ([]byte, error), native func() (*Artifact, error)) (*Info, error) {
	slices.SortFunc(files, func(a, b FileInfo) int { return strings.Compare(a.Name, b.Name) })
	cb, err := read(ConfigFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("not a model: no %s (a model artifact has a %s that declares its \"format\": docs/model.md; for datasets use dsbuild stats)", ConfigFile, ConfigFile)
	}
	if err != nil {
		return nil, err
	}
	var head struct {
		Format *string `json:"format"`
	}
	if err := json.Unmarshal(cb, &head); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %w", ConfigFile, err)
	}
	switch {
	case head.Format == nil:
		return nil, fmt.Errorf("%s has no \"format\": declare one, like \"format\": \"my-trainer/1\" (docs/model.md)", ConfigFile)
	case !validFormat(*head.Format):
		return nil, fmt.Errorf("%s: format %q: a format is a non-empty string of printable characters, without spaces at its ends", ConfigFile, *head.Format)
	}
	info := &Info{Format: *head.Format, Files: files, Config: json.RawMessage(bytes.TrimSpace(cb))}
	weights := 0
	for _, f := range files {
		if f.Name != ConfigFile && f.Name != MetricsFile && f.Name != CurveFile {
			weights++
		}
	}
	if weights == 0 {
		return nil, fmt.Errorf("not a model: no file besides %s, %s and %s (the weights are missing)", ConfigFile, MetricsFile, CurveFile)
	}
	mb, err := read(MetricsFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if info.Metrics, info.Fields, info.has, err = decodeMetrics(mb); err != nil {
			return nil, fmt.Errorf("%s: %w", MetricsFile, err)
		}
	}
	if info.Format == Format {
		if info.Native, err = native(); err != nil {
			return nil, err
		}
	}
	return info, nil
}

func validFormat(f string) bool {
	if f == "" || strings.TrimSpace(f) != f || len(f) > 200 {
		return false
	}
	for _, r := range f {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// decodeMetrics reads metrics.json under the contract: epochs numbered from
// 1 up, figures that are numbers, best_epoch one of the epochs.
func decodeMetrics(b []byte) (*Metrics, []string, map[int]map[string]bool, error) {
	var raw struct {
		Params     int               `json:"params"`
		Validation bool              `json:"validation"`
		BestEpoch  int               `json:"best_epoch"`
		Epochs     []json.RawMessage `json:"epochs"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, nil, nil, err
	}
	m := &Metrics{Params: raw.Params, Validation: raw.Validation, BestEpoch: raw.BestEpoch}
	has := map[string]bool{}
	byEpoch := map[int]map[string]bool{}
	prev := 0
	for i, e := range raw.Epochs {
		var fields map[string]json.RawMessage
		var n int
		if json.Unmarshal(e, &fields) != nil || json.Unmarshal(fields["epoch"], &n) != nil || n <= prev {
			return nil, nil, nil, fmt.Errorf("epochs[%d]: \"epoch\" must be a whole number above the previous epoch's (%d)", i, prev)
		}
		prev = n
		// Each figure it has must be a number (steps a whole one); then
		// the epoch decodes into Epoch, absent figures 0.
		for _, name := range MetricFields {
			v, ok := fields[name]
			if !ok || string(v) == "null" {
				continue
			}
			var f float64
			if json.Unmarshal(v, &f) != nil || name == "steps" && f != math.Trunc(f) {
				return nil, nil, nil, fmt.Errorf("epoch %d: %s: %s is not a number of that kind", n, name, v)
			}
			has[name] = true
			if byEpoch[n] == nil {
				byEpoch[n] = map[string]bool{}
			}
			byEpoch[n][name] = true
		}
		var ep Epoch
		if err := json.Unmarshal(e, &ep); err != nil {
			return nil, nil, nil, fmt.Errorf("epoch %d: %w", n, err)
		}
		m.Epochs = append(m.Epochs, ep)
	}
	if m.BestEpoch != 0 && !slices.ContainsFunc(m.Epochs, func(e Epoch) bool { return e.Epoch == m.BestEpoch }) {
		return nil, nil, nil, fmt.Errorf("best_epoch %d is not one of the epochs", m.BestEpoch)
	}
	var fields []string
	for _, f := range MetricFields {
		if has[f] {
			fields = append(fields, f)
		}
	}
	return m, fields, byEpoch, nil
}

// Has reports whether metrics.json gave epoch the figure field.
func (info *Info) Has(epoch int, field string) bool { return info.has[epoch][field] }

// Figure returns an epoch's figure by its metrics.json name.
func (e Epoch) Figure(name string) float64 {
	switch name {
	case "steps":
		return float64(e.Steps)
	case "train_loss":
		return e.TrainLoss
	case "train_bce":
		return e.TrainBCE
	case "train_dice_loss":
		return e.TrainDice
	case "val_iou":
		return e.ValIoU
	case "val_dice":
		return e.ValDice
	case "val_pixel_accuracy":
		return e.ValAcc
	}
	return 0
}
