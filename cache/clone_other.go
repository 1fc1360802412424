//go:build !linux

package cache

import "os"

// reflink is not implemented outside Linux: sources are copied.
func reflink(dst, src *os.File) error { return errCloneUnsupported }
