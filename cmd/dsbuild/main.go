// Command dsbuild builds machine-learning datasets from HCL recipes as
// content-addressed DAGs. Run "dsbuild help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	stepexec "dsbuild/steps/exec"
)

// Exit codes, as documented in "dsbuild help".
const (
	exitOK      = 0
	exitError   = 1
	exitWaiting = 2
	exitDiffers = 3
)

// exitError carries an exit code other than 1 through cobra.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitCodeError) Unwrap() error { return e.err }

// reported marks an error whose message was already printed.
var errReported = errors.New("reported")

func main() {
	// The hidden supervisor of an exec step's command (steps/exec), first:
	// it must not act on anything else, DSBUILD_CPUPROFILE included.
	if code, ok := stepexec.Supervise(os.Args[1:]); ok {
		os.Exit(code)
	}
	// DSBUILD_CPUPROFILE=FILE writes a CPU profile of the whole command, for
	// looking into slow builds.
	if p := os.Getenv("DSBUILD_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			code := run(os.Args[1:])
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if code, ok := stepexec.Supervise(args); ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(terraformStyleFlags(args))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitError
	var ce *exitCodeError
	if errors.As(err, &ce) {
		code = ce.code
		err = ce.err
	}
	if err != nil && !errors.Is(err, errReported) {
		fmt.Fprintf(os.Stderr, "dsbuild: %v\n", err)
	}
	return code
}

// terraformStyleFlags accepts Terraform's single-dash -var and -var-file by
// rewriting them to the --var and --var-file the flag parser knows.
func terraformStyleFlags(args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a == "--":
			return append(out, args[len(out):]...)
		case a == "-var" || a == "-var-file" || strings.HasPrefix(a, "-var=") || strings.HasPrefix(a, "-var-file="):
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}
