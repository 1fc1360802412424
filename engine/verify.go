package engine

import (
	"context"
	"fmt"
	"os"

	"dsbuild/cache"
)

// Difference is one way a rebuild disagrees with the lockfile.
type Difference struct {
	Step   string // kind.name
	Detail string
}

// Verify rebuilds every step of r from scratch into a fresh temporary store
// and compares keys and output digests with the lockfile lf. Differences
// come in build order, so the first names the earliest diverging step.
// userStore, if not nil, is consulted for the locked trees, to name the
// first differing file.
func Verify(ctx context.Context, r *Recipe, lf *Lockfile, userStore *cache.Store, opt BuildOptions) ([]Difference, *BuildResult, error) {
	tmp, err := os.MkdirTemp("", "dsbuild-verify-*")
	if err != nil {
		return nil, nil, err
	}
	defer cache.RemoveAll(tmp)
	store, err := cache.Open(tmp, userStore.Logf)
	if err != nil {
		return nil, nil, err
	}
	opt.Store = store
	opt.KeepGoing = true
	opt.DryRun = false
	opt.Lock = lf
	br, err := Build(ctx, r, opt)
	if err != nil {
		return nil, nil, err
	}
	var diffs []Difference
	for _, res := range br.Steps {
		addr := res.Step.Addr
		locked, ok := lf.Steps[addr]
		switch {
		case !ok:
			diffs = append(diffs, Difference{addr, "not in " + LockfileName + ": build the recipe and commit the lockfile"})
		case res.Status == Failed:
			diffs = append(diffs, Difference{addr, fmt.Sprintf("failed to rebuild: %v", res.Err)})
		case res.Status != Ran && res.Status != Cached:
			diffs = append(diffs, Difference{addr, fmt.Sprintf("not rebuilt (%s: %s)", res.Status, res.Reason)})
		case res.Key != locked.Key:
			diffs = append(diffs, Difference{addr, fmt.Sprintf("key differs from the lockfile (%s): the recipe or its sources changed since it was written", diffPreimage(locked.Preimage, res.Preimage))})
		default:
			for _, name := range res.Step.Outputs {
				want, got := locked.Outputs[name], res.Outputs[name]
				if want == got {
					continue
				}
				detail := fmt.Sprintf("output %s differs: locked %s, rebuilt %s", name, want.Short(), got.Short())
				if p := firstTreeDifference(userStore, want, store, got, ""); p != "" {
					detail += "; first differing path: " + p
				}
				diffs = append(diffs, Difference{addr, detail})
			}
		}
	}
	for _, addr := range keys(lf.Steps) {
		if r.Step(addr) == nil {
			diffs = append(diffs, Difference{addr, "in " + LockfileName + " but not in the recipe: build the recipe to update the lockfile"})
		}
	}
	return diffs, br, nil
}

// firstTreeDifference names the first path (in name order) whose content
// differs between tree a in store sa and tree b in store sb, or "" if it
// cannot tell (a tree is not available).
func firstTreeDifference(sa *cache.Store, a cache.Digest, sb *cache.Store, b cache.Digest, prefix string) string {
	if sa == nil {
		return ""
	}
	ea, err1 := sa.ReadTree(a)
	eb, err2 := sb.ReadTree(b)
	if err1 != nil || err2 != nil {
		return ""
	}
	i, j := 0, 0
	for i < len(ea) || j < len(eb) {
		switch {
		case j >= len(eb) || (i < len(ea) && ea[i].Name < eb[j].Name):
			return prefix + ea[i].Name + " (only in the locked output)"
		case i >= len(ea) || eb[j].Name < ea[i].Name:
			return prefix + eb[j].Name + " (only in the rebuilt output)"
		}
		x, y := ea[i], eb[j]
		if x.Digest != y.Digest || x.Kind != y.Kind {
			if x.Kind == cache.Dir && y.Kind == cache.Dir {
				if p := firstTreeDifference(sa, x.Digest, sb, y.Digest, prefix+x.Name+"/"); p != "" {
					return p
				}
			}
			return prefix + x.Name
		}
		i++
		j++
	}
	return ""
}
