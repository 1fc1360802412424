package cache_test

import (
	"reflect"
	"testing"

	"dsbuild/cache"
)

// Issue 14 item 6: the action cache and the item memo are keyed by their
// own types, so that a content digest (or the other table's key) cannot be
// passed for a key without a visible conversion.
func TestEntryKeysAreTheirOwnTypes(t *testing.T) {
	s, _ := newStore(t)
	digest := reflect.TypeFor[cache.Digest]()
	for _, c := range []struct {
		name string
		fn   any
		want reflect.Type
	}{
		{"GetAction", s.GetAction, reflect.TypeFor[cache.ActionKey]()},
		{"PutAction", s.PutAction, reflect.TypeFor[cache.ActionKey]()},
		{"GetMemo", s.GetMemo, reflect.TypeFor[cache.MemoKey]()},
		{"PutMemo", s.PutMemo, reflect.TypeFor[cache.MemoKey]()},
	} {
		got := reflect.TypeOf(c.fn).In(0)
		if got != c.want || got == digest || got.AssignableTo(digest) || digest.AssignableTo(got) {
			t.Errorf("Store.%s takes a %v, want a %v that a cache.Digest is not assignable to", c.name, got, c.want)
		}
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[cache.GCOptions](), reflect.TypeFor[cache.BuildRecord]()} {
		if f, _ := typ.FieldByName("Actions"); f.Type != reflect.TypeFor[[]cache.ActionKey]() {
			t.Errorf("%v.Actions is a %v, want []cache.ActionKey", typ, f.Type)
		}
	}

	// The keys print as digests do: entries and build records keep their
	// bytes.
	d := cache.Sum([]byte("preimage"))
	a, m := cache.ActionKey(d), cache.MemoKey(d)
	if a.String() != d.String() || m.String() != d.String() || a.Short() != d.Short() || m.Short() != d.Short() {
		t.Errorf("keys print as %s %s %s %s, want %s and %s", a, m, a.Short(), m.Short(), d, d.Short())
	}
	if a.IsZero() || m.IsZero() || !(cache.ActionKey{}).IsZero() || !(cache.MemoKey{}).IsZero() {
		t.Errorf("IsZero wrong: only the zero key is zero")
	}
}
