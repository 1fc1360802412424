// Command forward runs a checked-out model artifact's pure-Go forward pass
// on raw little-endian float32 input (N×3×S×S) and writes the N×S×S
// logits the same way. bench/torch_check.sh compares them with PyTorch's.
package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"dsbuild/model"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: forward MODEL_DIR INPUT.f32 LOGITS.f32")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "forward:", err)
		os.Exit(1)
	}
}

func run(dir, in, out string) error {
	a, err := model.LoadDir(dir)
	if err != nil {
		return err
	}
	f, err := model.Fold(&a.Config, a.Weights)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	s := a.Config.InputSize
	per := 3 * s * s * 4
	if len(raw) == 0 || len(raw)%per != 0 {
		return fmt.Errorf("%s has %d bytes, not a multiple of 3×%d×%d float32", in, len(raw), s, s)
	}
	var res []byte
	for off := 0; off < len(raw); off += per {
		x := make([]float32, 3*s*s)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[off+4*i:]))
		}
		for _, v := range f.Forward(x) {
			res = binary.LittleEndian.AppendUint32(res, math.Float32bits(v))
		}
	}
	return os.WriteFile(out, res, 0o644)
}
