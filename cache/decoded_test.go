package cache_test

import (
	"fmt"
	"testing"

	"dsbuild/cache"
)

// Decoded keeps the most recent values within its slots and weight, and a
// Get makes a value the most recent.
func TestDecodedKeepsTheRecent(t *testing.T) {
	c := &cache.Decoded[string]{MaxWeight: 10}
	d := func(i int) cache.Digest { return cache.Sum([]byte(fmt.Sprint(i))) }
	for i := range 4 {
		c.Put(d(i), fmt.Sprint("v", i), 1)
	}
	for i := range 4 {
		if v, ok := c.Get(d(i)); !ok || v != fmt.Sprint("v", i) {
			t.Fatalf("Get(%d) = %q, %v", i, v, ok)
		}
	}
	// 0 was read least recently: a fifth value drops it.
	c.Put(d(4), "v4", 1)
	if _, ok := c.Get(d(0)); ok {
		t.Errorf("the least recent value is still kept past the slots")
	}
	for i := 1; i <= 4; i++ {
		if _, ok := c.Get(d(i)); !ok {
			t.Errorf("value %d dropped", i)
		}
	}
	// Weight: a value of 8 keeps only what fits beside it (the most recent
	// first); one over MaxWeight is not kept at all.
	c.Put(d(5), "v5", 8)
	kept := 0
	for i := 1; i <= 4; i++ {
		if _, ok := c.Get(d(i)); ok {
			kept++
		}
	}
	if _, ok := c.Get(d(5)); !ok || kept != 2 {
		t.Errorf("after a value of weight 8: it kept %v, and %d of weight 1 beside it; want true, 2", ok, kept)
	}
	c.Put(d(6), "v6", 11)
	if _, ok := c.Get(d(6)); ok {
		t.Errorf("a value heavier than MaxWeight was kept")
	}
	// Putting a kept digest again keeps one copy of it.
	c.Put(d(5), "v5 again", 8)
	if v, _ := c.Get(d(5)); v != "v5 again" {
		t.Errorf("Get after a second Put = %q", v)
	}
}
