// Package gemm multiplies float32 matrices for the trainer: with OpenBLAS,
// loaded at run time without cgo (libopenblas.so.0, Debian's libopenblas0),
// or with gonum's pure-Go code when that library is absent.
//
// Guarantees:
//   - A Backend's Name identifies its arithmetic: two calls with the same
//     operands on backends of the same Name give the same bits. OpenBLAS's
//     name carries its version, the CPU kernel it picked when it loaded
//     (its core name: from the CPU, or from OPENBLAS_CORETYPE when that is
//     set) and its thread count, which this package fixes at 1, because
//     OpenBLAS's results depend on all three; gonum's carries its module
//     version.
//   - Every call checks its operands' lengths against the shapes before
//     any C code runs: a short slice panics in Go, never writes past a
//     buffer in C.
//   - Calls are safe from any number of goroutines at once. OpenBLAS runs
//     each call on the calling thread; parallelism is the caller's.
//
// The environment variable DSBUILD_GEMM picks the default backend:
// "openblas" (an error when the library does not load), "gonum", or empty
// for OpenBLAS when it loads and gonum otherwise. Select takes a recipe's
// spec instead, which can also force an OpenBLAS kernel, so that a
// model's bits do not depend on which kernel the CPU would get.
package gemm

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Backend computes C = alpha·op(A)·op(B) + beta·C on row-major matrices,
// where op(X) is X, or its transpose when the matching flag is set; op(A)
// is m×k, op(B) k×n and C m×n, with leading dimensions lda, ldb, ldc.
type Backend interface {
	Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	// Name identifies the arithmetic, e.g. "openblas 0.3.21 Haswell
	// threads 1" or "gonum v0.11.0".
	Name() string
}

// Env is the environment variable that picks the backend.
const Env = "DSBUILD_GEMM"

var def struct {
	once sync.Once
	b    Backend
	err  error
}

// Default is the backend DSBUILD_GEMM asks for: OpenBLAS when it loads
// and gonum otherwise, unless the variable names one. It is chosen once
// per process. The error is that of an explicit "openblas" that did not
// load, or of an unknown name.
func Default() (Backend, error) {
	def.once.Do(func() { def.b, def.err = choose(os.Getenv(Env)) })
	return def.b, def.err
}

// choose is Default for one value of DSBUILD_GEMM.
func choose(v string) (Backend, error) {
	switch v {
	case "":
		if b, err := OpenBLAS(); err == nil {
			return b, nil
		}
		return Gonum(), nil
	case "openblas":
		return OpenBLAS()
	case "gonum":
		return Gonum(), nil
	}
	return nil, fmt.Errorf("%s=%q: use openblas, gonum or leave it empty", Env, v)
}

type gonumBackend struct{ name string }

var gonumName = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "gonum.org/v1/gonum" {
				if d.Replace != nil {
					d = d.Replace
				}
				return "gonum " + d.Version
			}
		}
	}
	return "gonum"
})

// Gonum is gonum's pure-Go (with its own small assembly kernels) Sgemm.
// It splits large products over goroutines by output block, each summing
// over k in order, so its bits do not depend on GOMAXPROCS.
func Gonum() Backend { return gonumBackend{gonumName()} }

func (g gonumBackend) Name() string { return g.name }

func (gonumBackend) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	gonum.Implementation{}.Sgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// check panics when a slice is too short for its shape or a leading
// dimension is too small: these are the caller's bugs, and C must never
// see them.
func check(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative shape %d×%d×%d", m, n, k))
	}
	need := func(what string, buf []float32, rows, cols, ld int) {
		if ld < max(cols, 1) {
			panic(fmt.Sprintf("gemm: %s: leading dimension %d < %d columns", what, ld, cols))
		}
		if rows > 0 && cols > 0 && len(buf) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("gemm: %s: %d values for %d×%d with stride %d", what, len(buf), rows, cols, ld))
		}
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	need("A", a, ar, ac, lda)
	need("B", b, br, bc, ldb)
	need("C", c, m, n, ldc)
}
