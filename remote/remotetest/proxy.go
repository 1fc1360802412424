package remotetest

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP proxy on loopback in front of a test server. It can play
// the server dying at an exact point of a transfer: CutAfter lets a given
// number of bytes through in one direction and then drops every
// connection and answers no more (new connections are closed at once)
// until Restore. Tests point dsbuild at Addr instead of the server.
type Proxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// budget[0] counts client→server bytes, budget[1] server→client; a
	// negative budget is unlimited.
	budget [2]atomic.Int64
	down   atomic.Bool
	cuts   atomic.Int64
	// OnCut, if set before the cut, runs once per cut after the
	// connections are dropped (tests kill the server there, so that the
	// cut is a real death at an exact byte).
	OnCut func()
}

// StartProxy listens on a free loopback port and forwards every
// connection to target (host:port) until the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{t: t, ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.budget[0].Store(-1)
	p.budget[1].Store(-1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.dropAll()
	})
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// CutAfter arms the cut: after up more bytes from clients to the server,
// or down more bytes from the server to clients (a negative count never
// cuts that direction), the proxy drops every connection and refuses
// new ones.
func (p *Proxy) CutAfter(up, down int64) {
	p.budget[0].Store(up)
	p.budget[1].Store(down)
}

// Restore disarms the cut and lets connections through again.
func (p *Proxy) Restore() {
	p.budget[0].Store(-1)
	p.budget[1].Store(-1)
	p.down.Store(false)
}

// Cuts reports how many times a cut happened.
func (p *Proxy) Cuts() int64 { return p.cuts.Load() }

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			c.Close()
			continue
		}
		go p.forward(c)
	}
}

func (p *Proxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, as when the server's process dies
		}
		c.Close()
		delete(p.conns, c)
	}
}

// cut takes the server away.
func (p *Proxy) cut() {
	first := p.down.CompareAndSwap(false, true)
	p.dropAll()
	if first {
		p.cuts.Add(1)
		if p.OnCut != nil {
			p.OnCut()
		}
	}
}

func (p *Proxy) forward(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, true)
	p.track(server, true)
	defer func() {
		p.track(client, false)
		p.track(server, false)
		client.Close()
		server.Close()
	}()
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client, 0); done <- struct{}{} }()
	go func() { p.pipe(client, server, 1); done <- struct{}{} }()
	<-done
}

// pipe copies src to dst, spending budget[dir], and cuts when it runs out.
func (p *Proxy) pipe(dst, src net.Conn, dir int) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			cut := false
			if b := p.budget[dir].Load(); b >= 0 {
				left := p.budget[dir].Add(-int64(n))
				if left <= 0 {
					keep := int64(n) + left // what was left before this chunk
					chunk, cut = chunk[:max(keep, 0)], true
				}
			}
			if p.down.Load() {
				return
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return
			}
			if cut {
				p.cut()
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return
			}
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			return
		}
	}
}
