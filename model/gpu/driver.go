package gpu

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// result is a CUresult; 0 is CUDA_SUCCESS.
type result int32

// Error is a CUDA driver call that failed.
type Error struct {
	Call string // the driver entry point, with what it acted on
	Code int    // the CUresult
	Msg  string // cuGetErrorString's text
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s (CUresult %d)", e.Call, e.Msg, e.Code) }

// ErrClosed is returned by calls on a closed Device or Runner.
var ErrClosed = errors.New("gpu: closed")

// driver holds the entry points of libcuda.so.1 that the runner uses, by
// their versioned names; their ABI is the same in CUDA 11, 12 and 13.
type driver struct {
	init              func(flags uint32) result
	deviceGetCount    func(count *int32) result
	deviceGet         func(dev *int32, ordinal int32) result
	deviceGetName     func(name *byte, size int32, dev int32) result
	primaryCtxRetain  func(ctx *uintptr, dev int32) result
	primaryCtxRelease func(dev int32) result
	ctxSetCurrent     func(ctx uintptr) result
	moduleLoadData    func(mod *uintptr, image *byte) result
	moduleUnload      func(mod uintptr) result
	moduleGetFunction func(fn *uintptr, mod uintptr, name string) result
	memAlloc          func(ptr *uint64, size uint64) result
	memFree           func(ptr uint64) result
	memcpyHtoD        func(dst uint64, src unsafe.Pointer, size uint64) result
	memcpyDtoH        func(dst unsafe.Pointer, src uint64, size uint64) result
	launchKernel      func(fn uintptr, gx, gy, gz, bx, by, bz, sharedMem uint32, stream uintptr, params, extra *unsafe.Pointer) result
	ctxSynchronize    func() result
	getErrorString    func(r result, msg **byte) result
}

func bind(lib uintptr) (*driver, error) {
	d := new(driver)
	for _, e := range []struct {
		name string
		fn   any
	}{
		{"cuInit", &d.init},
		{"cuDeviceGetCount", &d.deviceGetCount},
		{"cuDeviceGet", &d.deviceGet},
		{"cuDeviceGetName", &d.deviceGetName},
		{"cuDevicePrimaryCtxRetain", &d.primaryCtxRetain},
		{"cuDevicePrimaryCtxRelease_v2", &d.primaryCtxRelease},
		{"cuCtxSetCurrent", &d.ctxSetCurrent},
		{"cuModuleLoadData", &d.moduleLoadData},
		{"cuModuleUnload", &d.moduleUnload},
		{"cuModuleGetFunction", &d.moduleGetFunction},
		{"cuMemAlloc_v2", &d.memAlloc},
		{"cuMemFree_v2", &d.memFree},
		{"cuMemcpyHtoD_v2", &d.memcpyHtoD},
		{"cuMemcpyDtoH_v2", &d.memcpyDtoH},
		{"cuLaunchKernel", &d.launchKernel},
		{"cuCtxSynchronize", &d.ctxSynchronize},
		{"cuGetErrorString", &d.getErrorString},
	} {
		sym, err := purego.Dlsym(lib, e.name)
		if err != nil {
			return nil, fmt.Errorf("CUDA driver lacks %s: %w", e.name, err)
		}
		purego.RegisterFunc(e.fn, sym)
	}
	return d, nil
}

// check turns r into an *Error naming call, or nil on success.
func (d *driver) check(call string, r result) error {
	if r == 0 {
		return nil
	}
	msg := "unknown error"
	var p *byte
	if d.getErrorString(r, &p) == 0 && p != nil {
		msg = cString(p)
	}
	return &Error{Call: call, Code: int(r), Msg: msg}
}

func cString(p *byte) string {
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// worker runs functions on one goroutine locked to its OS thread, as the
// CUDA context made current there requires. Calls are serialised.
type worker struct {
	mu   sync.Mutex
	jobs chan func()
}

func newWorker() *worker {
	w := &worker{jobs: make(chan func())}
	go func() {
		// The thread stays locked: it exits with the goroutine, taking
		// the context binding with it.
		runtime.LockOSThread()
		for f := range w.jobs {
			f()
		}
	}()
	return w
}

// do runs f on the worker's thread and returns its error, or ErrClosed.
func (w *worker) do(f func() error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.jobs == nil {
		return ErrClosed
	}
	done := make(chan error)
	w.jobs <- func() { done <- f() }
	return <-done
}

// stop ends the worker after running f, if the worker still runs.
func (w *worker) stop(f func() error) error {
	err := w.do(f)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.jobs != nil {
		close(w.jobs)
		w.jobs = nil
	}
	return err
}

// Device is a GPU with its primary context current on a dedicated OS
// thread and the kernels loaded.
type Device struct {
	d       *driver
	w       *worker
	ordinal int32
	name    string
	ctx     uintptr // the retained primary context
	module  uintptr
	fns     [numKernels]uintptr
}

// Open loads the CUDA driver, libcuda.so.1, and opens the first GPU. It
// returns an error when the driver, a device or the kernels' JIT fails,
// e.g. "no CUDA driver: libcuda.so.1: cannot open shared object file".
func Open() (*Device, error) { return open("libcuda.so.1") }

func open(lib string) (*Device, error) {
	// dlerror's message is per thread: keep dlopen and dlerror on one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// The library stays loaded: the bound functions point into it, and
	// the driver does not support being unloaded.
	h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("no CUDA driver: %w", err)
	}
	d, err := bind(h)
	if err != nil {
		return nil, err
	}
	dev := &Device{d: d, w: newWorker()}
	if err := dev.w.do(dev.start); err != nil {
		// The start error says what went wrong; a failed clean-up adds
		// nothing the caller can act on.
		_ = dev.w.stop(dev.release)
		return nil, err
	}
	return dev, nil
}

// start initialises the driver and the device; it runs on the worker.
func (dev *Device) start() error {
	d := dev.d
	if err := d.check("cuInit", d.init(0)); err != nil {
		return err
	}
	var count int32
	if err := d.check("cuDeviceGetCount", d.deviceGetCount(&count)); err != nil {
		return err
	}
	if count == 0 {
		return errors.New("no CUDA device")
	}
	if err := d.check("cuDeviceGet(0)", d.deviceGet(&dev.ordinal, 0)); err != nil {
		return err
	}
	var name [256]byte
	if err := d.check("cuDeviceGetName", d.deviceGetName(&name[0], int32(len(name)-1), dev.ordinal)); err != nil {
		return err
	}
	dev.name = cString(&name[0])
	if err := d.check("cuDevicePrimaryCtxRetain", d.primaryCtxRetain(&dev.ctx, dev.ordinal)); err != nil {
		return err
	}
	if err := d.check("cuCtxSetCurrent", d.ctxSetCurrent(dev.ctx)); err != nil {
		return err
	}
	image := append([]byte(kernelsPTX), 0)
	if err := d.check("cuModuleLoadData(kernels.ptx)", d.moduleLoadData(&dev.module, &image[0])); err != nil {
		return err
	}
	for k, name := range kernelNames {
		if err := d.check("cuModuleGetFunction("+name+")", d.moduleGetFunction(&dev.fns[k], dev.module, name)); err != nil {
			return err
		}
	}
	return nil
}

// release unloads the kernels and releases the context, as far as start
// got; it runs on the worker.
func (dev *Device) release() error {
	var errs []error
	if dev.module != 0 {
		errs = append(errs, dev.d.check("cuModuleUnload", dev.d.moduleUnload(dev.module)))
		dev.module = 0
	}
	if dev.ctx != 0 {
		errs = append(errs, dev.d.check("cuDevicePrimaryCtxRelease", dev.d.primaryCtxRelease(dev.ordinal)))
		dev.ctx = 0
	}
	return errors.Join(errs...)
}

// Name is the GPU's name, as "NVIDIA H100 80GB HBM3".
func (dev *Device) Name() string { return dev.name }

// Close unloads the kernels and releases the GPU. Close the device's
// Runners first.
func (dev *Device) Close() error { return dev.w.stop(dev.release) }

// launch runs one kernel; it runs on the worker.
func (dev *Device) launch(l launch) error {
	// cuLaunchKernel reads each argument through a pointer, before it
	// returns; both arrays are on the Go heap, alive until then.
	vals := append([]uint64(nil), l.args...)
	ptrs := make([]unsafe.Pointer, len(vals))
	for i := range vals {
		ptrs[i] = unsafe.Pointer(&vals[i])
	}
	blocks, block := grid(l.threads)
	r := dev.d.launchKernel(dev.fns[l.kernel], blocks, 1, 1, block, 1, 1, 0, 0, &ptrs[0], nil)
	runtime.KeepAlive(vals)
	return dev.d.check("cuLaunchKernel("+l.kernel.String()+")", r)
}
