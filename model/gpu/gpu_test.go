package gpu

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ebitengine/purego"

	"dsbuild/model"
)

// testNet is a network with model.Init's weights for seed and non-zero
// biases (Init's are zero), set deterministically.
func testNet(t testing.TB, depth, width, size int, seed uint64) *model.Folded {
	t.Helper()
	c := &model.Config{Arch: "unet", Depth: depth, Width: width, InputSize: size, InChannels: 3, Foreground: []string{"fg"}}
	w := model.Init(c, seed)
	for _, cv := range c.Convs() {
		b := w[cv.Name+".bias"]
		for o := range b {
			b[o] = float32(int(o*7+len(cv.Name))%11-5) / 64
		}
	}
	f, err := model.Fold(c, w)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// testImages is n random images for f, in [0, 1].
func testImages(f *model.Folded, n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*3*f.Config.InputSize*f.Config.InputSize)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

// reference is model.(*Folded).Forward over the n images of x, in
// parallel.
func reference(f *model.Folded, x []float32, n int) []float32 {
	in, per := len(x)/n, f.Config.InputSize*f.Config.InputSize
	out := make([]float32, n*per)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { copy(out[i*per:], f.Forward(x[i*in:(i+1)*in])) })
	}
	wg.Wait()
	return out
}

// compare checks GPU logits against the reference: every difference
// within 1e-4 of the largest reference magnitude (at least 1), and masks
// (logit > 0) agreeing on at least 99.9% of pixels. It returns the
// fraction of bit-identical values.
func compare(t *testing.T, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d logits, want %d", len(got), len(want))
	}
	var scale, worst float64 = 1, 0
	same, agree, pos := 0, 0, 0
	for i, w := range want {
		if w > 0 {
			pos++
		}
		scale = max(scale, math.Abs(float64(w)))
		worst = max(worst, math.Abs(float64(got[i])-float64(w)))
		if math.Float32bits(got[i]) == math.Float32bits(w) {
			same++
		}
		if (got[i] > 0) == (w > 0) {
			agree++
		}
	}
	n := float64(len(want))
	t.Logf("%d logits (%.3f positive): %.6f bit-identical, mask agreement %.6f, max abs diff %g (scale %g)",
		len(want), float64(pos)/n, float64(same)/n, float64(agree)/n, worst, scale)
	if worst > 1e-4*scale {
		t.Errorf("max abs difference %g exceeds %g", worst, 1e-4*scale)
	}
	if float64(agree)/n < 0.999 {
		t.Errorf("mask agreement %.6f, want ≥ 0.999", float64(agree)/n)
	}
	return float64(same) / n
}

func TestOpenMissingDriver(t *testing.T) {
	dev, err := open("libdsbuild-no-such-driver.so.1")
	if err == nil || dev != nil {
		t.Fatalf("open(missing) = %v, %v; want an error", dev, err)
	}
	if want := "no CUDA driver: libdsbuild-no-such-driver.so.1: cannot open shared object file"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want prefix %q", err, want)
	}
}

// TestOpen checks that Open answers here without exiting or panicking:
// a device on a GPU machine, an error elsewhere.
func TestOpen(t *testing.T) {
	dev, err := Open()
	if err != nil {
		t.Logf("Open: %v", err)
		if dev != nil {
			t.Error("Open returned a device with its error")
		}
		return
	}
	t.Logf("Open: %s", dev.Name())
	if err := dev.Close(); err != nil {
		t.Error(err)
	}
}

// fakeDriver builds testdata/fakecuda.cc with defines into a shared
// library and returns its path; it skips the test without a C++
// compiler.
func fakeDriver(t *testing.T, defines ...string) string {
	t.Helper()
	cxx, err := exec.LookPath("c++")
	if err != nil {
		t.Skip("no C++ compiler for the fake driver:", err)
	}
	lib := filepath.Join(t.TempDir(), "libfakecuda.so")
	args := append([]string{"-shared", "-fPIC", "-O2", "-ffp-contract=off", "-o", lib, "testdata/fakecuda.cc"}, defines...)
	if out, err := exec.Command(cxx, args...).CombinedOutput(); err != nil {
		t.Fatalf("building the fake driver: %v\n%s", err, out)
	}
	return lib
}

func TestOpenFailures(t *testing.T) {
	for _, tc := range []struct{ define, want string }{
		{"-DFAKE_INIT_RESULT=100", "cuInit: no CUDA-capable device is detected (CUresult 100)"},
		{"-DFAKE_DEVICES=0", "no CUDA device"},
	} {
		dev, err := open(fakeDriver(t, tc.define))
		if err == nil || dev != nil || err.Error() != tc.want {
			t.Errorf("%s: open = %v, %v; want error %q", tc.define, dev, err, tc.want)
		}
	}
	_, err := open(fakeDriver(t, "-DFAKE_INIT_RESULT=100"))
	var cerr *Error
	if !errors.As(err, &cerr) || cerr.Call != "cuInit" || cerr.Code != 100 {
		t.Errorf("error %#v, want an *Error from cuInit with code 100", err)
	}
}

// TestFakeDriver runs the whole binding — argument passing, layout,
// schedule, copies — against a fake driver that executes kernels.cu on
// the CPU, and wants logits bit-identical to the reference.
func TestFakeDriver(t *testing.T) {
	lib := fakeDriver(t)
	dev, err := open(lib)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Name() != "Fake CUDA device" {
		t.Errorf("Name() = %q", dev.Name())
	}
	for _, net := range []struct{ depth, width, size int }{{1, 2, 8}, {3, 4, 32}} {
		f := testNet(t, net.depth, net.width, net.size, 7)
		r, err := NewRunner(dev, f, 3)
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= 3; n++ {
			x := testImages(f, n, uint64(n))
			got, err := r.Forward(x, n)
			if err != nil {
				t.Fatal(err)
			}
			if same := compare(t, got, reference(f, x, n)); same != 1 {
				t.Errorf("%+v, %d images: %.6f bit-identical, want all", net, n, same)
			}
		}
		// Concurrent calls are serialised on the device's thread.
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				x := testImages(f, 2, uint64(10+i))
				got, err := r.Forward(x, 2)
				if err != nil || !slices.Equal(got, reference(f, x, 2)) {
					t.Errorf("concurrent Forward %d: %v, or logits differ", i, err)
				}
			})
		}
		wg.Wait()
		if _, err := r.Forward(testImages(f, 4, 0), 4); err == nil {
			t.Error("Forward of 4 images on a batch-3 runner succeeded")
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Forward(testImages(f, 1, 0), 1); !errors.Is(err, ErrClosed) {
			t.Errorf("Forward after Close: %v, want ErrClosed", err)
		}
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dev.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
	h, err := purego.Dlopen(lib, purego.RTLD_NOW)
	if err != nil {
		t.Fatal(err)
	}
	var live func() int32
	purego.RegisterLibFunc(&live, h, "fake_live")
	if n := live(); n != 0 {
		t.Errorf("%d allocations, contexts or modules left after Close", n)
	}
}

// TestPTXUpToDate checks that the embedded kernels.ptx is what genptx.sh
// makes of kernels.cu.
func TestPTXUpToDate(t *testing.T) {
	if _, err := exec.LookPath("clang-14"); err != nil {
		t.Skip("clang-14 absent:", err)
	}
	out := filepath.Join(t.TempDir(), "kernels.ptx")
	if msg, err := exec.Command("sh", "genptx.sh", out).CombinedOutput(); err != nil {
		t.Fatalf("genptx.sh: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(kernelsPTX)) {
		t.Error("kernels.ptx is stale: run go generate ./model/gpu")
	}
}

// TestGPUMatchesReference compares the GPU's logits with the pure-Go
// forward pass; it skips where no GPU can be opened.
func TestGPUMatchesReference(t *testing.T) {
	dev, err := Open()
	if err != nil {
		t.Skip("no GPU:", err)
	}
	defer func() {
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	}()
	t.Logf("device: %s", dev.Name())
	for _, net := range []struct{ depth, width, size int }{{3, 8, 64}, {4, 16, 256}} {
		f := testNet(t, net.depth, net.width, net.size, 11)
		r, err := NewRunner(dev, f, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{4, 3} {
			x := testImages(f, n, uint64(net.size+n))
			got, err := r.Forward(x, n)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("depth %d width %d size %d, %d images:", net.depth, net.width, net.size, n)
			compare(t, got, reference(f, x, n))
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}
}
