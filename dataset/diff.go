package dataset

import (
	"fmt"
	"slices"
	"sort"
)

// DatasetDiff says what changed from dataset A to dataset B, item by item
// and object by object.
type DatasetDiff struct {
	Items struct {
		A, B int
	} `json:"items"`
	Added   []string   `json:"added"`   // item names only in B
	Removed []string   `json:"removed"` // item names only in A
	Changed []ItemDiff `json:"changed"` // items in both whose image or annotation differ
	// ClassDeltas is B's object count minus A's, per class, for classes
	// whose count changed.
	ClassDeltas map[string]int `json:"class_deltas"`
	// ClassesOnlyInA and ClassesOnlyInB list meta classes one side lacks:
	// the diff still compares objects, and says so.
	ClassesOnlyInA []string `json:"classes_only_in_a,omitempty"`
	ClassesOnlyInB []string `json:"classes_only_in_b,omitempty"`
}

// ItemDiff is one changed item.
type ItemDiff struct {
	Name         string      `json:"name"`
	ImageChanged bool        `json:"image_changed"`
	Added        []ObjectRef `json:"objects_added,omitempty"`
	Removed      []ObjectRef `json:"objects_removed,omitempty"`
	Modified     []ObjectMod `json:"objects_modified,omitempty"`
	TagsAdded    []string    `json:"tags_added,omitempty"`
	TagsRemoved  []string    `json:"tags_removed,omitempty"`
}

// ObjectRef names an object by class and bounding box.
type ObjectRef struct {
	Class string `json:"class"`
	Box   [4]int `json:"box"` // x0, y0, x1, y1 (half-open)
}

// ObjectMod is a pair of objects matched by mask IoU whose geometry or
// class differs.
type ObjectMod struct {
	A   ObjectRef `json:"a"`
	B   ObjectRef `json:"b"`
	IoU float64   `json:"iou"`
}

// MatchIoU is the least mask IoU at which two objects count as the same
// object, modified.
const MatchIoU = 0.5

// Empty reports whether the datasets have the same items and annotations.
func (d *DatasetDiff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0
}

// Diff compares two datasets: the manifests first (sorted by name, so
// unchanged items cost nothing), then only the annotations of items that
// differ.
func Diff(s Store, a, b *Dataset) (*DatasetDiff, error) {
	d := &DatasetDiff{ClassDeltas: map[string]int{}}
	d.Items.A, d.Items.B = len(a.Entries), len(b.Entries)
	for _, c := range a.Meta.Classes {
		if b.Meta.Class(c.Title) == nil {
			d.ClassesOnlyInA = append(d.ClassesOnlyInA, c.Title)
		}
	}
	for _, c := range b.Meta.Classes {
		if a.Meta.Class(c.Title) == nil {
			d.ClassesOnlyInB = append(d.ClassesOnlyInB, c.Title)
		}
	}
	count := func(ds *Dataset, e Entry, sign int) (*Annotation, error) {
		ann, err := ds.Annotation(s, e)
		if err != nil {
			return nil, err
		}
		for _, o := range ann.Objects {
			d.ClassDeltas[o.Class] += sign
		}
		return ann, nil
	}
	i, j := 0, 0
	for i < len(a.Entries) || j < len(b.Entries) {
		switch {
		case j >= len(b.Entries) || (i < len(a.Entries) && a.Entries[i].Name < b.Entries[j].Name):
			d.Removed = append(d.Removed, a.Entries[i].Name)
			if _, err := count(a, a.Entries[i], -1); err != nil {
				return nil, err
			}
			i++
			continue
		case i >= len(a.Entries) || b.Entries[j].Name < a.Entries[i].Name:
			d.Added = append(d.Added, b.Entries[j].Name)
			if _, err := count(b, b.Entries[j], +1); err != nil {
				return nil, err
			}
			j++
			continue
		}
		ea, eb := a.Entries[i], b.Entries[j]
		i++
		j++
		if ea.Image == eb.Image && ea.Ann == eb.Ann {
			continue
		}
		aa, err := count(a, ea, -1)
		if err != nil {
			return nil, err
		}
		ab, err := count(b, eb, +1)
		if err != nil {
			return nil, err
		}
		id, err := diffItem(ea.Name, aa, ab)
		if err != nil {
			return nil, err
		}
		id.ImageChanged = ea.Image != eb.Image
		d.Changed = append(d.Changed, *id)
	}
	for c, n := range d.ClassDeltas {
		if n == 0 {
			delete(d.ClassDeltas, c)
		}
	}
	return d, nil
}

func ref(o *Object) ObjectRef {
	b := o.Bounds()
	return ObjectRef{Class: o.Class, Box: [4]int{b.Min.X, b.Min.Y, b.Max.X, b.Max.Y}}
}

// diffItem matches objects by mask IoU, greedily from the best pair.
func diffItem(name string, a, b *Annotation) (*ItemDiff, error) {
	id := &ItemDiff{Name: name}
	tagset := func(ts []Tag) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Name+valueSuffix(t))
		}
		sort.Strings(out)
		return out
	}
	ta, tb := tagset(a.Tags), tagset(b.Tags)
	for _, t := range tb {
		if !slices.Contains(ta, t) {
			id.TagsAdded = append(id.TagsAdded, t)
		}
	}
	for _, t := range ta {
		if !slices.Contains(tb, t) {
			id.TagsRemoved = append(id.TagsRemoved, t)
		}
	}
	w, h := max(a.Width, b.Width), max(a.Height, b.Height)
	raster := func(objs []Object) ([]*Mask, error) {
		out := make([]*Mask, len(objs))
		for k := range objs {
			m, err := objs[k].Raster(w, h)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out[k] = m
		}
		return out, nil
	}
	ma, err := raster(a.Objects)
	if err != nil {
		return nil, err
	}
	mb, err := raster(b.Objects)
	if err != nil {
		return nil, err
	}
	type pair struct {
		i, j int
		iou  float64
	}
	var pairs []pair
	for i := range ma {
		for j := range mb {
			if v := IoU(ma[i], mb[j]); v >= MatchIoU {
				pairs = append(pairs, pair{i, j, v})
			}
		}
	}
	sort.SliceStable(pairs, func(x, y int) bool {
		if pairs[x].iou != pairs[y].iou {
			return pairs[x].iou > pairs[y].iou
		}
		if pairs[x].i != pairs[y].i {
			return pairs[x].i < pairs[y].i
		}
		return pairs[x].j < pairs[y].j
	})
	usedA, usedB := make([]bool, len(ma)), make([]bool, len(mb))
	for _, p := range pairs {
		if usedA[p.i] || usedB[p.j] {
			continue
		}
		usedA[p.i], usedB[p.j] = true, true
		oa, ob := &a.Objects[p.i], &b.Objects[p.j]
		if p.iou < 1 || oa.Class != ob.Class {
			id.Modified = append(id.Modified, ObjectMod{A: ref(oa), B: ref(ob), IoU: p.iou})
		}
	}
	for i := range a.Objects {
		if !usedA[i] {
			id.Removed = append(id.Removed, ref(&a.Objects[i]))
		}
	}
	for j := range b.Objects {
		if !usedB[j] {
			id.Added = append(id.Added, ref(&b.Objects[j]))
		}
	}
	return id, nil
}

func valueSuffix(t Tag) string {
	if t.Value == "" {
		return ""
	}
	return "=" + t.Value
}
