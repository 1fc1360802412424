package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Digest is the SHA-256 of an object's uncompressed bytes. It names blobs and
// trees in the store and, for step keys, the hash of a step's preimage.
type Digest [sha256.Size]byte

// Prefix is the hash scheme written in front of every printed digest.
const Prefix = "sha256:"

// Sum returns the digest of data.
func Sum(data []byte) Digest { return sha256.Sum256(data) }

// String returns the digest as "sha256:<64 hex digits>".
func (d Digest) String() string { return Prefix + hex.EncodeToString(d[:]) }

// Hex returns the 64 hex digits without the scheme prefix.
func (d Digest) Hex() string { return hex.EncodeToString(d[:]) }

// Short returns the first 12 hex digits, for messages meant for people.
func (d Digest) Short() string { return hex.EncodeToString(d[:6]) }

// IsZero reports whether d is the zero value (no digest).
func (d Digest) IsZero() bool { return d == Digest{} }

// MarshalText implements encoding.TextMarshaler with the String form.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler, accepting the String form.
func (d *Digest) UnmarshalText(b []byte) error {
	p, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// ParseDigest parses "sha256:<hex>" or bare hex.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	h := strings.TrimPrefix(s, Prefix)
	if len(h) != 2*len(d) {
		return d, fmt.Errorf("digest %q: want %s followed by %d hex digits", s, Prefix, 2*len(d))
	}
	if _, err := hex.Decode(d[:], []byte(h)); err != nil {
		return d, fmt.Errorf("digest %q: %w", s, err)
	}
	return d, nil
}
