//go:build unix

package main

// The concurrency part of the reliability suite (docs/reliability.md,
// "Concurrency"): builds of several targets of one recipe, a build of a
// second recipe directory, gc and cache check, all at once on one store,
// round after round. It reuses the helpers of reliability_test.go.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// concState is one state of the sources that the rounds alternate
// between, so that every round has work to do: the state of two rounds
// ago is what gc collects.
type concState struct {
	name string
	// apply puts the sources of r in this state.
	apply func(t *testing.T, r *relRecipe)
}

// concStates: the fixture as it is, and without one item (its image and
// annotation), which changes the key of every step.
func concStates() []concState {
	item := []string{"ds2/img/pexels-photo-4.png", "ds2/ann/pexels-photo-4.png.json"}
	return []concState{
		{"all 4 items", func(t *testing.T, r *relRecipe) {
			copyTree(t, filepath.Join("..", "..", "testdata", "fixtures", "supervisely", "ds2"), filepath.Join(r.dir, "data", "ds2"))
		}},
		{"3 items", func(t *testing.T, r *relRecipe) {
			for _, p := range item {
				if err := os.Remove(filepath.Join(r.dir, "data", p)); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
}

// concJob is one command of a round.
type concJob struct {
	r     *relRecipe
	args  []string
	delay time.Duration // after the round starts
}

// runJobs starts every job after its delay and waits for all of them; it
// returns their results and how long each ran.
func runJobs(jobs []concJob) ([]result, []time.Duration) {
	out := make([]result, len(jobs))
	took := make([]time.Duration, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(j.delay)
			start := time.Now()
			out[i] = j.r.run(j.args...)
			took[i] = time.Since(start)
		}()
	}
	wg.Wait()
	return out, took
}

// lostEntries lists the steps whose lockfile entry is missing or records
// other digests than want (the uninterrupted build's).
func (r *relRecipe) lostEntries(want map[string]string) []string {
	r.t.Helper()
	got, err := r.lockDigests()
	if err != nil {
		r.t.Fatalf("the lockfile of %s: %v", r.dir, err)
	}
	var lost []string
	for _, step := range relSteps {
		var g, w []string
		for k, v := range want {
			if k == step+" key" || strings.HasPrefix(k, step+".") {
				w = append(w, k+" "+v)
				if gv, ok := got[k]; ok {
					g = append(g, k+" "+gv)
				}
			}
		}
		sort.Strings(g)
		sort.Strings(w)
		if strings.Join(g, "\n") != strings.Join(w, "\n") {
			lost = append(lost, step)
		}
	}
	return lost
}

// lostResults checks out every output the lockfile of the uninterrupted
// build names and compares it with that build's files; it returns the
// outputs that could not be checked out or differ, and how many it tried.
func (r *relRecipe) lostResults(want map[string]string, wantFiles map[string]string, dir string) (lost []string, tried int) {
	r.t.Helper()
	var outputs []string
	for k := range want {
		if !strings.HasSuffix(k, " key") {
			outputs = append(outputs, k)
		}
	}
	sort.Strings(outputs)
	for _, o := range outputs {
		tried++
		res := r.run("checkout", "rec", o, filepath.Join(dir, o))
		if res.err != nil {
			r.t.Logf("lost result %s: %s", o, res)
			lost = append(lost, o)
		}
	}
	got := readDir(r.t, dir)
	for _, d := range diffFiles(without(got, lost), without(wantFiles, lost)) {
		r.t.Logf("lost result: checked out file %s", d)
		lost = append(lost, d)
	}
	if err := os.RemoveAll(dir); err != nil {
		r.t.Fatal(err)
	}
	return lost, tried
}

// TestReliabilityConcurrency: on one store, rounds of four builds (the
// targets import.people and transform.small and the whole recipe of one
// recipe directory, and the whole recipe of a second directory), a
// `gc --keep-builds 0` and a `cache check`, all at once: the whole builds
// first, the builds of single targets at seeded points of the second half
// of a whole build (so that they overlap its end, when it records), gc and
// check at seeded points from before the builds to after them (a build's
// duration is the last round's whole build). The sources alternate
// between two states, so the state of the round before last is garbage:
// gc collects it and the builds run again. After each round every command
// exited 0, both lockfiles record the uninterrupted build's digests for
// every step, and every output checks out with the uninterrupted build's
// bytes; at the end cache check is clean and a build runs nothing.
func TestReliabilityConcurrency(t *testing.T) {
	rounds := 10
	if testing.Short() {
		rounds = 3
	}
	began := time.Now()
	base := t.TempDir()
	states := concStates()

	// The references: an uninterrupted build of each state in a store
	// of its own, and the files of its outputs.
	var want []map[string]string
	var wantFiles []map[string]string
	var measured time.Duration
	for i, st := range states {
		ref := newRelRecipe(t, filepath.Join(base, fmt.Sprintf("ref%d", i)))
		st.apply(t, ref)
		start := time.Now()
		ref.build()
		measured = max(measured, time.Since(start))
		w, err := ref.lockDigests()
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(ref.root, "out")
		if refused := ref.checkoutAll(out); len(refused) > 0 {
			t.Fatalf("checkout of the reference build of %s refused %v", st.name, refused)
		}
		want = append(want, w)
		wantFiles = append(wantFiles, readDir(t, out))
	}
	if d := diffDigests(want[1], want[0], false); !strings.Contains(d, "train.tiny.model is") {
		t.Fatalf("the two states do not give different models: %q", d)
	}

	one := newRelRecipe(t, filepath.Join(base, "one"))
	two := newRelRecipe(t, filepath.Join(base, "two"))
	two.store = one.store
	rng := rand.New(rand.NewPCG(11, 2026))
	// span is how long the whole build of the round before took (at
	// least as long as an uninterrupted build alone).
	span := measured
	var (
		failed                   []string
		lostEntries, lostResults int
		checkouts, ran, gcBlobs  int
		checksDuring             int
	)
	for round := range rounds {
		si := round % 2
		st := states[si]
		st.apply(t, one)
		st.apply(t, two)
		// Delays in fractions of span, seeded.
		spread := func(from, to float64) time.Duration {
			return time.Duration((from + rng.Float64()*(to-from)) * float64(span))
		}
		jobs := []concJob{
			{r: one, args: []string{"build", "--json", "rec", "import.people"}, delay: spread(0.5, 1.1)},
			{r: one, args: []string{"build", "--json", "rec", "transform.small"}, delay: spread(0.5, 1.1)},
			{r: one, args: []string{"build", "--json", "rec"}},
			{r: two, args: []string{"build", "--json", "rec"}},
			{r: one, args: []string{"gc", "--json", "--keep-builds", "0"}, delay: spread(0, 1.5)},
			{r: one, args: []string{"cache", "check"}, delay: spread(0, 1.5)},
		}
		results, took := runJobs(jobs)
		span = max(measured, took[2])
		for i, res := range results {
			if res.err != nil {
				failed = append(failed, fmt.Sprintf("round %d: %s", round, strings.Join(res.args, " ")))
				t.Errorf("round %d (%s): %s", round, st.name, res)
				continue
			}
			switch jobs[i].args[0] {
			case "build":
				ran += len(res.ran())
			case "gc":
				var ev struct{ Blobs int }
				for _, line := range strings.Split(res.stdout, "\n") {
					if json.Unmarshal([]byte(line), &ev) == nil {
						gcBlobs += ev.Blobs
					}
				}
			case "cache":
				if !strings.Contains(res.stdout, "store OK") || strings.Contains(res.stdout, "PROBLEM") {
					failed = append(failed, fmt.Sprintf("round %d: cache check", round))
					t.Errorf("round %d: cache check during the builds is not clean:\n%s", round, res)
				}
				checksDuring++
			}
		}
		for _, r := range []*relRecipe{one, two} {
			if lost := r.lostEntries(want[si]); len(lost) > 0 {
				lostEntries += len(lost)
				got, _ := r.lockDigests()
				t.Errorf("round %d (%s): the lockfile of %s lost or changed the entries of %v: %s", round, st.name, r.dir, lost, diffDigests(got, want[si], false))
			}
			lost, tried := r.lostResults(want[si], wantFiles[si], filepath.Join(r.root, fmt.Sprintf("out%d", round)))
			checkouts += tried
			if len(lost) > 0 {
				lostResults += len(lost)
				t.Errorf("round %d (%s): results of %s lost after the builds reported them: %v", round, st.name, r.dir, lost)
			}
		}
	}

	one.checkClean("after the rounds")
	idle := 0
	for _, r := range []*relRecipe{one, two} {
		if got := r.build().ran(); len(got) > 0 {
			t.Errorf("the build of %s after the rounds ran %v, want nothing", r.dir, got)
		} else {
			idle++
		}
	}
	t.Logf("concurrency: %d rounds, 4 builds + gc + check each (2 recipe directories, 1 store), %d failed commands, %d lost results (of %d checkouts), %d lost entries; the builds ran %d steps, gc removed %d blobs, %d checks during the rounds clean; final check clean, %d of 2 final builds ran nothing; build %v, suite %v",
		rounds, len(failed), lostResults, checkouts, lostEntries, ran, gcBlobs, checksDuring, idle, measured.Round(time.Millisecond), time.Since(began).Round(time.Second))
}
