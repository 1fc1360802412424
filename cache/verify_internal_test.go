package cache

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
)

// A verified reader read after Close (as an HTTP client's body writer may
// do, in its own goroutine, after the request returned) answers an error
// and leaves the blob alone: a closed zstd decoder is not a corrupt blob.
func TestVerifiedReaderAfterCloseKeepsTheBlob(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Repeat("compressible annotation text ", 2000))
	d, err := s.PutBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, comp, ok := s.stat(d); !ok || !comp {
		t.Fatalf("the blob is not stored compressed (ok %v, compressed %v): the test needs a zstd blob", ok, comp)
	}
	rc, err := s.openVerified(d)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, err := rc.Read(buf); err != nil {
		t.Fatal(err)
	}
	// Reads racing a Close, then reads after it.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				rc.Read(buf)
			}
		}()
	}
	rc.Close()
	wg.Wait()
	if _, err := rc.Read(buf); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read after Close: %v, want os.ErrClosed", err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if !s.Has(d) {
		t.Fatal("the blob was removed as corrupt")
	}
	got, err := s.ReadBlob(d)
	if err != nil || string(got) != string(data) {
		t.Fatalf("the blob reads back wrong: %d bytes, %v", len(got), err)
	}
}
