// Package exec is the exec step kind: a user's command (their own training
// script, say) run in a scratch directory with its inputs materialized
// read-only under inputs/<name>/ and its declared output directories
// collected and stored as trees.
//
// The command sees only allow-listed environment variables, plus a fixed
// PATH (unless PATH is allow-listed), HOME and TMPDIR inside the scratch
// directory. The values of allow-listed variables are part of the step key.
//
// Guarantees:
//   - Outputs are captured with cache.Store.Capture: only files the
//     scratch directory exclusively owns are moved into the store; a file
//     with other hard links is copied (or reflinked), never renamed or
//     chmodded; a symbolic link that leads out of the scratch directory is
//     an error naming the step's output and the link, unless
//     follow_symlinks = true, which stores a copy of its target's content.
//   - No process of the command outlives the step: on Linux, in a binary
//     that routes Supervise (dsbuild does), the command runs under a
//     supervisor (this binary re-executed) that is a child subreaper, gets
//     a signal when dsbuild dies (SIGKILL of dsbuild included) and then
//     kills the command's process group and every process descended from
//     it; the same happens when the command exits or the build is
//     cancelled. Elsewhere the command runs in its own process group,
//     killed when it exits or is cancelled.
package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
)

// DefaultPATH is the PATH a command gets unless PATH is allow-listed: fixed,
// so that a step's key does not depend on the user's shell setup.
const DefaultPATH = "/usr/local/bin:/usr/bin:/bin"

// Kind is the exec step kind.
type Kind struct{}

func (Kind) Name() string { return "exec" }
func (Kind) Version() int { return 1 }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "Runs a command with its inputs under inputs/<name>/ and stores the listed output directories.",
		Attrs: []engine.AttrSpec{
			{Name: "inputs", Kind: engine.InputMap, Doc: "map of names to step outputs, materialized read-only at inputs/<name>/"},
			{Name: "command", Type: cty.List(cty.String), Required: true, Doc: "program and arguments; no shell unless you call one"},
			{Name: "outputs", Type: cty.List(cty.String), Required: true, Doc: "directories the command creates; each becomes an output"},
			{Name: "env", Type: cty.List(cty.String), Default: cty.ListValEmpty(cty.String), Doc: "environment variables passed through (their values enter the key)"},
			// No default: an absent attribute stays out of the key.
			{Name: "follow_symlinks", Type: cty.Bool, Doc: "store the content that a symbolic link in an output leading out of the step's directory points to (copied; the target is only read); without it such a link is an error"},
		},
		OutputsAttr: "outputs",
	}
}

// settings are an exec step's parameters, decoded when the recipe loads.
type settings struct {
	command []string // the program and its arguments
	outputs []string // the output directories, as listed
	env     []string // the allow-listed variables, as listed
	follow  bool     // follow_symlinks
}

// Decode reads and checks the parameters (engine.Decoder).
func (Kind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	set := &settings{command: cfg.StringList("command"), outputs: cfg.StringList("outputs"),
		env: cfg.StringList("env"), follow: cfg.Bool("follow_symlinks")}
	var diags hcl.Diagnostics
	if len(set.command) == 0 {
		r := cfg.Range("command")
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty command",
			Detail: "command must name a program, as in [\"sh\", \"-c\", \"...\"].", Subject: &r})
	}
	for _, out := range set.outputs {
		if out == "inputs" {
			r := cfg.Range("outputs")
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid output name",
				Detail: "\"inputs\" holds the step's inputs and cannot be an output.", Subject: &r})
		}
	}
	for _, e := range set.env {
		if !hclsyntax.ValidIdentifier(e) || strings.Contains(e, "-") {
			r := cfg.Range("env")
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid environment variable name",
				Detail: fmt.Sprintf("%q is not a variable name.", e), Subject: &r})
		}
	}
	return set, diags
}

// KeyLines puts the value of every allow-listed variable in the key.
func (Kind) KeyLines(cfg *engine.Config) []string {
	return EnvKeyLines(engine.Decoded[*settings](cfg).env)
}

func sortedUnique(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	j := 0
	for i, s := range out {
		if i == 0 || s != out[j-1] {
			out[j] = s
			j++
		}
	}
	return out[:j]
}

func environment(allow []string, scratch string) []string {
	env := map[string]string{
		"PATH":   DefaultPATH,
		"HOME":   scratch,
		"TMPDIR": filepath.Join(scratch, ".tmp"),
	}
	for _, name := range allow {
		if v, ok := os.LookupEnv(name); ok {
			env[name] = v
		}
	}
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// tail returns the last n lines.
func (t *tailBuffer) tail(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := bytes.TrimRight(t.buf, "\n")
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// Run materializes the inputs, runs the command and stores the outputs.
// Commander: an exec step may declare deterministic = false.
func (Kind) Commander() {}

func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	scratch, err := rc.Store.TempDir("exec-")
	if err != nil {
		return nil, err
	}
	defer cache.RemoveAll(scratch)
	if err := os.Mkdir(filepath.Join(scratch, ".tmp"), 0o755); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(rc.Config.Inputs))
	for _, in := range rc.Config.Inputs {
		names = append(names, in.Name)
	}
	if len(names) > 0 {
		if err := os.Mkdir(filepath.Join(scratch, "inputs"), 0o755); err != nil {
			return nil, err
		}
		for _, name := range names {
			if err := rc.Store.Materialize(ctx, rc.Inputs[name], filepath.Join(scratch, "inputs", name), true); err != nil {
				return nil, fmt.Errorf("materializing input %s: %w", name, err)
			}
		}
		if err := os.Chmod(filepath.Join(scratch, "inputs"), 0o555); err != nil {
			return nil, err
		}
	}
	set := engine.Decoded[*settings](rc.Config)
	argv := set.command
	if err := (&Scratch{Dir: scratch}).Run(ctx, Command{Argv: argv, Env: set.env}); err != nil {
		return nil, err
	}
	return captureOutputs(ctx, rc, scratch, set)
}

// failure says how the command failed, or "" if it exited with status 0.
func failure(ctx context.Context, name string, res outcome, err error) string {
	switch {
	case ctx.Err() != nil:
		return fmt.Sprintf("command %s was stopped: %v", name, ctx.Err())
	case err != nil:
		return fmt.Sprintf("command %s failed: %v", name, err)
	case res.signal != "":
		return fmt.Sprintf("command %s failed: signal: %s", name, res.signal)
	case res.code != 0:
		return fmt.Sprintf("command %s exited with status %d", name, res.code)
	}
	return ""
}

// captureOutputs stores the output directories, all in one capture so that
// a link from one output into another finds its target.
func captureOutputs(ctx context.Context, rc *engine.RunContext, scratch string, set *settings) (map[string]cache.Digest, error) {
	names := set.outputs
	roots := make([]string, len(names))
	for i, name := range names {
		p := filepath.Join(scratch, name)
		roots[i] = p
		li, err := os.Lstat(p)
		if err != nil {
			return nil, fmt.Errorf("the command did not create its declared output directory %q", name)
		}
		if li.Mode()&fs.ModeSymlink != 0 {
			continue // Capture checks where it leads
		}
		if !li.IsDir() {
			return nil, fmt.Errorf("output %q is a file; outputs are directories (write into %s/)", name, name)
		}
	}
	ds, _, err := rc.Store.Capture(ctx, roots, cache.CaptureOptions{Base: scratch, FollowLinksOut: set.follow, KeepEmptyDirs: true})
	if err != nil {
		return nil, outputError(err, scratch, names)
	}
	outs := make(map[string]cache.Digest, len(names))
	for i, name := range names {
		outs[name] = ds[i]
	}
	return outs, nil
}

// outputError names the output and the path, relative to the scratch
// directory, of a capture error.
func outputError(err error, scratch string, names []string) error {
	var le *cache.LinkOutError
	if !errors.As(err, &le) {
		return fmt.Errorf("storing outputs: %w", err)
	}
	rel, rerr := filepath.Rel(scratch, le.Path)
	if rerr != nil {
		rel = le.Path
	}
	rel = filepath.ToSlash(rel)
	output := strings.SplitN(rel, "/", 2)[0]
	if !slices.Contains(names, output) {
		output = "?"
	}
	return fmt.Errorf("output %s: %s is a symlink to %s; dsbuild does not follow links out of the step's directory; copy the files, or set follow_symlinks = true to store the link target's content", output, rel, le.Target)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
