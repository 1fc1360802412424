package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
)

// decoded is what decodeKind makes of its configuration.
type decoded struct {
	word  string
	times int
}

// decodeKind decodes its word and times once (counting the calls) and
// reads the value in KeyLines, Sources and Run: Sources stores the word,
// Run writes it times over, KeyLines puts "word <word>" in the key.
type decodeKind struct{ decodes *atomic.Int32 }

func (decodeKind) Name() string { return "dec" }
func (decodeKind) Version() int { return 1 }
func (decodeKind) Schema() *engine.Schema {
	return &engine.Schema{
		Attrs: []engine.AttrSpec{
			{Name: "word", Type: cty.String, Required: true},
			{Name: "times", Type: cty.Number, Int: true, Default: cty.NumberIntVal(1)},
		},
		Outputs: []string{"out"},
	}
}

func (k decodeKind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	k.decodes.Add(1)
	d := &decoded{word: cfg.String("word"), times: int(cfg.Int("times"))}
	var diags hcl.Diagnostics
	if d.times < 1 {
		r := cfg.Range("times")
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid times",
			Detail: fmt.Sprintf("times is %d; it must be at least 1.", d.times), Subject: &r})
	}
	if strings.ToUpper(d.word) == d.word {
		r := cfg.Range("word")
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Shouting",
			Detail: "word is all capitals.", Subject: &r})
	}
	return d, diags
}

func (decodeKind) KeyLines(cfg *engine.Config) []string {
	return []string{"word " + engine.Decoded[*decoded](cfg).word}
}

func (decodeKind) Sources(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	d, err := rc.Store.PutBytes([]byte(engine.Decoded[*decoded](rc.Config).word))
	return map[string]cache.Digest{"word": d}, err
}

func (decodeKind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	d := engine.Decoded[*decoded](rc.Config)
	return fileTree(rc.Store, strings.Repeat(d.word, d.times))
}

func loadDecode(t *testing.T, body string, decodes *atomic.Int32) (*engine.Recipe, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("dec \"a\" {\n"+body+"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return engine.Load(dir, engine.LoadOptions{Kinds: engine.NewKinds(decodeKind{decodes})})
}

// A Decoder's configuration is decoded once, when the recipe loads, and
// its value reaches KeyLines, Sources and Run through Decoded: a build
// decodes nothing again.
func TestDecodeOnceReachesKeyLinesSourcesAndRun(t *testing.T) {
	var decodes atomic.Int32
	r, diags := loadDecode(t, "  word  = \"ab\"\n  times = 3", &decodes)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if n := decodes.Load(); n != 1 {
		t.Fatalf("Load decoded %d times, want 1", n)
	}
	store, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	br, err := engine.Build(context.Background(), r, engine.BuildOptions{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	res := br.Result(r.Step("dec.a"))
	if res.Status != engine.Ran {
		t.Fatalf("dec.a %s (%v), want ran", res.Status, res.Err)
	}
	if n := decodes.Load(); n != 1 {
		t.Errorf("after the build: %d decodes, want 1 (the one of Load)", n)
	}
	if !slices.Contains(res.Preimage, "word ab") {
		t.Errorf("preimage %q lacks KeyLines' \"word ab\"", res.Preimage)
	}
	src, err := store.PutBytes([]byte("ab"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Preimage, "input word "+src.String()) {
		t.Errorf("preimage %q lacks Sources' input word %s", res.Preimage, src)
	}
	if got := readTree(t, store, res.Outputs["out"]); got != "ababab" {
		t.Errorf("Run wrote %q, want %q", got, "ababab")
	}
}

// Decode's diagnostics are Load's, on the ranges Decode gives them; a
// warning leaves the value decoded, an error leaves none.
func TestDecodeDiagnostics(t *testing.T) {
	var decodes atomic.Int32
	_, diags := loadDecode(t, "  word  = \"ab\"\n  times = 0", &decodes)
	if len(diags) != 1 {
		t.Fatalf("%d diagnostics, want 1: %v", len(diags), diags)
	}
	d := diags[0]
	if d.Severity != hcl.DiagError || d.Summary != "Invalid times" || d.Detail != "times is 0; it must be at least 1." {
		t.Errorf("diagnostic %q / %q, want Invalid times / times is 0; it must be at least 1.", d.Summary, d.Detail)
	}
	if s := d.Subject; s == nil || s.Start.Line != 3 || s.Start.Column != 11 || s.End.Column != 12 {
		t.Errorf("subject %v, want line 3, columns 11-12 (the value 0)", s)
	}
	// A type error stops before Decode: it sees only evaluated values.
	decodes.Store(0)
	if _, diags := loadDecode(t, "  word  = \"ab\"\n  times = 1.5", &decodes); !diags.HasErrors() || decodes.Load() != 0 {
		t.Errorf("times = 1.5: diagnostics %v and %d decodes, want an error and none", diags, decodes.Load())
	}
	r, diags := loadDecode(t, "  word = \"AB\"", &decodes)
	if diags.HasErrors() || len(diags) != 1 || diags[0].Summary != "Shouting" || diags[0].Subject.Start.Line != 2 {
		t.Fatalf("word = \"AB\": diagnostics %v, want the warning Shouting on line 2", diags)
	}
	if got := engine.Decoded[*decoded](r.Step("dec.a").Config); got.word != "AB" || got.times != 1 {
		t.Errorf("decoded %+v, want word AB, times 1 (the default)", got)
	}
}

// Asking for another type than the kind decoded into is a programming
// error: Decoded panics naming both types.
func TestDecodedWrongTypePanics(t *testing.T) {
	var decodes atomic.Int32
	r, diags := loadDecode(t, "  word = \"ab\"", &decodes)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	defer func() {
		msg := fmt.Sprint(recover())
		if !strings.Contains(msg, "*engine_test.decoded") || !strings.Contains(msg, "string") {
			t.Errorf("panic %q, want one naming *engine_test.decoded and string", msg)
		}
	}()
	engine.Decoded[string](r.Step("dec.a").Config)
}
