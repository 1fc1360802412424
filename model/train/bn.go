package train

import "math"

// bnForward normalises L.z with the statistics of each micro-batch (its
// biased variance), writes ReLU(γ·x̂ + β) to L.a, keeps the statistics
// for the backward pass and updates the running statistics once per
// micro-batch, in order, as PyTorch does: running = 0.9·running +
// 0.1·batch, with the unbiased variance for running_var. Sums are float64.
func (e *engine) bnForward(L *convLayer, P int) {
	HW := L.h * L.w
	m, C := e.micro, L.Out
	n := float64(m * HW)
	st := e.stat[:P*C]
	e.groupSums(st, P, C, m, func(t int) float64 {
		s := 0.0
		for _, v := range L.z[t*HW : (t+1)*HW] {
			s += float64(v)
		}
		return s
	}, func(k int, s float64) { L.mean[k] = s / n })
	e.groupSums(st, P, C, m, func(t int) float64 {
		mu := L.mean[(t/C/m)*C+t%C]
		s := 0.0
		for _, v := range L.z[t*HW : (t+1)*HW] {
			d := float64(v) - mu
			s += d * d
		}
		return s
	}, func(k int, s float64) {
		c := k % C
		v := s / n
		L.invstd[k] = 1 / math.Sqrt(v+e.bnEps)
		unbiased := v
		if n > 1 {
			unbiased = v * n / (n - 1)
		}
		L.rm[c] = float32(0.9*float64(L.rm[c]) + 0.1*L.mean[k])
		L.rv[c] = float32(0.9*float64(L.rv[c]) + 0.1*unbiased)
	})
	e.pool.run(P*C, func(_, t int) {
		k, c := (t/C/m)*C+t%C, t%C
		mu, is := L.mean[k], L.invstd[k]
		gamma, beta := L.gamma[c], L.beta[c]
		a := L.a[t*HW : (t+1)*HW]
		for j, v := range L.z[t*HW : (t+1)*HW] {
			a[j] = relu(gamma*float32((float64(v)-mu)*is) + beta)
		}
	})
}

// bnBackward turns g, the gradient of L's output after ReLU, into the
// gradient of the convolution's output through ReLU and BatchNorm (with
// batch statistics), and adds γ's and β's gradients.
func (e *engine) bnBackward(L *convLayer, g []float32, P int) {
	HW := L.h * L.w
	m, C := e.micro, L.Out
	groups := P / m
	n := float64(m * HW)
	st := e.stat[:2*P*C]
	e.pool.run(P*C, func(_, t int) {
		k := (t/C/m)*C + t%C
		mu, is := L.mean[k], L.invstd[k]
		a, d, z := L.a[t*HW:(t+1)*HW], g[t*HW:(t+1)*HW], L.z[t*HW:(t+1)*HW]
		s1 := maskSum(d, a)
		var s2 float64
		for j, dv := range d {
			s2 += float64(dv) * (float64(z[j]) - mu) * is
		}
		st[2*t], st[2*t+1] = s1, s2
	})
	gs := e.gsum[:2*groups*C]
	clear(gs)
	for i := 0; i < P; i++ {
		for c := 0; c < C; c++ {
			s1, s2 := st[2*(i*C+c)], st[2*(i*C+c)+1]
			L.gbeta[c] += s1
			L.ggamma[c] += s2
			k := (i/m)*C + c
			gs[2*k] += s1
			gs[2*k+1] += s2
		}
	}
	e.pool.run(P*C, func(_, t int) {
		k, c := (t/C/m)*C+t%C, t%C
		mu, is := L.mean[k], L.invstd[k]
		mean1, mean2 := gs[2*k]/n, gs[2*k+1]/n
		f := float64(L.gamma[c]) * is
		d, z := g[t*HW:(t+1)*HW], L.z[t*HW:(t+1)*HW]
		for j, v := range d {
			xh := (float64(z[j]) - mu) * is
			d[j] = float32(f * (float64(v) - mean1 - xh*mean2))
		}
	})
}

// groupSums computes plane(t) for every (sample, channel) plane t of P
// samples of C channels, in parallel, into st; then, for each micro-batch
// group g of m samples and each channel c in order, adds the group's
// planes in sample order and calls set(g·C+c, sum). The sums' order does
// not depend on the number of workers.
func (e *engine) groupSums(st []float64, P, C, m int, plane func(t int) float64, set func(k int, s float64)) {
	e.pool.run(P*C, func(_, t int) { st[t] = plane(t) })
	for g := 0; g < P/m; g++ {
		for c := 0; c < C; c++ {
			s := 0.0
			for i := g * m; i < (g+1)*m; i++ {
				s += st[i*C+c]
			}
			set(g*C+c, s)
		}
	}
}
