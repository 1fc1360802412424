package remotetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"dsbuild/cache"
)

// envBroken selects, in a child process, the broken backend that
// TestBrokenBackend runs the suite on.
const envBroken = "REMOTETEST_BROKEN"

// brokenBackends are remotes each wrong in one way, and the subtest of
// the suite that must catch it.
var brokenBackends = map[string]string{
	"stores a prefix when the reader fails": "FailedPut",
	"a miss is not ErrRemoteMiss":           "GetAbsent",
	"Missing reports everything":            "Missing",
	"Missing ignores the bulk":              "MissingMany",
	"Get ends large blobs early":            "RoundTrip",
	"a second Put fails":                    "PutExisting",
	"concurrent Puts fail":                  "ConcurrentPut",
	"entries in the order given":            "Action",
	"a second PutAction fails":              "ActionTwice",
	"String shows the secret":               "String",
	"Put ignores its context":               "CancelPut",
	"Get ignores its context":               "CancelGet",
	"Missing ignores its context":           "CancelOthers",
}

// TestRunCatchesBrokenBackends runs the suite, in a child process, on
// each broken backend and checks that the subtest meant to catch it
// fails (a suite that passes everything would pass this test's other
// half, TestMemoryConforms, too).
func TestRunCatchesBrokenBackends(t *testing.T) {
	if os.Getenv(envBroken) != "" {
		t.Skip("in the child process")
	}
	names := make([]string, 0, len(brokenBackends))
	for name := range brokenBackends {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		sub := brokenBackends[name]
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestBrokenBackend$/^"+sub+"$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), envBroken+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite's %s passed a backend where %s:\n%s", sub, name, out)
			}
			if want := "--- FAIL: TestBrokenBackend/" + sub; !bytes.Contains(out, []byte(want)) {
				t.Fatalf("want %q in the output:\n%s", want, out)
			}
		})
	}
}

// TestBrokenBackend is the child process's half of
// TestRunCatchesBrokenBackends.
func TestBrokenBackend(t *testing.T) {
	kind := os.Getenv(envBroken)
	if kind == "" {
		t.Skip("runs as a child of TestRunCatchesBrokenBackends")
	}
	if _, ok := brokenBackends[kind]; !ok {
		t.Fatalf("no broken backend %q", kind)
	}
	b := &broken{MemRemote: Memory(), kind: kind, inflight: map[cache.Ref]bool{}, order: map[cache.ActionKey][]cache.RemoteOutput{}}
	RunWith(t, func(*testing.T) cache.Remote { return b }, Options{Secrets: []string{"hunter2"}})
}

// broken is a MemRemote with one fault, named by kind.
type broken struct {
	*MemRemote
	kind string

	mu       sync.Mutex
	inflight map[cache.Ref]bool
	order    map[cache.ActionKey][]cache.RemoteOutput
}

func (b *broken) Missing(ctx context.Context, refs []cache.Ref) ([]cache.Ref, error) {
	switch b.kind {
	case "Missing reports everything":
		return refs, nil
	case "Missing ignores the bulk":
		if len(refs) > 1000 {
			refs = refs[:1000]
		}
	case "Missing ignores its context":
		ctx = context.Background()
	}
	return b.MemRemote.Missing(ctx, refs)
}

func (b *broken) Put(ctx context.Context, ref cache.Ref, r io.Reader) error {
	switch b.kind {
	case "stores a prefix when the reader fails":
		data, err := io.ReadAll(r)
		if err != nil || int64(len(data)) != ref.Size {
			b.Plant(ref, data)
			return fmt.Errorf("put: %v", err)
		}
		return b.MemRemote.Put(ctx, ref, bytes.NewReader(data))
	case "a second Put fails":
		if b.Has(ref) {
			return errors.New("exists")
		}
	case "concurrent Puts fail":
		b.mu.Lock()
		busy := b.inflight[ref]
		b.inflight[ref] = true
		b.mu.Unlock()
		defer func() {
			b.mu.Lock()
			delete(b.inflight, ref)
			b.mu.Unlock()
		}()
		if busy {
			return errors.New("busy")
		}
	case "Put ignores its context":
		ctx = context.Background()
	}
	return b.MemRemote.Put(ctx, ref, r)
}

func (b *broken) Get(ctx context.Context, ref cache.Ref) (io.ReadCloser, error) {
	switch b.kind {
	case "a miss is not ErrRemoteMiss":
		if !b.Has(ref) {
			return nil, errors.New("no such blob")
		}
	case "Get ends large blobs early":
		rc, err := b.MemRemote.Get(ctx, ref)
		if err != nil || ref.Size < 1<<20 {
			return rc, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(rc, ref.Size-1), rc}, nil
	case "Get ignores its context":
		ctx = context.Background()
	}
	return b.MemRemote.Get(ctx, ref)
}

func (b *broken) PutAction(ctx context.Context, key cache.ActionKey, outs []cache.RemoteOutput) error {
	switch b.kind {
	case "entries in the order given":
		b.mu.Lock()
		b.order[key] = slices.Clone(outs)
		b.mu.Unlock()
	case "a second PutAction fails":
		if _, err := b.MemRemote.GetAction(ctx, key); err == nil {
			return errors.New("exists")
		}
	}
	return b.MemRemote.PutAction(ctx, key, outs)
}

func (b *broken) GetAction(ctx context.Context, key cache.ActionKey) ([]cache.RemoteOutput, error) {
	if b.kind == "entries in the order given" {
		b.mu.Lock()
		outs, ok := b.order[key]
		b.mu.Unlock()
		if ok {
			return outs, nil
		}
	}
	return b.MemRemote.GetAction(ctx, key)
}

func (b *broken) String() string {
	if b.kind == "String shows the secret" {
		return "memory://user:hunter2@here"
	}
	return strings.Clone(b.MemRemote.String())
}
