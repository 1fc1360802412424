package temporaltest

import (
	"bytes"
	"net"
	"os/exec"
	"testing"
	"time"
)

// cli runs the temporal CLI against s and returns its output, failing the
// test if it fails.
func cli(t *testing.T, s *Server, args ...string) string {
	t.Helper()
	args = append(args, "--address", s.Addr())
	out, err := exec.Command(s.bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("temporal %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestStartStopRestart: a started server is healthy on a loopback port and
// serves the default namespace; Stop makes the port refuse connections;
// Restart brings it back on the same port with its state (a namespace
// created before the kill) intact.
func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	addr := s.Addr()
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr() = %q, want 127.0.0.1:PORT", addr)
	}
	if err := s.healthy(); err != nil {
		t.Fatalf("after Start: %v", err)
	}
	if got := s.Namespace(); got != "default" {
		t.Fatalf("Namespace() = %q, want default", got)
	}
	if out := cli(t, s, "operator", "namespace", "describe", "--namespace", s.Namespace()); !bytes.Contains([]byte(out), []byte("default")) {
		t.Fatalf("describing the default namespace:\n%s", out)
	}
	cli(t, s, "operator", "namespace", "create", "--namespace", "survives-restart")

	s.Stop()
	if dialable(addr) {
		t.Fatalf("%s still accepts connections after Stop", addr)
	}
	s.Stop() // stopping a stopped server does nothing

	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr())
	}
	if err := s.healthy(); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	if out := cli(t, s, "operator", "namespace", "describe", "--namespace", "survives-restart"); !bytes.Contains([]byte(out), []byte("survives-restart")) {
		t.Fatalf("the namespace created before Stop, after Restart:\n%s", out)
	}
}

// TestTwoServersAtOnce: two servers run side by side (the dev server's
// internal ports must not collide), each on its own port with its own
// state.
func TestTwoServersAtOnce(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both servers on %s", a.Addr())
	}
	cli(t, a, "operator", "namespace", "create", "--namespace", "only-on-a")
	for _, s := range []*Server{a, b} {
		if err := s.healthy(); err != nil {
			t.Fatalf("server on %s: %v", s.Addr(), err)
		}
	}
	out, err := exec.Command(b.bin, "operator", "namespace", "describe", "--namespace", "only-on-a", "--address", b.Addr()).CombinedOutput()
	if err == nil {
		t.Fatalf("server b knows server a's namespace:\n%s", out)
	}
	// Killing one leaves the other serving.
	a.Stop()
	if err := b.healthy(); err != nil {
		t.Fatalf("server b after a stopped: %v", err)
	}
}
