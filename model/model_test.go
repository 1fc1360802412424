package model

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
)

func testConfig(bn bool) *Config {
	return &Config{Arch: "unet", Depth: 2, Width: 4, BatchNorm: bn, InputSize: 16, InChannels: 3, Foreground: []string{"person"}}
}

func weightsDigest(c *Config, w Weights) string {
	h := sha256.New()
	for _, t := range c.Tensors() {
		for _, v := range w[t.Name] {
			binary.Write(h, binary.LittleEndian, math.Float32bits(v))
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))[:16]
}

// TestInitGolden pins the initial weights: the generator uses PCG's raw
// output and exact arithmetic only, so they must not change with the
// platform or a Go release. A change here changes every trained model.
func TestInitGolden(t *testing.T) {
	c := testConfig(false)
	if got, want := weightsDigest(c, Init(c, 1)), weightsDigest(c, Init(c, 1)); got != want {
		t.Fatalf("Init is not deterministic: %s vs %s", got, want)
	}
	if got := weightsDigest(c, Init(c, 1)); got != "532b60513e149c78" {
		t.Errorf("Init(seed 1) digest %s; the generator changed", got)
	}
	if weightsDigest(c, Init(c, 1)) == weightsDigest(c, Init(c, 2)) {
		t.Error("seeds 1 and 2 give the same weights")
	}
	if err := Init(c, 1).Check(c); err != nil {
		t.Fatal(err)
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	for _, bn := range []bool{false, true} {
		c := testConfig(bn)
		w := Init(c, 3)
		b, err := EncodeSafetensors(c, w, map[string]string{"format": "pt"})
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := EncodeSafetensors(c, w, map[string]string{"format": "pt"})
		if string(b) != string(b2) {
			t.Fatal("encoding is not deterministic")
		}
		if hl := binary.LittleEndian.Uint64(b); (8+hl)%8 != 0 {
			t.Errorf("header length %d leaves the data unaligned", hl)
		}
		got, shapes, meta, err := DecodeSafetensors(b)
		if err != nil {
			t.Fatal(err)
		}
		if meta["format"] != "pt" {
			t.Errorf("metadata %v", meta)
		}
		if err := CheckShapes(c, shapes); err != nil {
			t.Fatal(err)
		}
		if weightsDigest(c, got) != weightsDigest(c, w) {
			t.Error("weights differ after the round trip")
		}
	}
}

func TestSafetensorsBad(t *testing.T) {
	c := testConfig(false)
	good, _ := EncodeSafetensors(c, Init(c, 1), nil)
	header := func(h string) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		return append(append(b, h...), make([]byte, 16)...)
	}
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"short":     {good[:5], "too short"},
		"truncated": {good[:len(good)-4], "outside"},
		"length":    {binary.LittleEndian.AppendUint64(nil, 1<<40), "exceeds the file"},
		"json":      {header(`{"a":`), "header"},
		"dtype":     {header(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`), `dtype "F16"`},
		"size":      {header(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`), "8 bytes for shape [3]"},
		"overlap": {header(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`),
			"overlap"},
		"negative": {header(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`), "bad shape"},
	} {
		if _, _, _, err := DecodeSafetensors(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}

func FuzzDecodeSafetensors(f *testing.F) {
	c := testConfig(true)
	good, _ := EncodeSafetensors(c, Init(c, 1), nil)
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeSafetensors(b) // must not panic
	})
}

// TestFoldBatchNorm checks the fold against BatchNorm computed the long
// way on one layer.
func TestFoldBatchNorm(t *testing.T) {
	c := testConfig(true)
	w := Init(c, 4)
	for _, s := range c.Tensors() {
		for i := range w[s.Name] {
			switch {
			case strings.HasSuffix(s.Name, ".bn.weight"):
				w[s.Name][i] = 0.5 + 0.1*float32(i)
			case strings.HasSuffix(s.Name, ".bn.bias"):
				w[s.Name][i] = -0.2 + 0.05*float32(i)
			case strings.HasSuffix(s.Name, ".running_mean"):
				w[s.Name][i] = 0.1 * float32(i)
			case strings.HasSuffix(s.Name, ".running_var"):
				w[s.Name][i] = 0.5 + 0.25*float32(i)
			}
		}
	}
	f, err := Fold(c, w)
	if err != nil {
		t.Fatal(err)
	}
	// The first layer on a constant input x = 1: conv(x) then BN.
	l := f.Layers[0]
	s := c.InputSize
	x := make([]float32, 3*s*s)
	for i := range x {
		x[i] = 1
	}
	out := conv(&l, x, s)
	centre := (s/2)*s + s/2
	for o := 0; o < l.Out; o++ {
		var sum float64
		for j := 0; j < l.In*9; j++ {
			sum += float64(w["enc.0.conv1.weight"][o*l.In*9+j])
		}
		g, b := float64(w["enc.0.conv1.bn.weight"][o]), float64(w["enc.0.conv1.bn.bias"][o])
		m, v := float64(w["enc.0.conv1.bn.running_mean"][o]), float64(w["enc.0.conv1.bn.running_var"][o])
		want := math.Max(0, (sum-m)/math.Sqrt(v+DefaultBNEpsilon)*g+b)
		if got := float64(out[o*s*s+centre]); math.Abs(got-want) > 1e-5 {
			t.Errorf("channel %d: folded %v, BatchNorm %v", o, got, want)
		}
	}
}

func TestWeightsCheck(t *testing.T) {
	c := testConfig(false)
	w := Init(c, 1)
	w["head.bias"] = []float32{float32(math.NaN())}
	if err := w.Check(c); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Errorf("NaN: %v", err)
	}
	w = Init(c, 1)
	delete(w, "head.bias")
	w["extra"] = []float32{1}
	if err := w.Check(c); err == nil || !strings.Contains(err.Error(), "unexpected: extra") && !strings.Contains(err.Error(), "lack") {
		t.Errorf("extra: %v", err)
	}
	if d := SameArchitecture(testConfig(false), testConfig(true)); d != "batch_norm false vs true" {
		t.Errorf("SameArchitecture: %q", d)
	}
}
