package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
)

// release is what dsbuild tag records, as a blob the tag names (a gc root
// with the dataset).
type release struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	Ref     string `json:"ref"`
	Dataset string `json:"dataset"`
	Model   string `json:"model,omitempty"`
	Recipe  string `json:"recipe"` // digest of the recipe's *.hcl files and dsbuild.lock
	Dsbuild string `json:"dsbuild"`
}

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
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) })
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
			recipe, err := recipeDigest(dir)
			if err != nil {
				return err
			}
			rel := release{Version: 1, Name: name, Ref: ref, Dataset: ds.Tree.String(), Recipe: recipe.String(), Dsbuild: version()}
			raw, err := json.Marshal(rel)
			if err != nil {
				return err
			}
			d, err := store.PutBytes(append(raw, '\n'))
			if err != nil {
				return err
			}
			if err := store.SetTag(name, []cache.Digest{d, ds.Tree}); err != nil {
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

// recipeDigest hashes the recipe's *.hcl files and lockfile, by name.
func recipeDigest(dir string) (cache.Digest, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err != nil {
		return cache.Digest{}, err
	}
	files = append(files, filepath.Join(dir, engine.LockfileName))
	sort.Strings(files)
	var b bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return cache.Digest{}, err
		}
		fmt.Fprintf(&b, "%s %s\n", cache.Sum(data), filepath.Base(f))
	}
	return cache.Sum(b.Bytes()), nil
}

// readRelease reads the release a tag records.
func readRelease(store *cache.Store, name string) (*release, error) {
	roots, err := store.Tag(name)
	if err != nil {
		return nil, err
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("tag %s is empty", name)
	}
	raw, err := store.ReadBlob(roots[0])
	if err != nil {
		return nil, fmt.Errorf("tag %s: %w", name, err)
	}
	var rel release
	if err := json.Unmarshal(raw, &rel); err != nil {
		return nil, fmt.Errorf("tag %s: %w", name, err)
	}
	return &rel, nil
}

// taggedDataset opens the dataset of a tag.
func taggedDataset(store *cache.Store, name string) (*dataset.Dataset, error) {
	rel, err := readRelease(store, name)
	if err != nil {
		return nil, err
	}
	d, err := cache.ParseDigest(rel.Dataset)
	if err != nil {
		return nil, err
	}
	return dataset.Open(store, d)
}

func newLogCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "log",
		Short: "List the releases recorded by dsbuild tag, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) })
			if err != nil {
				return err
			}
			tags, err := store.Tags()
			if err != nil {
				return err
			}
			for _, t := range tags {
				rel, err := readRelease(store, t.Name)
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
