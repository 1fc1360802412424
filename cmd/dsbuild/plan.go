package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"dsbuild/engine"
)

func newPlanCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	cmd := &cobra.Command{
		Use:   "plan [RECIPE] [TARGET...]",
		Short: "Show what a build would run, and why",
		Long: `Plan works out every step's key without running anything (sources are
hashed, nothing is written to the store) and says for each step whether it is
cached or would run, and why: the line of its key preimage that changed since
dsbuild.lock ("param command changed: … → …", "input text changed: …"), "new
step", or "not in the store". A step whose input comes from a step that runs
first is shown as running, since its key cannot be known yet. A transform or
preannotate step that would run says how many of its items would run and how
many its item memo has (an estimate: a memoized item whose blobs were collected runs). A cached step
whose key is not the one dsbuild.lock records says so: the lockfile is stale
for it until the next build.

Variables take the values dsbuild.lock records (the last build's -var and
-var-file, said on stderr) unless -var or -var-file set them: plan shows the
recipe state that was built.`,
		Example: `  dsbuild plan recipes/hello
  dsbuild plan --json recipes/hello`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, names := splitRecipeArgs(args)
			r, targets, lock, err := loadTargets(dir, names, rf, true)
			if err != nil {
				return err
			}
			rep := newPlanReporter(g, r)
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, ofRecipe(r))
			if err != nil {
				return err
			}
			br, err := engine.Build(cmd.Context(), r, engine.BuildOptions{
				Store: store, Targets: targets, Reporter: rep, Lock: lock, DryRun: true, KeepGoing: true,
			})
			if err != nil {
				return err
			}
			rep.Summary(br)
			if br.Counts[engine.Failed] > 0 {
				// Each failure was printed with its step.
				return &exitCodeError{code: exitError, err: fmt.Errorf("%d step(s) failed", br.Counts[engine.Failed])}
			}
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}

func newPlanReporter(g *globalFlags, r *engine.Recipe) reporter {
	if g.json {
		return &jsonReporter{w: os.Stdout}
	}
	return &planReporter{plainReporter{view: viewOn(r, os.Stdout)}}
}

// planReporter prints one line per step in build order.
type planReporter struct{ plainReporter }

func (p *planReporter) StepFinished(r *engine.StepResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.Status {
	case engine.Cached:
		if r.Reason != "" {
			// The store has it, but dsbuild.lock records another key.
			fmt.Printf("cached  %s (%s is out of date for it: %s)\n", r.Step.Addr, engine.LockfileName, r.Reason)
			return
		}
		fmt.Printf("cached  %s\n", r.Step.Addr)
	case engine.WillRun:
		if c := r.Items; c != nil {
			// An estimate from the item memo (engine.ItemPlanner).
			fmt.Printf("runs    %s: %s (%d of %d items to run, %d in the item memo)\n", r.Step.Addr, r.Reason, c.Ran, c.Total, c.Cached)
			return
		}
		fmt.Printf("runs    %s: %s\n", r.Step.Addr, r.Reason)
	case engine.Failed:
		if engine.SourceDiagnostic(r.Err) != nil {
			fmt.Println(p.view.stepReport(r))
			return
		}
		fallthrough
	default:
		msg := r.Reason
		if r.Err != nil {
			msg = strings.TrimSpace(r.Err.Error())
		}
		fmt.Printf("%-7s %s: %s\n", r.Status, r.Step.Addr, msg)
	}
}

func (p *planReporter) Summary(br *engine.BuildResult) {
	fmt.Printf("%d steps: %d cached, %d to run\n", len(br.Steps), br.Counts[engine.Cached], br.Counts[engine.WillRun])
}
