//go:build !unix

package cache

import "io/fs"

const oNoFollow = 0

// ownership cannot tell links or devices here: Capture copies every file.
func ownership(fi fs.FileInfo) (links, dev uint64, ok bool) { return 0, 0, false }
