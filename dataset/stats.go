package dataset

import (
	"fmt"
	"sort"
)

// Stats summarizes a dataset: what dsbuild stats prints.
type Stats struct {
	Items int `json:"items"`
	// Objects counts objects per class; every class of the meta appears.
	Objects map[string]int `json:"objects"`
	// Tags counts images carrying each image tag.
	Tags map[string]int `json:"tags"`
	// ObjectTags counts objects carrying each object tag.
	ObjectTags map[string]int `json:"object_tags"`
	// ImageSizes counts images per "WIDTHxHEIGHT".
	ImageSizes map[string]int `json:"image_sizes"`
	// Shapes counts objects per geometry (bitmap, polygon, rectangle).
	Shapes map[string]int `json:"shapes"`
	// ObjectSizes counts objects per bucket of the longer side of their
	// bounding box, in pixels: "<16", "16-31", "32-63", … "≥1024".
	ObjectSizes map[string]int `json:"object_sizes"`
}

// SizeBuckets are ObjectSizes' keys, smallest first.
var SizeBuckets = []string{"<16", "16-31", "32-63", "64-127", "128-255", "256-511", "512-1023", "≥1024"}

// sizeBucket returns the bucket of a bounding box whose longer side is n.
func sizeBucket(n int) string {
	if n < 16 {
		return SizeBuckets[0]
	}
	i := 1
	for lim := 32; n >= lim && i < len(SizeBuckets)-1; lim *= 2 {
		i++
	}
	return SizeBuckets[i]
}

// emptyStats is a Stats with no counts.
func emptyStats() *Stats {
	return &Stats{Objects: map[string]int{}, Tags: map[string]int{}, ObjectTags: map[string]int{}, ImageSizes: map[string]int{}, Shapes: map[string]int{}, ObjectSizes: map[string]int{}}
}

// ComputeStats reads every annotation of ds: SumStats of ItemStats over
// its entries.
func ComputeStats(ds *Dataset, s Store) (*Stats, error) {
	items := make([]*Stats, len(ds.Entries))
	for i, e := range ds.Entries {
		it, err := ItemStats(ds, s, e)
		if err != nil {
			return nil, err
		}
		items[i] = it
	}
	return SumStats(ds.Meta, items), nil
}

// SumStats adds up per-item stats (ItemStats of each entry of a dataset
// with meta), in any order, with every class of meta in Objects.
func SumStats(meta *Meta, items []*Stats) *Stats {
	st := emptyStats()
	for _, c := range meta.Classes {
		st.Objects[c.Title] = 0
	}
	for _, it := range items {
		st.Add(it)
	}
	return st
}

// ItemStats are the stats of one entry of ds: Items is 1, and the maps
// hold only what the entry has.
func ItemStats(ds *Dataset, s Store, e Entry) (*Stats, error) {
	a, err := ds.Annotation(s, e)
	if err != nil {
		return nil, err
	}
	st := emptyStats()
	st.Items = 1
	st.ImageSizes[fmt.Sprintf("%dx%d", e.Width, e.Height)]++
	seen := map[string]bool{}
	for _, t := range a.Tags {
		if !seen[t.Name] {
			seen[t.Name] = true
			st.Tags[t.Name]++
		}
	}
	for _, o := range a.Objects {
		st.Objects[o.Class]++
		st.Shapes[o.Shape]++
		b := o.Bounds()
		st.ObjectSizes[sizeBucket(max(b.Dx(), b.Dy()))]++
		for _, t := range o.Tags {
			st.ObjectTags[t.Name]++
		}
	}
	return st, nil
}

// Add adds o's counts to st's (st's maps must not be nil).
func (st *Stats) Add(o *Stats) {
	st.Items += o.Items
	for _, p := range []struct{ dst, src map[string]int }{
		{st.Objects, o.Objects}, {st.Tags, o.Tags}, {st.ObjectTags, o.ObjectTags},
		{st.ImageSizes, o.ImageSizes}, {st.Shapes, o.Shapes}, {st.ObjectSizes, o.ObjectSizes},
	} {
		for k, v := range p.src {
			p.dst[k] += v
		}
	}
}

// SortedKeys returns the keys of a count map, sorted.
func SortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
