package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"dsbuild/engine"
)

func newExplainCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	var item string
	cmd := &cobra.Command{
		Use:   "explain [RECIPE] STEP",
		Short: "Print a step's key preimage: everything its result depends on",
		Long: `Explain prints the text whose SHA-256 is the step's key, one fact a line:
the key scheme, the kind and its version, each parameter as canonical JSON,
each input as the digest of the upstream output it reads, and the salt. Two
builds reuse each other's result exactly when these lines are equal.

Inputs from upstream steps that are not built yet are shown as unknown; build
them first for the full key. Nothing is run or written to the store.

With --item NAME, explain prints the key preimage of one item of a step that
works item by item (import, transform, preannotate): the item scheme, the
step's salt (the digest of the step's preimage without its input lines), the
item's name and the digests of what it reads. An item runs again exactly when
these lines change. They are recorded when the step runs, so build it first.`,
		Example: `  dsbuild explain recipes/hello exec.upper
  dsbuild explain recipes/person transform.people --item voc__2008_000008.jpg`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, names := splitRecipeArgs(args)
			if len(names) != 1 {
				return fmt.Errorf("explain takes exactly one step, like exec.upper")
			}
			r, targets, lock, err := loadTargets(dir, names, rf, true)
			if err != nil {
				return err
			}
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, ofRecipe(r))
			if err != nil {
				return err
			}
			br, err := engine.Build(cmd.Context(), r, engine.BuildOptions{Store: store, Targets: targets, Lock: lock, DryRun: true, KeepGoing: true})
			if err != nil {
				return err
			}
			res := br.Result(targets[0])
			switch {
			case res.Err != nil:
				return res.Err
			case res.Preimage == nil:
				return fmt.Errorf("%s: the key is not known yet: %s. Build the upstream steps first (dsbuild build %s)", res.Step.Addr, res.Reason, displayDir(r.Dir))
			}
			if item != "" {
				pre, key, err := engine.ItemPreimage(store, res.Key, item)
				if err != nil {
					return fmt.Errorf("%s --item %s: %w", res.Step.Addr, item, err)
				}
				if g.json {
					(&jsonReporter{w: cmd.OutOrStdout()}).emit(map[string]any{"event": "explain_item", "step": res.Step.Addr,
						"item": item, "key": key.String(), "step_key": res.Key.String(), "preimage": pre})
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\n", strings.Join(pre, "\n"))
				fmt.Fprintf(cmd.OutOrStdout(), "# item key %s (step %s, key %s)\n", key, res.Step.Addr, res.Key)
				return nil
			}
			if g.json {
				(&jsonReporter{w: cmd.OutOrStdout()}).emit(map[string]any{"event": "explain", "step": res.Step.Addr,
					"key": res.Key.String(), "preimage": res.Preimage, "status": res.Status, "reason": res.Reason})
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", strings.Join(res.Preimage, "\n"))
			fmt.Fprintf(cmd.OutOrStdout(), "# key %s (%s", res.Key, res.Status)
			if res.Reason != "" {
				fmt.Fprintf(cmd.OutOrStdout(), ": %s", res.Reason)
			}
			fmt.Fprintln(cmd.OutOrStdout(), ")")
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&item, "item", "", "explain one item of the step (its name, as in its dataset) instead of the step")
	return cmd
}
