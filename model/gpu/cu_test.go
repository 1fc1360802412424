//go:build cu

package gpu

import "testing"

// TestCURunnerMatchesReference is TestGPUMatchesReference for the cu
// runner. A cu build needs a GPU to start at all: cu's init exits
// without one.
func TestCURunnerMatchesReference(t *testing.T) {
	f := testNet(t, 3, 8, 64, 11)
	r, err := NewCURunner(f, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}()
	t.Logf("device: %s", r.DeviceName())
	x := testImages(f, 4, 68)
	got, err := r.Forward(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, got, reference(f, x, 4))
}
