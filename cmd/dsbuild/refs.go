package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/ingest"
	"dsbuild/engine"
	"dsbuild/release"
)

// lockedOutput resolves [RECIPE] STEP[.OUTPUT] to the digest dsbuild.lock
// records, after checking the record against the recipe and the store
// (engine.ResolveOutput): a stale or edited entry is an error, never a
// digest. def names the output to use for steps with several.
func lockedOutput(ctx context.Context, store *cache.Store, args []string, rf *recipeFlags, def string) (cache.Digest, error) {
	dir, names := splitRecipeArgs(args)
	if len(names) != 1 {
		return cache.Digest{}, fmt.Errorf("name one step, like import.voc")
	}
	r, lock, err := loadLocked(dir, rf)
	if err != nil {
		return cache.Digest{}, err
	}
	ref := r.ParseOutputRef(names[0])
	targets, err := resolveTargets(r, []string{ref.Step})
	if err != nil {
		return cache.Digest{}, err
	}
	return engine.ResolveOutput(ctx, r, lock, store, targets[0], ref.Output, def, displayDir(r.Dir))
}

// resolveDataset opens the dataset a reference names (release.Resolver):
// a step output of the recipe in dir, loaded only for such a reference.
func resolveDataset(cmd *cobra.Command, store *cache.Store, dir, ref string, rf *recipeFlags) (*dataset.Dataset, error) {
	rs := &release.Resolver{
		Store: store,
		Import: func(format, path string) (*dataset.Dataset, error) {
			res, err := importDir(cmd.Context(), store, path, ingest.Settings{Format: format})
			if err != nil {
				return nil, err
			}
			return res.Dataset, nil
		},
		Step: func(ref string) (cache.Digest, error) {
			return lockedOutput(cmd.Context(), store, []string{dir, ref}, rf, "dataset")
		},
	}
	return rs.Dataset(ref)
}
