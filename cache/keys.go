package cache

// The action cache and the item memo are keyed by hashes of preimages
// (lines that describe a computation), not by content: a key names work,
// a Digest names bytes. Each has its own type, so that the store's API
// refuses a content digest where a key belongs, and a key of one table
// where the other's belongs. Converting is explicit (ActionKey(d)) and is
// done by whoever computes the key from its preimage (the engine).

// ActionKey is the key of an action cache entry: the engine's step key.
type ActionKey Digest

// String returns the key as "sha256:<64 hex digits>", like a Digest.
func (k ActionKey) String() string { return Digest(k).String() }

// Short returns the first 12 hex digits, for messages meant for people.
func (k ActionKey) Short() string { return Digest(k).Short() }

// IsZero reports whether k is the zero value (no key).
func (k ActionKey) IsZero() bool { return k == ActionKey{} }

// MemoKey is the key of an item memo entry: an item's key, or the key
// under which the engine lists a step's items.
type MemoKey Digest

// String returns the key as "sha256:<64 hex digits>", like a Digest.
func (k MemoKey) String() string { return Digest(k).String() }

// Short returns the first 12 hex digits, for messages meant for people.
func (k MemoKey) Short() string { return Digest(k).Short() }

// IsZero reports whether k is the zero value (no key).
func (k MemoKey) IsZero() bool { return k == MemoKey{} }
