package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"dsbuild/engine"
	"dsbuild/model"
	"dsbuild/steps/review"
)

func newReviewCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Inspect review steps: what waits for people, and the verdicts so far",
	}
	cmd.AddCommand(newReviewStatusCmd(g), newReviewSubmitCmd(g))
	return cmd
}

const reviewStatusLong = `Status lists every review step of the recipe and where it stands:

  waiting        the package was written and no results are there yet: send
                 the package to reviewers, put their export in the results
                 directory, then build again
  results-ready  results are in place; the next build imports them
  reviewed       dsbuild.lock records the review, built from the results now
                 in place (checked as checkout checks it): figures follow
  simulated      a simulate block plays the reviewer (figures once built)
  not-built      the build has not reached the step yet

For a review dsbuild.lock confirms, it shows the images reviewed, the objects
predicted on them and accepted, the verdicts (good, needs correction, bad;
counts and percent of the images, one decimal), the usable share (good +
needs correction), the validation IoU of the model that made the predictions
(the kept epoch's, from the train step's model metrics; also of the crop
model in boxes mode) and, for a simulated review, the distribution of the
predictions' IoU against the truth: min, quartiles, max, mean and ten bins
[0, 0.1), [0.1, 0.2) ... [0.9, 1]. A review named N_roundR, as a bootstrap
block names them, is round R of bootstrap N; the rounds of each bootstrap
end the output as one table.

Paths are relative to the recipe. --json prints one object per review step
and line, with these fields (absent where they do not apply):

  step, state          the step's address and its state above
  bootstrap, round     for a step named N_roundR
  package, results     the directories, as in the text
  items, objects, accepted_objects
                       images reviewed, objects predicted, objects accepted
  counts, percent      by verdict: "good", "needs correction", "bad"
  usable_percent       good + needs correction, from the counts
  iou                  simulated reviews: {items, min, p25, median, p75, max,
                       mean, bins}; bins[i] counts IoUs in [i/10, (i+1)/10),
                       the last one with 1; quartiles interpolate linearly
                       between ranks; figures to three decimals
  model, crop_model    {step, val_iou, best_epoch, epochs}: the train step
                       whose model made the predictions; the figures once
                       dsbuild.lock confirms it (val_iou only when trained
                       with validation)`

func newReviewStatusCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	cmd := &cobra.Command{
		Use:   "status [RECIPE]",
		Short: "List the recipe's review steps: waiting, ready to import, or reviewed with their figures",
		Long:  reviewStatusLong,
		Example: `  dsbuild review status recipes/person
  dsbuild review status --json recipes/person`,
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
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, ofRecipe(r))
			if err != nil {
				return err
			}
			states := review.Statuses(cmd.Context(), r, lock, store)
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
			writeReviewStates(out, states)
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}

// writeReviewStates prints the states for people, within 80 columns
// (paths aside): a line per step, its figures indented below it, then a
// table per bootstrap of its rounds' figures.
func writeReviewStates(out io.Writer, states []review.Status) {
	if len(states) == 0 {
		fmt.Fprintln(out, "no review steps")
		return
	}
	for _, st := range states {
		line := fmt.Sprintf("%-14s %s", st.State, st.Step)
		switch st.State {
		case review.StateWaiting:
			line += fmt.Sprintf(": package in %s; put the reviewers' export in %s", st.Package, st.Results)
		case review.StateResultsReady:
			line += fmt.Sprintf(": results in %s; build to import them", st.Results)
		}
		if st.Round > 0 {
			line += fmt.Sprintf(" (round %d)", st.Round)
		}
		fmt.Fprintln(out, line)
		if sum := st.Summary; sum != nil {
			fmt.Fprintf(out, "  %d images, %d objects predicted, %d accepted\n", sum.Items, sum.Objects, sum.AcceptedObjects)
			fmt.Fprintf(out, "  good %d (%.1f %%), needs correction %d (%.1f %%), bad %d (%.1f %%)\n",
				sum.Counts["good"], sum.Percent["good"], sum.Counts["needs correction"], sum.Percent["needs correction"], sum.Counts["bad"], sum.Percent["bad"])
			fmt.Fprintf(out, "  usable %.1f %% (good + needs correction)\n", sum.Usable)
		}
		for _, m := range []struct {
			what string
			m    *review.ModelStatus
		}{{"model", st.Model}, {"crop model", st.CropModel}} {
			if m.m == nil || (m.m.ValIoU == nil && st.Summary == nil) {
				continue
			}
			fmt.Fprintf(out, "  predicted by %s %s: %s\n", m.what, m.m.Step, describeModel(m.m))
		}
		if st.Summary != nil && st.Summary.IoU != nil {
			writeIoU(out, st.Summary.IoU)
		}
	}
	writeRoundTables(out, states)
}

func describeModel(m *review.ModelStatus) string {
	foreign := ""
	if m.Format != "" && m.Format != model.Format {
		foreign = m.Format + ", "
	}
	switch {
	case m.ValIoU != nil:
		return fmt.Sprintf("%sval IoU %.3f (epoch %d of %d)", foreign, *m.ValIoU, m.BestEpoch, m.Epochs)
	case m.Epochs > 0:
		return foreign + "trained without validation"
	case m.Format != "":
		return foreign + "no metrics.json"
	}
	return "not confirmed by " + engine.LockfileName
}

func writeIoU(out io.Writer, s *review.IoUStats) {
	fmt.Fprintf(out, "  prediction IoU over %d images: mean %.3f\n", s.Items, s.Mean)
	fmt.Fprintf(out, "    min %.3f  p25 %.3f  median %.3f  p75 %.3f  max %.3f\n", s.Min, s.P25, s.Median, s.P75, s.Max)
	var from, n strings.Builder
	for i, c := range s.Bins {
		edge := "0"
		if i > 0 {
			edge = fmt.Sprintf(".%d", i)
		}
		fmt.Fprintf(&from, "%5s", edge)
		fmt.Fprintf(&n, "%5d", c)
	}
	fmt.Fprintf(out, "    IoU from%s\n    images  %s\n", from.String(), n.String())
}

// writeRoundTables prints, per bootstrap with a reviewed round, one row per
// round.
func writeRoundTables(out io.Writer, states []review.Status) {
	byBoot := map[string][]review.Status{}
	for _, st := range states {
		if st.Round > 0 && st.Summary != nil {
			byBoot[st.Bootstrap] = append(byBoot[st.Bootstrap], st)
		}
	}
	names := make([]string, 0, len(byBoot))
	for n := range byBoot {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rows := byBoot[n]
		sort.Slice(rows, func(i, j int) bool { return rows[i].Round < rows[j].Round })
		fmt.Fprintf(out, "\nbootstrap %s (%% of the images reviewed)\n", n)
		fmt.Fprintf(out, "%6s %7s %7s %7s %7s %7s %8s %8s\n", "round", "images", "good", "corr.", "bad", "usable", "val IoU", "med. IoU")
		for _, st := range rows {
			s := st.Summary
			val, med := "-", "-"
			if st.Model != nil && st.Model.ValIoU != nil {
				val = fmt.Sprintf("%.3f", *st.Model.ValIoU)
			}
			if s.IoU != nil {
				med = fmt.Sprintf("%.3f", s.IoU.Median)
			}
			fmt.Fprintf(out, "%6d %7d %7.1f %7.1f %7.1f %7.1f %8s %8s\n", st.Round, s.Items,
				s.Percent["good"], s.Percent["needs correction"], s.Percent["bad"], s.Usable, val, med)
		}
	}
}
