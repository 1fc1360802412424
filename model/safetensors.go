package model

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// EncodeSafetensors writes w in the safetensors format: an 8-byte
// little-endian header length, a JSON header mapping each tensor name to
// {"dtype": "F32", "shape", "data_offsets"} (plus "__metadata__"), padded
// with spaces to a multiple of 8, then the tensors' little-endian float32
// bytes. Tensors are laid out in Config.Tensors order and the header's
// keys are sorted, so the same weights always give the same bytes.
// PyTorch reads it with safetensors.torch.load_file, and the names are
// those of a state_dict.
func EncodeSafetensors(c *Config, w Weights, meta map[string]string) ([]byte, error) {
	if err := w.Check(c); err != nil {
		return nil, err
	}
	type entry struct {
		DType   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off int64
	specs := c.Tensors()
	for _, s := range specs {
		n := int64(4 * s.Size())
		header[s.Name] = entry{"F32", s.Shape, [2]int64{off, off + n}}
		off += n
	}
	h, err := json.Marshal(header) // map keys are sorted
	if err != nil {
		return nil, err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8, 8+len(h)+int(off))
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	for _, s := range specs {
		for _, v := range w[s.Name] {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}

// DecodeSafetensors reads F32 tensors from safetensors bytes, checking
// that the header is well formed, that every tensor's bytes lie inside
// the data and match its shape, and that tensors do not overlap. It
// returns the tensors, their shapes and the metadata.
func DecodeSafetensors(b []byte) (Weights, map[string][]int, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, nil, fmt.Errorf("safetensors: %d bytes, too short for a header", len(b))
	}
	hl := binary.LittleEndian.Uint64(b)
	if hl > uint64(len(b)-8) || hl > 100<<20 {
		return nil, nil, nil, fmt.Errorf("safetensors: header length %d exceeds the file (%d bytes)", hl, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hl], &raw); err != nil {
		return nil, nil, nil, fmt.Errorf("safetensors: header: %w", err)
	}
	data := b[8+hl:]
	var meta map[string]string
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, nil, fmt.Errorf("safetensors: __metadata__: %w", err)
		}
		delete(raw, "__metadata__")
	}
	type span struct {
		name   string
		lo, hi int64
	}
	var spans []span
	w, shapes := Weights{}, map[string][]int{}
	for name, r := range raw {
		var e struct {
			DType   string  `json:"dtype"`
			Shape   []int   `json:"shape"`
			Offsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %s: %w", name, err)
		}
		if e.DType != "F32" {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %s has dtype %q; only F32 is supported", name, e.DType)
		}
		if len(e.Offsets) != 2 || e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > int64(len(data)) {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %s: data_offsets %v outside the %d data bytes", name, e.Offsets, len(data))
		}
		n := int64(1)
		for _, d := range e.Shape {
			if d < 0 || d > 1<<30 {
				return nil, nil, nil, fmt.Errorf("safetensors: tensor %s: bad shape %v", name, e.Shape)
			}
			n *= int64(d)
			if n > 1<<31 {
				return nil, nil, nil, fmt.Errorf("safetensors: tensor %s: shape %v too large", name, e.Shape)
			}
		}
		if e.Offsets[1]-e.Offsets[0] != 4*n {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %s: %d bytes for shape %v", name, e.Offsets[1]-e.Offsets[0], e.Shape)
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[e.Offsets[0]+4*int64(i):]))
		}
		w[name], shapes[name] = v, e.Shape
		spans = append(spans, span{name, e.Offsets[0], e.Offsets[1]})
	}
	sort.Slice(spans, func(i, j int) bool {
		return spans[i].lo < spans[j].lo || spans[i].lo == spans[j].lo && spans[i].name < spans[j].name
	})
	for i := 1; i < len(spans); i++ {
		if spans[i].lo < spans[i-1].hi {
			return nil, nil, nil, fmt.Errorf("safetensors: tensors %s and %s overlap", spans[i-1].name, spans[i].name)
		}
	}
	return w, shapes, meta, nil
}

// CheckShapes verifies decoded shapes against the configuration.
func CheckShapes(c *Config, shapes map[string][]int) error {
	for _, s := range c.Tensors() {
		got, ok := shapes[s.Name]
		if !ok {
			return fmt.Errorf("weights lack tensor %s", s.Name)
		}
		if fmt.Sprint(got) != fmt.Sprint(s.Shape) {
			return fmt.Errorf("tensor %s has shape %v; the architecture needs %v", s.Name, got, s.Shape)
		}
	}
	return nil
}
