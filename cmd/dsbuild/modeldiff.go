package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"dsbuild/cache"
	"dsbuild/model"
)

// modelSide is one side of a model diff.
type modelSide struct {
	Tree cache.Digest
	Info *model.Info
}

// modelSides resolves both refs as models: a digest whose tree keeps the
// model contract, or a built step with a "model" output. ok is false when
// either is not a model (diff then compares datasets, with its errors).
func modelSides(cmd *cobra.Command, store *cache.Store, dir string, refs []string, rf *recipeFlags) (a, b modelSide, ok bool) {
	var sides [2]modelSide
	for i, ref := range refs {
		var tree cache.Digest
		var err error
		switch {
		case strings.HasPrefix(ref, cache.Prefix):
			tree, err = store.ResolvePrefix(ref)
		case strings.Contains(ref, ":"):
			return a, b, false // FORMAT:PATH: a dataset directory
		default:
			tree, err = lockedOutput(cmd.Context(), store, []string{dir, ref}, rf, "model")
		}
		if err != nil {
			return a, b, false
		}
		info, err := model.Inspect(store, tree)
		if err != nil {
			return a, b, false
		}
		sides[i] = modelSide{tree, info}
	}
	return sides[0], sides[1], true
}

// ModelDiff is what diff reports of two models (--json prints it).
type ModelDiff struct {
	Differ bool           `json:"differ"`
	Format [2]string      `json:"format"`
	Tree   [2]string      `json:"tree"`
	Files  []fileChange   `json:"files,omitempty"`  // files that differ
	Config []configChange `json:"config,omitempty"` // config.json settings that differ
	Kept   [2]int         `json:"kept_epoch"`       // 0: not said
	Fields []string       `json:"fields,omitempty"` // the figures either side has
	Epochs []epochPair    `json:"epochs,omitempty"`
}

type fileChange struct {
	Name string   `json:"name"`
	Size [2]int64 `json:"size"` // -1: not on that side
}

type configChange struct {
	Key   string             `json:"key"`
	Value [2]json.RawMessage `json:"value"` // null: not on that side
}

type epochPair struct {
	Epoch int                `json:"epoch"`
	A     map[string]float64 `json:"a,omitempty"`
	B     map[string]float64 `json:"b,omitempty"`
}

func diffModels(a, b modelSide) *ModelDiff {
	d := &ModelDiff{Differ: a.Tree != b.Tree, Format: [2]string{a.Info.Format, b.Info.Format}, Tree: [2]string{a.Tree.String(), b.Tree.String()}}
	files := map[string][2]*model.FileInfo{}
	for i, side := range []modelSide{a, b} {
		for _, f := range side.Info.Files {
			p := files[f.Name]
			p[i] = &f
			files[f.Name] = p
		}
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := files[name]
		if p[0] != nil && p[1] != nil && p[0].Digest == p[1].Digest {
			continue
		}
		c := fileChange{Name: name, Size: [2]int64{-1, -1}}
		for i := range p {
			if p[i] != nil {
				c.Size[i] = p[i].Size
			}
		}
		d.Files = append(d.Files, c)
	}
	var cfg [2]map[string]json.RawMessage
	for i, side := range []modelSide{a, b} {
		json.Unmarshal(side.Info.Config, &cfg[i])
	}
	keys := map[string]bool{}
	for i := range cfg {
		for k := range cfg[i] {
			keys[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		va, vb := compactJSON(cfg[0][k]), compactJSON(cfg[1][k])
		if !bytes.Equal(va, vb) {
			d.Config = append(d.Config, configChange{Key: k, Value: [2]json.RawMessage{va, vb}})
		}
	}
	fields := map[string]bool{}
	epochs := map[int]*epochPair{}
	for i, side := range []modelSide{a, b} {
		m := side.Info.Metrics
		if m == nil {
			continue
		}
		d.Kept[i] = m.BestEpoch
		for _, e := range m.Epochs {
			p := epochs[e.Epoch]
			if p == nil {
				p = &epochPair{Epoch: e.Epoch}
				epochs[e.Epoch] = p
			}
			vals := map[string]float64{}
			for _, f := range side.Info.Fields {
				if side.Info.Has(e.Epoch, f) {
					vals[f] = e.Figure(f)
					fields[f] = true
				}
			}
			if i == 0 {
				p.A = vals
			} else {
				p.B = vals
			}
		}
	}
	for _, f := range model.MetricFields {
		if fields[f] {
			d.Fields = append(d.Fields, f)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(epochs)) {
		d.Epochs = append(d.Epochs, *epochs[n])
	}
	return d
}

func compactJSON(v json.RawMessage) json.RawMessage {
	if v == nil {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}

func printModelDiff(w io.Writer, a, b string, d *ModelDiff) {
	fmt.Fprintf(w, "model %s (%s) → %s (%s)\n", a, d.Format[0], b, d.Format[1])
	if !d.Differ {
		fmt.Fprintln(w, "no differences (the same artifact)")
		return
	}
	for _, f := range d.Files {
		switch {
		case f.Size[0] < 0:
			fmt.Fprintf(w, "file     + %s (%s)\n", f.Name, humanBytes(f.Size[1]))
		case f.Size[1] < 0:
			fmt.Fprintf(w, "file     - %s (%s)\n", f.Name, humanBytes(f.Size[0]))
		default:
			fmt.Fprintf(w, "file     ~ %s (%s → %s)\n", f.Name, humanBytes(f.Size[0]), humanBytes(f.Size[1]))
		}
	}
	for _, c := range d.Config {
		fmt.Fprintf(w, "config   %s: %s → %s\n", c.Key, orAbsent(c.Value[0]), orAbsent(c.Value[1]))
	}
	for i, kept := range d.Kept {
		if kept == 0 {
			continue
		}
		side := [2]string{a, b}[i]
		fmt.Fprintf(w, "kept     %s: epoch %d", side, kept)
		if e := d.epoch(kept, i); e != nil {
			if v, ok := e["val_iou"]; ok {
				fmt.Fprintf(w, " (val_iou %.4f)", v)
			}
		}
		fmt.Fprintln(w)
	}
	if len(d.Epochs) == 0 || len(d.Fields) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%5s", "epoch")
	for _, f := range d.Fields {
		fmt.Fprintf(w, " %23s", f+" A → B")
	}
	fmt.Fprintln(w)
	for _, e := range d.Epochs {
		fmt.Fprintf(w, "%5d", e.Epoch)
		for _, f := range d.Fields {
			va, oka := e.A[f]
			vb, okb := e.B[f]
			fmt.Fprintf(w, " %23s", formatFigure(f, va, oka)+" → "+formatFigure(f, vb, okb))
		}
		fmt.Fprintln(w)
	}
}

func (d *ModelDiff) epoch(n, side int) map[string]float64 {
	for _, e := range d.Epochs {
		if e.Epoch == n {
			return [2]map[string]float64{e.A, e.B}[side]
		}
	}
	return nil
}

func orAbsent(v json.RawMessage) string {
	if v == nil {
		return "(absent)"
	}
	return string(v)
}
