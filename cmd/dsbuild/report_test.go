package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressText(t *testing.T) {
	for _, tc := range []struct {
		done, total int64
		elapsed     time.Duration
		want        string
	}{
		{0, 0, 1234 * time.Millisecond, "1.2s"},
		{250, 1000, 2 * time.Second, "250/1000 items  125/s  eta 6s  2s"},
		{1000, 1000, 4 * time.Second, "1000/1000 items  250/s  4s"},
		{0, 10, time.Second, "0/10 items  0/s  1s"},
	} {
		if got := progressText(tc.done, tc.total, tc.elapsed, ""); got != tc.want {
			t.Errorf("progressText(%d, %d, %v) = %q, want %q", tc.done, tc.total, tc.elapsed, got, tc.want)
		}
	}
	if got := progressText(3, 12, time.Second, "steps"); got != "3/12 steps  3/s  eta 3s  1s" {
		t.Errorf("with a unit: %q", got)
	}
	// Slower than one a second: the time per step, not "0/s".
	if got := progressText(2, 10, 36800*time.Millisecond, "steps"); got != "2/10 steps  18.4s/step  eta 2m27s  36.8s" {
		t.Errorf("slow steps: %q", got)
	}
}

// The terminal reporter shows the remote's transfers on a line of their
// own from the first blob moved, with counts, bytes and rates.
func TestTransferLine(t *testing.T) {
	var buf bytes.Buffer
	tr := newTTYReporter(&buf, "build", recipeView{})
	var _ transferShower = tr
	tr.Transfer(false, 2048)
	tr.Transfer(false, 2048)
	tr.Transfer(true, 100)
	text := tr.transferText()
	for _, want := range []string{"↓ 2 blobs 4.0 KiB  ", "↑ 1 blobs 100 B  ", "/s"} {
		if !strings.Contains(text, want) {
			t.Errorf("transferText() = %q, want it to hold %q", text, want)
		}
	}
	tr.Close()            // removes the line; must not hang
	tr.Transfer(false, 1) // after Close: counted, nothing drawn, no panic
}
