package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/report"
)

func newDiffCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	var exitCode bool
	var htmlOut string
	var htmlOpt report.Options
	cmd := &cobra.Command{
		Use:   "diff [RECIPE] A B",
		Short: "Say what changed between two dataset versions (per item and per object) or two models",
		Long: `Diff compares two datasets: items added, removed and changed (image or
annotation); within a changed item, objects matched by mask IoU (at least
0.5) into added, removed and modified (with their IoU, and class changes);
image tag changes; per-class count deltas. Manifests are compared first, so
only changed items are decoded.

A and B are each:
  NAME              a release recorded by dsbuild tag
  STEP[.OUTPUT]     a built step of RECIPE, as recorded in dsbuild.lock
                    (transform.people, split.people.val); the entry is
                    checked first: a stale one (the recipe changed since
                    the build) is an error, never another step's data
  sha256:<hex>      a dataset by digest, or by a prefix of at least 4 digits
  FORMAT:PATH       a directory in an import format (coco:data/coco)

When A and B are both models (a train step, or a model's digest), diff
compares them as models instead: their formats, their files (by content),
config.json's settings, and their per-epoch metrics side by side, with the
epoch each kept. Any model that keeps the artifact contract works, whoever
trained it (docs/model.md).

--exit-code exits 1 when the datasets (or models) differ, for CI. --json prints the diff
as one JSON object. --html FILE also writes the diff as one self-contained
HTML page (no network, no JavaScript): a summary, per-class count deltas, and
every added, removed and changed item with side-by-side thumbnails of A and B,
objects drawn in their class colours and changed objects outlined, 50 items
a page (--html-per-page), thumbnails at most 256 px (--html-thumb).`,
		Example: `  dsbuild diff recipes/person import.voc transform.people
  dsbuild diff --json coco:old/coco coco:new/coco
  dsbuild diff --html diff.html recipes/person import.voc transform.people
  dsbuild diff --exit-code recipes/person split.people.train sha256:…`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 3 {
				dir, args = args[0], args[1:]
			}
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, inDir(dir))
			if err != nil {
				return err
			}
			if htmlOut != "" {
				if htmlOut, err = outputRules(store, dir, rf, refReads(args...)...).UserFile(htmlOut); err != nil {
					return err
				}
			}
			unlock, err := store.LockShared()
			if err != nil {
				return err
			}
			defer unlock()
			var sides [2]*dataset.Dataset
			for i, ref := range args {
				if sides[i], err = resolveDataset(cmd, store, dir, ref, rf); err != nil {
					// Not a dataset: both may be models.
					if ma, mb, ok := modelSides(cmd, store, dir, args, rf); ok {
						if htmlOut != "" {
							return fmt.Errorf("--html compares datasets; %s and %s are models", args[0], args[1])
						}
						md := diffModels(ma, mb)
						return emitDiff(cmd, g, exitCode && md.Differ, md, func(w io.Writer) { printModelDiff(w, args[0], args[1], md) })
					}
					return fmt.Errorf("%s: %w", ref, err)
				}
			}
			d, err := dataset.Diff(store, sides[0], sides[1])
			if err != nil {
				return err
			}
			if htmlOut != "" {
				var buf bytes.Buffer
				if err := report.Diff(&buf, store, sides[0], sides[1], d, args[0], args[1], htmlOpt); err != nil {
					return err
				}
				if err := cache.WriteFileAtomic(htmlOut, buf.Bytes(), 0o644); err != nil {
					return err
				}
			}
			return emitDiff(cmd, g, exitCode && !d.Empty(), d, func(w io.Writer) { printDiff(w, args[0], args[1], d) })
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 1 when the datasets differ")
	cmd.Flags().StringVar(&htmlOut, "html", "", "also write the diff as a self-contained HTML page to `FILE`")
	cmd.Flags().IntVar(&htmlOpt.Thumb, "html-thumb", report.DefaultThumb, "longer side of the HTML page's thumbnails, in pixels")
	cmd.Flags().IntVar(&htmlOpt.PerPage, "html-per-page", report.DefaultPerPage, "items per page of the HTML page")
	return cmd
}

// emitDiff prints a diff (d as JSON with --json, else print's text) and
// exits 1 when fail (--exit-code and the sides differ).
func emitDiff(cmd *cobra.Command, g *globalFlags, fail bool, d any, print func(io.Writer)) error {
	if g.json {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			return err
		}
	} else {
		print(cmd.OutOrStdout())
	}
	if fail {
		return &exitCodeError{code: exitError}
	}
	return nil
}

func printDiff(w io.Writer, a, b string, d *dataset.DatasetDiff) {
	fmt.Fprintf(w, "%s (%d items) → %s (%d items)\n", a, d.Items.A, b, d.Items.B)
	if len(d.ClassesOnlyInA) > 0 || len(d.ClassesOnlyInB) > 0 {
		fmt.Fprintf(w, "the class sets differ: only in A: %s; only in B: %s\n", orNone(d.ClassesOnlyInA), orNone(d.ClassesOnlyInB))
	}
	if d.Empty() {
		fmt.Fprintln(w, "no differences")
		return
	}
	fmt.Fprintf(w, "%d added, %d removed, %d changed\n", len(d.Added), len(d.Removed), len(d.Changed))
	for _, n := range d.Added {
		fmt.Fprintf(w, "+ %s\n", n)
	}
	for _, n := range d.Removed {
		fmt.Fprintf(w, "- %s\n", n)
	}
	for _, c := range d.Changed {
		what := "annotation"
		if c.ImageChanged {
			what = "image"
		}
		fmt.Fprintf(w, "~ %s (%s changed)\n", c.Name, what)
		for _, o := range c.Added {
			fmt.Fprintf(w, "    + %s %v\n", o.Class, o.Box)
		}
		for _, o := range c.Removed {
			fmt.Fprintf(w, "    - %s %v\n", o.Class, o.Box)
		}
		for _, m := range c.Modified {
			cls := m.A.Class
			if m.A.Class != m.B.Class {
				cls = m.A.Class + " → " + m.B.Class
			}
			fmt.Fprintf(w, "    ~ %s %v → %v (IoU %.3f)\n", cls, m.A.Box, m.B.Box, m.IoU)
		}
		for _, t := range c.TagsAdded {
			fmt.Fprintf(w, "    + tag %s\n", t)
		}
		for _, t := range c.TagsRemoved {
			fmt.Fprintf(w, "    - tag %s\n", t)
		}
	}
	if len(d.ClassDeltas) > 0 {
		fmt.Fprintln(w, "objects per class:")
		for _, c := range dataset.SortedKeys(d.ClassDeltas) {
			fmt.Fprintf(w, "  %-30s %+d\n", c, d.ClassDeltas[c])
		}
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
