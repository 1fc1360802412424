package gemm

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// openBLAS is libopenblas.so.0 bound through purego. It calls the
// Fortran entry point sgemm_, whose arguments are all pointers, through
// purego.SyscallN: 0.2 µs a call where a bound function with float
// arguments (cblas_sgemm through purego.RegisterFunc) takes 1 µs and
// allocates; a training step makes thousands of calls.
type openBLAS struct {
	name  string
	core  string // the kernel, as openblas_get_corename says
	sgemm uintptr
}

// fortranArgs holds sgemm_'s scalar arguments, which it takes by
// address: one block per call in flight, from a pool, on the heap.
type fortranArgs struct {
	transA, transB byte
	m, n, k        int32
	alpha, beta    float32
	lda, ldb, ldc  int32
}

var argPool = sync.Pool{New: func() any { return new(fortranArgs) }}

// The file names tried, in order: Debian's soname first.
var openBLASLibs = []string{"libopenblas.so.0", "libopenblas.so"}

// LibEnv is the environment variable that names the OpenBLAS library to
// load instead (a path, such as /opt/OpenBLAS/lib/libopenblas.so, or a
// file name the dynamic loader finds): for a build of OpenBLAS outside
// the system's library path. The key records the version and kernel of
// whichever library loads.
const LibEnv = "DSBUILD_OPENBLAS"

// libNames is the file names to try: LibEnv's alone when it is set.
func libNames() []string {
	if v := os.Getenv(LibEnv); v != "" {
		return []string{v}
	}
	return openBLASLibs
}

var loaded struct {
	once sync.Once
	b    *openBLAS
	err  error
}

// OpenBLAS loads OpenBLAS (once per process) and fixes its thread count
// at 1. The error says why it did not load, e.g. that libopenblas.so.0
// was not found.
func OpenBLAS() (Backend, error) {
	loaded.once.Do(func() { loaded.b, loaded.err = loadOpenBLAS(libNames()) })
	if loaded.err != nil {
		return nil, loaded.err
	}
	return loaded.b, nil
}

func loadOpenBLAS(libs []string) (*openBLAS, error) {
	// purego passes float arguments in registers only on these.
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		return nil, fmt.Errorf("openblas: not supported on %s", runtime.GOARCH)
	}
	// dlerror's message is per thread: keep dlopen and dlerror on one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var h uintptr
	var errs []string
	for _, lib := range libs {
		var err error
		// The library stays loaded: the bound functions point into it.
		if h, err = purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_LOCAL); err == nil {
			break
		}
		errs = append(errs, err.Error())
	}
	if h == 0 {
		return nil, fmt.Errorf("openblas: %s", strings.Join(errs, "; "))
	}
	b := &openBLAS{}
	var err error
	if b.sgemm, err = purego.Dlsym(h, "sgemm_"); err != nil {
		return nil, fmt.Errorf("openblas: the library lacks sgemm_: %w", err)
	}
	var setThreads func(n int32)
	var getConfig, getCorename func() *byte
	for _, e := range []struct {
		name string
		fn   any
	}{
		{"openblas_set_num_threads", &setThreads},
		{"openblas_get_config", &getConfig},
		{"openblas_get_corename", &getCorename},
	} {
		sym, err := purego.Dlsym(h, e.name)
		if err != nil {
			return nil, fmt.Errorf("openblas: the library lacks %s: %w", e.name, err)
		}
		purego.RegisterFunc(e.fn, sym)
	}
	setThreads(1)
	// "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
	config := strings.Fields(cString(getConfig()))
	version := "unknown"
	if len(config) >= 2 && config[0] == "OpenBLAS" {
		version = config[1]
	}
	core := strings.Join(strings.Fields(cString(getCorename())), "_")
	if core == "" {
		core = "unknown"
	}
	b.core = core
	b.name = fmt.Sprintf("openblas %s %s threads 1", version, core)
	return b, nil
}

func cString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

func (b *openBLAS) Name() string { return b.name }

func (b *openBLAS) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bm []float32, ldb int, beta float32, c []float32, ldc int) {
	check(transA, transB, m, n, k, a, lda, bm, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		// C = beta·C, without handing C an empty operand.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
				continue
			}
			for j := range row {
				row[j] *= beta
			}
		}
		return
	}
	const maxInt32 = 1<<31 - 1
	if m > maxInt32 || n > maxInt32 || k > maxInt32 || lda > maxInt32 || ldb > maxInt32 || ldc > maxInt32 {
		panic(fmt.Sprintf("gemm: openblas: shape %d×%d×%d exceeds 32-bit indices", m, n, k))
	}
	// Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, and a
	// row-major matrix read column-major is its transpose: so B comes
	// first, and each keeps its own transpose flag.
	p := argPool.Get().(*fortranArgs)
	*p = fortranArgs{transA: flag(transB), transB: flag(transA), m: int32(n), n: int32(m), k: int32(k),
		alpha: alpha, beta: beta, lda: int32(ldb), ldb: int32(lda), ldc: int32(ldc)}
	purego.SyscallN(b.sgemm,
		uintptr(unsafe.Pointer(&p.transA)), uintptr(unsafe.Pointer(&p.transB)),
		uintptr(unsafe.Pointer(&p.m)), uintptr(unsafe.Pointer(&p.n)), uintptr(unsafe.Pointer(&p.k)),
		uintptr(unsafe.Pointer(&p.alpha)), uintptr(unsafe.Pointer(unsafe.SliceData(bm))), uintptr(unsafe.Pointer(&p.lda)),
		uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(&p.ldb)),
		uintptr(unsafe.Pointer(&p.beta)), uintptr(unsafe.Pointer(unsafe.SliceData(c))), uintptr(unsafe.Pointer(&p.ldc)))
	runtime.KeepAlive(a)
	runtime.KeepAlive(bm)
	runtime.KeepAlive(c)
	argPool.Put(p)
}

func flag(t bool) byte {
	if t {
		return 'T'
	}
	return 'N'
}
