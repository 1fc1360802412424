package dataset

import "testing"

func TestSizeBucket(t *testing.T) {
	for n, want := range map[int]string{0: "<16", 15: "<16", 16: "16-31", 31: "16-31", 32: "32-63", 100: "64-127", 255: "128-255", 256: "256-511", 1023: "512-1023", 1024: "≥1024", 99999: "≥1024"} {
		if got := sizeBucket(n); got != want {
			t.Errorf("sizeBucket(%d) = %q, want %q", n, got, want)
		}
	}
}
