package cache_test

import (
	"encoding/json"
	"strings"
	"testing"

	"dsbuild/cache"
)

// Known SHA-256 vectors (FIPS 180-2 and the empty string).
const (
	emptyHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	abcHex   = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
)

func TestSumKnownVectors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", emptyHex},
		{"abc", abcHex},
	} {
		d := cache.Sum([]byte(tt.in))
		if got := d.Hex(); got != tt.want {
			t.Errorf("Sum(%q).Hex() = %s, want %s", tt.in, got, tt.want)
		}
		if got, want := d.String(), "sha256:"+tt.want; got != want {
			t.Errorf("Sum(%q).String() = %s, want %s", tt.in, got, want)
		}
		if got, want := d.Short(), tt.want[:12]; got != want {
			t.Errorf("Sum(%q).Short() = %s, want %s", tt.in, got, want)
		}
		if d.IsZero() {
			t.Errorf("Sum(%q).IsZero() = true, want false", tt.in)
		}
	}
	var zero cache.Digest
	if !zero.IsZero() {
		t.Errorf("Digest{}.IsZero() = false, want true")
	}
	if cache.Prefix != "sha256:" {
		t.Errorf("Prefix = %q, want %q", cache.Prefix, "sha256:")
	}
}

func TestParseDigestRoundTrip(t *testing.T) {
	d := cache.Sum([]byte("abc"))
	for _, s := range []string{d.String(), d.Hex(), "sha256:" + strings.ToUpper(abcHex)} {
		got, err := cache.ParseDigest(s)
		if err != nil || got != d {
			t.Errorf("ParseDigest(%q) = %v, %v, want %v, nil", s, got, err, d)
		}
	}

	// Text marshaling uses the String form, and JSON goes through it.
	b, err := d.MarshalText()
	if err != nil || string(b) != "sha256:"+abcHex {
		t.Errorf("d.MarshalText() = %q, %v, want %q, nil", b, err, "sha256:"+abcHex)
	}
	var back cache.Digest
	if err := back.UnmarshalText(b); err != nil || back != d {
		t.Errorf("UnmarshalText(%q) = %v (digest %v), want nil (digest %v)", b, err, back, d)
	}
	j, err := json.Marshal(map[string]cache.Digest{"d": d})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"d":"sha256:` + abcHex + `"}`; string(j) != want {
		t.Errorf("json.Marshal = %s, want %s", j, want)
	}
	var m map[string]cache.Digest
	if err := json.Unmarshal(j, &m); err != nil || m["d"] != d {
		t.Errorf("json.Unmarshal(%s) = %v (digest %v), want nil (digest %v)", j, err, m["d"], d)
	}
	if err := json.Unmarshal([]byte(`{"d":"sha256:zz"}`), &m); err == nil {
		t.Errorf("json.Unmarshal of a bad digest = nil error, want an error")
	}
}

func TestParseDigestErrors(t *testing.T) {
	for _, s := range []string{
		"",
		"sha256:",
		"sha256:" + abcHex[:63],        // one digit short
		"sha256:" + abcHex + "0",       // one digit long
		"sha256:" + abcHex[:62] + "zz", // not hex
		"md5:" + abcHex,
		"SHA256:" + abcHex,
		"sha256: " + abcHex[1:],
		"sha256:sha256:" + abcHex[14:],
		" " + abcHex[1:],
	} {
		d, err := cache.ParseDigest(s)
		if err == nil {
			t.Errorf("ParseDigest(%q) = %v, nil, want an error", s, d)
			continue
		}
		if !strings.Contains(err.Error(), "digest") {
			t.Errorf("ParseDigest(%q) error = %q, want it to mention the digest", s, err)
		}
		var u cache.Digest
		if err := u.UnmarshalText([]byte(s)); err == nil {
			t.Errorf("UnmarshalText(%q) = nil, want an error", s)
		}
		if !u.IsZero() {
			t.Errorf("UnmarshalText(%q) changed the digest to %v, want it left zero", s, u)
		}
	}
}
