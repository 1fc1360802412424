package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"dsbuild/model"
	"dsbuild/model/gemm"
)

// testEngine is a depth-1, width-4 engine at 16×16 with 2 samples a
// pass, whose im2col tiles are 3 rows: six tiles a sample, the last of
// one row.
func testEngine(t *testing.T, g gemm.Backend) *engine {
	t.Helper()
	cfg := &model.Config{Arch: "unet", Depth: 1, Width: 4, InputSize: 16, InChannels: 3, Foreground: []string{"x"}}
	o := Options{Config: cfg, Batch: 2, MicroBatch: 1, LR: 1e-3, WBCE: 1, WDice: 1}
	e := newEngine(o, 1, model.Init(cfg, 1), g, 3, 48)
	if e.maxP != 2 {
		t.Fatalf("pass of %d samples; the test wants 2", e.maxP)
	}
	return e
}

func fill(r *rand.Rand, v []float32) {
	for i := range v {
		v[i] = float32(r.Float64()*2 - 1)
	}
}

func closeTo(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	var scale float64
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= 1e-5*scale) {
			t.Fatalf("%s[%d] = %v, want %v (scale %v)", what, i, got[i], want[i], scale)
		}
	}
}

// TestConvMatchesDirect checks the decoder's first convolution (two
// inputs, one read through ×2 upsampling; several im2col tiles, the last
// partial) against a direct float64 convolution: the output after bias
// and ReLU, the weight and bias gradients, the input gradient of both
// inputs and its upsampling backward pass.
func TestConvMatchesDirect(t *testing.T) {
	backs := []gemm.Backend{gemm.Gonum()}
	if b, err := gemm.OpenBLAS(); err == nil {
		backs = append(backs, b)
	}
	for _, gb := range backs {
		t.Run(gb.Name(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			e := testEngine(t, gb)
			L, _ := e.dec(0)
			if L.nt != 6 || L.rows != 3 {
				t.Fatalf("tiles %d of %d rows; want 6 of 3", L.nt, L.rows)
			}
			in := e.decInputs(0)
			fill(r, in[0].t)
			fill(r, in[1].t)
			fill(r, L.wt)
			fill(r, L.b)
			P, H, W, Cin, Cout := 2, L.h, L.w, L.In, L.Out
			// x reads the concatenated, upsampled input with zero padding.
			x := func(s, c, y, xx int) float64 {
				if y < 0 || y >= H || xx < 0 || xx >= W {
					return 0
				}
				if c < in[0].c {
					return float64(in[0].t[((s*in[0].c+c)*in[0].h+y/2)*in[0].w+xx/2])
				}
				c -= in[0].c
				return float64(in[1].t[((s*in[1].c+c)*H+y)*W+xx])
			}
			wt := func(co, ci, ky, kx int) float64 { return float64(L.wt[((co*Cin+ci)*3+ky)*3+kx]) }

			e.convForward(L, in, P)
			want := make([]float64, P*Cout*H*W)
			for s := 0; s < P; s++ {
				for co := 0; co < Cout; co++ {
					for y := 0; y < H; y++ {
						for xx := 0; xx < W; xx++ {
							v := float64(L.b[co])
							for ci := 0; ci < Cin; ci++ {
								for ky := 0; ky < 3; ky++ {
									for kx := 0; kx < 3; kx++ {
										v += wt(co, ci, ky, kx) * x(s, ci, y+ky-1, xx+kx-1)
									}
								}
							}
							want[((s*Cout+co)*H+y)*W+xx] = max(v, 0)
						}
					}
				}
			}
			closeTo(t, "output", L.a, want)

			g := make([]float32, P*Cout*H*W)
			fill(r, g)
			dz := make([]float64, len(g))
			for i := range g {
				if L.a[i] > 0 {
					dz[i] = float64(g[i])
				}
			}
			flipWeights(L)
			e.zeroGrads()
			e.convBackward(L, in, g, e.gu, P)
			gw := make([]float64, len(L.wt))
			gbias := make([]float64, Cout)
			dx := make([]float64, P*Cin*H*W)
			for s := 0; s < P; s++ {
				for co := 0; co < Cout; co++ {
					for y := 0; y < H; y++ {
						for xx := 0; xx < W; xx++ {
							d := dz[((s*Cout+co)*H+y)*W+xx]
							gbias[co] += d
							for ci := 0; ci < Cin; ci++ {
								for ky := 0; ky < 3; ky++ {
									for kx := 0; kx < 3; kx++ {
										gw[((co*Cin+ci)*3+ky)*3+kx] += d * x(s, ci, y+ky-1, xx+kx-1)
										yy, xs := y+ky-1, xx+kx-1
										if yy >= 0 && yy < H && xs >= 0 && xs < W {
											dx[((s*Cin+ci)*H+yy)*W+xs] += d * wt(co, ci, ky, kx)
										}
									}
								}
							}
						}
					}
				}
			}
			e.roundGrads()
			closeTo(t, "weight gradient", L.gw, gw)
			closeTo(t, "bias gradient", L.gbF, gbias)
			c0 := in[0].c
			var wantU, wantS, wantUp []float64
			for s := 0; s < P; s++ {
				wantU = append(wantU, dx[s*Cin*H*W:(s*Cin+c0)*H*W]...)
				wantS = append(wantS, dx[(s*Cin+c0)*H*W:(s+1)*Cin*H*W]...)
			}
			var gotU, gotS []float32
			for s := 0; s < P; s++ {
				gotU = append(gotU, e.gu[s*Cin*H*W:(s*Cin+c0)*H*W]...)
				gotS = append(gotS, e.gu[(s*Cin+c0)*H*W:(s+1)*Cin*H*W]...)
			}
			closeTo(t, "upsampled input gradient", gotU, wantU)
			closeTo(t, "skip input gradient", gotS, wantS)
			e.upSum(e.gu, Cin*H*W, e.g1, c0, H/2, W/2, P)
			for i := 0; i < P*c0*(H/2)*(W/2); i++ {
				sc, rest := i/((H/2)*(W/2)), i%((H/2)*(W/2))
				y, xx := rest/(W/2), rest%(W/2)
				v := 0.0
				for dy := 0; dy < 2; dy++ {
					for dxx := 0; dxx < 2; dxx++ {
						v += wantU[(sc*H+2*y+dy)*W+2*xx+dxx]
					}
				}
				wantUp = append(wantUp, v)
			}
			closeTo(t, "upsampling backward", e.g1[:len(wantUp)], wantUp)
		})
	}
}

// TestPoolFirstMax: max pooling keeps the first largest value of each
// window in row order and sends the gradient there only, ties included.
func TestPoolFirstMax(t *testing.T) {
	e := testEngine(t, gemm.Gonum())
	// One sample, one channel, 2×8: windows {1,3,1,3}, {2,2,2,2},
	// {0,1,5,5} and {0,0,0,4}.
	a := []float32{1, 3, 2, 2, 0, 1, 0, 0, 1, 3, 2, 2, 5, 5, 0, 4}
	out := make([]float32, 4)
	arg := make([]uint8, 4)
	e.poolForward(a, out, arg, 1, 2, 8, 1)
	if want := []float32{3, 2, 5, 4}; !equal32(out, want) {
		t.Fatalf("pooled %v; want %v", out, want)
	}
	ga := make([]float32, 16)
	e.poolBackward([]float32{10, 20, 30, 40}, arg, ga, 1, 2, 8, 1)
	if want := []float32{0, 10, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 30, 0, 0, 40}; !equal32(ga, want) {
		t.Fatalf("gradient %v; want %v", ga, want)
	}
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
