package cache

import (
	"fmt"
	"io/fs"
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
	u, err := LockFile(filepath.Join(s.dir, "lock"), exclusive)
	if err != nil {
		return nil, fmt.Errorf("locking store %s: %w", s.dir, err)
	}
	return u, nil
}

// LockFile takes an advisory lock (flock) on the file at path, shared or
// exclusive, waiting as long as another holder excludes it. The file is
// created empty if it does not exist and is never removed: removing a lock
// file while another process waits on it would let two holders in. A
// symlink or anything but a regular file at path is refused, not followed
// or replaced.
func LockFile(path string, exclusive bool) (Unlock, error) {
	f, err := openLockFile(path)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is %s, not a lock file dsbuild made: refusing to use it", path, describeMode(fi.Mode()))
		}
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is %s, not a lock file dsbuild made: refusing to use it", path, describeMode(fi.Mode()))
	}
	if err == nil {
		err = flock(f, exclusive)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		funlock(f)
		return f.Close()
	}, nil
}

// describeMode names a file type for error messages.
func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}
