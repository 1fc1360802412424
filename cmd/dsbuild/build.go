package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"dsbuild/engine"
)

func newBuildCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	var jobs int
	var keepGoing bool
	var executor string
	var tOpt temporalOptions
	cmd := &cobra.Command{
		Use:   "build [RECIPE] [TARGET...]",
		Short: "Build a recipe, running only the steps whose inputs changed",
		Long: `Build runs the steps of the recipe in RECIPE (a directory of *.hcl files,
default ".") or, given TARGETs (kind.name), those steps and what they depend on.

A step whose key (its kind, parameters and input digests) is in the store is
not run again. Results are committed to the store only when a step succeeds,
and dsbuild.lock in the recipe directory records every step's key, outputs
and key preimage, and the values -var and -var-file gave (plan, verify and
the commands that read dsbuild.lock use them). The build stops starting new
steps after the first failure (steps already running finish); --keep-going
builds everything that does not depend on the failure.

Builds of one recipe may run at once (different targets, say): each merges
the steps it built into dsbuild.lock under a lock (the file
.dsbuild.lock.lock beside it, which dsbuild creates and keeps), so no
entry is lost. A build records its results in the store (the lockfile as a
root, a build record) before it lets go of the store's lock, so a
concurrent dsbuild gc cannot remove what the build reports.`,
		Example: `  dsbuild build recipes/hello
  dsbuild build recipes/hello exec.count
  dsbuild build -j 4 --keep-going -var greeting=hi recipes/hello`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, names := splitRecipeArgs(args)
			r, targets, lock, err := loadTargets(dir, names, rf, false)
			if err != nil {
				return err
			}
			rep := newReporter(g, "build", r)
			defer rep.Close()
			if tr, ok := rep.(transferShower); ok {
				g.progress = tr.Transfer
			}
			store, err := g.openStore(func(f string, a ...any) { rep.Warn(fmt.Sprintf(f, a...)) }, ofRecipe(r))
			if err != nil {
				return err
			}
			var br *engine.BuildResult
			switch executor {
			case "local":
				br, err = engine.Build(cmd.Context(), r, engine.BuildOptions{
					Store: store, Jobs: jobs, KeepGoing: keepGoing, Targets: targets, Reporter: rep, Lock: lock,
					Record: func(br *engine.BuildResult) error { return engine.RecordBuild(store, r, br) },
				})
			case "temporal":
				br, err = buildOnTemporal(cmd.Context(), g, tOpt, r, targets, lock, rep, store, jobs)
				if errors.Is(err, errDetached) {
					return nil
				}
			default:
				return fmt.Errorf("--executor %q: want local or temporal", executor)
			}
			if err != nil {
				if br != nil {
					rep.Summary(br)
				}
				return err
			}
			rep.Summary(br)
			return buildExit(br)
		},
	}
	rf.register(cmd)
	cmd.Flags().IntVarP(&jobs, "jobs", "j", defaultJobs(), "steps to run at once")
	cmd.Flags().BoolVarP(&keepGoing, "keep-going", "k", false, "after a failure, go on with the steps that do not depend on it")
	cmd.Flags().StringVar(&executor, "executor", "local", "where steps run: local, or temporal (on the workers of a Temporal cluster; see dsbuild worker --help)")
	cmd.Flags().StringVar(&tOpt.addr, "temporal", "", "with --executor temporal: the Temporal frontend, HOST:PORT (default $DSBUILD_TEMPORAL)")
	cmd.Flags().BoolVar(&tOpt.detach, "detach", false, "with --executor temporal: submit the build and return (dsbuild status follows it)")
	cmd.Flags().IntVar(&tOpt.shards, "shards", 0, "with --executor temporal: split the items of each import, transform and preannotate step that must run into this many shards, run on any workers (the outputs do not depend on it); 0: a step with more items than its shard_size (default 1000) is split into ⌈items/shard_size⌉ shards, at most 256; 1: never split")
	cmd.Flags().DurationVar(&tOpt.heartbeat, "heartbeat-timeout", 30*time.Second, "with --executor temporal: a worker silent this long is taken for dead and its step runs elsewhere")
	return cmd
}

// buildExit maps a build's outcome to the documented exit codes.
func buildExit(br *engine.BuildResult) error {
	c := br.Counts
	switch {
	case c[engine.Failed] > 0:
		return &exitCodeError{code: exitError, err: fmt.Errorf("%d step(s) failed", c[engine.Failed])}
	case c[engine.Skipped] > 0 && c[engine.Waiting] == 0:
		return &exitCodeError{code: exitError, err: fmt.Errorf("%d step(s) did not run", c[engine.Skipped])}
	case c[engine.Waiting] > 0:
		return &exitCodeError{code: exitWaiting, err: fmt.Errorf("%d step(s) waiting for input; run the build again once it exists", c[engine.Waiting])}
	}
	return nil
}
