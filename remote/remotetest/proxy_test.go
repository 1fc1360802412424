package remotetest

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestProxyCut: the proxy forwards exactly the budget, then drops the
// connection, runs OnCut once, and closes new connections until Restore.
func TestProxyCut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				b, _ := io.ReadAll(c)
				c.Close()
				got <- b
			}()
		}
	}()
	p := StartProxy(t, ln.Addr().String())
	var cuts atomic.Int64
	p.OnCut = func() { cuts.Add(1) }
	send := func(n int) {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(bytes.Repeat([]byte{'x'}, n))
		c.Close()
	}
	wait := func() []byte {
		select {
		case b := <-got:
			return b
		case <-time.After(5 * time.Second):
			t.Fatal("the server got nothing")
			return nil
		}
	}
	send(1000)
	if b := wait(); len(b) != 1000 {
		t.Fatalf("uncut: the server got %d bytes, want 1000", len(b))
	}
	p.CutAfter(300, -1)
	send(1000)
	if b := wait(); len(b) != 300 {
		t.Fatalf("cut after 300: the server got %d bytes", len(b))
	}
	for i := 0; i < 100 && cuts.Load() == 0; i++ {
		time.Sleep(10 * time.Millisecond) // OnCut runs after the drop
	}
	if cuts.Load() != 1 || p.Cuts() != 1 {
		t.Fatalf("OnCut ran %d times, Cuts %d; want 1", cuts.Load(), p.Cuts())
	}
	// Down: a new connection is closed before anything reaches the server.
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection while down was not closed")
	}
	c.Close()
	select {
	case b := <-got:
		t.Fatalf("the server got a connection while down (%d bytes)", len(b))
	case <-time.After(100 * time.Millisecond):
	}
	p.Restore()
	send(500)
	if b := wait(); len(b) != 500 {
		t.Fatalf("restored: the server got %d bytes", len(b))
	}
}
