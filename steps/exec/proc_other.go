//go:build !linux

package exec

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
)

// runCommand runs the command; cancelling ctx kills it. There is no
// supervisor and no process group handling outside Linux.
func runCommand(ctx context.Context, c command) (outcome, error) {
	path, err := resolve(c.argv[0])
	if err != nil {
		return outcome{}, err
	}
	cmd := osexec.CommandContext(ctx, path, c.argv[1:]...)
	cmd.Args[0] = c.argv[0]
	cmd.Dir, cmd.Env = c.dir, c.env
	cmd.Stdout, cmd.Stderr = c.out, c.out
	cmd.WaitDelay = drainLimit
	err = cmd.Run()
	var ee *osexec.ExitError
	if errors.As(err, &ee) {
		if ee.Exited() {
			return outcome{code: ee.ExitCode()}, nil
		}
		return outcome{signal: strings.TrimPrefix(ee.String(), "signal: ")}, nil
	}
	return outcome{}, err
}

func supervise(args []string) int {
	fmt.Fprintf(os.Stderr, "dsbuild: %s is only supported on Linux\n", SupervisorArg)
	return 2
}
