package review

// This file writes and reads Supervisely projects (formats.md §1).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"dsbuild/dataset"
	"dsbuild/dataset/supervisely"
)

// Names of an image tag that may carry a verdict as its value.
var verdictValueTags = map[string]bool{"verdict": true, "review": true}

// isVerdictTag reports whether an image tag speaks of a verdict.
func isVerdictTag(t dataset.Tag) bool {
	_, ok := ParseVerdict(t.Name)
	return ok || verdictValueTags[t.Name]
}

// svMeta returns the project's meta: the classes, each made "any" when
// objects of another shape use it (so that Supervisely opens every object),
// the three verdict tags (value type none), and a definition of every
// other tag an image or object carries, so that the Supervisely SDK, which
// refuses an annotation whose tag meta.json does not declare ("TagMeta is
// None"), loads every annotation. A tag takes its definition from declared
// (the prediction dataset's meta) when that fits every value the tag has;
// otherwise its value type is inferred from the values: any_number for
// numbers, any_string for text, none for tags without a value. A tag whose
// values are of more than one of these kinds cannot be declared, and is an
// error naming an item that has it.
//
// The classes' shapes come from the objects of shaped, the tags from those
// of shaped and of more.
func svMeta(ix *index, shaped []entry, more ...[]entry) (*dataset.Meta, error) {
	m := &dataset.Meta{Classes: append([]dataset.Class(nil), ix.classes...)}
	for _, e := range shaped {
		for _, o := range e.objects {
			m.MergeClass(dataset.Class{Title: o.Class, Shape: o.Shape})
		}
	}
	entries := append([][]entry{shaped}, more...)
	for _, v := range Verdicts {
		m.AddTag(dataset.TagMeta{Name: v.Tag(), ValueType: dataset.TagNone})
	}
	// Every tag's kinds of value, and an item that shows each kind.
	type use struct {
		kinds map[string]string // value type → item
		first []string          // value types in order of first use
		vals  map[string]bool   // string values, for oneof_string
	}
	uses := map[string]*use{}
	var names []string
	note := func(t dataset.Tag, item string) {
		if m.TagMeta(t.Name) != nil {
			return // a verdict tag: declared above
		}
		u := uses[t.Name]
		if u == nil {
			u = &use{kinds: map[string]string{}, vals: map[string]bool{}}
			uses[t.Name] = u
			names = append(names, t.Name)
		}
		k := tagKind(t)
		if _, ok := u.kinds[k]; !ok {
			u.kinds[k] = item
			u.first = append(u.first, k)
		}
		if !t.Number {
			u.vals[t.Value] = true
		}
	}
	for _, es := range entries {
		for _, e := range es {
			for _, t := range e.it.Ann.Tags {
				if !isVerdictTag(t) {
					note(t, e.it.Name)
				}
			}
			for _, o := range e.objects {
				for _, t := range o.Tags {
					note(t, e.it.Name)
				}
			}
		}
	}
	for _, name := range names {
		u := uses[name]
		if d := declaredTag(ix.tags, name); d != nil && tagFits(d, u.kinds, u.vals) {
			m.AddTag(*d)
			continue
		}
		if len(u.first) > 1 {
			a, b := u.first[0], u.first[1]
			return nil, fmt.Errorf("tag %q has values of two kinds, %s (item %s) and %s (item %s): Supervisely declares one value type per tag", name, kindWords(a), u.kinds[a], kindWords(b), u.kinds[b])
		}
		m.AddTag(dataset.TagMeta{Name: name, ValueType: u.first[0]})
	}
	m.Sort()
	return m, nil
}

// tagKind is the Supervisely value type a tag's value needs at least.
func tagKind(t dataset.Tag) string {
	switch {
	case t.Number:
		return dataset.TagAnyNumber
	case t.Value != "":
		return dataset.TagAnyString
	}
	return dataset.TagNone
}

func kindWords(k string) string {
	switch k {
	case dataset.TagAnyNumber:
		return "a number"
	case dataset.TagAnyString:
		return "text"
	}
	return "no value"
}

func declaredTag(tags []dataset.TagMeta, name string) *dataset.TagMeta {
	for i := range tags {
		if tags[i].Name == name {
			return &tags[i]
		}
	}
	return nil
}

// tagFits reports whether values of the given kinds (and string values)
// are valid for d, as the SDK's TagMeta.is_valid_value checks them.
func tagFits(d *dataset.TagMeta, kinds map[string]string, vals map[string]bool) bool {
	for k := range kinds {
		switch {
		case k == d.ValueType:
		case k == dataset.TagAnyString && d.ValueType == dataset.TagOneOfString:
		default:
			return false
		}
	}
	if d.ValueType == dataset.TagOneOfString {
		for v := range vals {
			if !slices.Contains(d.Values, v) {
				return false
			}
		}
	}
	return true
}

// writeSupervisely writes a project into dir: meta.json, and for every entry
// <dataset>/img/<file> (when it has image bytes) and <dataset>/ann/<file>.json,
// the canonical annotation ([dataset.EncodeAnnotation]) with the entry's
// objects, the prediction's image tags (less any verdict tag) and the
// entry's verdict tag. It is what the repository's Supervisely exporter
// writes for the same annotations.
func writeSupervisely(dir string, entries []entry, meta *dataset.Meta) error {
	if err := writeFile(dir, dataset.MetaFile, dataset.EncodeMeta(meta)); err != nil {
		return err
	}
	for _, e := range entries {
		ds, file := dataset.Split(e.it.Name)
		if ds == dataset.MetaFile || ds == "classes.json" {
			return fmt.Errorf("item %s: dataset name %q is reserved in a Supervisely project", e.it.Name, ds)
		}
		ann := dataset.Annotation{Width: e.it.Ann.Width, Height: e.it.Ann.Height, Objects: e.objects}
		for _, t := range e.it.Ann.Tags {
			if !isVerdictTag(t) {
				ann.Tags = append(ann.Tags, t)
			}
		}
		if e.verdict != "" {
			ann.Tags = append(ann.Tags, dataset.Tag{Name: e.verdict.Tag()})
		}
		raw, err := dataset.EncodeAnnotation(&ann)
		if err != nil {
			return fmt.Errorf("item %s: %w", e.it.Name, err)
		}
		if len(e.it.Image) > 0 {
			if err := writeFile(dir, path.Join(ds, "img", file), e.it.Image); err != nil {
				return err
			}
		}
		if err := writeFile(dir, path.Join(ds, "ann", file+".json"), raw); err != nil {
			return err
		}
	}
	return nil
}

// readSupervisely reads a Supervisely project directory into c: every
// <dataset>/ann/*.json, matched to the item <dataset>/<file> (or, in the
// 2018 naming, <dataset>/<stem>.*).
func readSupervisely(dir string, c *collector) {
	readSuperviselyFS(os.DirFS(dir), dir, c)
}

// readSuperviselyFS reads the project at the root of fsys (a directory or
// a folder of a zip archive); dir is how errors name that root.
func readSuperviselyFS(fsys fs.FS, dir string, c *collector) {
	meta, err := supervisely.ReadMeta(fsys)
	if err != nil {
		c.problem(dir, "", err)
		return
	}
	tops, err := fs.ReadDir(fsys, ".")
	if err != nil {
		c.problem(dir, "", err)
		return
	}
	for _, d := range tops {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		ds := d.Name()
		anns, err := fs.ReadDir(fsys, ds+"/ann")
		if errors.Is(err, fs.ErrNotExist) {
			continue // not a dataset
		}
		if err != nil {
			c.problem(filepath.Join(dir, ds, "ann"), "", err)
			continue
		}
		for _, a := range anns {
			if a.IsDir() || strings.HasPrefix(a.Name(), ".") || !strings.HasSuffix(a.Name(), ".json") {
				continue
			}
			readSuperviselyAnn(fsys, dir, ds, a.Name(), meta, c)
		}
	}
}

func readSuperviselyAnn(fsys fs.FS, dir, ds, name string, meta *dataset.Meta, c *collector) {
	file := filepath.Join(dir, ds, "ann", name)
	img := ds + "/" + strings.TrimSuffix(name, ".json")
	it := c.ix.byName[img]
	if it == nil {
		it = svLegacyMatch(c.ix, img)
	}
	if it == nil {
		c.problem(file, "", fmt.Errorf("image %q is not in the review package", img))
		return
	}
	f, ok := c.item(file, it, "annotation")
	if !ok {
		return
	}
	data, err := fs.ReadFile(fsys, ds+"/ann/"+name)
	if err != nil {
		c.problem(file, it.Name, err)
		return
	}
	ann, err := dataset.ParseAnnotation(data, meta)
	if err != nil {
		c.problem(file, it.Name, err)
		return
	}
	if ann.Width != it.Ann.Width || ann.Height != it.Ann.Height {
		c.problem(file, it.Name, fmt.Errorf("the annotation's size is %dx%d, the package's image is %dx%d", ann.Width, ann.Height, it.Ann.Width, it.Ann.Height))
		return
	}
	own := map[string]bool{}
	for _, t := range it.Ann.Tags {
		if !isVerdictTag(t) {
			own[t.Name] = true
		}
	}
	for _, t := range ann.Tags {
		v, ok := ParseVerdict(t.Name)
		switch {
		case ok:
			f.verdict(v)
		case verdictValueTags[t.Name]:
			if v, ok := ParseVerdict(t.Value); ok {
				f.verdict(v)
			} else {
				c.problem(file, it.Name, fmt.Errorf("tag %q: unknown verdict %q (want %s)", t.Name, t.Value, verdictNames()))
			}
		case own[t.Name]:
			// The prediction's own tag, kept in the package.
		default:
			c.problem(file, it.Name, fmt.Errorf("unknown verdict tag %q (the verdict tags are %s)", t.Name, verdictTagNames()))
		}
	}
	for j, o := range ann.Objects {
		if o.Shape == dataset.ShapeBitmap && o.Mask != nil {
			// Bitmaps that do not come from the SDK may keep unset
			// margins; the model wants them cropped.
			t, err := tightBitmap(o.Class, o.Mask, o.Origin)
			if err != nil {
				c.problem(file, it.Name, fmt.Errorf("object %d: %w", j, err))
				continue
			}
			t.Tags = o.Tags
			o = t
		}
		c.object(f, it, o, fmt.Sprintf("object %d", j))
	}
}

// svLegacyMatch finds the item of a 2018 annotation name <dataset>/<stem>:
// the one item of that dataset whose file, less its extension, is stem.
func svLegacyMatch(ix *index, name string) *Item {
	ds, stem := dataset.Split(name)
	var found *Item
	for _, it := range ix.items {
		d, file := dataset.Split(it.Name)
		if d == ds && strings.TrimSuffix(file, path.Ext(file)) == stem {
			if found != nil {
				return nil
			}
			found = it
		}
	}
	return found
}

// writeFile writes data to dir/rel (a slash path), making directories.
func writeFile(dir, rel string, data []byte) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	return nil
}

// sortedEntries returns an entry per item of ix (sorted by name) with the
// predicted objects.
func sortedEntries(ix *index) []entry {
	out := make([]entry, len(ix.items))
	for i, it := range ix.items {
		out[i] = entry{it: it, objects: it.Ann.Objects}
	}
	return out
}
