package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"dsbuild/engine"
)

func newVerifyCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	var jobs int
	cmd := &cobra.Command{
		Use:   "verify [RECIPE]",
		Short: "Rebuild every locked step from scratch and compare with dsbuild.lock",
		Long: `Verify rebuilds every step of the recipe into a fresh, temporary store, so
nothing is reused, and compares each step's key and output digests with
dsbuild.lock. It exits 0 when everything matches and 3 when something
differs, naming the first differing step in build order (and, where the
locked output is in your store, the first differing file).

Run it in CI on a release: a recipe whose steps are deterministic always
verifies; a step that writes timestamps or random bytes does not.`,
		Example: `  dsbuild verify recipes/hello`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := loadRecipe(recipeDir(args), rf)
			if err != nil {
				return err
			}
			lock, err := engine.ReadLockfile(r.Dir)
			if err != nil {
				return err
			}
			if len(lock.Steps) == 0 {
				return fmt.Errorf("%s has no %s: build the recipe first (dsbuild build %s)", displayDir(r.Dir), engine.LockfileName, displayDir(r.Dir))
			}
			rep := newReporter(g, "verify")
			defer rep.Close()
			store, err := g.openStore(func(f string, a ...any) { rep.Warn(fmt.Sprintf(f, a...)) })
			if err != nil {
				return err
			}
			diffs, br, err := engine.Verify(cmd.Context(), r, lock, store, engine.BuildOptions{Jobs: jobs, Reporter: rep})
			if err != nil {
				return err
			}
			rep.Summary(br)
			if g.json {
				for _, d := range diffs {
					(&jsonReporter{w: os.Stdout}).emit(map[string]string{"event": "difference", "step": d.Step, "detail": d.Detail})
				}
				(&jsonReporter{w: os.Stdout}).emit(map[string]any{"event": "verify", "ok": len(diffs) == 0, "differences": len(diffs)})
			} else {
				for _, d := range diffs {
					fmt.Fprintf(os.Stdout, "DIFFERS %s: %s\n", d.Step, d.Detail)
				}
			}
			if len(diffs) > 0 {
				return &exitCodeError{code: exitDiffers, err: fmt.Errorf("verify: %s differs from %s (%d difference(s) in all)", diffs[0].Step, engine.LockfileName, len(diffs))}
			}
			if !g.json {
				fmt.Fprintf(os.Stdout, "verified: all %d steps rebuilt bit for bit\n", len(br.Steps))
			}
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().IntVarP(&jobs, "jobs", "j", defaultJobs(), "steps to run at once")
	return cmd
}
