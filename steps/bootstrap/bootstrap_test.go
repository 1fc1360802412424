package bootstrap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/engine"
	"dsbuild/steps"
)

func load(t *testing.T, src string) (*engine.Recipe, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r, diags := engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds(), Macros: steps.Macros()})
	if !diags.HasErrors() {
		return r, ""
	}
	return r, diags.Error()
}

const base = `
import "seed" {
  format  = "synthetic"
  options = { count = "4" }
}
import "pool" {
  format  = "synthetic"
  options = { count = "8", seed = "2" }
}
`

func TestExpand(t *testing.T) {
	r, errs := load(t, base+`
bootstrap "b" {
  rounds     = 2
  seed_data  = import.seed
  validation = import.seed
  pool       = import.pool
  batch      = 3
  train {
    input_size = 32
    depth      = 1
  }
  review {
    simulate {
      truth = import.pool
    }
  }
  prepare {
    resize {
      width  = 32
      height = 32
    }
  }
}
`)
	if errs != "" {
		t.Fatal(errs)
	}
	var addrs []string
	for _, s := range r.Steps {
		addrs = append(addrs, s.Addr)
	}
	want := "import.pool import.seed merge.b_round1 merge.b_round2 preannotate.b_round1 preannotate.b_round2 review.b_round1 review.b_round2 " +
		"take.b_round1 take.b_round2 train.b_round0 train.b_round1 train.b_round2 transform.b_round1 transform.b_round2"
	if got := strings.Join(addrs, " "); got != want {
		t.Fatalf("steps:\n got %s\nwant %s", got, want)
	}
	deps := func(addr string) string {
		var d []string
		for _, in := range r.Step(addr).Config.Inputs {
			d = append(d, in.Name+"="+in.From.Addr+"."+in.Output)
		}
		return strings.Join(d, " ")
	}
	for addr, want := range map[string]string{
		"train.b_round0":       "data=import.seed.dataset validation=import.seed.dataset",
		"take.b_round2":        "from=import.pool.dataset",
		"preannotate.b_round2": "images=take.b_round2.dataset model=train.b_round1.model",
		"review.b_round1":      "from=preannotate.b_round1.dataset simulate.truth=import.pool.dataset",
		"transform.b_round1":   "from[0]=review.b_round1.accepted",
		"merge.b_round2":       "from[0]=merge.b_round1.dataset from[1]=transform.b_round2.dataset",
		"train.b_round2":       "data=merge.b_round2.dataset from=train.b_round1.model validation=import.seed.dataset",
	} {
		if got := deps(addr); got != want {
			t.Errorf("%s inputs:\n got %s\nwant %s", addr, got, want)
		}
	}
	if skip := r.Step("take.b_round2").Config.Params["skip"].AsBigFloat().String(); skip != "3" {
		t.Errorf("take.b_round2 skip = %s, want 3", skip)
	}
	if d := r.Step("train.b_round1").Config.Params["depth"].AsBigFloat().String(); d != "1" {
		t.Errorf("train.b_round1 depth = %s, want the block's 1", d)
	}
}

func TestExpandErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`rounds = 1
  seed_data = import.seed
  pool = import.pool
  batch = 2
  review { results = "r" }
  train { data = import.seed }`, "In a bootstrap, train.data is set for every round by the loop itself"},
		{`rounds = 1
  seed_data = import.seed
  pool = import.pool
  batch = 2`, "bootstrap needs a review block"},
		{`rounds = 1
  seed_data = import.seed
  pool = import.pool
  batch = 2
  epochs = 3
  review { results = "r" }`, `bootstrap has no argument "epochs"`},
		{`rounds = 1.5
  seed_data = import.seed
  pool = import.pool
  batch = 2
  review { results = "r" }`, "rounds is 1.5; it must be a whole number from 0 to 50"},
		{`rounds = 1
  seed_data = import.seed
  batch = 2
  review { results = "r" }`, `bootstrap needs "pool"`},
		{`rounds = 1
  seed_data = import.seed
  pool = import.pool
  batch = 2
  review { results = "r" }
  train { depth = "deep" }`, "main.hcl:"},
	} {
		_, errs := load(t, base+"bootstrap \"b\" {\n  "+tc.body+"\n}\n")
		if !strings.Contains(errs, tc.want) {
			t.Errorf("for\n%s\ngot errors %q\nwant one containing %q", tc.body, errs, tc.want)
		}
	}
}

// A review directory set once in the bootstrap is the loop's base: every
// round gets its own, so three rounds neither share nor overlap one.
func TestExpandReviewDirsPerRound(t *testing.T) {
	r, errs := load(t, base+`
variable "where" {
  default = "review/person"
}
bootstrap "b" {
  rounds    = 3
  seed_data = import.seed
  pool      = import.pool
  batch     = 2
  review {
    results = var.where
    package = "pkg"
  }
}
`)
	if errs != "" {
		t.Fatal(errs)
	}
	for round := 1; round <= 3; round++ {
		cfg := r.Step("review.b_round" + string(rune('0'+round))).Config
		wantRes := "review/person/round" + string(rune('0'+round))
		wantPkg := "pkg/round" + string(rune('0'+round))
		if got := cfg.String("results"); got != wantRes {
			t.Errorf("round %d results = %q, want %q", round, got, wantRes)
		}
		if got := cfg.String("package"); got != wantPkg {
			t.Errorf("round %d package = %q, want %q", round, got, wantPkg)
		}
	}
}

// addrs is the recipe's step addresses, space-separated, in its order.
func addrs(r *engine.Recipe) string {
	var a []string
	for _, s := range r.Steps {
		a = append(a, s.Addr)
	}
	return strings.Join(a, " ")
}

// deps is a step's inputs as name=step.output, sorted by name.
func deps(r *engine.Recipe, addr string) string {
	s := r.Step(addr)
	if s == nil {
		return "(no step " + addr + ")"
	}
	var d []string
	for _, in := range s.Config.Inputs {
		d = append(d, in.Name+"="+in.From.Addr+"."+in.Output)
	}
	return strings.Join(d, " ")
}

// ops is a transform step's op blocks, in order.
func ops(r *engine.Recipe, addr string) string {
	var o []string
	for _, b := range r.Step(addr).Config.Blocks {
		o = append(o, b.Type)
	}
	return strings.Join(o, " ")
}

const baseVal = base + `
import "val" {
  format  = "synthetic"
  options = { count = "2", seed = "3" }
}
`

const twoModels = `
bootstrap "b" {
  rounds     = 2
  seed_data  = import.seed
  validation = import.val
  pool       = import.pool
  batch      = 3
  train {
    input_size = 32
    depth      = 1
  }
  review {
    simulate {
      truth = import.pool
    }
  }
  prepare {
    resize {
      width  = 32
      height = 32
    }
  }
  crop_train {
    input_size   = 16
    crop_padding = 0.1
  }
  crop_prepare {
    instances_crop {
      classes = ["person"]
      pad     = "10%"
    }
    resize {
      width  = 16
      height = 16
    }
  }
}
`

// A bootstrap with crop_train and crop_prepare trains a crop model per
// round beside the scene model: round R's crops are crop_prepare's ops on
// round R's training data, each crop model continues from the last, and
// round R's pre-annotation gets the crop model of round R−1.
func TestExpandTwoModels(t *testing.T) {
	r, errs := load(t, baseVal+twoModels)
	if errs != "" {
		t.Fatal(errs)
	}
	want := "import.pool import.seed import.val merge.b_round1 merge.b_round2 preannotate.b_round1 preannotate.b_round2 review.b_round1 review.b_round2 " +
		"take.b_round1 take.b_round2 train.b_crop_round0 train.b_crop_round1 train.b_crop_round2 train.b_round0 train.b_round1 train.b_round2 " +
		"transform.b_crops_round0 transform.b_crops_round1 transform.b_crops_round2 transform.b_crops_val transform.b_round1 transform.b_round2"
	if got := addrs(r); got != want {
		t.Fatalf("steps:\n got %s\nwant %s", got, want)
	}
	for addr, want := range map[string]string{
		"transform.b_crops_val":    "from[0]=import.val.dataset",
		"transform.b_crops_round0": "from[0]=import.seed.dataset",
		"transform.b_crops_round1": "from[0]=merge.b_round1.dataset",
		"transform.b_crops_round2": "from[0]=merge.b_round2.dataset",
		"train.b_crop_round0":      "data=transform.b_crops_round0.dataset validation=transform.b_crops_val.dataset",
		"train.b_crop_round1":      "data=transform.b_crops_round1.dataset from=train.b_crop_round0.model validation=transform.b_crops_val.dataset",
		"train.b_crop_round2":      "data=transform.b_crops_round2.dataset from=train.b_crop_round1.model validation=transform.b_crops_val.dataset",
		"preannotate.b_round1":     "crop_model=train.b_crop_round0.model images=take.b_round1.dataset model=train.b_round0.model",
		"preannotate.b_round2":     "crop_model=train.b_crop_round1.model images=take.b_round2.dataset model=train.b_round1.model",
		// the scene model's chain is as without crops
		"train.b_round0":     "data=import.seed.dataset validation=import.val.dataset",
		"transform.b_round2": "from[0]=review.b_round2.accepted",
		"merge.b_round2":     "from[0]=merge.b_round1.dataset from[1]=transform.b_round2.dataset",
		"train.b_round2":     "data=merge.b_round2.dataset from=train.b_round1.model validation=import.val.dataset",
	} {
		if got := deps(r, addr); got != want {
			t.Errorf("%s inputs:\n got %s\nwant %s", addr, got, want)
		}
	}
	for _, addr := range []string{"transform.b_crops_val", "transform.b_crops_round0", "transform.b_crops_round2"} {
		if got := ops(r, addr); got != "instances_crop resize" {
			t.Errorf("%s ops = %q, want crop_prepare's instances_crop resize", addr, got)
		}
	}
	if got := ops(r, "transform.b_round1"); got != "resize" {
		t.Errorf("transform.b_round1 ops = %q, want prepare's resize", got)
	}
	for addr, want := range map[string]string{"train.b_crop_round0": "16", "train.b_crop_round2": "16", "train.b_round1": "32"} {
		if got := r.Step(addr).Config.Params["input_size"].AsBigFloat().String(); got != want {
			t.Errorf("%s input_size = %s, want %s", addr, got, want)
		}
	}
	if got := r.Step("train.b_crop_round1").Config.Params["crop_padding"].AsBigFloat().String(); got != "0.1" {
		t.Errorf("train.b_crop_round1 crop_padding = %s, want crop_train's 0.1", got)
	}
	if d := r.Step("train.b_crop_round1").Config.Params["depth"].AsBigFloat().String(); d != "3" {
		t.Errorf("train.b_crop_round1 depth = %s, want the default 3: the train block (depth 1) is the scene model's", d)
	}
	for _, addr := range []string{"preannotate.b_round1", "preannotate.b_round2"} {
		if got := r.Step(addr).Config.String("mode"); got != "boxes" {
			t.Errorf("%s mode = %q, want boxes (a crop model is for stage 2)", addr, got)
		}
	}
}

// Without validation the crop models have none either, and no
// transform.N_crops_val is made; rounds = 0 makes round 0's models only.
func TestExpandTwoModelsNoValidation(t *testing.T) {
	src := strings.Replace(twoModels, "validation = import.val", "", 1)
	src = strings.Replace(src, "rounds     = 2", "rounds = 0", 1)
	r, errs := load(t, baseVal+src)
	if errs != "" {
		t.Fatal(errs)
	}
	if got, want := addrs(r), "import.pool import.seed import.val train.b_crop_round0 train.b_round0 transform.b_crops_round0"; got != want {
		t.Fatalf("steps:\n got %s\nwant %s", got, want)
	}
	if got, want := deps(r, "train.b_crop_round0"), "data=transform.b_crops_round0.dataset"; got != want {
		t.Errorf("train.b_crop_round0 inputs:\n got %s\nwant %s", got, want)
	}
}

// A preannotate block's own mode is kept: "boxes" as written.
func TestExpandTwoModelsModeWritten(t *testing.T) {
	src := strings.Replace(twoModels, "  review {", "  preannotate {\n    mode = \"boxes\"\n    threshold = 0.4\n  }\n  review {", 1)
	r, errs := load(t, baseVal+src)
	if errs != "" {
		t.Fatal(errs)
	}
	cfg := r.Step("preannotate.b_round2").Config
	if cfg.String("mode") != "boxes" || cfg.Params["threshold"].AsBigFloat().String() != "0.4" {
		t.Errorf("preannotate.b_round2 mode %q threshold %v, want the block's boxes and 0.4", cfg.String("mode"), cfg.Params["threshold"])
	}
}

// merge = false is the ablation: the same batches are taken, pre-annotated
// and reviewed, but every round trains on the seed data alone, continuing
// from the last round's model; nothing is prepared or merged.
func TestExpandNoMerge(t *testing.T) {
	src := strings.Replace(twoModels, "rounds     = 2", "rounds = 2\n  merge = false", 1)
	r, errs := load(t, baseVal+src)
	if errs != "" {
		t.Fatal(errs)
	}
	want := "import.pool import.seed import.val preannotate.b_round1 preannotate.b_round2 review.b_round1 review.b_round2 take.b_round1 take.b_round2 " +
		"train.b_crop_round0 train.b_crop_round1 train.b_crop_round2 train.b_round0 train.b_round1 train.b_round2 transform.b_crops_round0 transform.b_crops_val"
	if got := addrs(r); got != want {
		t.Fatalf("steps:\n got %s\nwant %s", got, want)
	}
	for addr, want := range map[string]string{
		"take.b_round2":        "from=import.pool.dataset",
		"preannotate.b_round2": "crop_model=train.b_crop_round1.model images=take.b_round2.dataset model=train.b_round1.model",
		"review.b_round2":      "from=preannotate.b_round2.dataset simulate.truth=import.pool.dataset",
		"train.b_round1":       "data=import.seed.dataset from=train.b_round0.model validation=import.val.dataset",
		"train.b_round2":       "data=import.seed.dataset from=train.b_round1.model validation=import.val.dataset",
		"train.b_crop_round2":  "data=transform.b_crops_round0.dataset from=train.b_crop_round1.model validation=transform.b_crops_val.dataset",
	} {
		if got := deps(r, addr); got != want {
			t.Errorf("%s inputs:\n got %s\nwant %s", addr, got, want)
		}
	}
	if skip := r.Step("take.b_round2").Config.Params["skip"].AsBigFloat().String(); skip != "3" {
		t.Errorf("take.b_round2 skip = %s, want 3", skip)
	}
	if e := r.Step("train.b_round2").Config.Params["epochs"]; !e.Equals(r.Step("train.b_round0").Config.Params["epochs"]).True() {
		t.Errorf("train.b_round2 epochs %v differ from round 0's", e)
	}
}

// A merged bootstrap and its ablation over the same pool load side by
// side: their steps are distinct, and their batches are the same.
func TestTwoBootstrapsSamePool(t *testing.T) {
	loop := func(name, extra string) string {
		return loopSrc(name, extra, "simulate {\n      truth = import.pool\n    }")
	}
	r, errs := load(t, base+loop("person", "")+loop("person_ablation", "merge = false"))
	if errs != "" {
		t.Fatal(errs)
	}
	want := "import.pool import.seed merge.person_round1 merge.person_round2 " +
		"preannotate.person_ablation_round1 preannotate.person_ablation_round2 preannotate.person_round1 preannotate.person_round2 " +
		"review.person_ablation_round1 review.person_ablation_round2 review.person_round1 review.person_round2 " +
		"take.person_ablation_round1 take.person_ablation_round2 take.person_round1 take.person_round2 " +
		"train.person_ablation_round0 train.person_ablation_round1 train.person_ablation_round2 train.person_round0 train.person_round1 train.person_round2"
	if got := addrs(r); got != want {
		t.Fatalf("steps:\n got %s\nwant %s", got, want)
	}
	for _, round := range []string{"1", "2"} {
		a, b := r.Step("take.person_round"+round).Config, r.Step("take.person_ablation_round"+round).Config
		for _, p := range []string{"count", "skip", "seed"} {
			if !a.Params[p].Equals(b.Params[p]).True() {
				t.Errorf("round %s: take %s %v vs the ablation's %v", round, p, a.Params[p], b.Params[p])
			}
		}
	}
	if got, want := deps(r, "train.person_ablation_round2"), "data=import.seed.dataset from=train.person_ablation_round1.model"; got != want {
		t.Errorf("train.person_ablation_round2 inputs:\n got %s\nwant %s", got, want)
	}
}

func TestExpandCropErrors(t *testing.T) {
	const head = `rounds = 1
  seed_data = import.seed
  pool = import.pool
  batch = 2
  review { results = "r" }
`
	for _, tc := range []struct{ body, want string }{
		{head + `  crop_train { input_size = 16 }`, "main.hcl:16,3-13: Missing crop_prepare block; bootstrap has a crop_train block but no crop_prepare block"},
		{head + `  crop_prepare {
    resize {
      width  = 16
      height = 16
    }
  }`, "main.hcl:16,3-15: Missing crop_train block; bootstrap has a crop_prepare block but no crop_train block"},
		{head + `  crop_train { data = import.seed }
  crop_prepare { }`, "In a bootstrap, crop_train.data is set for every round by the loop itself"},
		{head + `  crop_train { from = import.seed }
  crop_prepare { }`, "In a bootstrap, crop_train.from is set for every round by the loop itself"},
		{head + `  crop_train { validation = import.seed }
  crop_prepare { }`, "In a bootstrap, crop_train.validation is set for every round by the loop itself"},
		{head + `  crop_train { }
  crop_prepare { from = [import.seed] }`, "In a bootstrap, crop_prepare.from is set for every round by the loop itself"},
		{head + `  crop_train { }
  crop_prepare { }
  preannotate { crop_model = import.seed }`, "preannotate.crop_model is set for every round by the loop itself (train.b_crop_round<R−1>)"},
		{head + `  crop_train { }
  crop_prepare { }
  preannotate { mode = "scene" }`, `main.hcl:18,24-31: Crop model without its mode; preannotate's mode "scene"`},
		{head + `  crop_trains { }`, `bootstrap has no "crop_trains" block; it takes rounds`},
		{head + `  crop_train { }
  crop_train { }
  crop_prepare { }`, "bootstrap has a second crop_train block"},
		{head + `  merge = "maybe"`, "main.hcl:16,11-18: Incorrect value type"},
		{head + `  merge = null`, "merge is null; it must be true or false"},
		{strings.Replace(head, "rounds = 1", "rounds = null", 1), "rounds is null; it must be a whole number from 0 to 50"},
		{strings.Replace(head, "batch = 2", "batch = null", 1), "batch is null; it must be a whole number from 1 to"},
	} {
		_, errs := load(t, base+"bootstrap \"b\" {\n  "+tc.body+"\n}\n")
		if !strings.Contains(errs, tc.want) {
			t.Errorf("for\n%s\ngot errors %q\nwant one containing %q", tc.body, errs, tc.want)
		}
	}
}

// Without a crop_train block, crop_model is the user's to give (a crop
// model trained outside the loop), passed to every round as written.
func TestExpandOwnCropModel(t *testing.T) {
	r, errs := load(t, base+`
train "crops" {
  data       = import.seed
  input_size = 16
}
bootstrap "b" {
  rounds    = 2
  seed_data = import.seed
  pool      = import.pool
  batch     = 2
  preannotate {
    mode       = "boxes"
    crop_model = train.crops
  }
  review { results = "r" }
}
`)
	if errs != "" {
		t.Fatal(errs)
	}
	if got, want := deps(r, "preannotate.b_round2"), "crop_model=train.crops.model images=take.b_round2.dataset model=train.b_round1.model"; got != want {
		t.Errorf("preannotate.b_round2 inputs:\n got %s\nwant %s", got, want)
	}
}

// TestExpandAblation: ablation = true expands the loop and its merge =
// false twin from one block: the same steps, wiring and parameters as the
// twin written out as a second block, with the twin's review directories
// under <dir>/nomerge_roundR; with merge = false it is a diagnostic.
func TestExpandAblation(t *testing.T) {
	loop := func(name, extra, dir string) string {
		return loopSrc(name, extra, `package = "review/p`+dir+`"
    results = "review/r`+dir+`"`)
	}
	one, errs := load(t, base+loop("person", "ablation = true", ""))
	if errs != "" {
		t.Fatal(errs)
	}
	two, errs := load(t, base+loop("person", "", "")+loop("person_nomerge", "merge = false", "_twin"))
	if errs != "" {
		t.Fatal(errs)
	}
	if a, b := addrs(one), addrs(two); a != b {
		t.Fatalf("steps:\n ablation = true: %s\n two blocks:      %s", a, b)
	}
	for _, s := range one.Steps {
		if got, want := deps(one, s.Addr), deps(two, s.Addr); got != want {
			t.Errorf("%s inputs: %s; written out: %s", s.Addr, got, want)
		}
		o, w := s.Config.Params, two.Step(s.Addr).Config.Params
		for p, v := range o {
			if p == "package" || p == "results" {
				continue
			}
			if !v.Equals(w[p]).True() {
				t.Errorf("%s %s = %v; written out %v", s.Addr, p, v, w[p])
			}
		}
	}
	for _, c := range []struct{ step, dir, want string }{
		{"review.person_round2", "package", "review/p/round2"},
		{"review.person_nomerge_round2", "package", "review/p/nomerge_round2"},
		{"review.person_nomerge_round1", "results", "review/r/nomerge_round1"},
	} {
		if got := one.Step(c.step).Config.String(c.dir); got != c.want {
			t.Errorf("%s %s = %q; want %q", c.step, c.dir, got, c.want)
		}
	}
	if _, errs := load(t, base+loop("person", "ablation = true\n  merge = false", "")); !strings.Contains(errs, "ablation = true adds this loop's merge = false twin") {
		t.Errorf("ablation with merge = false: %q", errs)
	}
}

// loopSrc is a two-round bootstrap named name over import.seed and
// import.pool, with the extra attributes and the review block's body.
func loopSrc(name, extra, review string) string {
	return `
bootstrap "` + name + `" {
  rounds    = 2
  seed_data = import.seed
  pool      = import.pool
  batch     = 3
  seed      = "s"
  ` + extra + `
  train {
    input_size = 32
    depth      = 1
  }
  review {
    ` + review + `
  }
}
`
}

// epochs as a list gives each round's training its own count, the last
// element standing for later rounds, in the loop and its ablation twin
// and for the crop model; each train step gets a plain number, so its
// parameters are those a number gives.
func TestExpandEpochsPerRound(t *testing.T) {
	src := strings.Replace(twoModels, "rounds     = 2", "rounds = 3\n  ablation = true", 1)
	src = strings.Replace(src, "train {\n", "train {\n    epochs = concat([for r in range(2) : 5], [9])\n", 1)
	src = strings.Replace(src, "crop_train {\n", "crop_train {\n    epochs = [4, 1]\n", 1)
	if src == twoModels || !strings.Contains(src, "epochs = [4, 1]") || !strings.Contains(src, "concat(") || !strings.Contains(src, "ablation = true") {
		t.Fatalf("the fixture did not take the edits:\n%s", src)
	}
	r, errs := load(t, baseVal+src)
	if errs != "" {
		t.Fatal(errs)
	}
	for addr, want := range map[string]string{
		"train.b_round0": "5", "train.b_round1": "5", "train.b_round2": "9", "train.b_round3": "9",
		"train.b_nomerge_round1": "5", "train.b_nomerge_round2": "9", "train.b_nomerge_round3": "9",
		"train.b_crop_round0": "4", "train.b_crop_round1": "1", "train.b_crop_round3": "1",
		"train.b_nomerge_crop_round2": "1",
	} {
		s := r.Step(addr)
		if s == nil {
			t.Errorf("no step %s", addr)
			continue
		}
		if got := s.Config.Params["epochs"].AsBigFloat().String(); got != want {
			t.Errorf("%s epochs = %s, want %s", addr, got, want)
		}
	}

	// The same round with epochs = 9 written as a number has the same
	// parameters, so the same key.
	plain, errs := load(t, baseVal+strings.Replace(strings.Replace(src, "concat([for r in range(2) : 5], [9])", "9", 1), "epochs = [4, 1]", "epochs = 1", 1))
	if errs != "" {
		t.Fatal(errs)
	}
	for _, addr := range []string{"train.b_round2", "train.b_crop_round1"} {
		a, b := r.Step(addr).Config.Params, plain.Step(addr).Config.Params
		if len(a) != len(b) {
			t.Fatalf("%s: %d parameters from the list, %d from a number", addr, len(a), len(b))
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || !v.RawEquals(w) {
				t.Errorf("%s parameter %s: %#v from the list, %#v from a number", addr, k, v, w)
			}
		}
	}
}

func TestExpandEpochsPerRoundErrors(t *testing.T) {
	for _, tc := range []struct{ epochs, want string }{
		{"[1, 2, 3, 4]", "train.epochs is a list of 4, and this bootstrap trains 3 times (rounds 0 to 2)"},
		{"[]", "train.epochs is a list of 0"},
		{"[3, 1.5]", "train.epochs[1] is cty.NumberFloatVal(1.5); every element must be a whole number"},
		{`[3, "many"]`, `train.epochs[1] is cty.StringVal("many")`},
		{"[3, -1]", "train.epochs[1] is cty.NumberIntVal(-1)"},
		// 0 epochs reaches the train kind, which wants steps then.
		{"[0]", "epochs is 0 and steps 0; set one of them above 0"},
	} {
		src := loopSrc("b", "", "simulate { truth = import.pool }")
		src = strings.Replace(src, "train {\n", "train {\n    epochs = "+tc.epochs+"\n", 1)
		_, errs := load(t, base+src)
		if !strings.Contains(errs, tc.want) || !strings.Contains(errs, "main.hcl:") {
			t.Errorf("epochs = %s: got errors %q\nwant one at main.hcl containing %q", tc.epochs, errs, tc.want)
		}
	}
}
