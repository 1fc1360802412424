package engine_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
)

// probe says how probeKind behaves, per step address, and records what it
// saw.
type probe struct {
	mu     sync.Mutex
	noisy  map[string]bool // a different output at every run
	fail   map[string]bool
	wait   map[string]bool
	calls  int
	stores []string // rc.Store.Dir() of every run
	during func(*engine.RunContext)
}

// probeKind writes value and its inputs' digests into a one-file tree.
type probeKind struct{ p *probe }

func (probeKind) Name() string { return "probe" }
func (probeKind) Version() int { return 1 }
func (probeKind) Schema() *engine.Schema {
	return &engine.Schema{
		Attrs: []engine.AttrSpec{
			{Name: "value", Type: cty.String, Required: true},
			{Name: "from", Kind: engine.InputList},
		},
		Outputs: []string{"out"},
	}
}
func (k probeKind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	p := k.p
	p.mu.Lock()
	p.calls++
	n := p.calls
	p.stores = append(p.stores, rc.Store.Dir())
	noisy, fail, wait, during := p.noisy[rc.Step.Addr], p.fail[rc.Step.Addr], p.wait[rc.Step.Addr], p.during
	p.mu.Unlock()
	if during != nil {
		during(rc)
	}
	switch {
	case fail:
		return nil, errors.New("asked to fail")
	case wait:
		return nil, &engine.WaitingError{Msg: "waiting for review results"}
	}
	content := rc.Config.String("value")
	for _, name := range slices.Sorted(maps.Keys(rc.Inputs)) {
		content += " " + rc.Inputs[name].Short()
	}
	if noisy {
		content += fmt.Sprintf(" run %d", n)
	}
	return fileTree(rc.Store, content)
}

// verifyRecipe: a → b → c, and an independent d.
const verifyRecipe = `
probe "a" {
  value = "a"
}
probe "b" {
  value = "b"
  from  = probe.a
}
probe "c" {
  value = "c"
  from  = probe.b
}
probe "d" {
  value = "d"
}
`

func newVerifyFixture(t *testing.T) (*fixture, *probe) {
	f := newFixture(t, verifyRecipe)
	p := &probe{noisy: map[string]bool{}, fail: map[string]bool{}, wait: map[string]bool{}}
	f.kinds = engine.NewKinds(probeKind{p})
	r := f.load(engine.LoadOptions{})
	if br := f.record(r, engine.BuildOptions{}); br.Counts[engine.Ran] != 4 {
		t.Fatalf("build: %v", br.Counts)
	}
	return f, p
}

func (f *fixture) verify() ([]engine.Difference, error) {
	f.t.Helper()
	r := f.load(engine.LoadOptions{})
	lf, err := engine.ReadLockfile(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	diffs, _, err := engine.Verify(context.Background(), r, lf, f.store, engine.BuildOptions{Jobs: 2})
	if err != nil {
		f.t.Fatalf("Verify: %v", err)
	}
	return diffs, engine.Judge(diffs)
}

func diffLines(diffs []engine.Difference) string {
	var b strings.Builder
	for _, d := range diffs {
		fmt.Fprintf(&b, "%s %s: %s\n", d.Finding, d.Step, d.Detail)
	}
	return b.String()
}

func TestVerifyAgrees(t *testing.T) {
	f, _ := newVerifyFixture(t)
	diffs, err := f.verify()
	if len(diffs) != 0 || err != nil {
		t.Errorf("verify of a deterministic recipe: %s%v", diffLines(diffs), err)
	}
}

// Issue 11, item 8: a step whose outputs differ is a difference (exit 3);
// the steps downstream of it are not compared, not blamed.
func TestVerifyDifferenceIsNotBlamedDownstream(t *testing.T) {
	f, p := newVerifyFixture(t)
	p.noisy["probe.a"] = true
	diffs, err := f.verify()
	got := diffLines(diffs)
	if len(diffs) != 3 ||
		!strings.HasPrefix(got, "differs probe.a: output out differs: locked ") ||
		!strings.Contains(got, "; first differing path: v\n") ||
		!strings.Contains(got, "not compared probe.b: upstream probe.a differs\n") ||
		!strings.Contains(got, "not compared probe.c: upstream probe.a differs\n") {
		t.Errorf("verify with a nondeterministic probe.a:\n%s", got)
	}
	var ve *engine.VerifyError
	if !errors.As(err, &ve) || ve.Failed || ve.Count != 1 || err.Error() != "verify: probe.a differs from dsbuild.lock (1 difference(s) in all)" {
		t.Errorf("Judge = %v, want one difference, not a failure", err)
	}
}

// Issue 11, item 8: a step that fails to rebuild, or waits, is a failure
// that names it (exit 1), not a difference.
func TestVerifyFailureIsNotADifference(t *testing.T) {
	for _, how := range []string{"fail", "wait"} {
		t.Run(how, func(t *testing.T) {
			f, p := newVerifyFixture(t)
			if how == "fail" {
				p.fail["probe.b"] = true
			} else {
				p.wait["probe.b"] = true
			}
			diffs, err := f.verify()
			got := diffLines(diffs)
			if len(diffs) != 2 ||
				!strings.HasPrefix(got, "failed probe.b: ") ||
				!strings.Contains(got, "not compared probe.c: upstream probe.b failed to rebuild\n") {
				t.Errorf("verify with probe.b failing:\n%s", got)
			}
			var ve *engine.VerifyError
			if !errors.As(err, &ve) || !ve.Failed || ve.First.Step != "probe.b" || !strings.HasPrefix(err.Error(), "verify: probe.b ") {
				t.Errorf("Judge = %v, want a failure naming probe.b", err)
			}
		})
	}
	// A failure beside a difference: the verification is incomplete, so a
	// failure it is; the difference is still listed.
	f, p := newVerifyFixture(t)
	p.noisy["probe.d"] = true
	p.fail["probe.a"] = true
	diffs, err := f.verify()
	var ve *engine.VerifyError
	if !errors.As(err, &ve) || !ve.Failed || ve.First.Step != "probe.a" || ve.Count != 2 || len(diffs) != 4 {
		t.Errorf("verify with a failure and a difference:\n%sJudge = %v", diffLines(diffs), err)
	}
}

// Issue 11, item 10: verify's temporary store lives in the user store's
// tmp/, and verify holds the store's shared lock meanwhile: a gc started
// during a verify waits and does not remove the live store; a store that a
// killed verify left is removed by the next gc.
func TestVerifyTempStoreAndGC(t *testing.T) {
	t.Parallel() // it waits
	f, p := newVerifyFixture(t)
	gcDone := make(chan error, 1)
	var once sync.Once
	p.during = func(rc *engine.RunContext) {
		once.Do(func() {
			go func() {
				_, err := f.store.GC(context.Background(), cache.GCOptions{KeepBuilds: 10, LockfileRoots: lockfileRoots})
				gcDone <- err
			}()
			time.Sleep(100 * time.Millisecond)
		})
	}
	p.stores = nil
	if diffs, err := f.verify(); err != nil {
		t.Errorf("verify with a gc waiting: %s%v", diffLines(diffs), err)
	}
	for _, d := range p.stores {
		if filepath.Dir(d) != filepath.Join(f.store.Dir(), "tmp") || !strings.HasPrefix(filepath.Base(d), "verify-") {
			t.Errorf("verify ran a step in store %s, want tmp/verify-* of %s", d, f.store.Dir())
		}
	}
	select {
	case err := <-gcDone:
		if err != nil {
			t.Errorf("gc: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gc still blocked 10 s after verify")
	}
	if ents, _ := os.ReadDir(filepath.Join(f.store.Dir(), "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ after verify and gc holds %d entries", len(ents))
	}

	// A killed verify leaves its store behind: gc removes it.
	dir, err := f.store.TempDir("verify-")
	if err != nil {
		t.Fatal(err)
	}
	left, err := cache.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := left.PutBytes([]byte("half a verify")); err != nil {
		t.Fatal(err)
	}
	rep, err := f.store.GC(context.Background(), cache.GCOptions{KeepBuilds: 10, LockfileRoots: lockfileRoots})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) || rep.TempFiles != 1 {
		t.Errorf("gc left a killed verify's store (%v), reported %d temporary files", err, rep.TempFiles)
	}
	// What the build recorded is still there.
	lf, _ := engine.ReadLockfile(f.dir)
	for addr, e := range lf.Steps {
		if err := f.store.TreeComplete(e.Outputs["out"]); err != nil {
			t.Errorf("%s after gc: %v", addr, err)
		}
	}
}
