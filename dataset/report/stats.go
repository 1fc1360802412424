package report

import (
	"fmt"
	"io"
	"sort"

	"dsbuild/dataset"
)

type row struct {
	Label string
	Count int
	Color string // "#RRGGBB", or "" for none
}

// Chart geometry, in SVG user units.
const (
	chartLabelW = 180
	chartBarW   = 400
	chartRowH   = 20
	chartCountW = 70
)

type bar struct {
	Label, Color          string
	Count                 int
	LabelX, CountX, TextY int
	X, Y, W, H            int
}

type chart struct {
	Label string
	W, H  int
	Bars  []bar
}

type section struct {
	ID, Title, Key string
	Chart          *chart
	Rows           []row
}

type statsPage struct {
	Title    string
	Tree     string
	Items    int
	Objects  int
	Sections []section
}

// newChart lays out a horizontal bar chart of rows, longest bar the
// largest count.
func newChart(label string, rows []row) *chart {
	c := &chart{Label: label, W: chartLabelW + chartBarW + chartCountW, H: max(1, len(rows))*chartRowH + 8}
	top := 0
	for _, r := range rows {
		top = max(top, r.Count)
	}
	for i, r := range rows {
		w := 0
		if top > 0 {
			w = r.Count * chartBarW / top
		}
		if r.Count > 0 {
			w = max(w, 1)
		}
		color := r.Color
		if color == "" {
			color = "#4C78A8"
		}
		y := 4 + i*chartRowH
		c.Bars = append(c.Bars, bar{
			Label: r.Label, Color: color, Count: r.Count,
			LabelX: chartLabelW - 6, CountX: chartLabelW + w + 4, TextY: y + 14,
			X: chartLabelW, Y: y + 2, W: w, H: chartRowH - 4,
		})
	}
	return c
}

// sortedRows lists a count map by key.
func sortedRows(m map[string]int, color func(string) string) []row {
	var out []row
	for _, k := range dataset.SortedKeys(m) {
		r := row{Label: k, Count: m[k]}
		if color != nil {
			r.Color = color(k)
		}
		out = append(out, r)
	}
	return out
}

// Stats writes one HTML page of st, the statistics of ds (ds may be nil;
// it gives the tree digest and class colours): every count as a table,
// and inline-SVG bar charts of objects per class, object sizes (by
// dataset.SizeBuckets), image sizes and image tags.
func Stats(w io.Writer, ds *dataset.Dataset, st *dataset.Stats, name string) error {
	p := &statsPage{Title: "dsbuild stats " + name, Items: st.Items}
	var meta *dataset.Meta
	if ds != nil {
		p.Tree = ds.Tree.String()
		meta = ds.Meta
	}
	for _, n := range st.Objects {
		p.Objects += n
	}
	classes := sortedRows(st.Objects, func(c string) string { return classColor(meta, c) })
	var sizes []row
	for _, b := range dataset.SizeBuckets {
		sizes = append(sizes, row{Label: b, Count: st.ObjectSizes[b]})
	}
	// Buckets the page does not know (none today) follow, sorted.
	for _, k := range dataset.SortedKeys(st.ObjectSizes) {
		known := false
		for _, b := range dataset.SizeBuckets {
			known = known || b == k
		}
		if !known {
			sizes = append(sizes, row{Label: k, Count: st.ObjectSizes[k]})
		}
	}
	imageSizes := sortedRows(st.ImageSizes, nil)
	// Most common image sizes first, then by name.
	sort.SliceStable(imageSizes, func(i, j int) bool { return imageSizes[i].Count > imageSizes[j].Count })
	tags := sortedRows(st.Tags, func(t string) string {
		if meta != nil {
			if tm := meta.TagMeta(t); tm != nil {
				return normColor(tm.Color, t)
			}
		}
		return dataset.DefaultColor(t)
	})
	p.Sections = []section{
		{ID: "objects-per-class", Title: "Objects per class", Key: "class", Chart: newChart("objects per class", classes), Rows: classes},
		{ID: "object-sizes", Title: "Object sizes (longer side of the box, px)", Key: "size", Chart: newChart("object sizes", sizes), Rows: sizes},
		{ID: "image-sizes", Title: "Image sizes", Key: "width×height", Chart: newChart("image sizes", imageSizes), Rows: imageSizes},
		{ID: "image-tags", Title: "Image tags", Key: "tag", Chart: newChart("image tags", tags), Rows: tags},
		{ID: "object-shapes", Title: "Objects per shape", Key: "shape", Rows: sortedRows(st.Shapes, nil)},
		{ID: "object-tags", Title: "Object tags", Key: "tag", Rows: sortedRows(st.ObjectTags, nil)},
	}
	if err := statsTmpl.Execute(w, p); err != nil {
		return fmt.Errorf("stats page: %w", err)
	}
	return nil
}
