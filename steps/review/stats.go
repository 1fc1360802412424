package review

import (
	"math"
	"sort"

	rv "dsbuild/dataset/review"
)

// Summary is a review report in figures: what dsbuild review status shows
// for a reviewed round. Percentages are of the reviewed images, rounded to
// one decimal ([Percent]); Usable is computed from the counts, not by
// adding the rounded shares.
type Summary struct {
	Items           int                `json:"items"`            // images reviewed
	Objects         int                `json:"objects"`          // objects predicted on them
	AcceptedObjects int                `json:"accepted_objects"` // objects accepted (good as predicted, corrected as drawn)
	Counts          map[string]int     `json:"counts"`           // by verdict, all three present
	Percent         map[string]float64 `json:"percent"`          // by verdict, all three present
	Usable          float64            `json:"usable_percent"`   // good + needs correction
	// IoU is the distribution of the predictions' IoU against the truth,
	// over every item that has one (simulated reviews); nil otherwise.
	IoU *IoUStats `json:"iou,omitempty"`
}

// IoUBins is the number of bins of IoUStats.Bins.
const IoUBins = 10

// IoUStats is a distribution of IoUs in [0, 1]. The quantiles interpolate
// linearly between the closest ranks (the sorted values x₀ … xₙ₋₁ give the
// quantile p at rank h = (n−1)·p: x⌊h⌋ + (h−⌊h⌋)·(x⌊h⌋₊₁ − x⌊h⌋)), so the
// median of an even count is the mean of the middle two. Figures are
// rounded to three decimals.
type IoUStats struct {
	Items  int     `json:"items"`
	Min    float64 `json:"min"`
	P25    float64 `json:"p25"`
	Median float64 `json:"median"`
	P75    float64 `json:"p75"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	// Bins[i] counts the IoUs in [i/10, (i+1)/10); the last bin also
	// holds 1.
	Bins [IoUBins]int `json:"bins"`
}

// Percent returns 100·n/total rounded to one decimal, halves away from
// zero; 0 when total is 0.
func Percent(n, total int) float64 {
	if total <= 0 {
		return 0
	}
	return math.Round(float64(1000*n)/float64(total)) / 10
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// Quantile returns the p-quantile (0 ≤ p ≤ 1) of sorted, ascending values,
// interpolated between the closest ranks; NaN when sorted is empty.
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * math.Min(math.Max(p, 0), 1)
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// Bin returns the IoUStats.Bins index of an IoU: values below 0 go to the
// first bin, 1 and above to the last.
func Bin(iou float64) int {
	// The bin edges are tenths: compare against them as decimals, so that
	// 0.3 (stored as 0.29999…) lands in [0.3, 0.4).
	b := int(math.Floor(math.Round(iou*1e9) / 1e8))
	return min(max(b, 0), IoUBins-1)
}

// SummarizeIoU describes ious (in any order; not modified); nil when there
// are none.
func SummarizeIoU(ious []float64) *IoUStats {
	if len(ious) == 0 {
		return nil
	}
	xs := append([]float64(nil), ious...)
	sort.Float64s(xs)
	st := &IoUStats{Items: len(xs)}
	var sum float64
	for _, x := range xs {
		sum += x
		st.Bins[Bin(x)]++
	}
	st.Min, st.Max = round3(xs[0]), round3(xs[len(xs)-1])
	st.P25, st.Median, st.P75 = round3(Quantile(xs, 0.25)), round3(Quantile(xs, 0.5)), round3(Quantile(xs, 0.75))
	st.Mean = round3(sum / float64(len(xs)))
	return st
}

// Summary computes the report's figures from its verdicts (items in name
// order, so the sums do not depend on map order).
func (r *Report) Summary() Summary {
	s := Summary{Items: r.Items, Counts: map[string]int{}, Percent: map[string]float64{}}
	for _, v := range rv.Verdicts {
		s.Counts[string(v)] = r.Counts[string(v)]
	}
	for k, n := range s.Counts {
		s.Percent[k] = Percent(n, r.Items)
	}
	s.Usable = Percent(s.Counts[string(rv.Good)]+s.Counts[string(rv.NeedsCorrection)], r.Items)
	var ious []float64
	for _, v := range r.Verdicts {
		s.Objects += v.Predicted
		s.AcceptedObjects += v.Objects
		if v.IoU != nil {
			ious = append(ious, *v.IoU)
		}
	}
	s.IoU = SummarizeIoU(ious)
	return s
}
