package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"dsbuild/engine"
	"dsbuild/steps/review"
)

func newReviewCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Inspect review steps: what waits for people, and the verdicts so far",
	}
	cmd.AddCommand(newReviewStatusCmd(g))
	return cmd
}

// reviewState is one review step's line of dsbuild review status.
type reviewState struct {
	Step    string         `json:"step"`
	State   string         `json:"state"` // waiting, results-ready, reviewed, simulated, not-built
	Package string         `json:"package,omitempty"`
	Results string         `json:"results,omitempty"`
	Items   int            `json:"items,omitempty"`
	Counts  map[string]int `json:"counts,omitempty"`
}

func newReviewStatusCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	cmd := &cobra.Command{
		Use:   "status [RECIPE]",
		Short: "List the recipe's review steps: waiting, ready to import, or reviewed with their verdicts",
		Long: `Status lists every review step of the recipe and where it stands:

  waiting        the package was written and no results are there yet: send
                 the package to reviewers, put their export in the results
                 directory, then build again
  results-ready  results are in place; the next build imports them
  reviewed       dsbuild.lock records the review, built from the results now
                 in place (checked as checkout checks it): verdict counts follow
  simulated      a simulate block plays the reviewer (counts once built)
  not-built      the build has not reached the step yet

Paths are relative to the recipe. --json prints one object per step.`,
		Example: `  dsbuild review status recipes/person
  dsbuild review status --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			r, lock, err := loadLocked(dir, rf)
			if err != nil {
				return err
			}
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) })
			if err != nil {
				return err
			}
			var states []reviewState
			for _, s := range r.Steps {
				if s.KindName != "review" {
					continue
				}
				pkg, results := review.Dirs(s)
				st := reviewState{Step: s.Addr}
				// Counts only from an entry that is still the step's result
				// (its key recomputed, its outputs in the store): after new
				// or edited results the step is results-ready, as build sees it.
				if _, ok := lock.Steps[s.Addr]; ok {
					if outs, err := engine.ResolveLocked(cmd.Context(), r, lock, store, s, displayDir(r.Dir)); err == nil {
						if rep, err := review.ReadReport(store, outs["report"]); err == nil {
							st.Items, st.Counts = rep.Items, rep.Counts
						}
					}
				}
				exists := func(rel string) bool {
					ents, err := os.ReadDir(filepath.Join(r.Dir, rel))
					return err == nil && len(ents) > 0
				}
				switch {
				case review.Simulated(s.Config):
					st.State = "simulated"
				case st.Counts != nil:
					st.State, st.Results = "reviewed", results
				case exists(results):
					st.State, st.Results = "results-ready", results
				case exists(pkg):
					st.State, st.Package, st.Results = "waiting", pkg, results
				default:
					st.State = "not-built"
				}
				states = append(states, st)
			}
			out := cmd.OutOrStdout()
			if g.json {
				enc := json.NewEncoder(out)
				enc.SetEscapeHTML(false)
				for _, st := range states {
					if err := enc.Encode(st); err != nil {
						return err
					}
				}
				return nil
			}
			if len(states) == 0 {
				fmt.Fprintln(out, "no review steps")
				return nil
			}
			for _, st := range states {
				line := fmt.Sprintf("%-14s %s", st.State, st.Step)
				switch st.State {
				case "waiting":
					line += fmt.Sprintf(": package in %s; put the reviewers' export in %s", st.Package, st.Results)
				case "results-ready":
					line += fmt.Sprintf(": results in %s; build to import them", st.Results)
				}
				if st.Counts != nil {
					line += fmt.Sprintf(" (%d items: %d good, %d needs correction, %d bad)", st.Items, st.Counts["good"], st.Counts["needs correction"], st.Counts["bad"])
				}
				fmt.Fprintln(out, line)
			}
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}
