package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

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
dsbuild.lock, in build order. Variables take the values dsbuild.lock records
(the build's -var and -var-file), unless -var or -var-file set them again.

  DIFFERS       the step rebuilt and its key or outputs are not what
                dsbuild.lock records (and, where the locked output is in
                your store, the first differing file is named); or the step
                is in only one of the recipe and dsbuild.lock
  FAILED        the step could not be rebuilt: it failed, or it waits for
                an input that is not there (review results)
  NONDETERMINISTIC
                an exec step that declares deterministic = false rebuilt
                with its locked key and gave other outputs: reported, not
                a failure; the steps below it are compared where their
                inputs still agree, and NOT COMPARED where they do not
  NOT COMPARED  a step upstream of it differs, failed or is declared
                nondeterministic, so it is not blamed

It exits 0 when everything matches, 3 when some step differs, and 1 when a
step could not be rebuilt (the verification is incomplete), naming it.

The temporary store lives in the store's tmp/ while verify runs (holding the
store's shared lock); dsbuild gc removes what a killed verify left there.

Run it in CI on a release: a recipe whose steps are deterministic always
verifies; a step that writes timestamps or random bytes does not, unless
it says so with deterministic = false (dsbuild.lock records it).`,
		Example: `  dsbuild verify recipes/hello`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, lock, err := loadLocked(recipeDir(args), rf)
			if err != nil {
				return err
			}
			if len(lock.Steps) == 0 {
				return fmt.Errorf("%s has no %s: build the recipe first (dsbuild build %s)", displayDir(r.Dir), engine.LockfileName, displayDir(r.Dir))
			}
			rep := newReporter(g, "verify", r)
			defer rep.Close()
			if tr, ok := rep.(transferShower); ok {
				g.progress = tr.Transfer
			}
			store, err := g.openStore(func(f string, a ...any) { rep.Warn(fmt.Sprintf(f, a...)) }, ofRecipe(r))
			if err != nil {
				return err
			}
			diffs, br, err := engine.Verify(cmd.Context(), r, lock, store, engine.BuildOptions{Jobs: jobs, Reporter: rep})
			if err != nil {
				return err
			}
			rep.Summary(br)
			reportTransfer(store)
			if g.json {
				for _, d := range diffs {
					(&jsonReporter{w: os.Stdout}).emit(map[string]string{"event": "difference", "step": d.Step, "finding": string(d.Finding), "detail": d.Detail})
				}
			} else {
				for _, d := range diffs {
					fmt.Fprintf(os.Stdout, "%s %s: %s\n", strings.ToUpper(string(d.Finding)), d.Step, d.Detail)
				}
			}
			verr := engine.Judge(diffs)
			var ve *engine.VerifyError
			failed := errors.As(verr, &ve) && ve.Failed
			if g.json {
				(&jsonReporter{w: os.Stdout}).emit(map[string]any{"event": "verify", "ok": verr == nil, "differences": len(diffs), "failed": failed})
			}
			switch {
			case failed:
				return &exitCodeError{code: exitError, err: verr}
			case verr != nil:
				return &exitCodeError{code: exitDiffers, err: verr}
			}
			if !g.json {
				nondet, below := 0, 0
				for _, d := range diffs {
					switch d.Finding {
					case engine.Nondeterministic:
						nondet++
					case engine.NotCompared:
						below++
					}
				}
				if nondet == 0 {
					fmt.Fprintf(os.Stdout, "verified: all %d steps rebuilt bit for bit\n", len(br.Steps))
				} else {
					fmt.Fprintf(os.Stdout, "verified: %d of %d steps rebuilt bit for bit; %d declared deterministic = false gave other outputs and %d below them were not compared (listed above)\n",
						len(br.Steps)-nondet-below, len(br.Steps), nondet, below)
				}
			}
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().IntVarP(&jobs, "jobs", "j", defaultJobs(), "steps to run at once")
	return cmd
}
