package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/formats"
	"dsbuild/dataset/ingest"
	"dsbuild/dataset/report"
	"dsbuild/engine"
)

// keyValues parses repeated KEY=VALUE flags.
func keyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: write KEY=VALUE", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}

func newConvertCmd(g *globalFlags) *cobra.Command {
	var from, to string
	var fromOpts, toOpts, classes []string
	var skip bool
	cmd := &cobra.Command{
		Use:   "convert --from FORMAT SRC --to FORMAT DST",
		Short: "Convert a dataset from one format to another, without a recipe",
		Long: fmt.Sprintf(`Convert imports the dataset in directory SRC (format --from) and writes it to
directory DST (format --to), which must not exist or be empty (nor be a
symbolic link, in the store, or overlap SRC). It runs the
same code as a recipe's import and export steps: every item is checked, and
--classes maps, merges and drops classes. SRC's files enter the store as
reflinks where the file system supports them (nothing is copied), else as
copies; SRC is never linked to the store or changed.

Import formats: %s
Export formats: %s`, strings.Join(formats.ImportNames(), ", "), strings.Join(formats.ExportNames(), ", ")),
		Example: `  dsbuild convert --from pascal_voc data/VOC2012 --to coco out/coco
  dsbuild convert --from coco data/coco --to supervisely out/sly --classes person=person
  dsbuild convert --from synthetic - --from-option count=10 --to masks out/masks`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, dst := args[0], args[1]
			if from == "" || to == "" {
				return fmt.Errorf("name both formats: --from FORMAT and --to FORMAT")
			}
			fo, err := keyValues("from-option", fromOpts)
			if err != nil {
				return err
			}
			to2, err := keyValues("to-option", toOpts)
			if err != nil {
				return err
			}
			cl, err := keyValues("classes", classes)
			if err != nil {
				return err
			}
			if _, err := formats.Exporter(to, to2); err != nil {
				return err
			}
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, nil)
			if err != nil {
				return err
			}
			var reads []engine.Claim
			if formats.NeedsPath(from) {
				reads = append(reads, engine.Claim{Path: src, By: "convert's SRC"})
			}
			dstAbs, err := outputRules(store, "", nil, reads...).UserDir(dst)
			if err != nil {
				return err
			}
			unlock, err := store.LockShared()
			if err != nil {
				return err
			}
			defer unlock()
			res, err := importDir(cmd.Context(), store, src, ingest.Settings{Format: from, Options: fo, Classes: cl, Skip: skip})
			if err != nil {
				return err
			}
			for _, s := range res.Report.Skipped {
				warnf("skipped %s: %s", s.Item, s.Error)
			}
			for _, w := range res.Report.Warnings {
				warnf("%s: %s", w.Item, w.Message)
			}
			if err := os.MkdirAll(dstAbs, 0o755); err != nil {
				return err
			}
			if err := formats.Export(cmd.Context(), store, res.Dataset, to, to2, dstAbs); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d items: %s %s → %s %s (dataset %s)\n", len(res.Dataset.Entries), from, src, to, dst, res.Dataset.Tree.Short())
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "format of SRC")
	cmd.Flags().StringVar(&to, "to", "", "format to write to DST")
	cmd.Flags().StringArrayVar(&fromOpts, "from-option", nil, "an option of the import format, KEY=VALUE (repeatable)")
	cmd.Flags().StringArrayVar(&toOpts, "to-option", nil, "an option of the export format, KEY=VALUE (repeatable)")
	cmd.Flags().StringArrayVar(&classes, "classes", nil, "map a class, FROM=TO (repeatable); unlisted classes are dropped")
	cmd.Flags().BoolVar(&skip, "skip-bad", false, "leave out bad items (listed as warnings) instead of failing")
	return cmd
}

func newStatsCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	var format, htmlOut string
	var fromOpts []string
	cmd := &cobra.Command{
		Use:   "stats [RECIPE] REF | stats --format FORMAT PATH",
		Short: "Count items, objects per class, tags and image sizes of a dataset",
		Long: `Stats summarizes a dataset: REF is a built step (as recorded in
dsbuild.lock, checked against the recipe first, as for dsbuild diff;
import.voc means its dataset output), a release tag, a digest
(sha256:<prefix>) or FORMAT:PATH, as for dsbuild diff; or, with --format, a
directory in one of the import formats. Class names are as the source spells
them unless the step's class mapping renamed them. --json prints one object:
{"items": N, "objects": {"<class>": N}, "tags": {"<tag>": N},
 "object_tags": {...}, "image_sizes": {"WxH": N}, "shapes": {...},
 "object_sizes": {"32-63": N, ...}}. --html FILE also writes the counts as
one self-contained HTML page (no network, no JavaScript): tables, and bar
charts of objects per class, object sizes, image sizes and image tags.`,
		Example: `  dsbuild stats recipes/person import.voc
  dsbuild stats --html stats.html recipes/person import.voc
  dsbuild stats --json --format coco data/coco`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			recipeDir := ""
			if format == "" {
				recipeDir = "."
				if len(args) == 2 {
					recipeDir = args[0]
				}
			}
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, inDir(recipeDir))
			if err != nil {
				return err
			}
			if htmlOut != "" {
				rules := outputRules(store, "", rf, engine.Claim{Path: args[0], By: "--format " + format})
				if format == "" {
					recipeDir, refs := ".", args
					if len(args) == 2 {
						recipeDir, refs = args[0], args[1:]
					}
					rules = outputRules(store, recipeDir, rf, refReads(refs...)...)
				}
				if htmlOut, err = rules.UserFile(htmlOut); err != nil {
					return err
				}
			}
			var ds *dataset.Dataset
			if format != "" {
				if len(args) != 1 {
					return fmt.Errorf("with --format, give one directory")
				}
				fo, err := keyValues("from-option", fromOpts)
				if err != nil {
					return err
				}
				unlock, err := store.LockShared()
				if err != nil {
					return err
				}
				defer unlock()
				res, err := importDir(cmd.Context(), store, args[0], ingest.Settings{Format: format, Options: fo})
				if err != nil {
					return err
				}
				ds = res.Dataset
			} else {
				dir, ref := ".", args[0]
				if len(args) == 2 {
					dir, ref = args[0], args[1]
				}
				if ds, err = resolveDataset(cmd, store, dir, ref, rf); err != nil {
					return fmt.Errorf("%s: %w", ref, err)
				}
			}
			st, err := dataset.ComputeStats(ds, store)
			if err != nil {
				return err
			}
			if htmlOut != "" {
				name := strings.Join(args, " ")
				if format != "" {
					name = format + ":" + args[0]
				}
				var buf bytes.Buffer
				if err := report.Stats(&buf, ds, st, name); err != nil {
					return err
				}
				if err := cache.WriteFileAtomic(htmlOut, buf.Bytes(), 0o644); err != nil {
					return err
				}
			}
			if g.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetEscapeHTML(false)
				return enc.Encode(st)
			}
			printStats(cmd.OutOrStdout(), ds, st)
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "", "read PATH in this import format instead of a built step's output")
	cmd.Flags().StringVar(&htmlOut, "html", "", "also write the stats as a self-contained HTML page to `FILE`")
	cmd.Flags().StringArrayVar(&fromOpts, "from-option", nil, "an option of the import format, KEY=VALUE (repeatable)")
	return cmd
}

// importDir imports a directory for convert and stats, naming it in errors.
func importDir(ctx context.Context, store *cache.Store, dir string, set ingest.Settings) (*ingest.Result, error) {
	res, err := ingest.ImportDir(ctx, engine.BareRun(store, 0, nil), dir, set)
	if err != nil {
		return nil, fmt.Errorf("importing %s as %s: %w", dir, set.Format, err)
	}
	return res, nil
}

func printStats(w io.Writer, ds *dataset.Dataset, st *dataset.Stats) {
	fmt.Fprintf(w, "dataset %s: %d items\n", ds.Tree.Short(), st.Items)
	section := func(title string, m map[string]int) {
		if len(m) == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", title)
		for _, k := range dataset.SortedKeys(m) {
			fmt.Fprintf(w, "  %-30s %d\n", k, m[k])
		}
	}
	section("objects per class", st.Objects)
	section("objects per shape", st.Shapes)
	section("image tags", st.Tags)
	section("object tags", st.ObjectTags)
	section("image sizes", st.ImageSizes)
	if len(st.ObjectSizes) > 0 {
		fmt.Fprintln(w, "object sizes (longer side of the box, px):")
		for _, b := range dataset.SizeBuckets {
			if n := st.ObjectSizes[b]; n > 0 {
				fmt.Fprintf(w, "  %-30s %d\n", b, n)
			}
		}
	}
}
