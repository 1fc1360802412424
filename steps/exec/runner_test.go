package exec

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestParseProgress(t *testing.T) {
	for _, tc := range []struct {
		line  string
		ok    bool
		unit  string
		done  int64
		total int64
		json  map[string]any
	}{
		{"dsbuild:progress epoch=3/30 loss=0.41", true, "epoch", 3, 30,
			map[string]any{"epoch": int64(3), "epochs": int64(30), "loss": 0.41, "unit": "epochs"}},
		{"dsbuild:progress step=7/100 epoch=1 phase=warmup", true, "step", 7, 100,
			map[string]any{"step": int64(7), "steps": int64(100), "epoch": 1.0, "phase": "warmup", "unit": "steps"}},
		{"dsbuild:progress\tval_iou=0.5\r", true, "", 0, 0, map[string]any{"val_iou": 0.5}},
		{"dsbuild:progress epoch=31/30", true, "", 0, 0, map[string]any{"epoch": "31/30"}},
		{"dsbuild:progress", false, "", 0, 0, nil},
		{"dsbuild:progressepoch=1/2", false, "", 0, 0, nil},
		{"dsbuild:progress epoch=", false, "", 0, 0, nil},
		{"dsbuild:progress loss 0.4", false, "", 0, 0, nil},
		{"dsbuild:progress bad-key=1", false, "", 0, 0, nil},
		{"epoch=1/2 dsbuild:progress", false, "", 0, 0, nil},
	} {
		p, ok := ParseProgress(tc.line)
		if ok != tc.ok {
			t.Errorf("%q: ok = %v, want %v", tc.line, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if p.Unit != tc.unit || p.Done != tc.done || p.Total != tc.total {
			t.Errorf("%q: unit %q %d/%d, want %q %d/%d", tc.line, p.Unit, p.Done, p.Total, tc.unit, tc.done, tc.total)
		}
		if got := p.JSON(); !reflect.DeepEqual(got, tc.json) {
			t.Errorf("%q: JSON %v, want %v", tc.line, got, tc.json)
		}
	}
}

// The writer finds progress lines however the output is cut into writes,
// passes every byte on, and ignores an overlong line.
func TestProgressWriter(t *testing.T) {
	out := "hello\ndsbuild:progress epoch=1/2 loss=1\nnoise dsbuild:progress epoch=9/9\n" +
		"dsbuild:progress epoch=" + strings.Repeat("9", 70<<10) + "/99999\n" +
		"dsbuild:progress epoch=2/2 loss=0.5"
	for _, chunk := range []int{1, 3, 7, 1 << 20} {
		var got []string
		var buf bytes.Buffer
		w := &progressWriter{next: &buf, fn: func(p Progress) { got = append(got, p.Message()) }}
		for i := 0; i < len(out); i += chunk {
			w.Write([]byte(out[i:min(i+chunk, len(out))]))
		}
		w.flush()
		want := []string{"epoch 1/2  loss 1", "epoch 2/2  loss 0.5"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("chunks of %d: progress %q, want %q", chunk, got, want)
		}
		if buf.String() != out {
			t.Errorf("chunks of %d: output not passed on whole", chunk)
		}
	}
}
