package cache

import "sync"

// decodedSlots is how many decoded blobs a Decoded keeps: a worker running
// a shard looks up its build's inputs and its step's input, and opens that
// input's dataset, every time.
const decodedSlots = 4

// Decoded keeps what was decoded last from a few blobs, by the blob's
// digest, so that a long-lived process (a worker, once per shard) does not
// read and decode the same large blob again. A blob is content-addressed,
// so a kept value is never stale. Values are shared: callers must not
// change them (or must keep and hand out copies). Safe for concurrent use.
type Decoded[T any] struct {
	// MaxWeight bounds the weight kept in all (the caller's measure, e.g.
	// entries); a value heavier than it is not kept.
	MaxWeight int

	mu    sync.Mutex
	slots [decodedSlots]decodedSlot[T] // the most recent first
}

type decodedSlot[T any] struct {
	d      Digest
	v      T
	weight int
	full   bool
}

// Get returns the value kept for d, if any.
func (c *Decoded[T]) Get(d Digest) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.slots {
		if s.full && s.d == d {
			copy(c.slots[1:i+1], c.slots[:i])
			c.slots[0] = s
			return s.v, true
		}
	}
	var zero T
	return zero, false
}

// Put keeps v, decoded from blob d and weighing weight, dropping the least
// recent values as the slots or MaxWeight require.
func (c *Decoded[T]) Put(d Digest, v T, weight int) {
	if weight > c.MaxWeight {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := []decodedSlot[T]{{d: d, v: v, weight: weight, full: true}}
	total := weight
	for _, s := range c.slots {
		if s.full && s.d != d && len(kept) < decodedSlots && total+s.weight <= c.MaxWeight {
			kept = append(kept, s)
			total += s.weight
		}
	}
	c.slots = [decodedSlots]decodedSlot[T]{}
	copy(c.slots[:], kept)
}
