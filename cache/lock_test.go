//go:build unix

package cache_test

import (
	"testing"
	"time"

	"dsbuild/cache"
)

// blockWait is how long a lock must stay blocked to count as blocking.
const blockWait = 200 * time.Millisecond

// lockAsync takes a lock in a goroutine; the channel receives its Unlock
// once it is held.
func lockAsync(t *testing.T, lock func() (cache.Unlock, error)) <-chan cache.Unlock {
	t.Helper()
	ch := make(chan cache.Unlock, 1)
	go func() {
		u, err := lock()
		if err != nil {
			t.Errorf("lock in goroutine = %v", err)
			close(ch)
			return
		}
		ch <- u
	}()
	return ch
}

func mustNotAcquire(t *testing.T, what string, ch <-chan cache.Unlock) {
	t.Helper()
	select {
	case u := <-ch:
		if u != nil {
			u()
		}
		t.Fatalf("%s was acquired, want it to block", what)
	case <-time.After(blockWait):
	}
}

func mustAcquire(t *testing.T, what string, ch <-chan cache.Unlock) cache.Unlock {
	t.Helper()
	select {
	case u, ok := <-ch:
		if !ok {
			t.Fatalf("%s failed", what)
		}
		return u
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still blocked after 5s, want it acquired", what)
	}
	return nil
}

func TestLocks(t *testing.T) {
	t.Parallel() // it waits
	s, _ := newStore(t)
	// Another Store on the same directory, as another process would have.
	s2, err := cache.Open(s.Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}

	// Shared locks do not exclude each other.
	sh1, err := s.LockShared()
	if err != nil {
		t.Fatalf("s.LockShared() = %v", err)
	}
	sh2 := mustAcquire(t, "second s2.LockShared()", lockAsync(t, s2.LockShared))

	// The exclusive lock waits for both to be released.
	ex := lockAsync(t, s.LockExclusive)
	mustNotAcquire(t, "s.LockExclusive() while two shared locks are held", ex)
	if err := sh1(); err != nil {
		t.Errorf("unlock of the first shared lock = %v", err)
	}
	mustNotAcquire(t, "s.LockExclusive() while one shared lock is held", ex)
	if err := sh2(); err != nil {
		t.Errorf("unlock of the second shared lock = %v", err)
	}
	exU := mustAcquire(t, "s.LockExclusive() after the shared locks were released", ex)

	// While it is held, shared and exclusive locks wait.
	sh := lockAsync(t, s2.LockShared)
	mustNotAcquire(t, "s2.LockShared() while the exclusive lock is held", sh)
	if err := exU(); err != nil {
		t.Errorf("unlock of the exclusive lock = %v", err)
	}
	shU := mustAcquire(t, "s2.LockShared() after the exclusive lock was released", sh)
	if err := shU(); err != nil {
		t.Errorf("unlock = %v", err)
	}
}

// GC and Check take the locks: GC waits for builds, Check runs beside them.
func TestGCWaitsForBuilds(t *testing.T) {
	t.Parallel() // it waits
	s, _ := newStore(t)
	unlock, err := s.LockShared()
	if err != nil {
		t.Fatal(err)
	}
	// Check holds a shared lock: it runs while a build holds one.
	done := make(chan error, 1)
	go func() { _, err := s.Check(ctx, false); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("s.Check during a build = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("s.Check blocked while a shared lock was held")
	}

	gcDone := make(chan error, 1)
	go func() { _, err := s.GC(ctx, cache.GCOptions{}); gcDone <- err }()
	select {
	case err := <-gcDone:
		t.Fatalf("s.GC finished (%v) while a build held the shared lock, want it to wait", err)
	case <-time.After(blockWait):
	}
	unlock()
	select {
	case err := <-gcDone:
		if err != nil {
			t.Errorf("s.GC = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("s.GC still blocked 5s after the shared lock was released")
	}
}
