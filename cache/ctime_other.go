//go:build unix && !linux

package cache

import "syscall"

func ctimeNano(st *syscall.Stat_t) int64 { return 0 }
