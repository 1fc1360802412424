//go:build unix

package cache

import (
	"io/fs"
	"syscall"
)

// oNoFollow makes open fail on a symbolic link.
const oNoFollow = syscall.O_NOFOLLOW

// ownership returns the number of hard links of the file fi describes and
// the device that holds it; ok is false when fi does not say.
func ownership(fi fs.FileInfo) (links, dev uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(st.Nlink), uint64(st.Dev), true
}
