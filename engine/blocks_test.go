package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
)

// opsKind has nested op blocks, like a transform.
type opsKind struct{}

func (opsKind) Name() string { return "ops" }
func (opsKind) Version() int { return 1 }
func (opsKind) Schema() *engine.Schema {
	return &engine.Schema{
		Attrs: []engine.AttrSpec{{Name: "start", Type: cty.Number, Default: cty.NumberIntVal(0)}},
		Blocks: []engine.BlockSpec{
			{Type: "add", Attrs: []engine.AttrSpec{{Name: "n", Type: cty.Number, Required: true}}},
			{Type: "mul", Attrs: []engine.AttrSpec{
				{Name: "n", Type: cty.Number, Default: cty.NumberIntVal(2)},
				{Name: "note", Type: cty.String, NotInKey: true},
			}},
		},
		Outputs: []string{"out"},
	}
}
func (opsKind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	return fileTree(rc.Store, "x")
}

func loadOps(t *testing.T, hcl string) (*engine.Recipe, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	r, diags := engine.Load(dir, engine.LoadOptions{Kinds: engine.NewKinds(opsKind{})})
	var msgs []string
	for _, d := range diags {
		msgs = append(msgs, d.Summary+": "+d.Detail)
	}
	return r, strings.Join(msgs, "\n")
}

func TestNestedBlocksKeepOrderAndEnterTheKey(t *testing.T) {
	r, diags := loadOps(t, `
ops "a" {
  add {
    n = 1
  }
  mul {
    note = "ignored by the key"
  }
  add {
    n = 3
  }
}
`)
	if diags != "" {
		t.Fatal(diags)
	}
	s := r.Step("ops.a")
	var got []string
	for _, b := range s.Config.Blocks {
		got = append(got, b.Type)
	}
	if strings.Join(got, ",") != "add,mul,add" {
		t.Errorf("blocks = %v, want add, mul, add in the order written", got)
	}
	pre, err := engine.Preimage(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "dsbuild step key v1\nkind ops v1\nparam start 0\nblock 0 add {\"n\":1}\nblock 1 mul {\"n\":2}\nblock 2 add {\"n\":3}\nsalt 1"
	if strings.Join(pre, "\n") != want {
		t.Errorf("preimage:\n%s\nwant:\n%s", strings.Join(pre, "\n"), want)
	}
	// Another order is another key.
	r2, _ := loadOps(t, `
ops "a" {
  add {
    n = 3
  }
  mul {}
  add {
    n = 1
  }
}
`)
	pre2, _ := engine.Preimage(r2.Step("ops.a"), nil)
	if engine.StepKeyOf(pre) == engine.StepKeyOf(pre2) {
		t.Errorf("reordering the blocks kept the key")
	}
}

func TestNestedBlockDiagnostics(t *testing.T) {
	for _, tc := range []struct{ hcl, want string }{
		{`ops "a" {
  ad {
    n = 1
  }
}`, `Unsupported block type: Blocks of type "ad" are not expected here. Did you mean "add"?`},
		{`ops "a" {
  add {}
}`, `Missing required argument: The argument "n" is required`},
		{`ops "a" {
  add {
    n = "many"
  }
}`, `Incorrect value type`},
		{`ops "a" {
  add {
    n = 1
    m = 2
  }
}`, `Unsupported argument: An argument named "m" is not expected here.`},
		{`ops "a" {
  add {
    n = 1
    inner {}
  }
}`, `Unsupported block type`},
	} {
		_, diags := loadOps(t, tc.hcl)
		if !strings.Contains(diags, tc.want) {
			t.Errorf("%s\ngave: %s\nwant: %s", tc.hcl, diags, tc.want)
		}
	}
}

// A parameter set to null is unset, as in Terraform: its default applies
// (in the step and in its nested blocks) and it keys like an absent one,
// so `x = cond ? null : v` leaves a step's key as it was without x. A
// required parameter must not be null.
func TestNullIsUnset(t *testing.T) {
	preimage := func(src string) []string {
		t.Helper()
		r, diags := loadOps(t, src)
		if diags != "" {
			t.Fatal(diags)
		}
		pre, err := engine.Preimage(r.Step("ops.a"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return pre
	}
	absent := preimage("ops \"a\" {\n  mul {}\n}\n")
	null := preimage("ops \"a\" {\n  start = true ? null : 5\n  mul {\n    n = null\n  }\n}\n")
	if strings.Join(absent, "\n") != strings.Join(null, "\n") {
		t.Errorf("null parameters key differently from absent ones:\nabsent %q\nnull   %q", absent, null)
	}
	if !strings.Contains(strings.Join(null, "\n"), "param start 0") {
		t.Errorf("start = null did not take the default 0: %q", null)
	}
	if _, diags := loadOps(t, "ops \"a\" {\n  add {\n    n = null\n  }\n}\n"); !strings.Contains(diags, `"n" must not be null`) {
		t.Errorf("a required parameter set to null: diagnostics %q, want \"n\" must not be null", diags)
	}
}
