package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
)

// intKind has integer attributes (a number, a list of them, one in a
// nested block) beside a number that may be a fraction; its Run fails at
// the range of its "at" attribute when it is set.
type intKind struct{}

func (intKind) Name() string { return "ints" }
func (intKind) Version() int { return 1 }
func (intKind) Schema() *engine.Schema {
	return &engine.Schema{
		Attrs: []engine.AttrSpec{
			{Name: "workers", Type: cty.Number, Int: true, NotInKey: true},
			{Name: "ids", Type: cty.List(cty.Number), Int: true},
			{Name: "ratio", Type: cty.Number},
			{Name: "at", Type: cty.String},
		},
		Blocks:  []engine.BlockSpec{{Type: "op", Attrs: []engine.AttrSpec{{Name: "times", Type: cty.Number, Int: true}}}},
		Outputs: []string{"out"},
	}
}
func (intKind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	if rc.Config.Has("at") {
		err := engine.Errorf(rc.Config.Range("at"), "%s is not there", rc.Config.String("at"))
		return nil, fmt.Errorf("reading: %w", err)
	}
	return fileTree(rc.Store, fmt.Sprint(rc.Config.Int("workers")))
}

func loadInts(t *testing.T, body string) (*engine.Recipe, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("ints \"a\" {\n"+body+"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return engine.Load(dir, engine.LoadOptions{Kinds: engine.NewKinds(intKind{})})
}

// An Int attribute refuses a fraction (and a whole number beyond int64)
// at load, with a diagnostic on the value: on the list element for a list
// written out. Config.Int truncated 2.5 to 2 before.
func TestIntAttributeRefusesFractions(t *testing.T) {
	for _, c := range []struct {
		body       string
		detail     string
		line       int // of the subject in main.hcl; the block header is line 1
		start, end int // columns
	}{
		{"  workers = 2.5", "workers is 2.5; it must be a whole number.", 2, 13, 16},
		{"  workers = -0.5", "workers is -0.5; it must be a whole number.", 2, 13, 17},
		{"  workers = 1e30", "workers is 1e+30; it must be a whole number from -9223372036854775808 to 9223372036854775807.", 2, 13, 17},
		{"  ratio = 1\n  ids = [1, 2.25, 3.5]", "ids[1] is 2.25; it must be a whole number.", 3, 13, 17},
		{"  op {\n    times = 7 / 2\n  }", "times is 3.5; it must be a whole number.", 3, 13, 18},
	} {
		_, diags := loadInts(t, c.body)
		if len(diags) != 1 {
			t.Errorf("%q: %d diagnostics, want 1: %v", c.body, len(diags), diags)
			continue
		}
		d := diags[0]
		if d.Severity != hcl.DiagError || !strings.HasPrefix(d.Summary, "Invalid ") || d.Detail != c.detail {
			t.Errorf("%q: %q / %q, want Invalid … / %q", c.body, d.Summary, d.Detail, c.detail)
		}
		if s := d.Subject; s == nil || s.Start.Line != c.line || s.Start.Column != c.start || s.End.Column != c.end {
			t.Errorf("%q: subject %v, want line %d, columns %d-%d", c.body, s, c.line, c.start, c.end)
		}
	}
	// Whole numbers, however written, and fractions where they are
	// allowed, load.
	r, diags := loadInts(t, "  workers = 4.0\n  ids = [1e3, -2]\n  ratio = 2.5\n  op {\n    times = 6 / 2\n  }")
	if diags.HasErrors() {
		t.Fatalf("whole numbers refused: %v", diags)
	}
	if got := r.Step("ints.a").Config.Int("workers"); got != 4 {
		t.Errorf("workers = %d, want 4", got)
	}
}

// A run-time error at a recipe range keeps the range as data: the step's
// error names the location once, and SourceDiagnostic puts it on the
// attribute with the message, without the location or the step.
func TestSourceErrorKeepsItsRange(t *testing.T) {
	r, diags := loadInts(t, `  at = "pool"`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	store, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	res := br.Result(r.Step("ints.a"))
	if res.Status != engine.Failed {
		t.Fatalf("ints.a %s, want failed", res.Status)
	}
	var se *engine.SourceError
	if !errors.As(res.Err, &se) || se.Range.Start.Line != 2 || se.Range.Start.Column != 8 {
		t.Fatalf("error %v holds no SourceError at line 2, column 8", res.Err)
	}
	// The step's block is on line 1, the failure's value on line 2: the
	// text names the step and line 2 only.
	if got, want := res.Err.Error(), "ints.a: reading: "+se.Range.Filename+":2: pool is not there"; got != want {
		t.Errorf("error text %q, want %q", got, want)
	}
	d := engine.SourceDiagnostic(res.Err)
	if d == nil {
		t.Fatal("no diagnostic")
	}
	if d.Summary != "reading: pool is not there" || d.Subject == nil || *d.Subject != se.Range {
		t.Errorf("diagnostic %q at %v, want %q at %v", d.Summary, d.Subject, "reading: pool is not there", se.Range)
	}
	// A failure without a range has no diagnostic, and its text names the
	// step's block.
	plain := &engine.StepError{Step: r.Step("ints.a"), Err: errors.New("disk full")}
	if engine.SourceDiagnostic(plain) != nil {
		t.Errorf("a failure without a range got a diagnostic")
	}
	if got := plain.Error(); !strings.HasPrefix(got, "ints.a (") || !strings.HasSuffix(got, "main.hcl:1): disk full") {
		t.Errorf("plain step error %q", got)
	}
}
