package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"dsbuild/cache"
)

// LockfileName is the lockfile's name in the recipe directory.
const LockfileName = "dsbuild.lock"

// LockfileLockName is the file beside the lockfile that builds hold an
// exclusive flock on while they read, merge and rewrite the lockfile. dsbuild
// creates it (empty) and never removes it; it is not part of the recipe.
const LockfileLockName = ".dsbuild.lock.lock"

// Lockfile records, for each step, its key, its output digests and the
// preimage of its key, and the variable values the recipe was built with.
// It is JSON with sorted keys and no timestamps, so the same build always
// writes the same bytes and a VCS diff shows only what changed.
//
// A lockfile is a record to check, never an authority: commands that
// resolve a step through it (ResolveLocked) recompute the step's key from
// the recipe and compare.
type Lockfile struct {
	Version int `json:"version"`
	// Vars are the values that -var and -var-file gave the last build, as
	// JSON, by variable name; absent when it set none. plan and verify use
	// them, so that they look at the recipe state that was built.
	Vars  map[string]json.RawMessage `json:"vars,omitempty"`
	Steps map[string]*LockStep       `json:"steps"`
}

// LockStep is one step's entry.
type LockStep struct {
	Key      StepKey                 `json:"key"`
	Outputs  map[string]cache.Digest `json:"outputs"`
	Preimage []string                `json:"preimage"`
	// Nondeterministic records the step's deterministic = false: its
	// outputs may differ from one run to the next, and verify reports
	// such a difference apart instead of failing.
	Nondeterministic bool `json:"nondeterministic,omitempty"`
}

// ReadLockfile reads the lockfile of the recipe in dir; a missing lockfile
// is an empty one.
func ReadLockfile(dir string) (*Lockfile, error) {
	p := filepath.Join(dir, LockfileName)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lockfile{Version: 1, Steps: map[string]*LockStep{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var lf Lockfile
	if err := json.Unmarshal(data, &lf); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it and build again to recreate it)", p, err)
	}
	if lf.Version != 1 {
		return nil, fmt.Errorf("%s: version %d, this dsbuild reads version 1", p, lf.Version)
	}
	if lf.Steps == nil {
		lf.Steps = map[string]*LockStep{}
	}
	for addr, s := range lf.Steps {
		if s == nil {
			return nil, fmt.Errorf("%s: step %s has no entry (delete it and build again to recreate it)", p, addr)
		}
	}
	if _, err := lf.VarValues(); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &lf, nil
}

// VarValues decodes the recorded variable values, for LoadOptions.Recorded.
func (lf *Lockfile) VarValues() (map[string]cty.Value, error) {
	if len(lf.Vars) == 0 {
		return nil, nil
	}
	out := map[string]cty.Value{}
	for _, name := range keys(lf.Vars) {
		raw := lf.Vars[name]
		t, err := ctyjson.ImpliedType(raw)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		v, err := ctyjson.Unmarshal(raw, t)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

// setVars records vals (Recipe.Vars) as JSON.
func (lf *Lockfile) setVars(vals map[string]cty.Value) error {
	lf.Vars = nil
	for _, name := range keys(vals) {
		v := vals[name]
		if !v.IsWhollyKnown() || v.IsNull() {
			continue
		}
		raw, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return fmt.Errorf("recording variable %q: %w", name, err)
		}
		if lf.Vars == nil {
			lf.Vars = map[string]json.RawMessage{}
		}
		lf.Vars[name] = raw
	}
	return nil
}

// VarsJSON encodes variable values (Recipe.Vars) as the lockfile records
// them; VarsFromJSON decodes them for LoadOptions.Recorded. A recipe
// loaded elsewhere with them has the same variables.
func VarsJSON(vals map[string]cty.Value) (map[string]json.RawMessage, error) {
	lf := &Lockfile{}
	err := lf.setVars(vals)
	return lf.Vars, err
}

// VarsFromJSON decodes what VarsJSON encoded.
func VarsFromJSON(raw map[string]json.RawMessage) (map[string]cty.Value, error) {
	return (&Lockfile{Vars: raw}).VarValues()
}

// DescribeVars lists recorded values as name=value, for messages.
func DescribeVars(vals map[string]cty.Value, names []string) string {
	var parts []string
	for _, n := range names {
		v := vals[n]
		s := "?"
		if raw, err := ctyjson.Marshal(v, v.Type()); err == nil {
			s = string(raw)
		}
		parts = append(parts, n+"="+s)
	}
	return strings.Join(parts, " ")
}

// Encode returns the lockfile's canonical bytes.
func (lf *Lockfile) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(lf); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Write saves the lockfile atomically (a temporary file in dir and a
// rename) into dir, only if its bytes changed. Anything but a regular file
// at the lockfile's path (a symlink, a directory) is refused, not replaced.
// Builds use MergeLockfile, which holds the lockfile's lock around the
// read, the merge and this write.
func (lf *Lockfile) Write(dir string) error {
	data, err := lf.Encode()
	if err != nil {
		return err
	}
	p := filepath.Join(dir, LockfileName)
	if err := CheckOutputFile(p); err != nil {
		return fmt.Errorf("%w; move it away and build again", err)
	}
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := cache.WriteFileAtomic(p, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// LockLockfile takes the exclusive lock that serializes updates of the
// lockfile in dir: a flock on LockfileLockName beside it, which it creates
// if needed. Builds of one recipe may use different stores, so the lock
// lives with the lockfile, not in a store.
func LockLockfile(dir string) (cache.Unlock, error) {
	u, err := cache.LockFile(filepath.Join(dir, LockfileLockName), true)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", filepath.Join(dir, LockfileName), err)
	}
	return u, nil
}

// MergeLockfile records a build's results in the lockfile of r: under the
// lockfile's lock it reads the lockfile as it is now (other builds of the
// recipe may have written it since this one started), merges br into it
// with UpdateLockfile and writes it atomically. It returns what it wrote.
func MergeLockfile(r *Recipe, br *BuildResult) (*Lockfile, error) {
	unlock, err := LockLockfile(r.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	lf, err := ReadLockfile(r.Dir)
	if err != nil {
		return nil, err
	}
	if err := UpdateLockfile(lf, r, br); err != nil {
		return nil, err
	}
	if err := lf.Write(r.Dir); err != nil {
		return nil, err
	}
	return lf, nil
}

// Roots returns the digests and keys the lockfile names, for garbage
// collection.
func (lf *Lockfile) Roots() (roots []cache.Digest, actions []cache.ActionKey) {
	for _, name := range keys(lf.Steps) {
		s := lf.Steps[name]
		actions = append(actions, s.Key.action())
		for _, o := range keys(s.Outputs) {
			roots = append(roots, s.Outputs[o])
		}
	}
	return roots, actions
}

// StaleError says that a lockfile's entry does not describe the step as the
// recipe, its sources and the store give it now.
type StaleError struct {
	Step   string
	Dir    string // the recipe directory, for the advice
	Detail string
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("stale: the lockfile's entry for %s %s; run dsbuild build %s %s, or name a tag or digest", e.Step, e.Detail, e.Dir, e.Step)
}

// ResolveLocked returns the outputs of step s as the lockfile records them,
// after checking the record: s's key is recomputed from the recipe (as plan
// does: sources hashed, upstream outputs from the store's action cache) and
// must equal the lockfile's key, and the store's action cache must hold the
// same outputs for that key, complete. Anything else is an error (a
// *StaleError when the lockfile's entry is from another recipe state or
// names other outputs) and no digest. dir is the recipe as the user named
// it, for messages.
func ResolveLocked(ctx context.Context, r *Recipe, lf *Lockfile, store *cache.Store, s *Step, dir string) (map[string]cache.Digest, error) {
	entry, ok := lf.Steps[s.Addr]
	if !ok {
		return nil, fmt.Errorf("%s is not in %s: build it first (dsbuild build %s %s)", s.Addr, LockfileName, dir, s.Addr)
	}
	br, err := Build(ctx, r, BuildOptions{Store: store, Targets: []*Step{s}, Lock: lf, DryRun: true, KeepGoing: true})
	if err != nil {
		return nil, err
	}
	res := br.Result(s)
	switch {
	case res == nil:
		return nil, fmt.Errorf("%s: not planned", s.Addr)
	case res.Status == Failed:
		return nil, res.Err
	case res.Key.IsZero():
		// An upstream step would run: either its entry is stale too, or
		// its outputs are not in the store. Either way the key cannot be
		// known.
		for _, u := range br.Steps {
			if u.Key.IsZero() || u.Step == s {
				continue
			}
			if ue, ok := lf.Steps[u.Step.Addr]; !ok || ue.Key != u.Key {
				why := "not in " + LockfileName
				if ok {
					why = diffPreimage(ue.Preimage, u.Preimage)
				}
				return nil, &StaleError{Step: s.Addr, Dir: dir, Detail: fmt.Sprintf("was built from another recipe state (upstream %s: %s)", u.Step.Addr, why)}
			}
		}
		return nil, fmt.Errorf("%s cannot be checked against %s: an upstream step is not in the store (%s), so its key is not known; build it again (dsbuild build %s %s)", s.Addr, LockfileName, res.Reason, dir, s.Addr)
	case res.Key != entry.Key:
		why := diffPreimage(entry.Preimage, res.Preimage)
		if why == "" {
			why = "key differs"
		}
		return nil, &StaleError{Step: s.Addr, Dir: dir, Detail: fmt.Sprintf("was built from another recipe state (%s)", why)}
	case res.Status != Cached:
		return nil, fmt.Errorf("%s: its outputs are not in the store (%s): build it again (dsbuild build %s %s)", s.Addr, res.Reason, dir, s.Addr)
	}
	for _, name := range keys(res.Outputs) {
		if entry.Outputs[name] != res.Outputs[name] {
			return nil, &StaleError{Step: s.Addr, Dir: dir, Detail: fmt.Sprintf("names output %s %s, but the store records %s for its key (the lockfile was edited, or written by another build)", name, entry.Outputs[name].Short(), res.Outputs[name].Short())}
		}
	}
	if len(entry.Outputs) != len(res.Outputs) {
		return nil, &StaleError{Step: s.Addr, Dir: dir, Detail: "names other outputs than the step has"}
	}
	return res.Outputs, nil
}
