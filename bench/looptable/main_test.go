package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two runs of a two-round bootstrap, as review status --json prints them
// (with a review outside any bootstrap, which is left out).
const (
	runA = `{"step":"review.b_round1","state":"simulated","bootstrap":"b","round":1,"items":4,"objects":5,"accepted_objects":3,"counts":{"bad":1,"good":1,"needs correction":2},"percent":{"bad":25,"good":25,"needs correction":50},"usable_percent":75,"iou":{"items":4,"min":0.1,"p25":0.4,"median":0.5,"p75":0.7,"max":0.9,"mean":0.52,"bins":[0,1,0,0,1,1,0,1,0,0]},"model":{"step":"train.b_round0","val_iou":0.41,"best_epoch":2,"epochs":2}}
{"step":"review.b_round2","state":"simulated","bootstrap":"b","round":2,"items":4,"objects":4,"accepted_objects":4,"counts":{"bad":0,"good":2,"needs correction":2},"percent":{"bad":0,"good":50,"needs correction":50},"usable_percent":100,"iou":{"items":4,"min":0.6,"p25":0.65,"median":0.75,"p75":0.85,"max":0.9,"mean":0.75,"bins":[0,0,0,0,0,0,2,1,1,0]},"model":{"step":"train.b_round1","val_iou":0.5,"best_epoch":2,"epochs":2}}
{"step":"review.other","state":"reviewed","items":2,"counts":{"bad":0,"good":2,"needs correction":0},"percent":{"bad":0,"good":100,"needs correction":0},"usable_percent":100}
`
	runB = `{"step":"review.b_round1","state":"simulated","bootstrap":"b","round":1,"items":4,"objects":4,"accepted_objects":2,"counts":{"bad":2,"good":0,"needs correction":2},"percent":{"bad":50,"good":0,"needs correction":50},"usable_percent":50,"iou":{"items":4,"min":0.2,"p25":0.3,"median":0.4,"p75":0.6,"max":0.7,"mean":0.42,"bins":[0,0,1,1,0,0,1,1,0,0]},"model":{"step":"train.b_round0","val_iou":0.45,"best_epoch":1,"epochs":2}}
{"step":"review.b_round2","state":"waiting","bootstrap":"b","round":2,"package":"review/b_round2/package","results":"review/b_round2/results","model":{"step":"train.b_round1"}}
`
)

func write(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOneRun(t *testing.T) {
	r, err := readRun(write(t, t.TempDir(), "seed-1.jsonl", runA))
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	writeMarkdown(&md, []run{r}, bootstraps([]run{r}))
	for _, want := range []string{
		"| 1 | train.b_round0 | 0.410 | 4 | 25.0 % | 50.0 % | 25.0 % | 75.0 % |\n",
		"| 2 | train.b_round1 | 0.500 | 4 | 50.0 % | 50.0 % | 0.0 % | 100.0 % |\n",
		"| 1 | 0.100 | 0.400 | 0.500 | 0.700 | 0.900 | 0.520 | 0 1 0 0 1 1 0 1 0 0 |\n",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("no row %q in\n%s", want, md.String())
		}
	}
	if strings.Contains(md.String(), "other") || strings.Contains(md.String(), "range") {
		t.Errorf("a review outside the bootstrap or a range for one run:\n%s", md.String())
	}
}

// TestSeveralRuns: the mean over the runs with their range where they
// differ; a round not reviewed in every run is left out; the bins are
// summed; the plot is the same bytes twice and has its axes' ticks.
func TestSeveralRuns(t *testing.T) {
	dir := t.TempDir()
	var runs []run
	for _, f := range [][2]string{{"seed-1.jsonl", runA}, {"seed-2.jsonl", runB}} {
		r, err := readRun(write(t, dir, f[0], f[1]))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	boots := bootstraps(runs)
	var md bytes.Buffer
	writeMarkdown(&md, runs, boots)
	for _, want := range []string{
		"mean over 2 runs (seed-1, seed-2)",
		"| 1 | train.b_round0 | 0.430 (0.410–0.450) | 4 | 12.5 % (0.0–25.0) | 50.0 % | 37.5 % (25.0–50.0) | 62.5 % (50.0–75.0) |\n",
		"| 1 | 0.150 (0.100–0.200) | 0.350 (0.300–0.400) | 0.450 (0.400–0.500) | 0.650 (0.600–0.700) | 0.800 (0.700–0.900) | 0.470 (0.420–0.520) | 0 1 1 1 1 1 1 2 0 0 |\n",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("no %q in\n%s", want, md.String())
		}
	}
	if strings.Contains(md.String(), "| 2 |") {
		t.Errorf("round 2, waiting in one run, is shown:\n%s", md.String())
	}
	svg := plot(runs, boots)
	if !bytes.Equal(svg, plot(runs, boots)) {
		t.Error("the plot differs between two calls")
	}
	for _, want := range []string{">0 %</text>", ">100 %</text>", ">1</text>", "mean of 2 runs", "good, b", "usable, b"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("the plot lacks %q", want)
		}
	}
}

func TestBadInput(t *testing.T) {
	_, err := readRun(write(t, t.TempDir(), "x.jsonl", runA+"{not json\n"))
	if err == nil || !strings.Contains(err.Error(), "x.jsonl:4") {
		t.Errorf("error %v, want one naming x.jsonl:4", err)
	}
}

// TestTargets: the last round against round 1 and the targets, and what
// merging adds over the bootstrap's merge = false twin; one line per
// bootstrap of at least two rounds.
func TestTargets(t *testing.T) {
	twin := `{"step":"review.b_nomerge_round1","state":"simulated","bootstrap":"b_nomerge","round":1,"items":4,"objects":5,"accepted_objects":3,"counts":{"bad":1,"good":1,"needs correction":2},"percent":{"bad":25,"good":25,"needs correction":50},"usable_percent":75,"model":{"step":"train.b_nomerge_round0","val_iou":0.41}}
{"step":"review.b_nomerge_round2","state":"simulated","bootstrap":"b_nomerge","round":2,"items":4,"objects":4,"accepted_objects":2,"counts":{"bad":2,"good":0,"needs correction":2},"percent":{"bad":50,"good":0,"needs correction":50},"usable_percent":50,"model":{"step":"train.b_nomerge_round1","val_iou":0.42}}
`
	r, err := readRun(write(t, t.TempDir(), "seed-1.jsonl", runA+twin))
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	writeTargets(&md, []run{r}, bootstraps([]run{r}))
	for _, want := range []string{
		"- bootstrap b: usable 100.0 % in round 2 (≥ 70 %: met), +25.0 points over round 1 (≥ 25: met); good 50.0 % (≥ 40 %: met); without merging (bootstrap b_nomerge) usable is 50.0 % in round 2, so merging the reviewed images back adds +50.0 points.\n",
		"- bootstrap b_nomerge: usable 50.0 % in round 2 (≥ 70 %: **not met**), -25.0 points over round 1 (≥ 25: **not met**); good 0.0 % (≥ 40 %: **not met**).\n",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("no line %q in\n%s", want, md.String())
		}
	}
	// One round only: no line.
	one, err := readRun(write(t, t.TempDir(), "seed-1.jsonl", runB))
	if err != nil {
		t.Fatal(err)
	}
	md.Reset()
	writeTargets(&md, []run{one}, bootstraps([]run{one}))
	if strings.Contains(md.String(), "- bootstrap") {
		t.Errorf("a target line for a bootstrap of one reviewed round:\n%s", md.String())
	}
}
