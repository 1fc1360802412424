// Package temporaltest runs a real Temporal server for tests: the dev
// server of the Temporal CLI (`temporal server start-dev`, SQLite-backed),
// which tools/build.sh builds into <repo>/bin/temporal from the separate
// tools module tools/temporal. Tests exec the binary; nothing here links
// the Temporal SDK.
//
// Start guarantees, when it returns, a server that answers SERVING to
// `temporal operator cluster health` on Addr, a loopback port that was
// free (a start that loses its port to another process is retried on a
// new one), with its state in a SQLite file under t.TempDir(), the
// namespace "default" registered, no web UI, and no fixed port of its
// own: its internal services take random loopback ports, so any number
// of servers can run at once, in one test or in parallel tests. A server
// that exits early or is not healthy within a minute fails the test with
// its output. When the test ends the server is killed and, if the test
// failed, its output is logged.
//
// The binary is found by the rules of remotetest.FindTool:
// $DSBUILD_TOOLS_BIN/temporal, else <repo>/bin/temporal. When it is absent
// the test is skipped with a reason that names `bash tools/build.sh` —
// except in CI (the environment variable CI is non-empty) or when
// DSBUILD_TOOLS_BIN is set: there a missing server fails the test, so CI
// never skips silently.
//
// Stop kills the server with SIGKILL (a cluster dying mid-build); Restart
// brings it back on the same port with the same database file, so
// namespaces, workflows and their histories survive.
package temporaltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"dsbuild/remote/remotetest"
)

// readyTimeout bounds a start: the dev server is healthy in about a
// quarter of a second on an idle machine, but CI machines are small and
// loaded.
const readyTimeout = 60 * time.Second

// healthTimeout bounds one `temporal operator cluster health` call.
const healthTimeout = 5 * time.Second

// Server is one Temporal dev server on a loopback port. Its methods are
// safe for concurrent use, except Restart, which must run on the test's
// goroutine.
type Server struct {
	t       testing.TB
	bin     string // the temporal binary
	db      string // --db-filename
	logPath string // stdout and stderr, appended by every start
	addr    string // 127.0.0.1:PORT, the frontend (gRPC)

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a Temporal dev server for the test t and waits until it is
// healthy; it is killed when the test ends. See the package comment for
// what it guarantees, and for when it skips.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := requireBinary(t)
	dir := t.TempDir()
	s := &Server{
		t:       t,
		bin:     bin,
		db:      filepath.Join(dir, "temporal.db"),
		logPath: filepath.Join(dir, "temporal.log"),
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var port int
		if port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err = s.start(); !errors.Is(err, errPortTaken) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("temporal server's output (%s):\n%s", s.logPath, s.output(0))
		}
	})
	return s
}

// Addr is the host:port of the server's frontend (gRPC), for a client's
// HostPort or the CLI's --address.
func (s *Server) Addr() string { return s.addr }

// Namespace is the namespace the dev server registers: "default".
func (s *Server) Namespace() string { return "default" }

// Stop kills the server (SIGKILL, no shutdown) and waits for it to exit.
// Safe to call from any goroutine, and on a stopped server.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

// Restart starts the server again on the same port with the same
// database file, killing it first if it runs, and waits until it is
// healthy; it fails the test if the server does not come back. Call it
// from the test's goroutine.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("restarting the temporal server: %v", err)
	}
}

// args are the dev server's arguments. --headless: no web UI, so no UI
// port (by default the frontend port + 1000, which two servers could
// share); the internal services and the HTTP API take random loopback
// ports by default. --log-level error keeps the log to what a failing
// test needs.
func (s *Server) args() []string {
	host, port, _ := net.SplitHostPort(s.addr)
	return []string{"server", "start-dev",
		"--ip", host, "--port", port,
		"--headless",
		"--db-filename", s.db,
		"--log-level", "error",
	}
}

// errPortTaken is what start returns when the server died because its
// port was taken in the meantime.
var errPortTaken = errors.New("port taken")

// start runs the server and waits until it is healthy. It returns an
// error that carries the server's output when the server exits first or
// is not healthy in time.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("the temporal server on %s is already running", s.addr)
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening the temporal server's log: %w", err)
	}
	logStart, err := logf.Seek(0, 2)
	if err != nil {
		logf.Close()
		return fmt.Errorf("seeking to the end of %s: %w", s.logPath, err)
	}
	args := s.args()
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		logf.Close()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for {
		select {
		case <-done:
			s.cmd, s.done = nil, nil
			out := s.output(logStart)
			if bytes.Contains([]byte(out), []byte("address already in use")) {
				return fmt.Errorf("temporal %v: %w; its output:\n%s", args, errPortTaken, out)
			}
			return fmt.Errorf("temporal %v exited before it was healthy (%v); its output:\n%s", args, waitErr, out)
		default:
		}
		if lastErr = s.healthy(done); lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.killLocked()
			return fmt.Errorf("temporal %v was not healthy within %v (last check: %v); its output:\n%s",
				args, readyTimeout, lastErr, s.output(logStart))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// healthy checks the server in two steps: its frontend port accepts TCP
// connections, then `temporal operator cluster health` answers SERVING.
// The check gives up early when the server exits (done is closed).
func (s *Server) healthy(done <-chan struct{}) error {
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return err
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	out, err := exec.CommandContext(ctx, s.bin, "operator", "cluster", "health", "--address", s.addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("temporal operator cluster health: %v: %s", err, bytes.TrimSpace(out))
	}
	if !bytes.Contains(out, []byte("SERVING")) || bytes.Contains(out, []byte("NOT_SERVING")) {
		return fmt.Errorf("temporal operator cluster health: %s", bytes.TrimSpace(out))
	}
	return nil
}

func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd, s.done = nil, nil
}

// output returns what the server wrote since offset, at most its last
// 8 KiB.
func (s *Server) output(offset int64) string {
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

// freePort returns a loopback port that was free a moment ago (listen on
// :0, close); the server that then binds it may lose a race with another
// process, which start detects and Start retries.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// requireBinary returns the path of the temporal binary, or ends the
// test: a skip naming tools/build.sh on a developer's machine, a failure
// in CI or when DSBUILD_TOOLS_BIN is set.
func requireBinary(t testing.TB) string {
	t.Helper()
	if p, ok := remotetest.FindTool("temporal"); ok {
		return p
	}
	msg := "temporal not found in $" + remotetest.EnvToolsBin + " or <repo>/bin: build the test servers with `bash tools/build.sh`"
	if os.Getenv("CI") == "" && os.Getenv(remotetest.EnvToolsBin) == "" {
		t.Skip(msg)
	}
	t.Fatal(msg + " (CI or " + remotetest.EnvToolsBin + " is set: a missing server fails instead of skipping)")
	return ""
}
