package main

import (
	"path/filepath"

	"dsbuild/cache"
	"dsbuild/engine"
	"dsbuild/release"
	"dsbuild/steps"
)

// outputRules returns what a path that a command writes (checkout DIR,
// convert DST, --html FILE) is checked against, engine.OutputRules: the
// store; the recipe in recipeDir, when there is one there (its directory,
// and the directories its steps read and write); and the directories
// the command itself reads. recipeDir "" means the command has no recipe.
func outputRules(store *cache.Store, recipeDir string, rf *recipeFlags, reads ...engine.Claim) *engine.OutputRules {
	rules := &engine.OutputRules{}
	if recipeDir != "" {
		opt := engine.LoadOptions{Kinds: steps.Kinds(), Macros: steps.Macros()}
		if rf != nil {
			opt.Vars, opt.VarFiles = rf.vars, rf.varFiles
		}
		if lock, err := engine.ReadLockfile(recipeDir); err == nil {
			opt.Recorded, _ = lock.VarValues() // as the command loads it
		}
		r, diags := engine.Load(recipeDir, opt)
		switch {
		case !diags.HasErrors():
			rules = r.OutputRules("")
		case len(r.Sources) > 0:
			// A recipe with errors is still a recipe directory; the
			// command reports the errors itself when it loads it.
			rules.RecipeDir = r.Dir
		}
	}
	rules.Store = store.Dir()
	for _, c := range reads {
		if abs, err := filepath.Abs(c.Path); err == nil {
			rules.Claims = append(rules.Claims, engine.Claim{Path: abs, By: c.By})
		}
	}
	return rules
}

// refReads returns the directories that FORMAT:PATH references (of diff
// and stats) read.
func refReads(refs ...string) []engine.Claim {
	var out []engine.Claim
	for _, ref := range refs {
		if p := release.ParseRef(ref); p.Kind == release.RefPath {
			out = append(out, engine.Claim{Path: p.Path, By: ref})
		}
	}
	return out
}
