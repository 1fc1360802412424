//go:build !unix

package cache

import (
	"errors"
	"os"
)

func flock(f *os.File, exclusive bool) error {
	return errors.New("store locking is only implemented on unix systems")
}

func funlock(f *os.File) {}
