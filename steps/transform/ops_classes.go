package transform

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"dsbuild/dataset"
	"dsbuild/engine"
)

// Ops on classes, tags and whole items: rename, keep_classes, drop_classes,
// tag, skip_if.

func init() {
	register(opSpec{
		Name:  "rename",
		Doc:   "Renames classes; several may be renamed to one (merged).",
		Attrs: []engine.AttrSpec{{Name: "map", Type: tStringMap, Required: true, Doc: "old class → new class"}},
		Build: func(p params) (Op, error) {
			m := p.strMap("map")
			if len(m) == 0 {
				return nil, badParam("map", "is empty")
			}
			for from, to := range m {
				if from == "" || to == "" {
					return nil, badParam("map", "class names must not be empty")
				}
			}
			return renameOp{m}, nil
		},
	})
	register(opSpec{
		Name:  "keep_classes",
		Doc:   "Keeps the objects of the given classes and drops the others.",
		Attrs: []engine.AttrSpec{{Name: "classes", Type: tStringList, Required: true}},
		Build: func(p params) (Op, error) { return classFilter(p, true) },
	})
	register(opSpec{
		Name:  "drop_classes",
		Doc:   "Drops the objects of the given classes.",
		Attrs: []engine.AttrSpec{{Name: "classes", Type: tStringList, Required: true}},
		Build: func(p params) (Op, error) { return classFilter(p, false) },
	})
	register(opSpec{
		Name: "tag",
		Doc:  "Adds and removes image tags.",
		Attrs: []engine.AttrSpec{
			{Name: "add", Type: tStringList},
			{Name: "remove", Type: tStringList},
		},
		Build: func(p params) (Op, error) {
			op := tagOp{add: p.strs("add"), remove: p.strs("remove")}
			if len(op.add) == 0 && len(op.remove) == 0 {
				return nil, badParam("", "give add or remove")
			}
			return op, nil
		},
	})
	register(opSpec{
		Name: "skip_if",
		Doc:  "Leaves out the items for which any of the given conditions holds.",
		Attrs: []engine.AttrSpec{
			{Name: "no_objects", Type: tBool, Doc: "the item has no objects"},
			{Name: "has_tags", Type: tStringList, Doc: "the item has any of these image tags"},
			{Name: "lacks_tags", Type: tStringList, Doc: "the item lacks one of these image tags"},
			{Name: "name_regex", Type: tString, Doc: "the item name matches (RE2 syntax)"},
			{Name: "min_width", Type: tNumber, Doc: "the image is narrower"},
			{Name: "min_height", Type: tNumber, Doc: "the image is lower"},
			{Name: "max_width", Type: tNumber, Doc: "the image is wider"},
			{Name: "max_height", Type: tNumber, Doc: "the image is higher"},
			{Name: "min_objects", Type: tNumber, Doc: "the item has fewer objects"},
			{Name: "includes_classes", Type: tStringList, Doc: "the item has an object of one of these classes"},
			{Name: "probability", Type: tNumber, Doc: "a draw from the item's generator falls below it"},
		},
		Build: buildSkipIf,
	})
}

type renameOp struct{ m map[string]string }

func (o renameOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	if err := mustHaveClasses(in, keysOf(o.m)); err != nil {
		return nil, err
	}
	out := &dataset.Meta{Tags: in.Tags}
	for _, c := range in.Classes {
		if to, ok := o.m[c.Title]; ok {
			c.Title = to
		}
		out.MergeClass(c)
	}
	out.Sort()
	return out, nil
}

func (o renameOp) Apply(it *Item) ([]*Item, error) {
	for i := range it.Ann.Objects {
		if to, ok := o.m[it.Ann.Objects[i].Class]; ok {
			it.Ann.Objects[i].Class = to
		}
	}
	return []*Item{it}, nil
}

type classFilterOp struct {
	classes []string
	keep    bool
}

func classFilter(p params, keep bool) (Op, error) {
	cl := p.strs("classes")
	if len(cl) == 0 {
		return nil, badParam("classes", "is empty")
	}
	return classFilterOp{cl, keep}, nil
}

func (o classFilterOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	if err := mustHaveClasses(in, o.classes); err != nil {
		return nil, err
	}
	out := &dataset.Meta{Tags: in.Tags}
	for _, c := range in.Classes {
		if slices.Contains(o.classes, c.Title) == o.keep {
			out.AddClass(c)
		}
	}
	return out, nil
}

func (o classFilterOp) Apply(it *Item) ([]*Item, error) {
	objs := it.Ann.Objects[:0]
	for _, ob := range it.Ann.Objects {
		if slices.Contains(o.classes, ob.Class) == o.keep {
			objs = append(objs, ob)
		}
	}
	it.Ann.Objects = objs
	return []*Item{it}, nil
}

type tagOp struct{ add, remove []string }

func (o tagOp) Meta(in *dataset.Meta) (*dataset.Meta, error) {
	out := *in
	out.Tags = append([]dataset.TagMeta(nil), in.Tags...)
	for _, t := range o.add {
		out.AddTag(dataset.TagMeta{Name: t})
	}
	out.Sort()
	return &out, nil
}

func (o tagOp) Apply(it *Item) ([]*Item, error) {
	tags := it.Ann.Tags[:0]
	for _, t := range it.Ann.Tags {
		if !slices.Contains(o.remove, t.Name) {
			tags = append(tags, t)
		}
	}
	for _, name := range o.add {
		if !slices.ContainsFunc(tags, func(t dataset.Tag) bool { return t.Name == name }) {
			tags = append(tags, dataset.Tag{Name: name})
		}
	}
	it.Ann.Tags = tags
	return []*Item{it}, nil
}

type skipIfOp struct {
	noObjects              bool
	hasTags, lacksTags     []string
	name                   *regexp.Regexp
	minW, minH, maxW, maxH int
	minObjects             int
	includes               []string
	probability            float64
}

func buildSkipIf(p params) (Op, error) {
	o := &skipIfOp{noObjects: p.boolean("no_objects"), hasTags: p.strs("has_tags"), lacksTags: p.strs("lacks_tags"), includes: p.strs("includes_classes")}
	var err error
	for _, f := range []struct {
		name string
		dst  *int
	}{{"min_width", &o.minW}, {"min_height", &o.minH}, {"max_width", &o.maxW}, {"max_height", &o.maxH}, {"min_objects", &o.minObjects}} {
		if *f.dst, err = p.integer(f.name); err != nil {
			return nil, err
		}
		if *f.dst < 0 {
			return nil, badParam(f.name, "must not be negative")
		}
	}
	if p.has("name_regex") {
		if o.name, err = regexp.Compile(p.str("name_regex")); err != nil {
			return nil, badParam("name_regex", "%v", err)
		}
	}
	if o.probability, err = p.probability("probability", 0); err != nil {
		return nil, err
	}
	if len(p.Params) == 0 {
		return nil, badParam("", "give at least one condition")
	}
	return o, nil
}

func (o *skipIfOp) Apply(it *Item) ([]*Item, error) {
	a := it.Ann
	hasTag := func(name string) bool {
		return slices.ContainsFunc(a.Tags, func(t dataset.Tag) bool { return t.Name == name })
	}
	skip := (o.noObjects && len(a.Objects) == 0) ||
		slices.ContainsFunc(o.hasTags, hasTag) ||
		slices.ContainsFunc(o.lacksTags, func(t string) bool { return !hasTag(t) }) ||
		(o.name != nil && o.name.MatchString(it.Name)) ||
		(o.minW > 0 && a.Width < o.minW) || (o.minH > 0 && a.Height < o.minH) ||
		(o.maxW > 0 && a.Width > o.maxW) || (o.maxH > 0 && a.Height > o.maxH) ||
		(o.minObjects > 0 && len(a.Objects) < o.minObjects) ||
		slices.ContainsFunc(a.Objects, func(ob dataset.Object) bool { return slices.Contains(o.includes, ob.Class) })
	// The draw happens for every item, so that it does not depend on the
	// other conditions.
	if o.probability > 0 && it.Rand.Float64() < o.probability {
		skip = true
	}
	if skip {
		return nil, nil
	}
	return []*Item{it}, nil
}

// mustHaveClasses reports names that the meta lacks.
func mustHaveClasses(m *dataset.Meta, names []string) error {
	var missing []string
	for _, n := range names {
		if m.Class(n) == nil {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	var have []string
	for _, c := range m.Classes {
		have = append(have, c.Title)
	}
	if s := engine.Suggest(missing[0], have); s != "" {
		return fmt.Errorf("class %q is not in the input.%s Its classes are: %s", missing[0], s, strings.Join(have, ", "))
	}
	return fmt.Errorf("class %q is not in the input; its classes are: %s", missing[0], strings.Join(have, ", "))
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
