//go:build unix

package cache

import (
	"io/fs"
	"syscall"
)

func identify(fi fs.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: uint32(fi.Mode())}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = st.Ino
		id.ctime = ctimeNano(st)
	}
	return id
}
