package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"dsbuild/cache"
)

func newCheckoutCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	cmd := &cobra.Command{
		Use:   "checkout [RECIPE] STEP[.OUTPUT] DIR",
		Short: "Copy a built step output out of the store into a directory",
		Long: `Checkout writes the output of a step, as recorded in dsbuild.lock, into DIR
(which must not exist or be empty). Name the output when the step has
several: exec.train.model. Every file is re-hashed as it is copied.`,
		Example: `  dsbuild checkout recipes/hello exec.count out/`,
		Args:    cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			dest := args[len(args)-1]
			d, err := lockedOutput(args[:len(args)-1], rf, "")
			if err != nil {
				return err
			}
			if ents, err := os.ReadDir(dest); err == nil && len(ents) > 0 {
				return fmt.Errorf("%s is not empty", dest)
			}
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) })
			if err != nil {
				return err
			}
			if err := store.Materialize(cmd.Context(), d, dest, false); err != nil {
				if cache.IsCorrupt(err) {
					return fmt.Errorf("%w: build the recipe again to rebuild it", err)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s) → %s\n", args[len(args)-2], d.Short(), dest)
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}
