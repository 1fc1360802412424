//go:build !unix

package cache

import "os"

// readSmallFile reads a file of the store (a memo entry).
func readSmallFile(path string) ([]byte, error) { return os.ReadFile(path) }
