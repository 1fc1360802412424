package remotetest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// readyTimeout bounds a server's start: generous, since CI machines are
// small and loaded (both servers are ready in well under a second there).
const readyTimeout = 60 * time.Second

// server is one server process: how to start it, and the process now
// running, if any. Its methods are safe for concurrent use (a test may
// kill the server from another goroutine while a build runs).
type server struct {
	t       testing.TB
	name    string   // for messages: "versitygw"
	bin     string   // the binary
	args    []string // its arguments, ports included
	env     []string // added to the environment
	logPath string   // its stdout and stderr, appended by every start
	ready   func() error
	timeout time.Duration // for ready; 0 means readyTimeout

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// freePorts returns n distinct loopback ports that were free a moment ago
// (listen on :0, close); the server that then binds one may lose a race
// with another process, which start detects and retries.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free loopback port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// errPortTaken is what start returns when the server died because a port
// it was given was taken in the meantime.
var errPortTaken = errors.New("port taken")

// start runs the server and waits until ready answers nil. It returns an
// error that carries the server's output when the server exits first or
// does not get ready in time.
func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("%s is already running", s.name)
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: opening its log: %w", s.name, err)
	}
	logStart, _ := logf.Seek(0, 2)
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", s.name, err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		logf.Close()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	timeout := s.timeout
	if timeout == 0 {
		timeout = readyTimeout
	}
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		select {
		case <-done:
			s.cmd, s.done = nil, nil
			out := s.output(logStart)
			if bytes.Contains([]byte(out), []byte("address already in use")) {
				return fmt.Errorf("%s %v: %w; its output:\n%s", s.name, s.args, errPortTaken, out)
			}
			return fmt.Errorf("%s %v exited before it was ready (%v); its output:\n%s", s.name, s.args, waitErr, out)
		default:
		}
		if lastErr = s.ready(); lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.killLocked()
			return fmt.Errorf("%s %v did not get ready within %v (last check: %v); its output:\n%s",
				s.name, s.args, timeout, lastErr, s.output(logStart))
		}
		time.Sleep(15 * time.Millisecond)
	}
}

// output returns what the server wrote since offset, at most its last
// 8 KiB.
func (s *server) output(offset int64) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", s.logPath, err)
	}
	if offset > int64(len(b)) {
		offset = 0
	}
	b = b[offset:]
	if len(b) > 8<<10 {
		b = append([]byte("…"), b[len(b)-8<<10:]...)
	}
	return string(b)
}

// stop kills the server with SIGKILL and waits for it to exit; stopping
// a stopped server does nothing.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

func (s *server) killLocked() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd, s.done = nil, nil
}

// launch starts a server on fresh ports: pick(ports) sets the arguments
// for the ports, and a start that loses its ports to another process is
// tried again on new ones. At cleanup the server is killed and, if the
// test failed, its output logged.
func launch(t testing.TB, s *server, nports int, pick func(ports []int)) {
	t.Helper()
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var ports []int
		if ports, err = freePorts(nports); err != nil {
			t.Fatal(err)
		}
		pick(ports)
		if err = s.start(); !errors.Is(err, errPortTaken) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("%s's output (%s):\n%s", s.name, s.logPath, s.output(0))
		}
	})
}

// restart starts a stopped server again with the same ports and data (a
// running one is killed first).
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("restarting %s: %v", s.name, err)
	}
}

// dialable reports whether addr accepts TCP connections.
func dialable(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// ProcessSpec describes a server process that a test runs (StartProcess):
// test servers beside this package's, such as temporaltest's.
type ProcessSpec struct {
	Name    string                     // for messages
	Bin     string                     // the binary (RequireTool finds it)
	Ports   int                        // free loopback ports to pick for it
	Args    func(ports []int) []string // its arguments, given the ports picked
	Env     []string                   // added to the environment
	LogPath string                     // its stdout and stderr, appended by every start
	Ready   func() error               // nil once it serves
	Timeout time.Duration              // for Ready; 0 means a minute
}

// Process is a server process started by StartProcess. Its methods are
// safe for concurrent use, except Restart (the test's goroutine).
type Process struct{ s *server }

// StartProcess starts the server spec describes on fresh loopback ports
// (a start that loses a port to another process is tried again on new
// ones) and waits until Ready answers nil; a server that exits first, or
// is not ready in time, fails the test with its output. When the test
// ends it is killed and, if the test failed, its output logged.
func StartProcess(t testing.TB, spec ProcessSpec) *Process {
	t.Helper()
	s := &server{t: t, name: spec.Name, bin: spec.Bin, env: spec.Env, logPath: spec.LogPath, ready: spec.Ready, timeout: spec.Timeout}
	launch(t, s, spec.Ports, func(ports []int) { s.args = spec.Args(ports) })
	return &Process{s}
}

// Stop kills the process (SIGKILL) and waits for it; stopping a stopped
// one does nothing.
func (p *Process) Stop() { p.s.stop() }

// Restart starts it again with the same arguments (killing it first if
// it runs) and waits until it is ready; it fails the test if it is not.
func (p *Process) Restart() { p.s.restart() }
