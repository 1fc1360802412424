package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
	"dsbuild/steps"
)

func newCacheCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Inspect the store",
	}
	var repair bool
	check := &cobra.Command{
		Use:   "check",
		Short: "Verify every object in the store",
		Long: `Check re-hashes every blob, parses every tree and cache entry, and checks that
everything they name is present. It exits 1 if it finds a corrupt or
unreadable object (PROBLEM lines). With --repair it removes them, so that the
next build rebuilds them.

MISSING lines name trees and cache entries that refer to absent blobs, as
left by gc, by a removed corrupt blob, or by editing a hard-linked source
file in place. They are not errors: nothing wrong can be served from them,
builds re-run the steps that need them, and gc drops them once unreachable.
Temporary files left by killed builds and verifies are counted too; gc
removes them.

A damaged VERSION file (other commands refuse such a store) is a problem
too: --repair rewrites it when every object is intact, and otherwise
changes nothing, since the store may then be of another layout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := g.storeDir()
			if err != nil {
				return err
			}
			store, err := cache.OpenForCheck(dir, func(f string, a ...any) { warnf(f, a...) })
			if err != nil {
				return err
			}
			rep, err := store.Check(cmd.Context(), repair)
			if err != nil {
				return err
			}
			if g.json {
				(&jsonReporter{w: os.Stdout}).emit(map[string]any{"event": "cache-check", "blobs": rep.Blobs, "bytes": rep.Bytes,
					"actions": rep.Actions, "memos": rep.Memos, "temp_files": rep.TempFiles, "problems": rep.Problems, "missing": rep.Missing})
			} else {
				fmt.Printf("%s: %d blobs (%s), %d action entries, %d item memos, %d temporary files\n",
					store.Dir(), rep.Blobs, humanBytes(rep.Bytes), rep.Actions, rep.Memos, rep.TempFiles)
				for _, m := range rep.Missing {
					fmt.Println("MISSING " + m)
				}
				for _, p := range rep.Problems {
					fmt.Println("PROBLEM " + p)
				}
			}
			if len(rep.Problems) > 0 {
				what := "run dsbuild cache check --repair to remove the bad objects"
				switch {
				case rep.VersionRestored && len(rep.Problems) == 1:
					what = "VERSION was restored; the store is usable again"
				case repair:
					what = "the bad objects were removed; the next build rebuilds them"
				}
				return fmt.Errorf("%d problem(s) in the store: %s", len(rep.Problems), what)
			}
			if !g.json {
				if len(rep.Missing) > 0 {
					fmt.Printf("store OK: no corrupt objects; %d reference(s) to absent blobs (steps that need them re-run; gc drops them once unreachable)\n", len(rep.Missing))
				} else {
					fmt.Println("store OK")
				}
			}
			return nil
		},
	}
	check.Flags().BoolVar(&repair, "repair", false, "remove corrupt objects; restore a damaged VERSION when every object is intact")
	cmd.AddCommand(check)
	return cmd
}

func newGCCmd(g *globalFlags) *cobra.Command {
	var dryRun bool
	var keep int
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove what no tag, lockfile or recent build needs",
		Long: `GC keeps everything reachable from the store's roots and removes the rest:
  - tags (releases),
  - every dsbuild.lock that a build with this store wrote and that still exists,
  - the last --keep-builds builds.
It also removes the temporary files and directories in the store's tmp/ that
killed builds and verifies left behind (verify keeps its fresh store there),
and, in every registered recipe, the directories that a killed review left
beside its package (only those that hold dsbuild's marker and that no running
review holds).
It takes the store's exclusive lock before it reads any root, so it waits for
running builds and verifies to finish, and each build records its results
(its lockfile and build record) before it lets go of the store: nothing a
build reported is collected. A registered lockfile that cannot be read stops
gc before it removes anything. --dry-run reports what would go without
removing anything.`,
		Example: `  dsbuild gc --dry-run
  dsbuild gc --keep-builds 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := g.openLocalStore(func(f string, a ...any) { warnf(f, a...) })
			if err != nil {
				return err
			}
			var recipes []string // the registered recipes, for their leftovers
			opt := cache.GCOptions{DryRun: dryRun, KeepBuilds: keep, LockfileRoots: func(p string) ([]cache.Digest, []cache.ActionKey, error) {
				lf, err := engine.ReadLockfile(filepath.Dir(p))
				if err != nil {
					return nil, nil, err
				}
				recipes = append(recipes, filepath.Dir(p))
				roots, actions := lf.Roots()
				return roots, actions, nil
			}}
			rep, err := store.GC(cmd.Context(), opt)
			if err != nil {
				return err
			}
			leftovers := 0
			if !dryRun {
				leftovers = sweepRecipeLeftovers(recipes)
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			if g.json {
				(&jsonReporter{w: os.Stdout}).emit(map[string]any{"event": "gc", "dry_run": dryRun, "blobs": rep.Blobs, "bytes": rep.Bytes,
					"actions": rep.Actions, "memos": rep.Memos, "builds": rep.Builds, "temp_files": rep.TempFiles,
					"kept_blobs": rep.KeptBlobs, "kept_bytes": rep.KeptBytes, "lockfiles": rep.Lockfiles, "leftover_dirs": leftovers})
				return nil
			}
			fmt.Printf("%s %d blobs (%s), %d action entries, %d item memos, %d build records, %d temporary files\n",
				verb, rep.Blobs, humanBytes(rep.Bytes), rep.Actions, rep.Memos, rep.Builds, rep.TempFiles)
			fmt.Printf("kept %d blobs (%s) reachable from %d lockfile(s), tags and the last %d builds\n",
				rep.KeptBlobs, humanBytes(rep.KeptBytes), rep.Lockfiles, keep)
			if leftovers > 0 {
				fmt.Printf("removed %d directories that killed review steps left beside their packages\n", leftovers)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would be removed, remove nothing")
	cmd.Flags().IntVar(&keep, "keep-builds", 10, "keep the results of this many most recent builds")
	return cmd
}

// sweepRecipeLeftovers removes, in each registered recipe directory, the
// marked directories that a killed review left beside its package
// (engine.SweepLeftovers). A recipe that no longer loads is skipped: its
// outputs are not known, so nothing of it is touched.
func sweepRecipeLeftovers(dirs []string) int {
	sort.Strings(dirs)
	n := 0
	for _, dir := range dirs {
		var recorded map[string]cty.Value
		if lf, err := engine.ReadLockfile(dir); err == nil {
			recorded, _ = lf.VarValues()
		}
		r, diags := engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds(), Macros: steps.Macros(), Recorded: recorded})
		if diags.HasErrors() {
			continue
		}
		n += engine.SweepLeftovers(r)
	}
	return n
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
