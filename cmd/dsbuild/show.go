package main

import (
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

func newShowCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	cmd := &cobra.Command{
		Use:   "show [RECIPE] REF",
		Short: "Print a model's architecture, training settings and metrics",
		Long: `Show prints what a model artifact holds: REF is a built step (as recorded
in dsbuild.lock and checked against the recipe, like train.person) or a
digest (sha256:<prefix>).

For dsbuild's own models (format dsbuild-model/1) it lists the
architecture, how the model was trained, the per-epoch training loss and
validation IoU, dice and pixel accuracy, and which epoch was kept. For any
other model that keeps the artifact contract (docs/model.md: a config.json
that declares its "format", weight files, an optional metrics.json) it
lists the format, the files and config.json's settings, and the per-epoch
figures its metrics.json has.

--json prints one object {"tree", "format", "files", "config", "metrics"}
(and "training" for dsbuild's models). The artifact's files come out with
dsbuild checkout.`,
		Example: `  dsbuild show recipes/person train.round0
  dsbuild show --json sha256:3f2a`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, ref := ".", args[0]
			if len(args) == 2 {
				dir, ref = args[0], args[1]
			}
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, inDir(dir))
			if err != nil {
				return err
			}
			var tree cache.Digest
			if strings.HasPrefix(ref, cache.Prefix) {
				tree, err = store.ResolvePrefix(ref)
			} else {
				tree, err = lockedOutput(cmd.Context(), store, []string{dir, ref}, rf, "model")
			}
			if err != nil {
				return fmt.Errorf("%s: %w", ref, err)
			}
			info, err := model.Inspect(store, tree)
			if err != nil {
				return fmt.Errorf("%s: %w", ref, err)
			}
			if g.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetEscapeHTML(false)
				out := map[string]any{"tree": tree.String(), "format": info.Format, "files": info.Files, "config": info.Config, "metrics": info.Metrics}
				if a := info.Native; a != nil {
					out["config"], out["training"] = a.Config, a.Training
				}
				return enc.Encode(out)
			}
			if info.Native != nil {
				printModel(cmd.OutOrStdout(), ref, tree, info.Native)
				return nil
			}
			printForeignModel(cmd.OutOrStdout(), ref, tree, info)
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}

func printModel(w io.Writer, ref string, tree cache.Digest, a *model.Artifact) {
	c := &a.Config
	norm := "conv bias"
	if c.BatchNorm {
		norm = "BatchNorm"
	}
	fmt.Fprintf(w, "%s  %s\n", ref, tree)
	fmt.Fprintf(w, "network     %s, depth %d, width %d, %s, input %d×%d, %d parameters\n", c.Arch, c.Depth, c.Width, norm, c.InputSize, c.InputSize, c.ParamCount())
	fmt.Fprintf(w, "foreground  %s", strings.Join(c.Foreground, ", "))
	if len(c.Ignore) > 0 {
		fmt.Fprintf(w, "  (ignored: %s)", strings.Join(c.Ignore, ", "))
	}
	fmt.Fprintln(w)
	if len(a.Training) > 0 {
		var t map[string]any
		if json.Unmarshal(a.Training, &t) == nil {
			fmt.Fprintf(w, "training    %v images, batch %v (micro %v), %v epochs, lr %v, seed %q, %v\n",
				t["images"], t["batch"], t["micro_batch"], t["epochs"], t["learning_rate"], t["seed"], t["platform"])
			if g, ok := t["gemm"].(string); ok && g != "" {
				fmt.Fprintf(w, "arithmetic  %s\n", g)
			}
		}
	}
	if c.CropPadding > 0 {
		fmt.Fprintf(w, "crop model  trained on person crops padded by %g (preannotate's boxes mode uses this padding)\n", c.CropPadding)
	}
	m := &a.Metrics
	if len(m.Epochs) == 0 {
		return
	}
	fmt.Fprintln(w)
	if m.Validation {
		fmt.Fprintf(w, "%5s %6s %10s %8s %8s %8s\n", "epoch", "steps", "loss", "val IoU", "dice", "acc")
	} else {
		fmt.Fprintf(w, "%5s %6s %10s\n", "epoch", "steps", "loss")
	}
	for _, e := range m.Epochs {
		mark := ""
		if e.Epoch == m.BestEpoch {
			mark = "  ← kept"
		}
		if m.Validation {
			fmt.Fprintf(w, "%5d %6d %10.4f %8.4f %8.4f %8.4f%s\n", e.Epoch, e.Steps, e.TrainLoss, e.ValIoU, e.ValDice, e.ValAcc, mark)
		} else {
			fmt.Fprintf(w, "%5d %6d %10.4f%s\n", e.Epoch, e.Steps, e.TrainLoss, mark)
		}
	}
}

// printForeignModel prints a model of another format than dsbuild's: its
// format, files, config.json's top-level settings and its metrics.
func printForeignModel(w io.Writer, ref string, tree cache.Digest, info *model.Info) {
	fmt.Fprintf(w, "%s  %s\n", ref, tree)
	fmt.Fprintf(w, "format      %s\n", info.Format)
	fmt.Fprintf(w, "files      ")
	for i, f := range info.Files {
		if i > 0 {
			fmt.Fprint(w, ",")
		}
		fmt.Fprintf(w, " %s (%s)", f.Name, humanBytes(f.Size))
	}
	fmt.Fprintln(w)
	var cfg map[string]json.RawMessage
	if json.Unmarshal(info.Config, &cfg) == nil {
		for _, k := range slices.Sorted(maps.Keys(cfg)) {
			if k == "format" {
				continue
			}
			v := string(cfg[k])
			if len(v) > 100 {
				v = v[:97] + "…"
			}
			fmt.Fprintf(w, "config      %s = %s\n", k, v)
		}
	}
	printEpochs(w, info)
}

// formatFigure writes an epoch's figure (steps whole, the others to four
// places), or – when the epoch does not have it.
func formatFigure(field string, v float64, has bool) string {
	switch {
	case !has:
		return "–"
	case field == "steps":
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4f", v)
}

// printEpochs prints a model's per-epoch figures: those its metrics.json
// has, in dsbuild's order, the kept epoch marked.
func printEpochs(w io.Writer, info *model.Info) {
	m := info.Metrics
	if m == nil || len(m.Epochs) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%5s", "epoch")
	for _, f := range info.Fields {
		fmt.Fprintf(w, " %18s", f)
	}
	fmt.Fprintln(w)
	for _, e := range m.Epochs {
		fmt.Fprintf(w, "%5d", e.Epoch)
		for _, f := range info.Fields {
			fmt.Fprintf(w, " %18s", formatFigure(f, e.Figure(f), info.Has(e.Epoch, f)))
		}
		if e.Epoch == m.BestEpoch {
			fmt.Fprint(w, "  ← kept")
		}
		fmt.Fprintln(w)
	}
}
