package main

import (
	"encoding/json"
	"fmt"
	"io"
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
digest (sha256:<prefix>). It lists the architecture, how the model was
trained, the per-epoch training loss and validation IoU, dice and pixel
accuracy, and which epoch was kept. --json
prints config.json and metrics.json as one object {"config", "training",
"metrics", "tree"}. The artifact's files (config.json,
weights.safetensors, metrics.json, curve.svg) come out with dsbuild checkout.`,
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
			a, err := model.Load(store, tree)
			if err != nil {
				return fmt.Errorf("%s: %w", ref, err)
			}
			if g.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetEscapeHTML(false)
				return enc.Encode(map[string]any{"tree": tree.String(), "config": a.Config, "training": a.Training, "metrics": a.Metrics})
			}
			printModel(cmd.OutOrStdout(), ref, tree, a)
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
