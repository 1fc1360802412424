//go:build !unix

package engine

import "os"

// lockFile does nothing where flock is missing.
func lockFile(f *os.File) {}

// tryLockFile says no where flock is missing: without a lock, a
// directory that a running ReplaceDir fills cannot be told from a leftover,
// so none is removed.
func tryLockFile(f *os.File) bool { return false }
