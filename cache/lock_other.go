//go:build !unix

package cache

import (
	"errors"
	"os"
)

func openLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

func flock(f *os.File, exclusive bool) error {
	return errors.New("store locking is only implemented on unix systems")
}

func funlock(f *os.File) {}
