package train

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"

	"dsbuild/model/gemm"
)

// gorgoniaBLAS is gonum's BLAS with its Sgemm, the convolutions' matrix
// products, taken from a gemm.Backend.
type gorgoniaBLAS struct {
	gonum.Implementation
	b gemm.Backend
}

func (g gorgoniaBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g.b.Sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

var useGEMM = sync.OnceValues(func() (gemm.Backend, error) {
	b, err := gemm.Default()
	if err != nil {
		return nil, err
	}
	G.Use(gorgoniaBLAS{b: b})
	return b, nil
})

// GEMMName names the matrix-product backend training uses in this
// process (package gemm): its arithmetic decides the weights' bits, so
// the train step puts it in its key.
func GEMMName() (string, error) {
	b, err := gemm.Default()
	if err != nil {
		return "", err
	}
	return b.Name(), nil
}
