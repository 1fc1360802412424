package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"dsbuild/cache"
	"dsbuild/engine"
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
			dir := "."
			if len(args) == 3 {
				dir, args = args[0], args[1:]
			}
			ref, dest := args[0], args[1]
			r, err := loadRecipe(dir, rf)
			if err != nil {
				return err
			}
			addr, output := ref, ""
			if s := r.Step(ref); s == nil {
				if i := strings.LastIndex(ref, "."); i > 0 {
					addr, output = ref[:i], ref[i+1:]
				}
			}
			targets, err := resolveTargets(r, []string{addr})
			if err != nil {
				return err
			}
			s := targets[0]
			if output == "" {
				if len(s.Outputs) != 1 {
					return fmt.Errorf("%s has outputs %s: name one, as in %s.%s", s.Addr, strings.Join(s.Outputs, ", "), s.Addr, s.Outputs[0])
				}
				output = s.Outputs[0]
			}
			lock, err := engine.ReadLockfile(r.Dir)
			if err != nil {
				return err
			}
			entry, ok := lock.Steps[s.Addr]
			if !ok {
				return fmt.Errorf("%s is not in %s: build it first (dsbuild build %s %s)", s.Addr, engine.LockfileName, displayDir(r.Dir), s.Addr)
			}
			d, ok := entry.Outputs[output]
			if !ok {
				return fmt.Errorf("%s has no output %q in %s", s.Addr, output, engine.LockfileName)
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
					return fmt.Errorf("%w: run dsbuild build %s to rebuild it", err, displayDir(r.Dir))
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s.%s (%s) → %s\n", s.Addr, output, d.Short(), dest)
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}
