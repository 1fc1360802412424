//go:build linux

package exec

import (
	osexec "os/exec"
	"syscall"
)

// setProcAttrs puts the command in its own process group, kills the whole
// group on cancellation, and has the kernel kill it if dsbuild dies.
func setProcAttrs(cmd *osexec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
