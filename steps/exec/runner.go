package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"dsbuild/cache"
	"dsbuild/engine"
)

// The command runner: what exec does with a command, for the other kinds
// that run a user's command (train and preannotate with command = [...]).
// A Scratch is the command's hermetic directory; the caller materializes
// or writes the inputs under inputs/, seals them read-only, runs the
// command, and reads or captures its outputs; Close removes it all.

// Scratch is a command's working directory inside the store's temporary
// directory: inputs/ (read-only once sealed), .tmp/ (its TMPDIR), and
// whatever the command writes.
type Scratch struct {
	Dir string
}

// NewScratch makes a scratch directory in s's temporary directory.
func NewScratch(s *cache.Store, prefix string) (*Scratch, error) {
	dir, err := s.TempDir(prefix)
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{".tmp", "inputs"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			cache.RemoveAll(dir)
			return nil, err
		}
	}
	return &Scratch{Dir: dir}, nil
}

// Close removes the scratch directory and everything in it (the command's
// own files included: they are copies or the command's creations).
func (sc *Scratch) Close() { cache.RemoveAll(sc.Dir) }

// Input is the path of input name: inputs/<name>.
func (sc *Scratch) Input(name string) string { return filepath.Join(sc.Dir, "inputs", name) }

// Materialize puts the tree d at inputs/<name>, read-only.
func (sc *Scratch) Materialize(ctx context.Context, s *cache.Store, name string, d cache.Digest) error {
	if err := s.Materialize(ctx, d, sc.Input(name), true); err != nil {
		return fmt.Errorf("materializing input %s: %w", name, err)
	}
	return nil
}

// MaterializeMap puts every input of the step's map attribute attr
// (inputs = { name = … }) at inputs/<name>, read-only.
func (sc *Scratch) MaterializeMap(ctx context.Context, rc *engine.RunContext, attr string) error {
	for _, in := range rc.Config.Inputs {
		if in.Attr == attr {
			if err := sc.Materialize(ctx, rc.Store, in.Name, rc.Inputs[in.Name]); err != nil {
				return err
			}
		}
	}
	return nil
}

// Seal makes inputs/ read-only: the command can neither add nor remove an
// input. (Files a caller wrote itself under inputs/ keep their modes; use
// ReadOnlyTree on them first.)
func (sc *Scratch) Seal() error { return os.Chmod(filepath.Join(sc.Dir, "inputs"), 0o555) }

// ReadOnlyTree removes the write bits of every file and directory under
// dir, which the caller created (an export it wrote as an input).
func ReadOnlyTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&os.ModeSymlink != 0 {
			return nil
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		return os.Chmod(p, 0o444)
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- { // deepest first
		if err := os.Chmod(dirs[i], 0o555); err != nil {
			return err
		}
	}
	return nil
}

// Command is a user's command, as a step declares it.
type Command struct {
	Argv []string // program and arguments; no shell unless it calls one
	Env  []string // allow-listed environment variables (their values are in the key: EnvKeyLines)
	// Progress, if set, gets every progress line the command prints
	// (ParseProgress), in order.
	Progress func(Progress)
}

// Run runs the command in the scratch directory, like an exec step's: an
// allow-listed environment, no process left behind. The error of a failed
// command says how it ended and ends with the last lines it printed.
func (sc *Scratch) Run(ctx context.Context, c Command) error {
	if len(c.Argv) == 0 {
		return errors.New("empty command")
	}
	out := &tailBuffer{max: 16 << 10}
	var w io.Writer = out
	if c.Progress != nil {
		w = &progressWriter{next: out, fn: c.Progress}
	}
	res, err := runCommand(ctx, command{argv: c.Argv, dir: sc.Dir, env: environment(c.Env, sc.Dir), out: w})
	if pw, ok := w.(*progressWriter); ok {
		pw.flush()
	}
	if msg := failure(ctx, c.Argv[0], res, err); msg != "" {
		if t := out.tail(20); t != "" {
			msg += "; its output ended with:\n" + indent(t)
		}
		return errors.New(msg)
	}
	return nil
}

// EnvKeyLines are the key lines of allow-listed variables: each one's
// value, or that it is unset.
func EnvKeyLines(names []string) []string {
	var lines []string
	for _, name := range sortedUnique(names) {
		if v, ok := os.LookupEnv(name); ok {
			lines = append(lines, fmt.Sprintf("env %s %q", name, v))
		} else {
			lines = append(lines, fmt.Sprintf("env %s unset", name))
		}
	}
	return lines
}

// ValidEnvName reports whether name can be allow-listed.
func ValidEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// ProgressPrefix starts a progress line.
const ProgressPrefix = "dsbuild:progress"

// Progress is one progress line of a command: its key=value fields in the
// order printed. A value "a/b" of epoch or step gives Done and Total.
//
//	dsbuild:progress epoch=3/30 loss=0.41 val_iou=0.62
type Progress struct {
	Fields []Field
	// Unit is the field whose a/b value drives the progress bar: "epoch",
	// else "step", else "" (none).
	Unit        string
	Done, Total int64
}

// Field is one key=value of a progress line.
type Field struct{ Key, Value string }

// ParseProgress reads a progress line: the prefix, then space-separated
// key=value fields (keys of letters, digits, '_' and '.'; values without
// spaces). It reports false for any other line, or a malformed one, which
// is then ordinary output.
func ParseProgress(line string) (Progress, bool) {
	line = strings.TrimRight(line, "\r")
	rest, ok := strings.CutPrefix(line, ProgressPrefix)
	if !ok || rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return Progress{}, false
	}
	var p Progress
	for _, f := range strings.Fields(rest) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || !validKey(k) || v == "" {
			return Progress{}, false
		}
		p.Fields = append(p.Fields, Field{k, v})
	}
	if len(p.Fields) == 0 {
		return Progress{}, false
	}
	for _, unit := range []string{"epoch", "step"} {
		for _, f := range p.Fields {
			if f.Key != unit {
				continue
			}
			a, b, ok := strings.Cut(f.Value, "/")
			if !ok {
				continue
			}
			done, err1 := strconv.ParseInt(a, 10, 64)
			total, err2 := strconv.ParseInt(b, 10, 64)
			if err1 == nil && err2 == nil && done >= 0 && total > 0 && done <= total {
				p.Unit, p.Done, p.Total = unit, done, total
			}
		}
		if p.Unit != "" {
			break
		}
	}
	return p, true
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Message is the line a progress bar shows: "epoch 3/30  loss 0.41".
func (p Progress) Message() string {
	parts := make([]string, len(p.Fields))
	for i, f := range p.Fields {
		parts[i] = f.Key + " " + f.Value
	}
	return strings.Join(parts, "  ")
}

// JSON is the fields as --json event fields: numbers as numbers, an a/b
// of the unit as <unit> and <unit>s (epoch 3, epochs 30, as the built-in
// trainer reports), anything else as a string.
func (p Progress) JSON() map[string]any {
	out := make(map[string]any, len(p.Fields)+2)
	for _, f := range p.Fields {
		if f.Key == p.Unit {
			out[f.Key] = p.Done
			out[f.Key+"s"] = p.Total
			continue
		}
		if n, err := strconv.ParseFloat(f.Value, 64); err == nil && !strings.ContainsAny(f.Value, "xXpP_") {
			out[f.Key] = n
			continue
		}
		out[f.Key] = f.Value
	}
	if p.Unit != "" {
		out["unit"] = p.Unit + "s"
	}
	return out
}

// StatusOf turns a command's progress lines into the step's progress bar
// and status events (rc.Progress, rc.Status).
func StatusOf(rc *engine.RunContext) func(Progress) {
	return func(p Progress) {
		if p.Unit != "" && rc.Progress != nil {
			rc.Progress(p.Done, p.Total)
		}
		if rc.Status != nil {
			rc.Status(p.Message(), p.JSON())
		}
	}
}

// progressWriter passes a command's output on to next and calls fn with
// each progress line, in order. Lines longer than 64 KiB are not progress.
type progressWriter struct {
	mu   sync.Mutex
	next io.Writer
	fn   func(Progress)
	line []byte
	long bool // the current line passed 64 KiB
}

func (w *progressWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.next.Write(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.add(b)
			break
		}
		w.add(b[:i])
		w.end()
		b = b[i+1:]
	}
	return n, err
}

func (w *progressWriter) add(b []byte) {
	if w.long {
		return
	}
	if len(w.line)+len(b) > 64<<10 {
		w.long, w.line = true, w.line[:0]
		return
	}
	w.line = append(w.line, b...)
}

func (w *progressWriter) end() {
	if !w.long {
		if p, ok := ParseProgress(string(w.line)); ok {
			w.fn(p)
		}
	}
	w.line, w.long = w.line[:0], false
}

// flush handles a last line without a newline.
func (w *progressWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.line) > 0 {
		w.end()
	}
}
