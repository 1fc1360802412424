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
