//go:build linux

package cache

import "syscall"

func ctimeNano(st *syscall.Stat_t) int64 { return int64(st.Ctim.Sec)*1e9 + int64(st.Ctim.Nsec) }
