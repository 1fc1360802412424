package exec

import (
	"io"
	osexec "os/exec"
	"strings"
	"sync/atomic"
	"time"
)

// SupervisorArg is the hidden first argument with which dsbuild runs itself
// as the supervisor of an exec step's command (see Supervise).
const SupervisorArg = "__exec-supervisor"

// supervisorRoutes says that this program routes SupervisorArg to
// Supervise, so that the exec kind may re-execute it as a supervisor.
var supervisorRoutes atomic.Bool

// Supervise is the entry point of the hidden supervisor command. A program
// that embeds the exec kind calls it first thing with its arguments
// (os.Args[1:]); when they start with SupervisorArg it runs the supervisor
// and returns its exit code and true, and the program exits with that
// code. Otherwise it returns false, having noted that the program routes
// the supervisor: only then do exec steps run under one (on Linux).
func Supervise(args []string) (code int, ok bool) {
	if len(args) == 0 || args[0] != SupervisorArg {
		supervisorRoutes.Store(true)
		return 0, false
	}
	return supervise(args[1:]), true
}

// command is a user's command to run.
type command struct {
	argv []string
	dir  string    // working directory (the scratch directory)
	env  []string  // its whole environment
	out  io.Writer // stdout and stderr
}

// outcome is how a command ended.
type outcome struct {
	code   int    // exit status, if it exited
	signal string // the signal that killed it, if one did
}

// drainLimit bounds the wait, after the command's processes were killed,
// for its output pipe to close (a process that escaped the kill may still
// hold it).
const drainLimit = 5 * time.Second

// resolve finds the program: a name without a slash on dsbuild's PATH, as
// os/exec does; a path as it is (relative to the scratch directory, where
// the command runs).
func resolve(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	return osexec.LookPath(name)
}
