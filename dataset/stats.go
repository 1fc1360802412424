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

// ComputeStats reads every annotation of ds.
func ComputeStats(ds *Dataset, s Store) (*Stats, error) {
	st := &Stats{Objects: map[string]int{}, Tags: map[string]int{}, ObjectTags: map[string]int{}, ImageSizes: map[string]int{}, Shapes: map[string]int{}, ObjectSizes: map[string]int{}}
	for _, c := range ds.Meta.Classes {
		st.Objects[c.Title] = 0
	}
	for _, e := range ds.Entries {
		a, err := ds.Annotation(s, e)
		if err != nil {
			return nil, err
		}
		st.Items++
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
	}
	return st, nil
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
