package review

import (
	"math"
	"reflect"
	"testing"
)

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		n, total int
		want     float64
	}{
		{0, 0, 0},    // nothing reviewed
		{3, 0, 0},    // no division by zero
		{1, 3, 33.3}, // 33.33… rounds down
		{2, 3, 66.7}, // 66.66… rounds up
		{1, 8, 12.5}, // exact
		{1, 16, 6.3}, // 6.25: halves away from zero
		{1, 80, 1.3}, // 1.25
		{24, 24, 100},
		{13, 48, 27.1}, // 27.083…
	} {
		if got := Percent(c.n, c.total); got != c.want {
			t.Errorf("Percent(%d, %d) = %v, want %v", c.n, c.total, got, c.want)
		}
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{0.1, 0.2, 0.4, 0.8}
	for _, c := range []struct{ p, want float64 }{
		{0, 0.1}, {1, 0.8},
		{0.5, 0.3},          // the mean of the middle two
		{0.25, 0.175},       // rank 0.75: 0.1 + 0.75·0.1
		{0.75, 0.5},         // rank 2.25: 0.4 + 0.25·0.4
		{-1, 0.1}, {2, 0.8}, // clamped
	} {
		if got := Quantile(xs, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Quantile([]float64{0.7}, 0.25); got != 0.7 {
		t.Errorf("one value: %v, want 0.7", got)
	}
	if got := Quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("no values: %v, want NaN", got)
	}
}

func TestBin(t *testing.T) {
	for _, c := range []struct {
		iou  float64
		want int
	}{
		{0, 0}, {0.0999, 0}, {0.1, 1}, {0.3, 3}, {0.1 * 3, 3}, {0.7, 7},
		{0.29999, 2}, {0.95, 9}, {1, 9}, {1.5, 9}, {-0.2, 0},
		{6.0 / 10, 6}, {7.0 / 10, 7}, {float64(3) / 10, 3},
	} {
		if got := Bin(c.iou); got != c.want {
			t.Errorf("Bin(%v) = %d, want %d", c.iou, got, c.want)
		}
	}
}

func TestSummarizeIoU(t *testing.T) {
	if s := SummarizeIoU(nil); s != nil {
		t.Errorf("no IoUs: %+v, want nil", s)
	}
	in := []float64{0.9, 0, 1, 0.45, 0.3, 0.12345, 0.5, 0.7}
	orig := append([]float64(nil), in...)
	got := SummarizeIoU(in)
	// sorted: 0 .12345 .3 .45 .5 .7 .9 1; p25 at rank 1.75, p75 at 5.25
	want := &IoUStats{
		Items: 8, Min: 0, Max: 1,
		P25:    0.256,                                      // 0.12345 + 0.75·(0.3 − 0.12345) = 0.2558125
		Median: 0.475,                                      // (0.45 + 0.5) / 2
		P75:    0.75,                                       // 0.7 + 0.25·0.2
		Mean:   0.497,                                      // 3.97345 / 8 = 0.49668…
		Bins:   [IoUBins]int{1, 1, 0, 1, 1, 1, 0, 1, 0, 2}, // 0.9 and 1 share the last
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SummarizeIoU = %+v\nwant           %+v", got, want)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Errorf("the input was reordered: %v", in)
	}
}

func TestReportSummary(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	rep := &Report{
		Items:  6,
		Counts: map[string]int{"good": 2, "needs correction": 3, "bad": 1},
		Verdicts: []ItemVerdict{
			{Name: "p/a.png", Verdict: "good", Objects: 2, Predicted: 2, IoU: f(0.9)},
			{Name: "p/b.png", Verdict: "good", Objects: 0, Predicted: 0, IoU: f(1)}, // nothing, rightly
			{Name: "p/c.png", Verdict: "needs correction", Objects: 1, Predicted: 2, IoU: f(0.6)},
			{Name: "p/d.png", Verdict: "needs correction", Objects: 2, Predicted: 1, IoU: f(0.5)},
			{Name: "p/e.png", Verdict: "needs correction", Objects: 1, Predicted: 1, IoU: f(0.41)},
			{Name: "p/f.png", Verdict: "bad", Objects: 0, Predicted: 3, IoU: f(0.05)},
		},
	}
	got := rep.Summary()
	want := Summary{
		Items: 6, Objects: 9, AcceptedObjects: 6,
		Counts:  map[string]int{"good": 2, "needs correction": 3, "bad": 1},
		Percent: map[string]float64{"good": 33.3, "needs correction": 50, "bad": 16.7},
		Usable:  83.3, // 5/6, not 33.3 + 50
		IoU: &IoUStats{Items: 6, Min: 0.05, P25: 0.433, Median: 0.55, P75: 0.825, Max: 1, Mean: 0.577,
			Bins: [IoUBins]int{1, 0, 0, 0, 1, 1, 1, 0, 0, 2}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Summary =\n %+v %+v\nwant\n %+v %+v", got, *got.IoU, want, *want.IoU)
	}

	// A people's review has no IoU; a report of an older version lacks
	// predicted objects and a verdict's count: both read as zero.
	people := &Report{Items: 2, Counts: map[string]int{"good": 2}, Verdicts: []ItemVerdict{{Name: "p/a.png", Verdict: "good", Objects: 1}, {Name: "p/b.png", Verdict: "good", Objects: 1}}}
	got = people.Summary()
	if got.IoU != nil || got.Objects != 0 || got.AcceptedObjects != 2 || got.Counts["bad"] != 0 || got.Percent["bad"] != 0 || got.Usable != 100 || len(got.Counts) != 3 {
		t.Errorf("people's review: %+v", got)
	}
}
