//go:build unix

package cache_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"dsbuild/cache"
)

// Issue 11, item 5: GC reads the lockfile roots only once it holds the
// exclusive lock. A build that held the shared lock while GC waited, and
// registered a lockfile naming its results before it let go, keeps them.
// Before, dsbuild gc read the lockfiles first and then waited: the results
// of a build that finished meanwhile were collected.
func TestGCReadsLockfileRootsUnderLock(t *testing.T) {
	t.Parallel() // it waits
	s, _ := newStore(t)
	unlock, err := s.LockShared() // the build
	if err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(t.TempDir(), "dsbuild.lock")
	// What the lockfile names once the build recorded it. flock orders the
	// accesses, which the race detector does not see: atomics.
	var kept atomic.Pointer[cache.Digest]
	var built atomic.Bool
	type result struct {
		rep cache.GCReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := s.GC(ctx, cache.GCOptions{LockfileRoots: func(p string) ([]cache.Digest, []cache.ActionKey, error) {
			if !built.Load() {
				t.Errorf("GC read lockfile %s before the build let go of the store", p)
			}
			if p != lockPath {
				t.Errorf("LockfileRoots(%s), want %s", p, lockPath)
			}
			return []cache.Digest{*kept.Load()}, nil, nil
		}})
		done <- result{rep, err}
	}()
	time.Sleep(blockWait) // GC is waiting for the lock now
	d := mustPut(t, s, "a result the build reported")
	kept.Store(&d)
	if err := os.WriteFile(lockPath, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterLockfile(lockPath); err != nil {
		t.Fatal(err)
	}
	built.Store(true)
	unlock()
	var res result
	select {
	case res = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("GC still blocked 5 s after the build let go")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	if !s.Has(d) || res.rep.Lockfiles != 1 || res.rep.KeptBlobs != 1 {
		t.Errorf("after GC: has the build's result %v, report %+v; want it kept through 1 lockfile", s.Has(d), res.rep)
	}
}

// A registered lockfile that cannot be read stops GC before it removes
// anything: it might name anything.
func TestGCStopsOnUnreadableLockfile(t *testing.T) {
	s, _ := newStore(t)
	lockPath := filepath.Join(t.TempDir(), "dsbuild.lock")
	if err := os.WriteFile(lockPath, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterLockfile(lockPath); err != nil {
		t.Fatal(err)
	}
	d := mustPut(t, s, "named by the broken lockfile, maybe")
	_, err := s.GC(ctx, cache.GCOptions{LockfileRoots: func(p string) ([]cache.Digest, []cache.ActionKey, error) {
		return nil, nil, errors.New("invalid character 'o'")
	}})
	if err == nil || !strings.Contains(err.Error(), lockPath) || !strings.Contains(err.Error(), "nothing was removed") {
		t.Errorf("GC with an unreadable lockfile = %v, want an error naming it", err)
	}
	if !s.Has(d) {
		t.Errorf("GC removed a blob although it could not read a lockfile")
	}
}

// LockFile makes its file, and refuses what dsbuild did not make: a
// symlink (not followed: its target is untouched), a named pipe, a
// directory.
func TestLockFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.lock")
	u, err := cache.LockFile(p, true)
	if err != nil {
		t.Fatalf("LockFile(%s) = %v", p, err)
	}
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
		t.Errorf("lock file: %v, %v; want an empty regular file", fi, err)
	}
	if err := u(); err != nil {
		t.Errorf("unlock = %v", err)
	}
	target := filepath.Join(dir, "user-file")
	if err := os.WriteFile(target, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.lock")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.lock")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.lock")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, what := range map[string]string{link: "a symlink", dangling: "a symlink", fifo: "a named pipe", dir: "a directory"} {
		u, err := cache.LockFile(path, false)
		if err == nil {
			u()
			t.Errorf("LockFile(%s) succeeded, want it refused", path)
			continue
		}
		if !strings.Contains(err.Error(), what) && !strings.Contains(err.Error(), "opening lock file") {
			t.Errorf("LockFile(%s) = %v, want it to say %s", path, err, what)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "mine" {
		t.Errorf("the symlink's target holds %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LockFile created the dangling symlink's target")
	}
}

// Issue 11, item 10: a damaged VERSION does not make the store unusable
// forever. Open refuses it and says what to run; cache check reports it;
// check --repair restores it when every object is intact, and the store's
// objects are all still there. Before, the store was refused for good and
// check could not even open it.
func TestDamagedVersionRepair(t *testing.T) {
	s, _ := newStore(t)
	d := mustPut(t, s, "a blob that must survive the repair")
	vf := filepath.Join(s.Dir(), "VERSION")
	for _, bad := range []string{"", "dsbuild st", "\x00\x00\x00\x00", "dsbuild store v1"} {
		if err := os.WriteFile(vf, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := cache.Open(s.Dir(), nil)
		var ve *cache.VersionError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), "run dsbuild cache check --repair") {
			t.Errorf("Open with VERSION %q = %v, want a VersionError saying to run cache check --repair", bad, err)
		}
	}
	cs, err := cache.OpenForCheck(s.Dir(), nil)
	if err != nil {
		t.Fatalf("OpenForCheck = %v", err)
	}
	rep, err := cs.Check(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "VERSION: damaged") || !strings.Contains(rep.Problems[0], "--repair restores it") || rep.VersionRestored {
		t.Errorf("Check without repair: %+v", rep)
	}
	if b, _ := os.ReadFile(vf); string(b) != "dsbuild store v1" {
		t.Errorf("Check without repair changed VERSION to %q", b)
	}
	rep, err = cs.Check(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.VersionRestored || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "restored") {
		t.Errorf("Check with repair: %+v", rep)
	}
	s2, err := cache.Open(s.Dir(), nil)
	if err != nil {
		t.Fatalf("Open after the repair = %v", err)
	}
	if b, err := s2.ReadBlob(d); err != nil || string(b) != "a blob that must survive the repair" {
		t.Errorf("blob after the repair: %q, %v", b, err)
	}
	if rep, err := s2.Check(ctx, false); err != nil || len(rep.Problems) != 0 {
		t.Errorf("Check after the repair: %+v, %v", rep, err)
	}
}

// With a damaged VERSION and objects that do not read as this layout,
// repair changes nothing: the store may be of another layout, whose
// objects are not corrupt ones.
func TestDamagedVersionNotRepairedOverBadObjects(t *testing.T) {
	s, _ := newStore(t)
	d := mustPut(t, s, "a blob of some other layout, maybe")
	p, _ := blobFile(t, s, d)
	overwrite(t, p, []byte("other bytes"))
	vf := filepath.Join(s.Dir(), "VERSION")
	if err := os.WriteFile(vf, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	cs, err := cache.OpenForCheck(s.Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := cs.Check(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.VersionRestored || len(rep.Problems) != 2 || !strings.Contains(rep.Problems[1], "not restored and nothing removed") {
		t.Errorf("Check --repair over a bad object: %+v", rep)
	}
	if b, _ := os.ReadFile(vf); string(b) != "garbage" {
		t.Errorf("VERSION = %q, want it untouched", b)
	}
	if _, err := os.Stat(p); err != nil {
		t.Errorf("the bad object was removed: %v", err)
	}
	// Another layout's well-formed VERSION is still refused by both.
	if err := os.WriteFile(vf, []byte("dsbuild store v7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.OpenForCheck(s.Dir(), nil); err == nil || !strings.Contains(err.Error(), "dsbuild store v7") {
		t.Errorf("OpenForCheck of a v7 store = %v, want it refused", err)
	}
}
