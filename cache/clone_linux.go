//go:build linux

package cache

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// reflink makes dst a copy-on-write clone of src (ioctl FICLONE: btrfs,
// XFS with reflink, bcachefs, OCFS2, ZFS 2.2+ …). Errors that say the file
// system or this pair of file systems cannot clone wrap
// errCloneUnsupported; other refusals of the ioctl wrap errCloneRefused.
func reflink(dst, src *os.File) error {
	err := unix.IoctlFileClone(int(dst.Fd()), int(src.Fd()))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOTTY), errors.Is(err, unix.EXDEV),
		errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EBADF):
		return fmt.Errorf("%w: %v", errCloneUnsupported, err)
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EPERM), errors.Is(err, unix.ETXTBSY),
		errors.Is(err, unix.EACCES), errors.Is(err, unix.EISDIR):
		return fmt.Errorf("%w: %v", errCloneRefused, err)
	}
	return err
}
