package train

import "fmt"

// Blobs returns n synthetic samples for tests and benchmarks: size×size
// noise with 1–2 filled ellipses of a random bright colour, labelled
// foreground, with a 1-pixel edge band. The same arguments give the same
// samples.
func Blobs(n, size int, seed uint64) []*Sample {
	var out []*Sample
	for k := 0; k < n; k++ {
		r := newRNG(seed, 99, uint64(k))
		s := &Sample{Name: fmt.Sprintf("s/%03d", k), W: size, H: size,
			RGB: make([]float32, 3*size*size), Label: make([]uint8, size*size)}
		for i := range s.RGB {
			s.RGB[i] = float32(0.4 * r.unit())
		}
		for e := 0; e < 1+int(r.unit()*2); e++ {
			cx, cy := r.unit()*float64(size), r.unit()*float64(size)
			rx, ry := float64(size)*(0.12+0.15*r.unit()), float64(size)*(0.12+0.15*r.unit())
			col := [3]float32{float32(0.5 + 0.5*r.unit()), float32(0.3 + 0.7*r.unit()), float32(0.5 * r.unit())}
			for y := 0; y < size; y++ {
				for x := 0; x < size; x++ {
					dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
					if dx*dx+dy*dy <= 1 {
						s.Label[y*size+x] = Foreground
						for c := 0; c < 3; c++ {
							s.RGB[c*size*size+y*size+x] = col[c]
						}
					}
				}
			}
		}
		s.Edge = EdgeBand(s.Label, size, size, 1)
		out = append(out, s)
	}
	return out
}
