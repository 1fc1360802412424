package model

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"testing"
)

// curveAxes parses a curve.svg and returns the tick labels of each axis
// group (class "axis-epoch", "axis-loss", "axis-iou"), in document order.
func curveAxes(t *testing.T, svg []byte) map[string][]string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	axes := map[string][]string{}
	group, inText := "", false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return axes
		}
		if err != nil {
			t.Fatalf("curve.svg is not well-formed XML: %v\n%s", err, svg)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "g":
				group = ""
				for _, a := range el.Attr {
					if a.Name.Local == "class" {
						group = a.Value
					}
				}
			case "text":
				inText = true
			}
		case xml.EndElement:
			switch el.Name.Local {
			case "g":
				group = ""
			case "text":
				inText = false
			}
		case xml.CharData:
			if inText && group != "" {
				axes[group] = append(axes[group], string(el))
			}
		}
	}
}

func numbers(t *testing.T, labels []string) []float64 {
	t.Helper()
	var out []float64
	for _, l := range labels {
		v, err := strconv.ParseFloat(l, 64)
		if err != nil {
			t.Fatalf("tick label %q is not a number", l)
		}
		out = append(out, v)
	}
	return out
}

// TestCurveAxes checks curve.svg's axes: ticks with values on the epoch,
// loss and IoU axes, and a loss axis that spans the data (round 4 of the
// person recipe before issue 12's fix: 0.412 … 0.489), not 0 … max.
func TestCurveAxes(t *testing.T) {
	loss := []float64{0.4120, 0.4161, 0.4355, 0.4552, 0.4590, 0.4411, 0.4768, 0.4894}
	m := &Metrics{Validation: true, BestEpoch: 2}
	for i, l := range loss {
		m.Epochs = append(m.Epochs, Epoch{Epoch: i + 1, TrainLoss: l, ValIoU: 0.3})
	}
	svg := Curve(m)
	if !bytes.Equal(svg, Curve(m)) {
		t.Fatal("Curve is not deterministic")
	}
	axes := curveAxes(t, svg)
	if got := axes["axis-epoch"]; len(got) != 8 || got[0] != "1" || got[7] != "8" {
		t.Errorf("epoch ticks %q; want 1 … 8", got)
	}
	ticks := numbers(t, axes["axis-loss"])
	if len(ticks) < 3 {
		t.Fatalf("loss axis has ticks %v; want at least 3", ticks)
	}
	lo, hi := ticks[0], ticks[len(ticks)-1]
	step := ticks[1] - ticks[0]
	dataMin, dataMax := 0.4120, 0.4894
	if !(lo <= dataMin && dataMin-lo < step) {
		t.Errorf("loss axis starts at %v (step %v); want the last tick at or below the data's minimum %v", lo, step, dataMin)
	}
	if !(hi >= dataMax && hi-dataMax < step) {
		t.Errorf("loss axis ends at %v (step %v); want the first tick at or above the data's maximum %v", hi, step, dataMax)
	}
	if step > (dataMax-dataMin)/2 {
		t.Errorf("loss tick step %v leaves fewer than 2 intervals over the data's range %v", step, dataMax-dataMin)
	}
	if iou := numbers(t, axes["axis-iou"]); len(iou) < 3 || iou[0] != 0 || iou[len(iou)-1] != 1 {
		t.Errorf("IoU ticks %v; want 0 … 1", iou)
	}

	// Without validation there is no IoU axis; a long run labels at most
	// about 10 epochs, the first and the last among them; a flat loss still
	// gets a range around its value.
	m = &Metrics{BestEpoch: 40}
	for i := 0; i < 40; i++ {
		m.Epochs = append(m.Epochs, Epoch{Epoch: i + 1, TrainLoss: 0.25})
	}
	axes = curveAxes(t, Curve(m))
	if _, ok := axes["axis-iou"]; ok {
		t.Error("an IoU axis without validation")
	}
	if got := axes["axis-epoch"]; len(got) > 11 || got[0] != "1" || got[len(got)-1] != "40" {
		t.Errorf("epoch ticks %q; want at most 11 from 1 to 40", got)
	}
	if ticks := numbers(t, axes["axis-loss"]); len(ticks) < 2 || !(ticks[0] < 0.25 && ticks[len(ticks)-1] > 0.25) {
		t.Errorf("flat loss 0.25: loss ticks %v; want a range around it", ticks)
	}
	if axes = curveAxes(t, Curve(&Metrics{})); len(axes["axis-loss"]) == 0 {
		t.Error("no epochs: no loss axis")
	}
}
