package engine_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/engine"
)

// Issue 14 item 6: step keys, item keys and content digests are distinct
// types: none is assignable to another, and every place that holds a step
// key holds a StepKey.
func TestKeyTypesAreDistinct(t *testing.T) {
	t.Parallel()
	step := reflect.TypeFor[engine.StepKey]()
	item := reflect.TypeFor[engine.ItemKey]()
	digest := reflect.TypeFor[cache.Digest]()
	for _, a := range []reflect.Type{step, item, digest} {
		for _, b := range []reflect.Type{step, item, digest} {
			if a != b && a.AssignableTo(b) {
				t.Errorf("a %v is assignable to a %v", a, b)
			}
		}
	}
	field := func(v any, name string) reflect.Type {
		f, ok := reflect.TypeOf(v).FieldByName(name)
		if !ok {
			t.Fatalf("%T has no field %s", v, name)
		}
		return f.Type
	}
	for what, got := range map[string]reflect.Type{
		"StepResult.Key":             field(engine.StepResult{}, "Key"),
		"RunContext.Key":             field(engine.RunContext{}, "Key"),
		"LockStep.Key":               field(engine.LockStep{}, "Key"),
		"ItemPreimage's step":        reflect.TypeOf(engine.ItemPreimage).In(1),
		"StepKeyOf's result":         reflect.TypeOf(engine.StepKeyOf).Out(0),
		"ItemPreimage's item result": reflect.TypeOf(engine.ItemPreimage).Out(1),
	} {
		want := step
		if strings.Contains(what, "item result") {
			want = item
		}
		if got != want {
			t.Errorf("%s is a %v, want a %v", what, got, want)
		}
	}
}

// A step key prints, marshals and parses as a digest did, so lockfiles,
// --json and explain keep their bytes.
func TestStepKeyText(t *testing.T) {
	t.Parallel()
	pre := []string{"dsbuild step key v1", "kind gen v1", `param value "Hello"`, "salt 1"}
	k := engine.StepKeyOf(pre)
	d := cache.Sum([]byte(strings.Join(pre, "\n") + "\n"))
	if k.String() != d.String() || k.Hex() != d.Hex() || k.Short() != d.Short() || engine.HashLines(pre) != d {
		t.Errorf("StepKeyOf = %s (%s, %s), want %s, the SHA-256 of the lines each ending in a newline", k, k.Hex(), k.Short(), d)
	}
	if k.IsZero() || !(engine.StepKey{}).IsZero() {
		t.Errorf("IsZero: only the zero key is zero")
	}

	entry := engine.LockStep{Key: k, Outputs: map[string]cache.Digest{}, Preimage: pre}
	b, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"key":"` + d.String() + `",`; !strings.HasPrefix(string(b), want) {
		t.Errorf("a lockfile entry is %s, want it to begin %s", b, want)
	}
	var back engine.LockStep
	if err := json.Unmarshal(b, &back); err != nil || back.Key != k {
		t.Errorf("json.Unmarshal(%s) = key %s, %v; want %s", b, back.Key, err, k)
	}

	for _, s := range []string{d.String(), d.Hex()} {
		if p, err := engine.ParseStepKey(s); err != nil || p != k {
			t.Errorf("ParseStepKey(%q) = %s, %v; want %s", s, p, err, k)
		}
	}
	for _, s := range []string{"", "sha256:", "sha256:" + d.Hex()[:63], "sha256:" + strings.Repeat("g", 64)} {
		_, perr := engine.ParseStepKey(s)
		_, derr := cache.ParseDigest(s)
		if perr == nil || derr == nil || perr.Error() != derr.Error() {
			t.Errorf("ParseStepKey(%q) = %v, want the error cache.ParseDigest gives (%v)", s, perr, derr)
		}
	}
	if err := json.Unmarshal([]byte(`{"key":"sha256:12"}`), &back); err == nil {
		t.Errorf("a lockfile entry with a short key parsed")
	}
}
