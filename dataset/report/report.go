// Package report renders datasets and their differences as self-contained
// HTML pages: what dsbuild diff --html and dsbuild stats --html write.
//
// A page is one file with inline CSS and images embedded as base64 PNG data
// URIs: it loads nothing from the network and needs no JavaScript (paging
// uses plain anchors and CSS :target). Rendering is deterministic: the same
// inputs give the same bytes, maps are walked in sorted order, and every
// name is escaped by html/template.
package report

import (
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"io"
	"sort"

	"dsbuild/cache"
	"dsbuild/dataset"
)

// Options tunes a diff page.
type Options struct {
	// Thumb is the longer side of a thumbnail, in pixels (default 256).
	Thumb int
	// PerPage is the most items in one page section (default 50).
	PerPage int
}

// DefaultThumb and DefaultPerPage are the defaults of Options.
const (
	DefaultThumb   = 256
	DefaultPerPage = 50
)

func (o Options) withDefaults() Options {
	if o.Thumb <= 0 {
		o.Thumb = DefaultThumb
	}
	if o.PerPage <= 0 {
		o.PerPage = DefaultPerPage
	}
	return o
}

// Item kinds on a diff page.
const (
	kindChanged = "changed"
	kindAdded   = "added"
	kindRemoved = "removed"
)

type classDelta struct {
	Class string
	Color string // "#RRGGBB"
	Delta int
}

type thumb struct {
	Label string            // "A" or "B"
	Src   template.HTMLAttr // src="data:image/png;base64,…"
	W, H  int               // the image's size
	None  bool
	Note  string
}

type diffItem struct {
	Index   int
	Name    string
	Kind    string
	What    string // "image changed", "annotation changed", ...
	Thumbs  [2]thumb
	Changes []string
}

type page struct {
	N     int
	Items []diffItem
}

type diffPage struct {
	Title                  string
	NameA, NameB           string
	TreeA, TreeB           string
	ItemsA, ItemsB         int
	Added, Removed, Change int
	Empty                  bool
	OnlyInA, OnlyInB       []string
	Deltas                 []classDelta
	Pages                  []page
	PageNums               []int
	Thumb                  int
	PerPage                int
}

// Diff writes one HTML page for d, the diff of a to b (dataset.Diff's
// result): a summary, then every changed, added and removed item in name
// order, with thumbnails of both sides (decoded from s, objects drawn as
// semi-transparent overlays in their class colours, changed objects
// outlined) and the item's object and tag changes. Items are grouped into
// pages of opt.PerPage, all in the one file, linked by anchors.
func Diff(w io.Writer, s dataset.Store, a, b *dataset.Dataset, d *dataset.DatasetDiff, nameA, nameB string, opt Options) error {
	opt = opt.withDefaults()
	p := &diffPage{
		Title: fmt.Sprintf("dsbuild diff %s → %s", nameA, nameB),
		NameA: nameA, NameB: nameB,
		TreeA: a.Tree.String(), TreeB: b.Tree.String(),
		ItemsA: d.Items.A, ItemsB: d.Items.B,
		Added: len(d.Added), Removed: len(d.Removed), Change: len(d.Changed),
		Empty:   d.Empty(),
		OnlyInA: d.ClassesOnlyInA, OnlyInB: d.ClassesOnlyInB,
		Thumb: opt.Thumb, PerPage: opt.PerPage,
	}
	for _, c := range dataset.SortedKeys(d.ClassDeltas) {
		meta := b.Meta
		if meta == nil || meta.Class(c) == nil {
			meta = a.Meta
		}
		p.Deltas = append(p.Deltas, classDelta{Class: c, Color: classColor(meta, c), Delta: d.ClassDeltas[c]})
	}

	type ref struct {
		name string
		kind string
		diff *dataset.ItemDiff
	}
	var refs []ref
	for i := range d.Changed {
		refs = append(refs, ref{d.Changed[i].Name, kindChanged, &d.Changed[i]})
	}
	for _, n := range d.Added {
		refs = append(refs, ref{n, kindAdded, nil})
	}
	for _, n := range d.Removed {
		refs = append(refs, ref{n, kindRemoved, nil})
	}
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].name < refs[j].name })

	for i, r := range refs {
		it := diffItem{Index: i + 1, Name: r.name, Kind: r.kind}
		var err error
		switch r.kind {
		case kindAdded:
			it.What = "item added"
			it.Thumbs[0] = thumb{Label: "A", None: true}
			if it.Thumbs[1], err = sideThumb(s, b, r.name, "B", nil, opt.Thumb, outlineAdded); err != nil {
				return err
			}
		case kindRemoved:
			it.What = "item removed"
			if it.Thumbs[0], err = sideThumb(s, a, r.name, "A", nil, opt.Thumb, outlineRemoved); err != nil {
				return err
			}
			it.Thumbs[1] = thumb{Label: "B", None: true}
		default:
			id := r.diff
			it.What = "annotation changed"
			if id.ImageChanged {
				it.What = "image changed"
			}
			marksA, marksB := map[dataset.ObjectRef]color.RGBA{}, map[dataset.ObjectRef]color.RGBA{}
			for _, o := range id.Removed {
				marksA[o] = outlineRemoved
			}
			for _, o := range id.Added {
				marksB[o] = outlineAdded
			}
			for _, m := range id.Modified {
				marksA[m.A] = outlineModified
				marksB[m.B] = outlineModified
			}
			if it.Thumbs[0], err = sideThumb(s, a, r.name, "A", marksA, opt.Thumb, color.RGBA{}); err != nil {
				return err
			}
			if it.Thumbs[1], err = sideThumb(s, b, r.name, "B", marksB, opt.Thumb, color.RGBA{}); err != nil {
				return err
			}
			it.Changes = itemChanges(id)
		}
		if len(p.Pages) == 0 || len(p.Pages[len(p.Pages)-1].Items) == opt.PerPage {
			p.Pages = append(p.Pages, page{N: len(p.Pages) + 1})
			p.PageNums = append(p.PageNums, len(p.Pages))
		}
		last := &p.Pages[len(p.Pages)-1]
		last.Items = append(last.Items, it)
	}
	return diffTmpl.Execute(w, p)
}

// itemChanges describes a changed item's object and tag changes, one line
// each, as dsbuild diff prints them.
func itemChanges(id *dataset.ItemDiff) []string {
	var out []string
	for _, o := range id.Added {
		out = append(out, fmt.Sprintf("+ %s %v", o.Class, o.Box))
	}
	for _, o := range id.Removed {
		out = append(out, fmt.Sprintf("− %s %v", o.Class, o.Box))
	}
	for _, m := range id.Modified {
		cls := m.A.Class
		if m.A.Class != m.B.Class {
			cls = m.A.Class + " → " + m.B.Class
		}
		out = append(out, fmt.Sprintf("~ %s %v → %v (IoU %.3f)", cls, m.A.Box, m.B.Box, m.IoU))
	}
	for _, t := range id.TagsAdded {
		out = append(out, "+ tag "+t)
	}
	for _, t := range id.TagsRemoved {
		out = append(out, "− tag "+t)
	}
	return out
}

// entry finds the item called name in ds.
func entry(ds *dataset.Dataset, name string) (dataset.Entry, bool) {
	i := sort.Search(len(ds.Entries), func(i int) bool { return ds.Entries[i].Name >= name })
	if i < len(ds.Entries) && ds.Entries[i].Name == name {
		return ds.Entries[i], true
	}
	return dataset.Entry{}, false
}

// sideThumb renders one side's thumbnail of an item. Objects whose
// reference is in marks are outlined in its colour; with marks nil, every
// object is outlined in all (an added or removed item), unless all is zero.
func sideThumb(s dataset.Store, ds *dataset.Dataset, name, label string, marks map[dataset.ObjectRef]color.RGBA, max int, all color.RGBA) (thumb, error) {
	e, ok := entry(ds, name)
	if !ok {
		return thumb{Label: label, None: true}, nil
	}
	ann, err := ds.Annotation(s, e)
	if err != nil {
		return thumb{}, err
	}
	// An image that is missing, not decodable or too large to decode is
	// drawn as a grey canvas of the annotation's size, with the reason.
	var img image.Image
	var note string
	if raw, err := s.ReadBlob(e.Image); err == nil {
		if img, err = decodeImage(raw); err != nil {
			note = fmt.Sprintf("image not decodable (%v): grey canvas", err)
		}
	} else if nf := (*cache.NotFoundError)(nil); errors.As(err, &nf) {
		note = "image not in the store: grey canvas"
	} else {
		return thumb{}, fmt.Errorf("%s: image: %w", name, err)
	}
	w, h := ann.Width, ann.Height
	if w <= 0 || h <= 0 {
		w, h = e.Width, e.Height
	}
	ovs := make([]overlay, 0, len(ann.Objects))
	for k := range ann.Objects {
		o := &ann.Objects[k]
		fill, _ := parseHex(classColor(ds.Meta, o.Class))
		ov := overlay{obj: o, fill: fill}
		if marks != nil {
			b := o.Bounds()
			if c, ok := marks[dataset.ObjectRef{Class: o.Class, Box: [4]int{b.Min.X, b.Min.Y, b.Max.X, b.Max.Y}}]; ok {
				ov.outline = &c
			}
		} else if all.A != 0 {
			c := all
			ov.outline = &c
		}
		ovs = append(ovs, ov)
	}
	uri, err := renderThumb(img, w, h, max, ovs)
	if err != nil {
		return thumb{}, fmt.Errorf("%s: thumbnail: %w", name, err)
	}
	if img != nil && (w <= 0 || h <= 0) {
		w, h = img.Bounds().Dx(), img.Bounds().Dy()
	}
	return thumb{Label: label, Src: template.HTMLAttr(`src="` + uri + `"`), W: w, H: h, Note: note}, nil
}
