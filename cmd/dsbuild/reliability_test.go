//go:build unix

package main

// The reliability suite (docs/reliability.md): the real CLI, as separate
// processes, on the recipe testdata/reliability (an import of a fixture, a
// transform and a tiny training), each copy with its own store.
//
//   - TestReliabilityCrashInjection kills builds with SIGKILL at seeded
//     points spread over a build, then requires a clean `cache check` and
//     a rebuild with the lockfile digests of an uninterrupted build.
//   - TestReliabilityCorruption damages one store object of each kind
//     after a build and requires that no damaged byte is ever served: the
//     next build, checkout or `cache check --repair` rebuilds or restores
//     it, and the outputs equal those of the uninterrupted build.
//
// Each test logs its figure (go test -v -run TestReliability ./cmd/dsbuild).
// The executable is this test binary, installed on $PATH as dsbuild by
// TestMain (testscript).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"dsbuild/cache"
	"dsbuild/engine"
)

// relSteps are the steps of testdata/reliability, in build order.
var relSteps = []string{"import.people", "transform.small", "train.tiny"}

// relRecipe is one copy of the suite's recipe with its own store.
type relRecipe struct {
	t     *testing.T
	root  string
	dir   string // the recipe directory
	store string // its store (DSBUILD_CACHE)
}

// sourceTime is the modification time given to the copied sources: old
// enough that the stat cache keeps them (it forgets files changed within
// 2 s of saving).
var sourceTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// newRelRecipe copies the recipe and its data (testdata/fixtures/supervisely)
// under root.
func newRelRecipe(t *testing.T, root string) *relRecipe {
	t.Helper()
	r := &relRecipe{t: t, root: root, dir: filepath.Join(root, "rec"), store: filepath.Join(root, "store")}
	copyTree(t, filepath.Join("..", "..", "testdata", "reliability"), r.dir)
	copyTree(t, filepath.Join("..", "..", "testdata", "fixtures", "supervisely"), filepath.Join(r.dir, "data"))
	return r
}

// copyTree copies the regular files under src to dst, with sourceTime.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return err
		}
		return os.Chtimes(out, sourceTime, sourceTime)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (r *relRecipe) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "dsbuild", args...)
	cmd.Env = append(os.Environ(), "DSBUILD_CACHE="+r.store, "NO_COLOR=1")
	cmd.Dir = r.root
	return cmd
}

// result is what one dsbuild run printed and how it ended.
type result struct {
	args           []string
	stdout, stderr string
	err            error
}

func (res result) String() string {
	return fmt.Sprintf("dsbuild %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(res.args, " "), res.err, res.stdout, res.stderr)
}

// ran lists the steps a build --json reported as ran, in order.
func (res result) ran() []string {
	var out []string
	for _, ev := range jsonEvents(res.stdout) {
		if ev["event"] == "step" && ev["status"] == "ran" {
			out = append(out, fmt.Sprint(ev["step"]))
		}
	}
	return out
}

// warnings lists the warning messages of a --json run.
func (res result) warnings() []string {
	var out []string
	for _, ev := range jsonEvents(res.stdout) {
		if ev["event"] == "warning" {
			out = append(out, fmt.Sprint(ev["message"]))
		}
	}
	return out
}

func jsonEvents(out string) []map[string]any {
	var evs []map[string]any
	for _, line := range strings.Split(out, "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) == nil {
			evs = append(evs, ev)
		}
	}
	return evs
}

// run runs dsbuild with args (relative paths are under r.root).
func (r *relRecipe) run(args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := r.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return result{args, stdout.String(), stderr.String(), err}
}

// must runs dsbuild and fails the test unless it exits 0.
func (r *relRecipe) must(args ...string) result {
	r.t.Helper()
	res := r.run(args...)
	if res.err != nil {
		r.t.Fatalf("%s", res)
	}
	return res
}

// build builds the recipe and fails the test unless the build succeeds.
func (r *relRecipe) build() result {
	r.t.Helper()
	return r.must("build", "--json", "rec")
}

// checkClean runs cache check and fails unless the store has no problem.
func (r *relRecipe) checkClean(what string) {
	r.t.Helper()
	res := r.run("cache", "check")
	if res.err != nil || !strings.Contains(res.stdout, "store OK") || strings.Contains(res.stdout, "PROBLEM") {
		r.t.Fatalf("%s: cache check is not clean:\n%s", what, res)
	}
}

// lockDigests reads the lockfile as "step key" and "step.output digest"
// lines; nil when there is no lockfile.
func (r *relRecipe) lockDigests() (map[string]string, error) {
	if _, err := os.Stat(filepath.Join(r.dir, engine.LockfileName)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	lf, err := engine.ReadLockfile(r.dir)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for step, e := range lf.Steps {
		out[step+" key"] = e.Key.String()
		for name, d := range e.Outputs {
			out[step+"."+name] = d.String()
		}
	}
	return out, nil
}

// diffDigests describes how got differs from want ("" when equal). With
// partial, steps missing from got are not differences.
func diffDigests(got, want map[string]string, partial bool) string {
	var diffs []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok && partial:
		case !ok:
			diffs = append(diffs, k+" missing")
		case g != w:
			diffs = append(diffs, fmt.Sprintf("%s is %s, want %s", k, g, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, k+" unexpected")
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// requireDigests fails unless the lockfile records want exactly.
func (r *relRecipe) requireDigests(what string, want map[string]string) {
	r.t.Helper()
	got, err := r.lockDigests()
	if err != nil {
		r.t.Fatalf("%s: %v", what, err)
	}
	if d := diffDigests(got, want, false); d != "" {
		r.t.Fatalf("%s: the lockfile differs from the uninterrupted build: %s", what, d)
	}
}

// outputs are the step outputs the suite checks out: "step.output".
func (r *relRecipe) outputs() []string {
	r.t.Helper()
	lf, err := engine.ReadLockfile(r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for step, e := range lf.Steps {
		for name := range e.Outputs {
			out = append(out, step+"."+name)
		}
	}
	sort.Strings(out)
	return out
}

// checkoutAll checks out every step output under dir; it returns the
// outputs whose checkout was refused because a blob is corrupt or, once
// one was removed, because the step's outputs are incomplete. Any other
// failure fails the test.
func (r *relRecipe) checkoutAll(dir string) (refused []string) {
	r.t.Helper()
	for _, o := range r.outputs() {
		res := r.run("checkout", "rec", o, filepath.Join(dir, o))
		if res.err == nil {
			continue
		}
		if !strings.Contains(res.stderr, "corrupt") && !strings.Contains(res.stderr, "not in the store") {
			r.t.Fatalf("checkout %s failed, and not because a blob is corrupt or missing:\n%s", o, res)
		}
		refused = append(refused, o)
	}
	return refused
}

// readDir maps the relative paths of the files under dir to their bytes.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// without drops the files of the given outputs ("step.output/...").
func without(files map[string]string, outputs []string) map[string]string {
	out := map[string]string{}
	for p, data := range files {
		keep := true
		for _, o := range outputs {
			if strings.HasPrefix(p, o+string(filepath.Separator)) {
				keep = false
			}
		}
		if keep {
			out[p] = data
		}
	}
	return out
}

// diffFiles names the files that differ between two readDir results.
func diffFiles(got, want map[string]string) []string {
	var diffs []string
	for p, w := range want {
		if g, ok := got[p]; !ok {
			diffs = append(diffs, p+" missing")
		} else if g != w {
			diffs = append(diffs, p+" differs")
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, p+" unexpected")
		}
	}
	sort.Strings(diffs)
	return diffs
}

// killedBuild starts a build and kills it with SIGKILL after offset. It
// reports whether the kill landed (the build was still running), how many
// steps the build had reported as done by then, and, for a build that ended
// first, how long it took.
func (r *relRecipe) killedBuild(offset time.Duration) (landed bool, done int, took time.Duration) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := r.command(ctx, "build", "--json", "rec")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
		took = time.Since(start)
	case <-time.After(offset):
		if kerr := cmd.Process.Signal(syscall.SIGKILL); kerr != nil && !errors.Is(kerr, os.ErrProcessDone) {
			r.t.Fatal(kerr)
		}
		err = <-exited
	}
	res := result{[]string{"build", "--json", "rec"}, stdout.String(), stderr.String(), err}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		r.t.Fatalf("no wait status: %v", cmd.ProcessState)
	}
	if !ws.Signaled() {
		if err != nil {
			r.t.Fatalf("the build ended before the kill, and failed:\n%s", res)
		}
		if took == 0 {
			took = offset
		}
		return false, len(res.ran()), took
	}
	if ws.Signal() != syscall.SIGKILL {
		r.t.Fatalf("the build died of %v, not of the kill:\n%s", ws.Signal(), res)
	}
	return true, len(res.ran()), 0
}

// TestReliabilityCrashInjection: kill -9 at ≥ 30 points of builds spread
// over a build's duration (seeded), then cache check is clean and a
// rebuild records the digests of an uninterrupted build. A lockfile the
// killed build left must be readable and agree with those digests.
func TestReliabilityCrashInjection(t *testing.T) {
	kills := 30
	if testing.Short() {
		kills = 6
	}
	began := time.Now()
	base := t.TempDir()

	// The reference: three uninterrupted builds, which must agree; the
	// build's duration is their median.
	var want map[string]string
	var durations []time.Duration
	for i := range 3 {
		ref := newRelRecipe(t, filepath.Join(base, fmt.Sprintf("ref%d", i)))
		start := time.Now()
		res := ref.build()
		durations = append(durations, time.Since(start))
		if got := res.ran(); len(got) != len(relSteps) {
			t.Fatalf("the reference build ran %v, want %v", got, relSteps)
		}
		got, err := ref.lockDigests()
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = got
		} else if d := diffDigests(got, want, false); d != "" {
			t.Fatalf("two uninterrupted builds differ: %s", d)
		}
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	measured := durations[1]
	duration := measured

	// The i-th kill lands at a seeded point of the i-th of kills equal
	// slices of the measured duration. A build that ends before its kill
	// shows the duration was overestimated (the machine is shared): the
	// kill is drawn again, with the duration that build took.
	rng := rand.New(rand.NewPCG(11, 2025))
	phases := append([]string{"loading or import"}, relSteps[1:]...)
	phases = append(phases, "recording")
	byPhase := make([]int, len(phases))
	landed, missed, checks, equal := 0, 0, 0, 0
	for attempt := 0; landed < kills; attempt++ {
		if attempt >= 3*kills {
			t.Fatalf("only %d of %d kills landed in %d attempts (the build took %v when measured)", landed, kills, attempt, measured)
		}
		frac := (float64(landed) + rng.Float64()) / float64(kills)
		offset := time.Duration(frac * float64(duration))
		r := newRelRecipe(t, filepath.Join(base, fmt.Sprintf("try%02d", attempt)))
		hit, done, took := r.killedBuild(offset)
		if !hit {
			missed++
			t.Logf("kill at %v (%.2f of the build) came after the build ended at %v; drawing again", offset.Round(time.Millisecond), frac, took.Round(time.Millisecond))
			duration = min(duration, took)
			if err := os.RemoveAll(r.root); err != nil {
				t.Fatal(err)
			}
			continue
		}
		landed++
		byPhase[done]++
		what := fmt.Sprintf("kill %d at %v (%.2f of the build, during %s)", landed, offset.Round(time.Millisecond), frac, phases[done])

		// Whatever lockfile the killed build left is readable and true.
		got, err := r.lockDigests()
		if err != nil {
			t.Fatalf("%s: the lockfile left behind: %v", what, err)
		}
		if d := diffDigests(got, want, true); d != "" {
			t.Fatalf("%s: the lockfile left behind is wrong: %s", what, d)
		}
		r.checkClean(what)
		checks++
		r.build()
		r.requireDigests(what+", rebuilt", want)
		equal++
		if err := os.RemoveAll(r.root); err != nil {
			t.Fatal(err)
		}
	}
	var spread []string
	for i, n := range byPhase {
		spread = append(spread, fmt.Sprintf("%s %d", phases[i], n))
	}
	t.Logf("crash injection: %d kills (during %s; %d drawn again after the build ended), %d clean checks, %d rebuilds equal; build %v (median of 3), suite %v",
		landed, strings.Join(spread, ", "), missed, checks, equal, measured.Round(time.Millisecond), time.Since(began).Round(time.Second))
}

// corruption is one case of TestReliabilityCorruption: a store object of
// one kind, damaged after a build.
type corruption struct {
	name    string // the case, as docs/reliability.md names it
	outcome string // what must happen, as docs/reliability.md says it
	// refuses: the first build after the damage must refuse the store
	// (then cache check --repair runs); every other build must succeed.
	refuses bool
	// damage corrupts the object in the store of r, built.
	damage func(t *testing.T, r *relRecipe)
	// expect checks the recovery against the outcome.
	expect func(t *testing.T, rec recovery)
}

// recovery is what the commands after the damage did.
type recovery struct {
	build    result   // the first build after the damage
	repair   *result  // cache check --repair, when the build refused the store
	refused  []string // outputs whose checkout was refused as corrupt
	rebuild  *result  // the build after a refused checkout
	warnings []string // of both builds
}

// summary says what happened after the first build, for the log.
func (rec recovery) summary() string {
	var parts []string
	if rec.repair != nil {
		parts = append(parts, fmt.Sprintf("cache check --repair: %q", strings.TrimSpace(rec.repair.stdout+rec.repair.stderr)))
	}
	if len(rec.refused) > 0 {
		parts = append(parts, fmt.Sprintf("checkout refused %v", rec.refused))
	}
	if rec.rebuild != nil {
		parts = append(parts, fmt.Sprintf("the next build ran %v", rec.rebuild.ran()))
	}
	parts = append(parts, fmt.Sprintf("warnings %q", rec.warnings))
	return strings.Join(parts, "; ")
}

// storeOf opens r's store (only while no dsbuild runs on it).
func storeOf(t *testing.T, r *relRecipe) *cache.Store {
	t.Helper()
	s, err := cache.Open(r.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lockEntry is a step's lockfile entry.
func lockEntry(t *testing.T, r *relRecipe, step string) *engine.LockStep {
	t.Helper()
	lf, err := engine.ReadLockfile(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	e := lf.Steps[step]
	if e == nil {
		t.Fatalf("%s is not in the lockfile", step)
	}
	return e
}

// blobFile is the file that holds blob d in r's store (raw or compressed).
func blobFile(t *testing.T, r *relRecipe, d cache.Digest) string {
	t.Helper()
	h := d.Hex()
	p := filepath.Join(r.store, "blobs", h[:2], h)
	for _, c := range []string{p, p + ".zst"} {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	t.Fatalf("blob %s is not in the store", d.Short())
	return ""
}

// storedFile finds the store file of the first file of a step output's
// tree whose name has suffix and whose blob is stored compressed (zstd) or
// raw (whose size the build's check of a cache hit compares).
func storedFile(t *testing.T, r *relRecipe, step, output, suffix string, compressed bool) string {
	t.Helper()
	var found string
	err := storeOf(t, r).WalkTree(lockEntry(t, r, step).Outputs[output], func(p string, e cache.TreeEntry) error {
		if found != "" || e.Kind == cache.Dir || !strings.HasSuffix(p, suffix) {
			return nil
		}
		h := e.Digest.Hex()
		b := filepath.Join(r.store, "blobs", h[:2], h)
		if compressed {
			b += ".zst"
		}
		if fileExists(b) {
			found = b
		}
		return nil
	})
	if err != nil || found == "" {
		t.Fatalf("no blob of a *%s file of %s.%s stored with compressed=%v (%v)", suffix, step, output, compressed, err)
	}
	return found
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// overwrite replaces the file at p (a read-only store object) with data.
func overwrite(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o444); err != nil {
		t.Fatal(err)
	}
}

// flipByte inverts the bits of the byte at offset i of the file at p (from
// the end when i < 0): the same size, other content.
func flipByte(t *testing.T, p string, i int) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if i < 0 {
		i += len(data)
	}
	data[i] ^= 0xff
	overwrite(t, p, data)
}

// entryFile is the file of a step's action cache entry.
func entryFile(t *testing.T, r *relRecipe, step string) string {
	t.Helper()
	h := lockEntry(t, r, step).Key.Hex()
	p := filepath.Join(r.store, "ac", h[:2], h)
	if !fileExists(p) {
		t.Fatalf("no action entry for %s", step)
	}
	return p
}

// storeFiles lists the files under a directory of r's store.
func storeFiles(t *testing.T, r *relRecipe, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(r.store, dir), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("no files under %s of the store (%v)", dir, err)
	}
	sort.Strings(out)
	return out
}

// corruptions are the cases: every kind of store object.
func corruptions() []corruption {
	ran := func(t *testing.T, res result, want ...string) {
		t.Helper()
		if got := res.ran(); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("dsbuild %s ran %v, want %v", strings.Join(res.args, " "), got, want)
		}
	}
	warned := func(t *testing.T, rec recovery, substr string) {
		t.Helper()
		for _, w := range rec.warnings {
			if strings.Contains(w, substr) {
				return
			}
		}
		t.Errorf("no warning says %q; warnings: %q", substr, rec.warnings)
	}
	noRefusal := func(t *testing.T, rec recovery) {
		t.Helper()
		if len(rec.refused) > 0 || rec.rebuild != nil {
			t.Errorf("checkout refused %v after the build: the build should have rebuilt them", rec.refused)
		}
	}
	// refusedOnly: checkout refused first, and only outputs of
	// the same step (whose outputs are then incomplete).
	refusedOnly := func(t *testing.T, rec recovery, first, prefix string) {
		t.Helper()
		if len(rec.refused) == 0 || rec.refused[0] != first || rec.rebuild == nil {
			t.Fatalf("checkout refused %v, want %s first", rec.refused, first)
		}
		for _, o := range rec.refused {
			if !strings.HasPrefix(o, prefix) {
				t.Errorf("checkout refused %s too", o)
			}
		}
	}
	return []corruption{
		{
			name:    "blob: a step output file, another size",
			outcome: "the build's check of its cache hit sees the size and removes it; transform.small re-runs (its items from the memo, whose outputs are checked too); train.tiny stays cached",
			damage: func(t *testing.T, r *relRecipe) {
				overwrite(t, storedFile(t, r, "transform.small", "dataset", ".png", false), []byte("this is not what was stored\n"))
			},
			expect: func(t *testing.T, rec recovery) {
				ran(t, rec.build, "transform.small")
				warned(t, rec, "is corrupt")
				noRefusal(t, rec)
			},
		},
		{
			name:    "blob: a step output file, same size",
			outcome: "invisible to the build's cheap check (nothing re-runs); checkout re-hashes it, refuses it and removes it; the next build re-runs transform.small",
			damage: func(t *testing.T, r *relRecipe) {
				flipByte(t, storedFile(t, r, "transform.small", "dataset", ".png", false), -1)
			},
			expect: func(t *testing.T, rec recovery) {
				ran(t, rec.build)
				refusedOnly(t, rec, "transform.small.dataset", "transform.small.")
				ran(t, *rec.rebuild, "transform.small")
			},
		},
		{
			name:    "blob: a compressed step output file",
			outcome: "invisible to the build's cheap check (no size to compare); checkout decompresses and re-hashes it, refuses it and removes it; the next build re-runs train.tiny",
			damage: func(t *testing.T, r *relRecipe) {
				flipByte(t, storedFile(t, r, "train.tiny", "model", ".safetensors", true), -1)
			},
			expect: func(t *testing.T, rec recovery) {
				ran(t, rec.build)
				refusedOnly(t, rec, "train.tiny.model", "train.tiny.")
				ran(t, *rec.rebuild, "train.tiny")
			},
		},
		{
			name:    "blob: an imported image",
			outcome: "the import's cache hit sees the size and removes the blob; reading the source tree then misses it, so the sources are hashed again (repairing) and it is stored again from data/; every step is then a complete cache hit",
			damage: func(t *testing.T, r *relRecipe) {
				overwrite(t, storedFile(t, r, "import.people", "dataset", ".png", false), []byte("not a PNG\n"))
			},
			expect: func(t *testing.T, rec recovery) {
				ran(t, rec.build)
				warned(t, rec, "is corrupt")
				warned(t, rec, "rebuilding its inputs")
				noRefusal(t, rec)
			},
		},
		{
			name:    "tree: a step's output tree",
			outcome: "the cache hit re-hashes the tree, re-runs transform.small (its items from the memo); train.tiny stays cached",
			damage: func(t *testing.T, r *relRecipe) {
				flipByte(t, blobFile(t, r, lockEntry(t, r, "transform.small").Outputs["dataset"]), 20)
			},
			expect: func(t *testing.T, rec recovery) {
				ran(t, rec.build, "transform.small")
				warned(t, rec, "is corrupt")
				noRefusal(t, rec)
			},
		},
		{
			name:    "action entry",
			outcome: "its check line fails: a miss, removed; train.tiny re-runs and writes it again",
			damage: func(t *testing.T, r *relRecipe) {
				p := entryFile(t, r, "train.tiny")
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				i := bytes.Index(data, []byte("output model sha256:"))
				if i < 0 {
					t.Fatalf("no output line in %q", data)
				}
				i += len("output model sha256:")
				if data[i] == '0' {
					data[i] = '1'
				} else {
					data[i] = '0'
				}
				overwrite(t, p, data)
			},
			expect: func(t *testing.T, rec recovery) {
				ran(t, rec.build, "train.tiny")
				warned(t, rec, "entry")
				noRefusal(t, rec)
			},
		},
		{
			name:    "item memo",
			outcome: "with the import's and transform's action entries gone, both re-run and consult the memo: each damaged entry is a miss, its item is recomputed",
			damage: func(t *testing.T, r *relRecipe) {
				for _, p := range storeFiles(t, r, "memo") {
					flipByte(t, p, -10)
				}
				for _, step := range []string{"import.people", "transform.small"} {
					if err := os.Remove(entryFile(t, r, step)); err != nil {
						t.Fatal(err)
					}
				}
			},
			expect: func(t *testing.T, rec recovery) {
				ran(t, rec.build, "import.people", "transform.small")
				warned(t, rec, "memo entry")
				noRefusal(t, rec)
			},
		},
		{
			name:    "stat cache: not parseable",
			outcome: "ignored with a warning; the sources are hashed again; nothing re-runs",
			damage: func(t *testing.T, r *relRecipe) {
				for _, p := range storeFiles(t, r, "stat") {
					overwrite(t, p, []byte("dsbuild stat v1\nthis is not a stat cache line\n"))
				}
			},
			expect: func(t *testing.T, rec recovery) {
				ran(t, rec.build)
				warned(t, rec, "stat cache")
				noRefusal(t, rec)
			},
		},
		{
			name:    "stat cache: a well-formed line with a wrong digest",
			outcome: "the import's key then names a blob the store lacks: reading it fails, the sources are hashed again (repairing) and the right key is a cache hit; nothing re-runs",
			damage: func(t *testing.T, r *relRecipe) {
				for _, p := range storeFiles(t, r, "stat") {
					flipHexDigit(t, p)
				}
			},
			expect: func(t *testing.T, rec recovery) {
				ran(t, rec.build)
				warned(t, rec, "is not in the store")
				noRefusal(t, rec)
			},
		},
		{
			name:    "VERSION",
			outcome: "builds refuse the store and say to run cache check --repair, which checks every object and restores VERSION; the next build runs nothing",
			refuses: true,
			damage: func(t *testing.T, r *relRecipe) {
				overwrite(t, filepath.Join(r.store, "VERSION"), []byte("dsbuild st"))
			},
			expect: func(t *testing.T, rec recovery) {
				if !strings.Contains(rec.build.stderr, "cache check --repair") {
					t.Errorf("the build refused the store with a damaged VERSION without naming cache check --repair:\n%s", rec.build)
				}
				if rec.repair == nil || !strings.Contains(rec.repair.stdout+rec.repair.stderr, "VERSION was restored") {
					t.Fatalf("cache check --repair did not restore VERSION: %v", rec.repair)
				}
				ran(t, *rec.rebuild)
				if len(rec.refused) > 0 {
					t.Errorf("checkout refused %v after the repair", rec.refused)
				}
			},
		},
	}
}

// flipHexDigit changes one hex digit of the digest on the first entry line
// of a stat cache file, keeping it well-formed.
func flipHexDigit(t *testing.T, p string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || nl+1 >= len(data) {
		t.Fatalf("stat cache %s has no entry line: %q", p, data)
	}
	i := nl + 1
	if data[i] == '0' {
		data[i] = '1'
	} else {
		data[i] = '0'
	}
	overwrite(t, p, data)
}

// TestReliabilityCorruption: one store object of every kind is damaged
// after a build; no damaged byte is ever served (every checkout equals the
// uninterrupted build's, or is refused as corrupt), the next build or
// cache check --repair rebuilds or restores it, the lockfile records the
// uninterrupted build's digests and cache check is clean.
func TestReliabilityCorruption(t *testing.T) {
	began := time.Now()
	base := t.TempDir()
	ref := newRelRecipe(t, filepath.Join(base, "ref"))
	ref.build()
	want, err := ref.lockDigests()
	if err != nil {
		t.Fatal(err)
	}
	refOut := filepath.Join(base, "ref-out")
	if refused := ref.checkoutAll(refOut); len(refused) > 0 {
		t.Fatalf("checkout of a fresh build refused %v", refused)
	}
	wantFiles := readDir(t, refOut)

	cases := corruptions()
	passed := 0
	for i, c := range cases {
		ok := t.Run(c.name, func(t *testing.T) {
			r := newRelRecipe(t, filepath.Join(base, fmt.Sprintf("case%d", i)))
			r.build()
			// A second, cached build saves the stat cache of sources
			// that were racily new at the first.
			r.build()
			r.requireDigests("before the damage", want)
			c.damage(t, r)

			var rec recovery
			rec.build = r.run("build", "--json", "rec")
			rec.warnings = append(rec.warnings, rec.build.warnings()...)
			if (rec.build.err != nil) != c.refuses {
				t.Fatalf("after the damage, the build should refuse the store: %v\n%s", c.refuses, rec.build)
			}
			if c.refuses {
				res := r.run("cache", "check", "--repair")
				rec.repair = &res
				rb := r.must("build", "--json", "rec")
				rec.rebuild = &rb
				rec.warnings = append(rec.warnings, rb.warnings()...)
			}
			// Every output checks out as the uninterrupted build's bytes,
			// or is refused as corrupt (and then rebuilt).
			out := filepath.Join(r.root, "out")
			rec.refused = r.checkoutAll(out)
			if d := diffFiles(without(readDir(t, out), rec.refused), without(wantFiles, rec.refused)); len(d) > 0 {
				t.Fatalf("checkout served bytes other than the uninterrupted build's: %v", d)
			}
			if len(rec.refused) > 0 {
				if rec.rebuild != nil {
					t.Fatalf("checkout refused %v after the store was repaired and rebuilt", rec.refused)
				}
				rb := r.must("build", "--json", "rec")
				rec.rebuild = &rb
				rec.warnings = append(rec.warnings, rb.warnings()...)
				out = filepath.Join(r.root, "out2")
				if refused := r.checkoutAll(out); len(refused) > 0 {
					t.Fatalf("checkout refused %v again after a rebuild", refused)
				}
			}
			if d := diffFiles(readDir(t, out), wantFiles); len(d) > 0 {
				t.Fatalf("the outputs checked out differ from the uninterrupted build's: %v", d)
			}
			r.requireDigests("after the recovery", want)
			r.checkClean("after the recovery")
			t.Logf("%s: build ran %v; %s", c.name, rec.build.ran(), rec.summary())
			c.expect(t, rec)
		})
		if ok {
			passed++
		}
	}
	t.Logf("store corruption: %d cases (blob ×4, tree, action entry, item memo, stat cache ×2, VERSION), %d never served and rebuilt or repaired with equal outputs and a clean check; suite %v",
		len(cases), passed, time.Since(began).Round(time.Second))
}
