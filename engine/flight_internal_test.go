package engine

import (
	"strings"
	"testing"
)

// TestSettleWhileUnwinding: an owner whose execute unwinds from a panic
// settles its flight with a nil result; that must not panic over the
// first panic, and the flight counts as failed, naming the owner.
func TestSettleWhileUnwinding(t *testing.T) {
	f := &flight{owner: &Step{Addr: "count.a"}, done: make(chan struct{})}
	f.settle(nil)
	select {
	case <-f.done:
	default:
		t.Fatal("the flight is not settled")
	}
	if f.status != Failed || f.err == nil || !strings.Contains(f.err.Error(), "count.a did not finish") {
		t.Fatalf("status %v, err %v; want Failed naming count.a", f.status, f.err)
	}
}
