package cache

import (
	"fmt"
	"os"
	"path/filepath"
)

// Unlock releases a store lock.
type Unlock func() error

// LockShared takes the store's shared lock, held by every build: any number
// of builds may hold it at once. It waits while a garbage collection holds
// the exclusive lock.
func (s *Store) LockShared() (Unlock, error) { return s.lock(false) }

// LockExclusive takes the store's exclusive lock, held by garbage
// collection: it waits until no build holds the shared lock.
func (s *Store) LockExclusive() (Unlock, error) { return s.lock(true) }

func (s *Store) lock(exclusive bool) (Unlock, error) {
	f, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking store: %w", err)
	}
	if err := flock(f, exclusive); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking store %s: %w", s.dir, err)
	}
	return func() error {
		funlock(f)
		return f.Close()
	}, nil
}
