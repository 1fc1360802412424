//go:build linux

package exec

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// killGrace is how long dsbuild waits, after asking the supervisor to stop
// the command, before it kills the supervisor and the command's group
// itself.
const killGrace = 10 * time.Second

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER of prctl(2).
const prSetChildSubreaper = 36

// runCommand runs the command under a supervisor when this program routes
// Supervise, else in a process group of its own.
func runCommand(ctx context.Context, c command) (outcome, error) {
	path, err := resolve(c.argv[0])
	if err != nil {
		return outcome{}, err
	}
	if supervisorRoutes.Load() {
		return runSupervised(ctx, c, path)
	}
	return runGrouped(ctx, c, path)
}

// startLocked starts cmd from a goroutine locked to its OS thread, and
// waits for it there. The kernel sends the parent-death signal
// (SysProcAttr.Pdeathsig) when the thread that forked the child ends, not
// the process: the thread must live as long as the child does.
func startLocked(cmd *osexec.Cmd) (<-chan error, error) {
	started := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return done, nil
}

// outputPipe gives the command a pipe for its output and copies what comes
// out of it to w. drain waits for the copy to end (every process holding
// the pipe gone), at most drainLimit.
func outputPipe(w io.Writer) (pw *os.File, drain func(), err error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	copied := make(chan struct{})
	go func() {
		io.Copy(w, pr)
		close(copied)
	}()
	return pw, func() {
		select {
		case <-copied:
		case <-time.After(drainLimit):
		}
		pr.Close()
	}, nil
}

// runGrouped runs the command in a new process group, which is killed
// when the command exits or ctx is cancelled. The kernel kills the command
// itself, but not its children, if dsbuild dies.
func runGrouped(ctx context.Context, c command, path string) (outcome, error) {
	pw, drain, err := outputPipe(c.out)
	if err != nil {
		return outcome{}, err
	}
	defer drain()
	cmd := &osexec.Cmd{Path: path, Args: c.argv, Dir: c.dir, Env: c.env, Stdout: pw, Stderr: pw,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}}
	wait, err := startLocked(cmd)
	pw.Close()
	if err != nil {
		return outcome{}, err
	}
	pgid := cmd.Process.Pid
	var werr error
	select {
	case werr = <-wait:
	case <-ctx.Done():
		syscall.Kill(-pgid, syscall.SIGKILL)
		werr = <-wait
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // what it left running
	var ee *osexec.ExitError
	if errors.As(werr, &ee) {
		return outcomeOf(ee.Sys().(syscall.WaitStatus)), nil
	}
	return outcome{}, werr
}

func outcomeOf(ws syscall.WaitStatus) outcome {
	if ws.Signaled() {
		return outcome{signal: ws.Signal().String()}
	}
	return outcome{code: ws.ExitStatus()}
}

// supervisorStatus is what the supervisor reports on its status pipe, one
// line each: "pid N" once the command runs, then "exit N" or "signal N"
// once the command and every process it left are gone; or "error MSG"
// if the command could not be started.
type supervisorStatus struct {
	pid  int
	done bool
	res  outcome
	err  error
}

func readStatus(r io.Reader) supervisorStatus {
	var st supervisorStatus
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		word, rest, _ := strings.Cut(sc.Text(), " ")
		n, _ := strconv.Atoi(rest)
		switch word {
		case "pid":
			st.pid = n
		case "exit":
			st.done, st.res = true, outcome{code: n}
		case "signal":
			st.done, st.res = true, outcome{signal: syscall.Signal(n).String()}
		case "error":
			st.err = errors.New(rest)
		}
	}
	return st
}

// runSupervised runs the command under a supervisor: this program
// re-executed with SupervisorArg (see supervise). The supervisor gets
// SIGTERM when dsbuild dies or cancels the step; it then kills the
// command's process tree, as it does when the command exits.
func runSupervised(ctx context.Context, c command, path string) (outcome, error) {
	pw, drain, err := outputPipe(c.out)
	if err != nil {
		return outcome{}, err
	}
	defer drain()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		pw.Close()
		return outcome{}, err
	}
	defer statusR.Close()
	argv0 := "dsbuild"
	if len(os.Args) > 0 {
		argv0 = os.Args[0] // a test binary dispatches on it
	}
	cmd := &osexec.Cmd{
		Path:        "/proc/self/exe",
		Args:        append([]string{argv0, SupervisorArg, path}, c.argv...),
		Dir:         c.dir,
		Env:         c.env,
		Stdout:      pw,
		Stderr:      pw,
		ExtraFiles:  []*os.File{statusW},
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM},
	}
	wait, err := startLocked(cmd)
	pw.Close()
	statusW.Close()
	if err != nil {
		return outcome{}, fmt.Errorf("starting its supervisor: %w", err)
	}
	statusc := make(chan supervisorStatus, 1)
	go func() { statusc <- readStatus(statusR) }()
	var werr error
	select {
	case werr = <-wait:
	case <-ctx.Done():
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case werr = <-wait:
		case <-time.After(killGrace):
			cmd.Process.Kill()
			werr = <-wait
		}
	}
	var st supervisorStatus
	select {
	case st = <-statusc:
	case <-time.After(drainLimit):
	}
	if !st.done && st.pid > 0 {
		// The supervisor died before it was done: kill what it can
		// no longer.
		syscall.Kill(-st.pid, syscall.SIGKILL)
	}
	switch {
	case st.err != nil:
		return outcome{}, st.err
	case st.done:
		return st.res, nil
	case werr == nil:
		werr = errors.New("exited without a status")
	}
	return outcome{}, fmt.Errorf("its supervisor failed: %v", werr)
}

// supervise is the supervisor: args are the program's path and the
// command's argv. It becomes a child subreaper (orphaned descendants of
// the command become its children, not init's), starts the command in a
// new process group with the parent-death signal SIGKILL, and on SIGTERM,
// SIGINT or SIGHUP — dsbuild's death (the parent-death signal dsbuild set
// for it) or cancellation — and again when the command exits, kills the
// group and every descendant, and reaps them. It reports on file
// descriptor 3 (see supervisorStatus).
func supervise(args []string) int {
	runtime.LockOSThread() // the thread that forks the command must outlive it
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	syscall.CloseOnExec(3)
	status := os.NewFile(3, "status")
	report := func(format string, a ...any) { fmt.Fprintf(status, format+"\n", a...) }
	if len(args) < 2 {
		report("error usage: dsbuild %s PROGRAM ARGV0 [ARG...]", SupervisorArg)
		return 2
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		report("error prctl(PR_SET_CHILD_SUBREAPER): %v", e)
		return 1
	}
	pid, err := syscall.ForkExec(args[0], args[1:], &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		report("error fork/exec %s: %v", args[0], err)
		return 1
	}
	report("pid %d", pid)
	go func() {
		<-sigs
		killTree(pid)
	}()
	ws := waitFor(pid)
	killTree(pid)
	reapAll()
	if ws.Signaled() {
		report("signal %d", int(ws.Signal()))
	} else {
		report("exit %d", ws.ExitStatus())
	}
	return 0
}

// waitFor reaps children (the command, and orphans given to the
// subreaper) until the command is reaped, and returns its status.
func waitFor(pid int) syscall.WaitStatus {
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || wpid == pid {
			return ws
		}
	}
}

// killTree sends SIGKILL to the process group pgid and to every process
// descended from this one.
func killTree(pgid int) {
	syscall.Kill(-pgid, syscall.SIGKILL)
	for _, p := range descendants(os.Getpid()) {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// reapAll reaps children until there are none, killing every descendant
// again while some remain (a process forking as it was killed), for at
// most 10 s: a process stuck in the kernel dies when it leaves it, since
// SIGKILL is pending.
func reapAll() {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.EINTR), err == nil && wpid > 0:
			continue
		case err != nil:
			return // ECHILD: no children left, so no descendants
		}
		if time.Now().After(deadline) {
			return
		}
		for _, p := range descendants(os.Getpid()) {
			syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// descendants lists the processes descended from root, from /proc.
func descendants(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone
		}
		// "pid (comm) state ppid ...": comm may hold spaces and ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}
