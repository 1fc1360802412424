// Command looptable turns the output of dsbuild review status --json, one
// file per run of a recipe (one run per seed), into the tables of
// docs/loop.md and the plot docs/loop.svg: per bootstrap and round, the
// share of good, needs-correction and bad predictions, the usable share,
// the validation IoU of the model that made them and the distribution of
// the predictions' IoU against the truth. With several runs each figure is
// the mean over the runs with its range (min–max). It reads only the
// documented JSON fields, never lockfiles or the store; bench/loop.sh runs
// the builds and calls it.
//
//	looptable [-svg FILE] STATUS.jsonl...
//
// The markdown goes to standard output; the plot, when -svg is given, to
// FILE. Both are a pure function of the inputs (file order included).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"dsbuild/steps/review"
)

// state is the part of a review status --json record this program reads.
type state struct {
	Step          string             `json:"step"`
	State         string             `json:"state"`
	Bootstrap     string             `json:"bootstrap"`
	Round         int                `json:"round"`
	Items         *int               `json:"items"`
	Objects       int                `json:"objects"`
	Percent       map[string]float64 `json:"percent"`
	UsablePercent float64            `json:"usable_percent"`
	IoU           *iouStats          `json:"iou"`
	Model         *modelInfo         `json:"model"`
}

// iouStats is the "iou" field: the review step's own summary type.
type iouStats = review.IoUStats

type modelInfo struct {
	Step   string   `json:"step"`
	ValIoU *float64 `json:"val_iou"`
}

// run is one status file: the reviewed rounds of each bootstrap.
type run struct {
	name   string
	rounds map[string]map[int]state // bootstrap → round → state
}

func main() {
	svgPath := flag.String("svg", "", "also write the plot of the good and usable shares per round to this file")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: looptable [-svg FILE] STATUS.jsonl...")
		os.Exit(2)
	}
	var runs []run
	for _, p := range flag.Args() {
		r, err := readRun(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "looptable:", err)
			os.Exit(1)
		}
		runs = append(runs, r)
	}
	boots := bootstraps(runs)
	if len(boots) == 0 {
		fmt.Fprintln(os.Stderr, "looptable: no reviewed bootstrap round in", strings.Join(flag.Args(), ", "), "(build the recipe first)")
		os.Exit(1)
	}
	var md bytes.Buffer
	writeMarkdown(&md, runs, boots)
	writeTargets(&md, runs, boots)
	if *svgPath != "" {
		if err := writeFileAtomic(*svgPath, plot(runs, boots)); err != nil {
			fmt.Fprintln(os.Stderr, "looptable:", err)
			os.Exit(1)
		}
	}
	os.Stdout.Write(md.Bytes())
}

// readRun reads one status file; a round counts once reviewed (items
// present).
func readRun(path string) (run, error) {
	f, err := os.Open(path)
	if err != nil {
		return run{}, err
	}
	defer f.Close()
	r := run{name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), rounds: map[string]map[int]state{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var st state
		if err := json.Unmarshal(sc.Bytes(), &st); err != nil {
			return run{}, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if st.Round == 0 || st.Items == nil {
			continue
		}
		if r.rounds[st.Bootstrap] == nil {
			r.rounds[st.Bootstrap] = map[int]state{}
		}
		r.rounds[st.Bootstrap][st.Round] = st
	}
	if err := sc.Err(); err != nil {
		return run{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// bootstraps lists the bootstrap names with a reviewed round in any run.
func bootstraps(runs []run) []string {
	seen := map[string]bool{}
	var names []string
	for _, r := range runs {
		for n := range r.rounds {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names
}

// roundsOf lists the rounds of bootstrap b reviewed in every run (a round
// missing from one run would make its mean incomparable).
func roundsOf(runs []run, b string) []int {
	var out []int
	for r := 1; ; r++ {
		all := true
		for _, ru := range runs {
			if _, ok := ru.rounds[b][r]; !ok {
				all = false
			}
		}
		if !all {
			return out
		}
		out = append(out, r)
	}
}

// agg is one figure over the runs.
type agg struct{ mean, lo, hi float64 }

func aggregate(vs []float64) agg {
	a := agg{lo: math.Inf(1), hi: math.Inf(-1)}
	for _, v := range vs {
		a.mean += v
		a.lo, a.hi = min(a.lo, v), max(a.hi, v)
	}
	a.mean /= float64(len(vs))
	return a
}

// figure gathers f over the runs for bootstrap b's round r; ok is false
// when a run lacks it.
func figure(runs []run, b string, r int, f func(state) (float64, bool)) (agg, bool) {
	var vs []float64
	for _, ru := range runs {
		v, ok := f(ru.rounds[b][r])
		if !ok {
			return agg{}, false
		}
		vs = append(vs, v)
	}
	return aggregate(vs), true
}

// cell prints a figure: the value for one run or when the runs agree,
// else the mean and the range.
func cell(a agg, ok bool, n int, format, unit string) string {
	if !ok {
		return "–"
	}
	if n == 1 || fmt.Sprintf(format, a.lo) == fmt.Sprintf(format, a.hi) {
		return fmt.Sprintf(format+unit, a.mean)
	}
	return fmt.Sprintf(format+unit+" ("+format+"–"+format+")", a.mean, a.lo, a.hi)
}

func pct(k string) func(state) (float64, bool) {
	return func(s state) (float64, bool) { return s.Percent[k], s.Percent != nil }
}

func usable(s state) (float64, bool) { return s.UsablePercent, s.Percent != nil }

func valIoU(s state) (float64, bool) {
	if s.Model == nil || s.Model.ValIoU == nil {
		return 0, false
	}
	return *s.Model.ValIoU, true
}

func iouField(f func(*iouStats) float64) func(state) (float64, bool) {
	return func(s state) (float64, bool) {
		if s.IoU == nil {
			return 0, false
		}
		return f(s.IoU), true
	}
}

func writeMarkdown(w io.Writer, runs []run, boots []string) {
	n := len(runs)
	for i, b := range boots {
		if i > 0 {
			fmt.Fprintln(w)
		}
		rounds := roundsOf(runs, b)
		fmt.Fprintf(w, "**bootstrap %s**", b)
		if n > 1 {
			fmt.Fprintf(w, ": mean over %d runs (%s), their range in parentheses where they differ", n, runNames(runs))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| round | model | its val IoU | reviewed | good | needs correction | bad | usable (good + corrected) |")
		fmt.Fprintln(w, "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, r := range rounds {
			first := runs[0].rounds[b][r]
			model := "–"
			if first.Model != nil {
				model = first.Model.Step
			}
			items, _ := figure(runs, b, r, func(s state) (float64, bool) { return float64(*s.Items), true })
			iou, iok := figure(runs, b, r, valIoU)
			g, gok := figure(runs, b, r, pct("good"))
			c, cok := figure(runs, b, r, pct("needs correction"))
			bad, bok := figure(runs, b, r, pct("bad"))
			u, uok := figure(runs, b, r, usable)
			fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", r, model, cell(iou, iok, n, "%.3f", ""),
				cell(items, true, n, "%.0f", ""), cell(g, gok, n, "%.1f", " %%"), cell(c, cok, n, "%.1f", " %%"),
				cell(bad, bok, n, "%.1f", " %%"), cell(u, uok, n, "%.1f", " %%"))
		}
		hasIoU := false
		for _, r := range rounds {
			if _, ok := figure(runs, b, r, iouField(func(s *iouStats) float64 { return s.Median })); ok {
				hasIoU = true
			}
		}
		if !hasIoU {
			continue
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "The predictions' IoU against the truth (bootstrap %s)", b)
		if n > 1 {
			fmt.Fprint(w, ": quantiles as the mean over the runs (their range), the bins summed over them")
		}
		fmt.Fprintln(w, ":")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| round | min | p25 | median | p75 | max | mean | images per IoU bin: 0–0.1 … 0.9–1 |")
		fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
		for _, r := range rounds {
			var cells []string
			for _, f := range []func(*iouStats) float64{
				func(s *iouStats) float64 { return s.Min }, func(s *iouStats) float64 { return s.P25 },
				func(s *iouStats) float64 { return s.Median }, func(s *iouStats) float64 { return s.P75 },
				func(s *iouStats) float64 { return s.Max }, func(s *iouStats) float64 { return s.Mean },
			} {
				a, ok := figure(runs, b, r, iouField(f))
				cells = append(cells, cell(a, ok, n, "%.3f", ""))
			}
			var bins []int
			for _, ru := range runs {
				s := ru.rounds[b][r].IoU
				if s == nil {
					bins = nil
					break
				}
				if bins == nil {
					bins = make([]int, len(s.Bins))
				}
				for i := range min(len(bins), len(s.Bins)) {
					bins[i] += s.Bins[i]
				}
			}
			hist := "–"
			if bins != nil {
				hist = strings.Trim(fmt.Sprint(bins), "[]")
			}
			fmt.Fprintf(w, "| %d | %s | %s |\n", r, strings.Join(cells, " | "), hist)
		}
	}
}

func runNames(runs []run) string {
	var names []string
	for _, r := range runs {
		names = append(names, r.name)
	}
	return strings.Join(names, ", ")
}

// plot draws the good and usable shares per round, one pair of lines per
// bootstrap (the first solid, the others dashed), the mean over the runs
// with a bar over their range when there are several. Numbers are printed
// with fixed decimals, so the bytes depend on the figures only.
func plot(runs []run, boots []string) []byte {
	const (
		w, h                     = 560.0, 320.0
		left, right, top, bottom = 66.0, 150.0, 30.0, 44.0
		goodColor, usableColor   = "#2ca02c", "#1f77b4"
	)
	pw, ph := w-left-right, h-top-bottom
	maxRound := 1
	for _, b := range boots {
		if rs := roundsOf(runs, b); len(rs) > 0 {
			maxRound = max(maxRound, rs[len(rs)-1])
		}
	}
	const inset = 20.0 // keeps the first and last rounds off the frame
	x := func(r float64) float64 {
		if maxRound == 1 {
			return left + pw/2
		}
		return left + inset + (r-1)*(pw-2*inset)/float64(maxRound-1)
	}
	y := func(p float64) float64 { return top + ph - p/100*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", int(w), int(h), int(w), int(h))
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	title := "Good and usable predictions per round"
	if len(runs) > 1 {
		title += fmt.Sprintf(" (mean of %d runs, bars: range)", len(runs))
	}
	fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" font-size="12">%s</text>`+"\n", left, top-12, title)
	// Grid, axes, ticks.
	b.WriteString(`<g stroke="#e5e5e5">` + "\n")
	for p := 0; p <= 100; p += 20 {
		fmt.Fprintf(&b, `<path d="M%.2f %.2f H%.2f"/>`+"\n", left, y(float64(p)), left+pw)
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, `<path d="M%.2f %.2f V%.2f H%.2f" stroke="#444" fill="none"/>`+"\n", left, top, top+ph, left+pw)
	b.WriteString(`<g class="axis-share" text-anchor="end">` + "\n")
	for p := 0; p <= 100; p += 20 {
		fmt.Fprintf(&b, `<path d="M%.2f %.2f h-4" stroke="#444"/><text x="%.2f" y="%.2f">%d %%</text>`+"\n", left, y(float64(p)), left-6, y(float64(p))+4, p)
	}
	b.WriteString("</g>\n")
	b.WriteString(`<g class="axis-round" text-anchor="middle">` + "\n")
	for r := 1; r <= maxRound; r++ {
		fmt.Fprintf(&b, `<path d="M%.2f %.2f v4" stroke="#444"/><text x="%.2f" y="%.2f">%d</text>`+"\n", x(float64(r)), top+ph, x(float64(r)), top+ph+15, r)
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" text-anchor="middle">round</text>`+"\n", left+pw/2, h-8)
	fmt.Fprintf(&b, `<text transform="translate(%.2f %.2f) rotate(-90)" text-anchor="middle">share of the images reviewed</text>`+"\n", 12.0, top+ph/2)
	// Series and legend.
	ly := top + 4.0
	for i, bo := range boots {
		dash := ""
		if i > 0 {
			dash = ` stroke-dasharray="6 3"`
		}
		rounds := roundsOf(runs, bo)
		for _, s := range []struct {
			name  string
			f     func(state) (float64, bool)
			color string
		}{{"good", pct("good"), goodColor}, {"usable", usable, usableColor}} {
			var d strings.Builder
			var marks strings.Builder
			for _, r := range rounds {
				a, ok := figure(runs, bo, r, s.f)
				if !ok {
					continue
				}
				op := "L"
				if d.Len() == 0 {
					op = "M"
				}
				fmt.Fprintf(&d, "%s%.2f %.2f ", op, x(float64(r)), y(a.mean))
				if len(runs) > 1 {
					fmt.Fprintf(&marks, `<path d="M%.2f %.2f V%.2f" stroke="%s"/>`+"\n", x(float64(r)), y(a.lo), y(a.hi), s.color)
				}
				fmt.Fprintf(&marks, `<circle cx="%.2f" cy="%.2f" r="2.5" fill="%s"/>`+"\n", x(float64(r)), y(a.mean), s.color)
			}
			if d.Len() > 0 {
				fmt.Fprintf(&b, `<path d="%s" stroke="%s" stroke-width="2" fill="none"%s/>`+"\n", strings.TrimSpace(d.String()), s.color, dash)
			}
			b.WriteString(marks.String())
			lx := left + pw + 14
			fmt.Fprintf(&b, `<path d="M%.2f %.2f h22" stroke="%s" stroke-width="2"%s/><text x="%.2f" y="%.2f">%s, %s</text>`+"\n", lx, ly, s.color, dash, lx+28, ly+4, s.name, xmlText(bo))
			ly += 16
		}
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func xmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it over path.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".looptable-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Issue 13's targets for the loop's last round, on the means over the
// runs: the usable share at least targetUsable %, at least targetRise
// points above round 1's, and the good share at least targetGood %.
const (
	targetUsable = 70.0
	targetRise   = 25.0
	targetGood   = 40.0
)

// writeTargets compares each bootstrap's first and last reviewed rounds
// with the targets, and says what a bootstrap gains over its merge = false
// twin (named <name>_nomerge) in the last round: the part of the rise the
// loop itself causes.
func writeTargets(w io.Writer, runs []run, boots []string) {
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "**Against the targets** (means over the runs; last round against round 1):")
	fmt.Fprintln(w)
	for _, b := range boots {
		rounds := roundsOf(runs, b)
		if len(rounds) < 2 {
			continue
		}
		first, last := rounds[0], rounds[len(rounds)-1]
		u1, ok1 := figure(runs, b, first, usable)
		uN, okN := figure(runs, b, last, usable)
		gN, okG := figure(runs, b, last, pct("good"))
		if !ok1 || !okN || !okG {
			continue
		}
		rise := uN.mean - u1.mean
		fmt.Fprintf(w, "- bootstrap %s: usable %.1f %% in round %d (≥ %.0f %%: %s), %+.1f points over round %d (≥ %.0f: %s); good %.1f %% (≥ %.0f %%: %s)",
			b, uN.mean, last, targetUsable, met(uN.mean >= targetUsable), rise, first, targetRise, met(rise >= targetRise),
			gN.mean, targetGood, met(gN.mean >= targetGood))
		twin := b + "_nomerge"
		if t, ok := figure(runs, twin, last, usable); ok && len(roundsOf(runs, twin)) > 0 {
			fmt.Fprintf(w, "; without merging (bootstrap %s) usable is %.1f %% in round %d, so merging the reviewed images back adds %+.1f points", twin, t.mean, last, uN.mean-t.mean)
		}
		fmt.Fprintln(w, ".")
	}
}
