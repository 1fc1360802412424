package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"dsbuild/engine"
)

// newReporter picks the output style: JSON lines with --json, live progress
// bars on a terminal, plain lines otherwise.
func newReporter(g *globalFlags, verb string, r *engine.Recipe) reporter {
	switch {
	case g.json:
		return &jsonReporter{w: os.Stdout}
	case term.IsTerminal(int(os.Stdout.Fd())):
		return newTTYReporter(os.Stdout, verb, viewOn(r, os.Stdout))
	default:
		return &plainReporter{w: os.Stdout, verb: verb, view: viewOn(r, os.Stdout)}
	}
}

// transferShower is a reporter that shows the remote's transfers live
// (the terminal's).
type transferShower interface {
	Transfer(up bool, bytes int64)
}

// reporter is an engine.Reporter that can also print the summary.
type reporter interface {
	engine.Reporter
	Summary(br *engine.BuildResult)
	Close()
}

func statusLine(r *engine.StepResult) string {
	line := fmt.Sprintf("%-7s %s", r.Status, r.Step.Addr)
	var facts []string
	if r.Status == engine.Ran && r.Duration > 0 {
		facts = append(facts, r.Duration.Round(time.Millisecond).String())
	}
	if r.Remote {
		facts = append(facts, "on the remote")
	}
	if c := r.Items; c != nil {
		facts = append(facts, itemCounts(c))
	}
	if len(facts) > 0 {
		line += " (" + strings.Join(facts, "; ") + ")"
	}
	if r.Reason != "" && r.Status != engine.Cached {
		line += ": " + r.Reason
	}
	if r.Err != nil && (r.Status == engine.Failed || r.Status == engine.Waiting) {
		line += "\n  " + r.Err.Error()
	}
	return line
}

// itemCounts says how many items a step had, ran and recalled.
func itemCounts(c *engine.ItemCounts) string {
	noun := "items"
	if c.Total == 1 {
		noun = "item"
	}
	return fmt.Sprintf("%d %s: %d ran, %d cached", c.Total, noun, c.Ran, c.Cached)
}

func summaryLine(br *engine.BuildResult) string {
	c := br.Counts
	s := fmt.Sprintf("%d steps: %d ran, %d cached", len(br.Steps), c[engine.Ran], c[engine.Cached])
	for _, st := range []engine.Status{engine.WillRun, engine.Failed, engine.Waiting, engine.Skipped} {
		if c[st] > 0 {
			s += fmt.Sprintf(", %d %s", c[st], st)
		}
	}
	if br.Remote != "" {
		t := br.Transfer
		there := 0
		for _, r := range br.Steps {
			if r.Remote {
				there++
			}
		}
		s += fmt.Sprintf("\nremote %s: %d cached there; downloaded %d blobs (%s), uploaded %d blobs (%s)",
			br.Remote, there, t.Downloads, humanBytes(t.DownloadBytes), t.Uploads, humanBytes(t.UploadBytes))
		if t.Packs > 0 || t.RangeReads > 0 {
			// Small blobs travel in packs (docs/architecture.md).
			s += fmt.Sprintf("; packs: %d sent, %d ranged reads", t.Packs, t.RangeReads)
		}
		if t.Rejected > 0 {
			s += fmt.Sprintf("; %d objects rejected (failed verification)", t.Rejected)
		}
		if t.Down {
			s += "; given up after repeated failures"
		}
	}
	return s
}

type plainReporter struct {
	mu   sync.Mutex
	w    io.Writer
	verb string
	view recipeView // for failures at a place in the recipe
}

func (p *plainReporter) StepStarted(*engine.Step)                        {}
func (p *plainReporter) StepProgress(*engine.Step, int64, int64)         {}
func (p *plainReporter) StepStatus(*engine.Step, string, map[string]any) {}
func (p *plainReporter) StepFinished(r *engine.StepResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, p.view.stepReport(r))
}
func (p *plainReporter) Warn(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(os.Stderr, "dsbuild: warning: "+msg)
}
func (p *plainReporter) Summary(br *engine.BuildResult) { fmt.Fprintln(p.w, summaryLine(br)) }
func (p *plainReporter) Close()                         {}

type jsonReporter struct {
	mu sync.Mutex
	w  io.Writer
}

func (j *jsonReporter) emit(v any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	enc := json.NewEncoder(j.w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

type stepEvent struct {
	Event   string            `json:"event"`
	Step    string            `json:"step"`
	Status  engine.Status     `json:"status"`
	Key     string            `json:"key,omitempty"`
	Outputs map[string]string `json:"outputs,omitempty"`
	Reason  string            `json:"reason,omitempty"`
	Error   string            `json:"error,omitempty"`
	// Items are the step's item counts, when it has items (see
	// engine.ItemCounts).
	Items       *int `json:"items,omitempty"`
	ItemsRan    *int `json:"items_ran,omitempty"`
	ItemsCached *int `json:"items_cached,omitempty"`
	// Remote: cached because the remote holds the result.
	Remote bool `json:"remote,omitempty"`
}

func (j *jsonReporter) StepStarted(*engine.Step)                {}
func (j *jsonReporter) StepProgress(*engine.Step, int64, int64) {}

// StepStatus emits {"event":"progress","step":…,"message":…, fields…}.
func (j *jsonReporter) StepStatus(s *engine.Step, msg string, fields map[string]any) {
	ev := map[string]any{}
	for k, v := range fields {
		ev[k] = v
	}
	ev["event"], ev["step"], ev["message"] = "progress", s.Addr, msg
	j.emit(ev)
}
func (j *jsonReporter) StepFinished(r *engine.StepResult) {
	ev := stepEvent{Event: "step", Step: r.Step.Addr, Status: r.Status, Reason: r.Reason, Remote: r.Remote}
	if !r.Key.IsZero() {
		ev.Key = r.Key.String()
	}
	if len(r.Outputs) > 0 {
		ev.Outputs = map[string]string{}
		for k, v := range r.Outputs {
			ev.Outputs[k] = v.String()
		}
	}
	if r.Err != nil {
		ev.Error = r.Err.Error()
	}
	if c := r.Items; c != nil {
		ev.Items, ev.ItemsRan, ev.ItemsCached = &c.Total, &c.Ran, &c.Cached
	}
	j.emit(ev)
}
func (j *jsonReporter) Warn(msg string) {
	j.emit(map[string]string{"event": "warning", "message": msg})
}
func (j *jsonReporter) Summary(br *engine.BuildResult) {
	c := br.Counts
	ev := map[string]any{"event": "summary", "steps": len(br.Steps),
		"ran": c[engine.Ran], "cached": c[engine.Cached], "failed": c[engine.Failed],
		"waiting": c[engine.Waiting], "skipped": c[engine.Skipped], "runs": c[engine.WillRun]}
	if br.Remote != "" {
		ev["remote"], ev["transfer"] = br.Remote, br.Transfer
	}
	j.emit(ev)
}
func (j *jsonReporter) Close() {}

// ttyReporter draws a live bar per running step (items, rate, elapsed) and
// prints each finished step's line above the bars.
type ttyReporter struct {
	mu     sync.Mutex
	p      *mpb.Progress
	bars   map[*engine.Step]*mpb.Bar
	status map[*engine.Step]string
	units  map[*engine.Step]string // what progress counts, when not items
	verb   string
	view   recipeView // for failures at a place in the recipe
	// the remote's line: blobs and bytes moved, shown from the first one
	xfer         *mpb.Bar
	xferStart    time.Time
	downN, downB atomic.Int64
	upN, upB     atomic.Int64
}

func newTTYReporter(w io.Writer, verb string, view recipeView) *ttyReporter {
	return &ttyReporter{
		p:      mpb.New(mpb.WithOutput(w), mpb.WithWidth(30), mpb.WithRefreshRate(120*time.Millisecond)),
		bars:   map[*engine.Step]*mpb.Bar{},
		status: map[*engine.Step]string{},
		units:  map[*engine.Step]string{},
		verb:   verb,
		view:   view,
	}
}

func (t *ttyReporter) StepStarted(s *engine.Step) {
	start := time.Now()
	bar := t.p.AddBar(0,
		mpb.PrependDecorators(decor.Name(s.Addr, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(
			// Items, rate and ETA once the step reports progress;
			// the elapsed time always.
			decor.Any(func(st decor.Statistics) string {
				t.mu.Lock()
				msg, unit := t.status[s], t.units[s]
				t.mu.Unlock()
				text := progressText(st.Current, st.Total, time.Since(start), unit)
				if msg != "" {
					text = msg + "  " + text
				}
				return text
			}, decor.WCSyncSpace),
		),
		mpb.BarRemoveOnComplete(),
	)
	t.mu.Lock()
	t.bars[s] = bar
	t.mu.Unlock()
}

// progressText is "231/1000 items  2.3k/s  eta 3s  1.2s" (unit "" means
// items), or just the
// elapsed time while a step reports no items.
func progressText(done, total int64, elapsed time.Duration, unit string) string {
	if unit == "" {
		unit = "items"
	}
	el := elapsed.Round(100 * time.Millisecond).String()
	if total <= 0 {
		return el
	}
	rate := float64(done) / elapsed.Seconds()
	text := fmt.Sprintf("%d/%d %s  %s", done, total, unit, rateText(rate, unit))
	if rate > 0 && done < total {
		eta := time.Duration(float64(total-done) / rate * float64(time.Second))
		text += "  eta " + eta.Round(time.Second).String()
	}
	return text + "  " + el
}

// rateText is "125/s" at one or more a second, and the time per unit
// below that ("18.4s/step" for a slow training step), never "0/s".
func rateText(rate float64, unit string) string {
	if rate >= 1 || rate <= 0 {
		return fmt.Sprintf("%.0f/s", rate)
	}
	per := time.Duration(float64(time.Second) / rate)
	return per.Round(100*time.Millisecond).String() + "/" + strings.TrimSuffix(unit, "s")
}

func (t *ttyReporter) StepProgress(s *engine.Step, done, total int64) {
	t.mu.Lock()
	bar := t.bars[s]
	t.mu.Unlock()
	if bar != nil {
		bar.SetTotal(total, false)
		bar.SetCurrent(done)
	}
}

// StepStatus shows the step's message beside its bar; a "unit" field
// names what its progress counts ("steps" for training).
func (t *ttyReporter) StepStatus(s *engine.Step, msg string, fields map[string]any) {
	t.mu.Lock()
	t.status[s] = msg
	if u, ok := fields["unit"].(string); ok {
		t.units[s] = u
	}
	t.mu.Unlock()
}

func (t *ttyReporter) StepFinished(r *engine.StepResult) {
	t.mu.Lock()
	bar := t.bars[r.Step]
	delete(t.bars, r.Step)
	delete(t.status, r.Step)
	delete(t.units, r.Step)
	t.mu.Unlock()
	if bar != nil {
		bar.Abort(true)
		bar.Wait()
	}
	fmt.Fprintln(t.p, t.view.stepReport(r))
}

// Transfer counts a blob moved to (up) or from the remote; a line under
// the steps' bars shows the totals and rates from the first one on.
func (t *ttyReporter) Transfer(up bool, n int64) {
	if up {
		t.upN.Add(1)
		t.upB.Add(n)
	} else {
		t.downN.Add(1)
		t.downB.Add(n)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.p == nil || t.xfer != nil {
		return
	}
	t.xferStart = time.Now()
	t.xfer = t.p.AddBar(0,
		mpb.PrependDecorators(decor.Name("remote", decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return t.transferText() }, decor.WCSyncSpace)),
		mpb.BarRemoveOnComplete(),
	)
}

// transferText is "↓ 12 blobs 3.4 MiB 1.1 MiB/s  ↑ 2 blobs 40.0 KiB 13.3 KiB/s".
func (t *ttyReporter) transferText() string {
	el := time.Since(t.xferStart).Seconds()
	part := func(arrow string, n, b int64) string {
		rate := ""
		if el > 0 {
			rate = "  " + humanBytes(int64(float64(b)/el)) + "/s"
		}
		return fmt.Sprintf("%s %d blobs %s%s", arrow, n, humanBytes(b), rate)
	}
	return part("↓", t.downN.Load(), t.downB.Load()) + "   " + part("↑", t.upN.Load(), t.upB.Load())
}

func (t *ttyReporter) Warn(msg string) { fmt.Fprintln(t.p, "warning: "+msg) }

func (t *ttyReporter) Summary(br *engine.BuildResult) {
	t.Close()
	fmt.Println(summaryLine(br))
}

func (t *ttyReporter) Close() {
	t.mu.Lock()
	p, xfer := t.p, t.xfer
	t.p, t.xfer = nil, nil
	t.mu.Unlock()
	if xfer != nil {
		xfer.Abort(true)
	}
	if p != nil {
		p.Wait()
	}
}
