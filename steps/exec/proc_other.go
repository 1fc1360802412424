//go:build !linux

package exec

import osexec "os/exec"

func setProcAttrs(cmd *osexec.Cmd) {}
