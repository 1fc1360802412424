package engine

import (
	"context"
	"fmt"

	"dsbuild/cache"
)

// Finding says how a step's rebuild compares with the lockfile.
type Finding string

const (
	// Differs: the step rebuilt and disagrees with the lockfile (another
	// key or other outputs), or it is in only one of the recipe and the
	// lockfile.
	Differs Finding = "differs"
	// FailedToRebuild: the step could not be rebuilt (it failed, or waits
	// for an input such as review results), so it was not compared.
	FailedToRebuild Finding = "failed"
	// NotCompared: a step upstream of it differs or failed, so what it
	// gives now is not what the lockfile recorded, through no fault of its
	// own.
	NotCompared Finding = "not compared"
	// Nondeterministic: a step declared deterministic = false rebuilt with
	// its lockfile's key and other outputs. Reported apart, not a failure.
	// The steps below it are compared by content: one whose outputs are
	// still the locked ones agrees (and so do the steps below it, whose
	// inputs are the locked ones again); the others are NotCompared.
	Nondeterministic Finding = "nondeterministic"
)

// Difference is one way a rebuild disagrees with the lockfile.
type Difference struct {
	Step    string // kind.name
	Finding Finding
	Detail  string
}

// Verify rebuilds every step of r from scratch into a fresh temporary store
// and compares keys and output digests with the lockfile lf. Differences
// come in build order, so the first names the earliest diverging step; a
// step whose own rebuild disagrees only because an upstream step differs or
// failed is NotCompared, not blamed. userStore is consulted for the locked
// trees, to name the first differing file.
//
// The temporary store is a directory under userStore's tmp/, and Verify
// holds userStore's shared lock while it exists: a gc, which removes
// everything in tmp/ once it holds the exclusive lock, never removes a live
// verify's store, and always removes one that a killed verify left.
func Verify(ctx context.Context, r *Recipe, lf *Lockfile, userStore *cache.Store, opt BuildOptions) ([]Difference, *BuildResult, error) {
	unlock, err := userStore.LockShared()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	tmp, err := userStore.TempDir("verify-")
	if err != nil {
		return nil, nil, fmt.Errorf("making verify's temporary store: %w", err)
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
	opt.Record = nil
	br, err := Build(ctx, r, opt)
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, br, err
	}
	var diffs []Difference
	// upstream[s] is the first step, in build order, that differs or
	// failed at or above s: what s's disagreement is blamed on.
	upstream := map[*Step]string{}
	why := map[string]Finding{}
	for _, res := range br.Steps {
		s := res.Step
		addr := s.Addr
		cause := ""
		for _, d := range s.Deps {
			if c := upstream[d]; c != "" && (cause == "" || posOf(br, c) < posOf(br, cause)) {
				cause = c
			}
		}
		var own *Difference
		locked, ok := lf.Steps[addr]
		switch {
		case res.Status == Failed:
			own = &Difference{addr, FailedToRebuild, fmt.Sprintf("failed to rebuild: %v", res.Err)}
		case res.Status == Waiting:
			own = &Difference{addr, FailedToRebuild, fmt.Sprintf("could not be rebuilt: %v", res.Err)}
		case res.Status != Ran && res.Status != Cached:
			if cause == "" {
				own = &Difference{addr, FailedToRebuild, fmt.Sprintf("not rebuilt (%s: %s)", res.Status, res.Reason)}
			} else {
				own = &Difference{addr, NotCompared, ""}
			}
		case !ok:
			own = &Difference{addr, Differs, "not in " + LockfileName + ": build the recipe and commit the lockfile"}
		case res.Key != locked.Key && why[cause] == Nondeterministic && sameOutputs(s, locked, res):
			// Its inputs changed only because a step declared
			// nondeterministic gave other outputs, and its own outputs
			// are the locked ones, by content: it agrees, and the steps
			// below it see the locked inputs again.
			continue
		case res.Key != locked.Key:
			own = &Difference{addr, Differs, fmt.Sprintf("key differs from the lockfile (%s): the recipe or its sources changed since it was written", diffPreimage(locked.Preimage, res.Preimage))}
		default:
			for _, name := range s.Outputs {
				want, got := locked.Outputs[name], res.Outputs[name]
				if want == got {
					continue
				}
				detail := fmt.Sprintf("output %s differs: locked %s, rebuilt %s", name, want.Short(), got.Short())
				if p := firstTreeDifference(userStore, want, store, got, ""); p != "" {
					detail += "; first differing path: " + p
				}
				if own == nil {
					own = &Difference{addr, Differs, detail}
				} else {
					own.Detail += "; " + detail
				}
			}
		}
		if own == nil {
			continue // agrees with the lockfile
		}
		if own.Finding == Differs && s.Nondeterministic && cause == "" && ok && res.Key == locked.Key {
			own.Finding = Nondeterministic
			own.Detail += " (declared deterministic = false: not a failure)"
		}
		if cause != "" && own.Finding != FailedToRebuild {
			verb := "differs"
			switch why[cause] {
			case FailedToRebuild:
				verb = "failed to rebuild"
			case Nondeterministic:
				verb = "is declared nondeterministic and gave other outputs"
			}
			own.Finding = NotCompared
			own.Detail = fmt.Sprintf("upstream %s %s", cause, verb)
			upstream[s] = cause
		} else {
			upstream[s] = addr
			why[addr] = own.Finding
		}
		diffs = append(diffs, *own)
	}
	for _, addr := range keys(lf.Steps) {
		if r.Step(addr) == nil {
			diffs = append(diffs, Difference{addr, Differs, "in " + LockfileName + " but not in the recipe: build the recipe to update the lockfile"})
		}
	}
	return diffs, br, nil
}

// sameOutputs reports whether a rebuilt step's outputs are the locked ones.
func sameOutputs(s *Step, locked *LockStep, res *StepResult) bool {
	for _, name := range s.Outputs {
		if locked.Outputs[name] != res.Outputs[name] {
			return false
		}
	}
	return true
}

// posOf is the build-order position of the step addr in br.
func posOf(br *BuildResult, addr string) int {
	for i, res := range br.Steps {
		if res.Step.Addr == addr {
			return i
		}
	}
	return len(br.Steps)
}

// VerifyError summarizes a verification's findings: Failed when a step
// could not be rebuilt (the verification is incomplete), else the first
// difference.
type VerifyError struct {
	First  Difference // the first failure, or else the first difference
	Failed bool       // some step failed to rebuild
	Count  int        // differences and failures, not counting NotCompared
}

func (e *VerifyError) Error() string {
	if e.Failed {
		return fmt.Sprintf("verify: %s %s", e.First.Step, e.First.Detail)
	}
	return fmt.Sprintf("verify: %s differs from %s (%d difference(s) in all)", e.First.Step, LockfileName, e.Count)
}

// Judge returns nil when diffs is empty, else a *VerifyError.
func Judge(diffs []Difference) error {
	var e *VerifyError
	for _, d := range diffs {
		if d.Finding == NotCompared || d.Finding == Nondeterministic {
			continue
		}
		if e == nil {
			e = &VerifyError{First: d}
		}
		e.Count++
		if d.Finding == FailedToRebuild && !e.Failed {
			e.First, e.Failed = d, true
		}
	}
	if e == nil {
		return nil
	}
	return e
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
