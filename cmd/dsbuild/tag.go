package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"dsbuild/cache"
	"dsbuild/release"
)

func newTagCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	var force bool
	cmd := &cobra.Command{
		Use:   "tag [RECIPE] NAME REF",
		Short: "Record a release: a dataset, the recipe that made it, and dsbuild's version",
		Long: `Tag records a release named NAME: the dataset REF names (a built step,
whose dsbuild.lock entry must match the recipe, a digest or FORMAT:PATH, as
for dsbuild diff), the digest of the recipe's
*.hcl files and dsbuild.lock, and this dsbuild's version. Releases are roots
for gc, dsbuild log lists them, and NAME then works as a ref wherever a
dataset is expected (dsbuild diff person-v1 person-v2). An existing tag is
replaced only with --force.`,
		Example: `  dsbuild tag recipes/person person-v1 split.people.train
  dsbuild diff person-v1 person-v2`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 3 {
				dir, args = args[0], args[1:]
			}
			name, ref := args[0], args[1]
			if err := cache.ValidName(name); err != nil {
				return fmt.Errorf("tag name: %w", err)
			}
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, inDir(dir))
			if err != nil {
				return err
			}
			if old, err := store.Tag(name); err == nil && !force {
				return fmt.Errorf("tag %s already exists (%d root(s), first %s); --force replaces it", name, len(old), old[0].Short())
			}
			unlock, err := store.LockShared()
			if err != nil {
				return err
			}
			defer unlock()
			ds, err := resolveDataset(cmd, store, dir, ref, rf)
			if err != nil {
				return fmt.Errorf("%s: %w", ref, err)
			}
			recipe, err := release.RecipeDigest(dir)
			if err != nil {
				return err
			}
			rec := &release.Record{Version: release.RecordVersion, Name: name, Ref: ref, Dataset: ds.Tree.String(), Recipe: recipe.String(), Dsbuild: version()}
			if err := release.Write(store, rec); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s → dataset %s (%d items)\n", name, ds.Tree.Short(), len(ds.Entries))
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing tag")
	return cmd
}

func newLogCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "log",
		Short: "List the releases recorded by dsbuild tag, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, nil)
			if err != nil {
				return err
			}
			tags, err := store.Tags()
			if err != nil {
				return err
			}
			for _, t := range tags {
				rel, err := release.Read(store, t.Name)
				if err != nil {
					warnf("%v", err)
					continue
				}
				if g.json {
					(&jsonReporter{w: cmd.OutOrStdout()}).emit(rel)
					continue
				}
				d, _ := cache.ParseDigest(rel.Dataset)
				r, _ := cache.ParseDigest(rel.Recipe)
				fmt.Fprintf(cmd.OutOrStdout(), "%-20s dataset %s  recipe %s  from %s  (dsbuild %s)\n", rel.Name, d.Short(), r.Short(), rel.Ref, rel.Dsbuild)
			}
			if len(tags) == 0 && !g.json {
				fmt.Fprintln(cmd.OutOrStdout(), "no releases yet: dsbuild tag NAME REF records one")
			}
			return nil
		},
	}
}
