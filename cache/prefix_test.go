package cache_test

import (
	"strings"
	"testing"
)

func TestResolvePrefix(t *testing.T) {
	s, _ := newStore(t)
	d, err := s.PutBytes([]byte("a blob to find"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{d.Hex()[:4], d.Hex()[:12], "sha256:" + d.Hex()[:10], d.String()} {
		got, err := s.ResolvePrefix(p)
		if err != nil || got != d {
			t.Errorf("ResolvePrefix(%q) = %s, %v; want %s", p, got.Short(), err, d.Short())
		}
	}
	for p, want := range map[string]string{"abc": "too short", "0000000000": "no stored object"} {
		if _, err := s.ResolvePrefix(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ResolvePrefix(%q) = %v, want an error saying %q", p, err, want)
		}
	}
}
