package engine

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
)

// Salt is the global cache epoch. Changing it invalidates every step key;
// do so only when the key scheme itself changes meaning.
const Salt = "1"

// Preimage returns the lines whose hash is the step key:
//
//	dsbuild step key v1
//	kind <kind> v<version>
//	param <name> <canonical JSON>     sorted by name
//	block <i> <type> <canonical JSON>  nested blocks, in the order written
//	<kind's extra lines>               (Keyer)
//	input <name> <digest>              sorted by name
//	platform <arch> <level> cpu        (PlatformDependent only)
//	salt <Salt>
//
// Any new influence on a step's output must be added here.
func Preimage(s *Step, inputs map[string]cache.Digest) ([]string, error) {
	lines := []string{
		"dsbuild step key v1",
		fmt.Sprintf("kind %s v%d", s.KindName, s.Kind.Version()),
	}
	schema := s.Kind.Schema()
	for _, name := range keys(s.Config.Params) {
		spec := schema.attr(name)
		if spec == nil || spec.NotInKey {
			continue
		}
		js, err := canonicalJSON(s.Config.Params[name])
		if err != nil {
			return nil, fmt.Errorf("%s: encoding parameter %s: %w", s.Addr, name, err)
		}
		lines = append(lines, "param "+name+" "+js)
	}
	for i, b := range s.Config.Blocks {
		spec := schema.block(b.Type)
		obj := map[string]cty.Value{}
		for name, v := range b.Params {
			if a := spec.attr(name); a != nil && !a.NotInKey {
				obj[name] = v
			}
		}
		js, err := canonicalJSON(cty.ObjectVal(obj))
		if err != nil {
			return nil, fmt.Errorf("%s: encoding block %d (%s): %w", s.Addr, i, b.Type, err)
		}
		lines = append(lines, fmt.Sprintf("block %d %s %s", i, b.Type, js))
	}
	if k, ok := s.Kind.(Keyer); ok {
		lines = append(lines, k.KeyLines(s.Config)...)
	}
	for _, name := range keys(inputs) {
		lines = append(lines, "input "+name+" "+inputs[name].String())
	}
	if p, ok := s.Kind.(PlatformDependent); ok && p.PlatformDependent() {
		lines = append(lines, "platform "+Platform()+" cpu")
	}
	lines = append(lines, "salt "+Salt)
	return lines, nil
}

// StepKey is a step's key: the SHA-256 of its preimage (Preimage). It
// names a computation, not bytes, so it is neither a content digest
// (cache.Digest: blobs, trees, dataset and model artifacts) nor an item key
// (ItemKey), and cannot be passed for one. It is printed as digests are
// ("sha256:<hex>"), and the action cache is keyed by it (ActionKey).
type StepKey cache.Digest

// StepKeyOf returns the key of a step's preimage.
func StepKeyOf(preimage []string) StepKey { return StepKey(HashLines(preimage)) }

// HashLines returns the SHA-256 of lines, each ending in a newline: the
// hash of a preimage, for keys and salts derived from lines.
func HashLines(lines []string) cache.Digest {
	return cache.Sum([]byte(strings.Join(lines, "\n") + "\n"))
}

// ParseStepKey parses a key as String prints it ("sha256:<hex>"), or bare
// hex.
func ParseStepKey(s string) (StepKey, error) {
	d, err := cache.ParseDigest(s)
	return StepKey(d), err
}

// String returns the key as "sha256:<64 hex digits>".
func (k StepKey) String() string { return cache.Digest(k).String() }

// Hex returns the 64 hex digits without the scheme prefix.
func (k StepKey) Hex() string { return cache.Digest(k).Hex() }

// Short returns the first 12 hex digits, for messages meant for people.
func (k StepKey) Short() string { return cache.Digest(k).Short() }

// IsZero reports whether k is the zero value: the step's inputs were not
// known.
func (k StepKey) IsZero() bool { return k == StepKey{} }

// MarshalText implements encoding.TextMarshaler with the String form.
func (k StepKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler, accepting what
// ParseStepKey accepts.
func (k *StepKey) UnmarshalText(b []byte) error {
	p, err := ParseStepKey(string(b))
	if err != nil {
		return err
	}
	*k = p
	return nil
}

// action is the action cache's key for the step.
func (k StepKey) action() cache.ActionKey { return cache.ActionKey(k) }

// ActionKey is the action cache's key for the step, for commands that move
// results between stores (push, pull).
func (k StepKey) ActionKey() cache.ActionKey { return cache.ActionKey(k) }

// Platform names the architecture and micro-architecture level this binary
// was built for, e.g. "amd64 v1": float results of the same code can differ
// between levels (FMA), so platform-dependent keys carry it.
func Platform() string {
	level := "unknown"
	if runtime.GOARCH == "amd64" {
		level = "v1" // the toolchain default when GOAMD64 is unset
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if strings.HasPrefix(s.Key, "GO"+strings.ToUpper(runtime.GOARCH)) {
				level = s.Value
			}
		}
	}
	return runtime.GOARCH + " " + level
}

// diffPreimage says which line of the new preimage differs from the old one,
// for "dsbuild plan": "param command changed: … → …".
func diffPreimage(old, cur []string) string {
	field := func(l string) string {
		f := strings.SplitN(l, " ", 3)
		if len(f) >= 2 {
			return f[0] + " " + f[1]
		}
		return l
	}
	oldBy := map[string]string{}
	var oldOrder []string
	for _, l := range old {
		oldBy[field(l)] = l
		oldOrder = append(oldOrder, field(l))
	}
	curSet := map[string]bool{}
	for _, l := range cur {
		f := field(l)
		curSet[f] = true
		prev, ok := oldBy[f]
		switch {
		case !ok:
			return "added " + shorten(l)
		case prev != l:
			a, b := around(strings.TrimPrefix(prev, f+" "), strings.TrimPrefix(l, f+" "))
			return fmt.Sprintf("%s changed: %s → %s", f, a, b)
		}
	}
	sort.Strings(oldOrder)
	for _, f := range oldOrder {
		if !curSet[f] {
			return "removed " + shorten(oldBy[f])
		}
	}
	return ""
}

// around shortens two differing values to the neighbourhood of their first
// difference, so that a long command shows the part that changed.
func around(a, b string) (string, string) {
	if strings.Contains(a, cache.Prefix) && strings.Contains(b, cache.Prefix) {
		return shorten(a), shorten(b)
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	start := max(0, i-24)
	cut := func(s string) string {
		out := s[start:]
		if len(out) > 60 {
			out = out[:57] + "…"
		}
		if start > 0 {
			out = "…" + out
		}
		return out
	}
	return cut(a), cut(b)
}

func shorten(s string) string {
	if i := strings.Index(s, cache.Prefix); i >= 0 && len(s) >= i+len(cache.Prefix)+64 {
		s = s[:i+len(cache.Prefix)+12] + "…" + s[i+len(cache.Prefix)+64:]
	}
	if len(s) > 80 {
		return s[:77] + "…"
	}
	return s
}
