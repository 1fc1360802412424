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
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"dsbuild/remote/remotetest"
)

// healthTimeout bounds one `temporal operator cluster health` call.
const healthTimeout = 5 * time.Second

// Server is one Temporal dev server on a loopback port. Its methods are
// safe for concurrent use, except Restart, which must run on the test's
// goroutine.
type Server struct {
	bin  string // the temporal binary
	addr string // 127.0.0.1:PORT, the frontend (gRPC)
	proc *remotetest.Process
}

// Start starts a Temporal dev server for the test t and waits until it is
// healthy; it is killed when the test ends. See the package comment for
// what it guarantees, and for when it skips. The process machinery
// (ports, retries, logs, kill) is remotetest's.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{bin: remotetest.RequireTool(t, "temporal")}
	s.proc = remotetest.StartProcess(t, remotetest.ProcessSpec{
		Name:    "temporal",
		Bin:     s.bin,
		Ports:   1,
		LogPath: filepath.Join(dir, "temporal.log"),
		// --headless: no web UI, so no UI port (by default the frontend
		// port + 1000, which two servers could share); the internal
		// services and the HTTP API take random loopback ports by
		// default. --log-level error keeps the log to what a failing
		// test needs.
		Args: func(ports []int) []string {
			s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
			return []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
				"--headless", "--db-filename", filepath.Join(dir, "temporal.db"), "--log-level", "error"}
		},
		Ready: s.healthy,
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
func (s *Server) Stop() { s.proc.Stop() }

// Restart starts the server again on the same port with the same
// database file, killing it first if it runs, and waits until it is
// healthy; it fails the test if the server does not come back. Call it
// from the test's goroutine.
func (s *Server) Restart() { s.proc.Restart() }

// healthy checks the server in two steps: its frontend port accepts TCP
// connections, then `temporal operator cluster health` answers SERVING.
func (s *Server) healthy() error {
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return err
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.bin, "operator", "cluster", "health", "--address", s.addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("temporal operator cluster health: %v: %s", err, bytes.TrimSpace(out))
	}
	if !bytes.Contains(out, []byte("SERVING")) || bytes.Contains(out, []byte("NOT_SERVING")) {
		return fmt.Errorf("temporal operator cluster health: %s", bytes.TrimSpace(out))
	}
	return nil
}
