package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"dsbuild/cache"
)

func newCheckoutCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	cmd := &cobra.Command{
		Use:   "checkout [RECIPE] STEP[.OUTPUT] DIR",
		Short: "Copy a built step output out of the store into a directory",
		Long: `Checkout writes the output of a step, as recorded in dsbuild.lock, into DIR
(which must not exist or be empty, and may not be a symbolic link, the
recipe directory or one holding it, the store, or a directory that a step
of the recipe uses). Name the output when the step has several:
exec.train.model. Every file is re-hashed as it is copied.

dsbuild.lock is checked first: the step's key is recomputed from the recipe
(with the variable values dsbuild.lock records, unless -var sets them) and
must be the one recorded, and the store must record the same outputs for it.
A stale or edited entry is an error (exit 1) and nothing is written: build
the recipe again, or check out a tag or digest.`,
		Example: `  dsbuild checkout recipes/hello exec.count out/`,
		Args:    cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			dest := args[len(args)-1]
			recipeDir, _ := splitRecipeArgs(args[:len(args)-1])
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, inDir(recipeDir))
			if err != nil {
				return err
			}
			// gc waits while the entry is checked and its files copied out.
			unlock, err := store.LockShared()
			if err != nil {
				return err
			}
			defer unlock()
			d, err := lockedOutput(cmd.Context(), store, args[:len(args)-1], rf, "")
			if err != nil {
				return withRemoteFailure(store, err)
			}
			abs, err := outputRules(store, recipeDir, rf).UserDir(dest)
			if err != nil {
				return err
			}
			if err := store.Materialize(cmd.Context(), d, abs, false); err != nil {
				if cache.IsCorrupt(err) {
					return fmt.Errorf("%w: build the recipe again to rebuild it", err)
				}
				return withRemoteFailure(store, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s) → %s\n", args[len(args)-2], d.Short(), dest)
			reportTransfer(store)
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}
