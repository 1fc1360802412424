package cache_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
)

// entryFile is the file of the entry with key in namespace ns.
func entryFile[K cache.ActionKey | cache.MemoKey](s *cache.Store, ns string, key K) string {
	h := cache.Digest(key).Hex()
	return filepath.Join(s.Dir(), ns, h[:2], h)
}

func TestActionRoundTrip(t *testing.T) {
	s, _ := newStore(t)
	key := cache.ActionKey(cache.Sum([]byte("step key")))
	x, y, z := cache.Sum([]byte("x")), cache.Sum([]byte("y")), cache.Sum([]byte("z"))
	in := &cache.ActionResult{Outputs: []cache.Output{{"zeta", z}, {"alpha", x}, {"mid-dle.v2", y}}}
	if err := s.PutAction(key, in); err != nil {
		t.Fatalf("s.PutAction(%v) = %v", key.Short(), err)
	}
	if in.Outputs[0].Name != "zeta" {
		t.Errorf("PutAction reordered its argument: Outputs[0] = %q, want %q", in.Outputs[0].Name, "zeta")
	}
	r, err := s.GetAction(key)
	if err != nil {
		t.Fatalf("s.GetAction(%v) = %v", key.Short(), err)
	}
	want := fmt.Sprint([]cache.Output{{"alpha", x}, {"mid-dle.v2", y}, {"zeta", z}})
	if got := fmt.Sprint(r.Outputs); got != want {
		t.Errorf("s.GetAction(key).Outputs = %s, want %s (sorted by name)", got, want)
	}
	for name, d := range map[string]cache.Digest{"alpha": x, "mid-dle.v2": y, "zeta": z} {
		if got, ok := r.Get(name); !ok || got != d {
			t.Errorf("r.Get(%q) = %v, %v, want %v, true", name, got.Short(), ok, d.Short())
		}
	}
	if got, ok := r.Get("missing"); ok || !got.IsZero() {
		t.Errorf("r.Get(%q) = %v, %v, want zero, false", "missing", got, ok)
	}

	// The entry's format: header, key, sorted outputs, checksum.
	b, err := os.ReadFile(entryFile(s, "ac", key))
	if err != nil {
		t.Fatal(err)
	}
	body := "dsbuild ac v1\nkey " + key.String() + "\n" +
		"output alpha " + x.String() + "\n" +
		"output mid-dle.v2 " + y.String() + "\n" +
		"output zeta " + z.String() + "\n"
	if wantB := body + "check " + cache.Sum([]byte(body)).String() + "\n"; string(b) != wantB {
		t.Errorf("action entry on disk =\n%s\nwant\n%s", b, wantB)
	}

	// Overwriting replaces the entry.
	if err := s.PutAction(key, &cache.ActionResult{Outputs: []cache.Output{{"only", x}}}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.GetAction(key); err != nil || fmt.Sprint(r.Outputs) != fmt.Sprint([]cache.Output{{"only", x}}) {
		t.Errorf("s.GetAction after overwriting = %v, %v, want [only]", r, err)
	}

	// No outputs at all is a valid entry.
	empty := cache.ActionKey(cache.Sum([]byte("empty")))
	if err := s.PutAction(empty, &cache.ActionResult{}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.GetAction(empty); err != nil || len(r.Outputs) != 0 {
		t.Errorf("s.GetAction(entry without outputs) = %v, %v, want no outputs, nil", r, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d entries after PutAction, want 0", len(ents))
	}
}

func TestActionMiss(t *testing.T) {
	s, log := newStore(t)
	key := cache.ActionKey(cache.Sum([]byte("never stored")))
	r, err := s.GetAction(key)
	var miss *cache.MissError
	if r != nil || !errors.As(err, &miss) || miss.Key != cache.Digest(key) || miss.Reason != "" {
		t.Fatalf("s.GetAction(absent) = %v, %v, want nil, a *MissError for %v without a reason", r, err, key.Short())
	}
	if !cache.IsMiss(err) {
		t.Errorf("cache.IsMiss(%v) = false, want true", err)
	}
	if !strings.Contains(err.Error(), key.Short()) {
		t.Errorf("miss error %q does not name the key %s", err, key.Short())
	}
	if outs, err := s.GetMemo(cache.MemoKey(key)); outs != nil || !cache.IsMiss(err) {
		t.Errorf("s.GetMemo(absent) = %v, %v, want nil, a miss", outs, err)
	}
	if cache.IsMiss(errors.New("other")) || cache.IsMiss(nil) {
		t.Errorf("cache.IsMiss(other error or nil) = true, want false")
	}
	if len(log.messages()) != 0 {
		t.Errorf("a plain miss logged %q, want nothing", log.messages())
	}
}

func TestActionPutErrors(t *testing.T) {
	s, _ := newStore(t)
	key := cache.ActionKey(cache.Sum([]byte("k")))
	d := cache.Sum([]byte("d"))
	for _, outs := range [][]cache.Output{
		{{"", d}},
		{{"a b", d}},
		{{"a\nb", d}},
		{{"a", d}, {"b", d}, {"a", d}},
	} {
		if err := s.PutAction(key, &cache.ActionResult{Outputs: outs}); err == nil {
			t.Errorf("s.PutAction(key, %v) = nil, want an error", outs)
		}
		if err := s.PutMemo(cache.MemoKey(key), outs); err == nil {
			t.Errorf("s.PutMemo(key, %v) = nil, want an error", outs)
		}
	}
	// Nothing was written.
	if _, err := s.GetAction(key); !cache.IsMiss(err) {
		t.Errorf("s.GetAction after failed puts = %v, want a miss", err)
	}
}

// checkMissWithReason checks that a damaged entry reads as a miss with a
// reason, is removed and is logged.
func checkMissWithReason[K cache.ActionKey | cache.MemoKey](t *testing.T, what string, s *cache.Store, log *logRecorder, ns string, key K, get func() (any, error)) {
	t.Helper()
	before := len(log.messages())
	got, err := get()
	var miss *cache.MissError
	d := cache.Digest(key)
	if !errors.As(err, &miss) || miss.Reason == "" || miss.Key != d {
		t.Fatalf("%s: get = %v, %v, want a *MissError for %v with a reason", what, got, err, d.Short())
	}
	if !strings.Contains(err.Error(), "unusable") {
		t.Errorf("%s: error %q, want it to say the entry is unusable", what, err)
	}
	if _, err := os.Lstat(entryFile(s, ns, key)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: damaged entry still on disk (%v), want it removed", what, err)
	}
	if msgs := log.messages(); len(msgs) != before+1 || !strings.Contains(msgs[len(msgs)-1], d.Short()) {
		t.Errorf("%s: log = %q, want one new message naming %s", what, msgs[before:], d.Short())
	}
}

func TestActionDamagedEntry(t *testing.T) {
	s, log := newStore(t)
	key := cache.ActionKey(cache.Sum([]byte("step")))
	outs := []cache.Output{{"data", cache.Sum([]byte("a"))}, {"index", cache.Sum([]byte("b"))}}
	if err := s.PutAction(key, &cache.ActionResult{Outputs: outs}); err != nil {
		t.Fatal(err)
	}
	p := entryFile(s, "ac", key)
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	get := func() (any, error) { return s.GetAction(key) }

	// Every truncation is a miss, never a shorter result.
	for n := 0; n < len(good); n++ {
		if err := os.WriteFile(p, good[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		checkMissWithReason(t, fmt.Sprintf("truncated to %d bytes", n), s, log, "ac", key, get)
	}
	// Every flipped bit is a miss.
	for i := range good {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x01
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		checkMissWithReason(t, fmt.Sprintf("bit flipped at byte %d", i), s, log, "ac", key, get)
	}
	// A valid entry of another key, copied under this key.
	other := cache.ActionKey(cache.Sum([]byte("other step")))
	if err := s.PutAction(other, &cache.ActionResult{Outputs: outs}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(entryFile(s, "ac", other))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	checkMissWithReason(t, "entry of another key", s, log, "ac", key, get)

	// A memo entry for the same key is not an action entry.
	if err := s.PutMemo(cache.MemoKey(key), outs); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(entryFile(s, "memo", cache.MemoKey(key)))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	checkMissWithReason(t, "memo entry in ac/", s, log, "ac", key, get)

	// After all that, a fresh put works again.
	if err := s.PutAction(key, &cache.ActionResult{Outputs: outs}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.GetAction(key); err != nil || fmt.Sprint(r.Outputs) != fmt.Sprint(outs) {
		t.Errorf("s.GetAction after re-putting = %v, %v, want %v", r, err, outs)
	}
}

func TestMemo(t *testing.T) {
	s, log := newStore(t)
	key := cache.MemoKey(cache.Sum([]byte("item")))
	a, b := cache.Sum([]byte("a")), cache.Sum([]byte("b"))
	if err := s.PutMemo(key, []cache.Output{{"y", b}, {"x", a}}); err != nil {
		t.Fatalf("s.PutMemo = %v", err)
	}
	got, err := s.GetMemo(key)
	if want := fmt.Sprint([]cache.Output{{"x", a}, {"y", b}}); err != nil || fmt.Sprint(got) != want {
		t.Errorf("s.GetMemo(key) = %v, %v, want %s, nil", got, err, want)
	}
	// Memo and action cache are separate namespaces.
	if r, err := s.GetAction(cache.ActionKey(key)); !cache.IsMiss(err) {
		t.Errorf("s.GetAction(memo key) = %v, %v, want a miss", r, err)
	}
	b0, err := os.ReadFile(entryFile(s, "memo", key))
	if err != nil || !strings.HasPrefix(string(b0), "dsbuild memo v1\nkey "+key.String()+"\n") {
		t.Errorf("memo entry = %q, %v, want a dsbuild memo v1 header and the key", b0, err)
	}
	// Truncated memo entries are misses too.
	if err := os.WriteFile(entryFile(s, "memo", key), b0[:len(b0)-2], 0o644); err != nil {
		t.Fatal(err)
	}
	checkMissWithReason(t, "truncated memo", s, log, "memo", key, func() (any, error) { return s.GetMemo(key) })
}

// Regression: decodeEntry splits lines with strings.Fields, so an output
// name holding any white space (a tab, say) used to be stored and then read
// back as a corrupt entry, a miss on every build. encodeEntry now rejects
// every name strings.Fields would split.
func TestActionOutputNameRoundTrip(t *testing.T) {
	s, _ := newStore(t)
	d := cache.Sum([]byte("d"))
	for i, name := range []string{"a\tb", "a\u00a0b", "a\rb", "a\vb"} {
		key := cache.ActionKey(cache.Sum([]byte(fmt.Sprint("key ", i))))
		outs := []cache.Output{{name, d}}
		if err := s.PutAction(key, &cache.ActionResult{Outputs: outs}); err != nil {
			continue // rejecting the name is fine
		}
		if r, err := s.GetAction(key); err != nil || fmt.Sprint(r.Outputs) != fmt.Sprint(outs) {
			t.Errorf("s.PutAction(key, [%q]) = nil, then s.GetAction(key) = %v, %v; want the output back (or PutAction to fail)", name, r, err)
		}
	}
}
