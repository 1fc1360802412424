package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func backends(t *testing.T) []Backend {
	bs := []Backend{Gonum()}
	if b, err := OpenBLAS(); err == nil {
		bs = append(bs, b)
	} else {
		t.Logf("OpenBLAS not tested: %v", err)
	}
	return bs
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

// TestSgemm compares every backend with a float64 product over
// transposes, padded leading dimensions and both betas.
func TestSgemm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, b := range backends(t) {
		for _, sh := range [][3]int{{1, 1, 1}, {3, 5, 7}, {16, 300, 27}, {70, 65, 130}} {
			m, n, k := sh[0], sh[1], sh[2]
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for _, beta := range []float32{0, 0.5} {
						name := fmt.Sprintf("%s/%dx%dx%d/ta=%v/tb=%v/beta=%v", b.Name(), m, n, k, ta, tb, beta)
						ar, ac := m, k
						if ta {
							ar, ac = k, m
						}
						br, bc := k, n
						if tb {
							br, bc = n, k
						}
						lda, ldb, ldc := ac+3, bc+1, n+2
						a, bm, c := randSlice(r, (ar-1)*lda+ac), randSlice(r, (br-1)*ldb+bc), randSlice(r, (m-1)*ldc+n)
						want := make([]float64, m*n)
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								s := 0.0
								for p := 0; p < k; p++ {
									var av, bv float32
									if ta {
										av = a[p*lda+i]
									} else {
										av = a[i*lda+p]
									}
									if tb {
										bv = bm[j*ldb+p]
									} else {
										bv = bm[p*ldb+j]
									}
									s += float64(av) * float64(bv)
								}
								want[i*n+j] = 1.5*s + float64(beta)*float64(c[i*ldc+j])
							}
						}
						pad := append([]float32(nil), c...)
						b.Sgemm(ta, tb, m, n, k, 1.5, a, lda, bm, ldb, beta, c, ldc)
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								if d := math.Abs(float64(c[i*ldc+j]) - want[i*n+j]); d > 1e-5*float64(k+1) {
									t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, c[i*ldc+j], want[i*n+j])
								}
							}
							// The padding between rows is never written.
							for j := n; j < ldc && i*ldc+j < len(c); j++ {
								if c[i*ldc+j] != pad[i*ldc+j] {
									t.Fatalf("%s: padding C[%d,%d] changed", name, i, j)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestSgemmConcurrentSameBits: the same product from 8 goroutines at
// once gives the bits of a lone call.
func TestSgemmConcurrentSameBits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 64, 1000, 300
	a, bm := randSlice(r, m*k), randSlice(r, k*n)
	for _, b := range backends(t) {
		want := make([]float32, m*n)
		b.Sgemm(false, false, m, n, k, 1, a, k, bm, n, 0, want, n)
		var wg sync.WaitGroup
		got := make([][]float32, 8)
		for i := range got {
			got[i] = make([]float32, m*n)
			wg.Go(func() { b.Sgemm(false, false, m, n, k, 1, a, k, bm, n, 0, got[i], n) })
		}
		wg.Wait()
		for i := range got {
			for j := range want {
				if math.Float32bits(got[i][j]) != math.Float32bits(want[j]) {
					t.Fatalf("%s: goroutine %d differs at %d", b.Name(), i, j)
				}
			}
		}
	}
}

// TestSgemmShortSlicePanics: a slice too short for its shape panics in
// Go before any backend touches it.
func TestSgemmShortSlicePanics(t *testing.T) {
	for _, b := range backends(t) {
		for _, tc := range []struct {
			name    string
			a, b, c int
			want    string
		}{{"A", 5, 6, 4, "A: 5 values"}, {"B", 6, 5, 4, "B: 5 values"}, {"C", 6, 6, 3, "C: 3 values"}} {
			func() {
				defer func() {
					r := recover()
					if r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
						t.Errorf("%s: short %s: recovered %v, want a panic naming %q", b.Name(), tc.name, r, tc.want)
					}
				}()
				// 2×2 · 3... : A is 2×3, B 3×2, C 2×2.
				b.Sgemm(false, false, 2, 2, 3, 1, make([]float32, tc.a), 3, make([]float32, tc.b), 2, 0, make([]float32, tc.c), 2)
			}()
		}
	}
}

func TestOpenBLASName(t *testing.T) {
	b, err := OpenBLAS()
	if err != nil {
		t.Skipf("no OpenBLAS: %v", err)
	}
	if !regexp.MustCompile(`^openblas [0-9][^ ]* [A-Za-z0-9_]+ threads 1$`).MatchString(b.Name()) {
		t.Errorf("name %q; want openblas VERSION CORE threads 1", b.Name())
	}
}

func TestOpenBLASMissing(t *testing.T) {
	_, err := loadOpenBLAS([]string{"libdsbuild-no-such-blas.so.0"})
	if err == nil || !strings.Contains(err.Error(), "libdsbuild-no-such-blas.so.0") {
		t.Fatalf("err = %v; want one naming the missing library", err)
	}
}

func TestGonumName(t *testing.T) {
	if n := Gonum().Name(); !strings.HasPrefix(n, "gonum") {
		t.Errorf("name %q", n)
	}
}

func TestChoose(t *testing.T) {
	if b, err := choose("gonum"); err != nil || b.Name() != Gonum().Name() {
		t.Errorf("gonum: %v, %v", b, err)
	}
	if _, err := choose("mkl"); err == nil || !strings.Contains(err.Error(), `DSBUILD_GEMM="mkl"`) {
		t.Errorf("mkl: err = %v; want one naming the value", err)
	}
	auto, err := choose("")
	if err != nil {
		t.Fatal(err)
	}
	if ob, err := OpenBLAS(); err == nil {
		if auto.Name() != ob.Name() {
			t.Errorf("auto picked %s with OpenBLAS present", auto.Name())
		}
		if b, err := choose("openblas"); err != nil || b.Name() != ob.Name() {
			t.Errorf("openblas: %v, %v", b, err)
		}
	} else if auto.Name() != Gonum().Name() {
		t.Errorf("auto picked %s without OpenBLAS", auto.Name())
	}
}
