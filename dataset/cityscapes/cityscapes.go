// Package cityscapes reads Cityscapes fine annotations (format
// "cityscapes"; formats.md §5):
//
//	leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
//	gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_instanceIds.png
//
// Both directories are required. Only the instanceIds maps are read (the
// labelIds, color and polygons files beside them are not needed).
//
// # Items
//
// An item is named "<split>/<image file>", e.g.
// "train/aachen_000000_000019_leftImg8bit.png" (the file names are unique
// across cities; a second image of the same name in another city is an
// item error). It carries the image tags <split> (no value) and "city"
// (the city directory as its string value), declared in the returned meta,
// and has the size of its instanceIds map. Items are emitted sorted by
// name, without reading their maps: each map is read when the import step
// needs it (dataset.SourceItem.Load), so that the step reads maps on its
// worker pool and keeps the result of an item whose image and map did not
// change. A split without a gtFine/<split> directory (such as a test split
// downloaded without ground truth) gives items without objects and without
// a size. An image without its instanceIds map, a map without its image,
// an undecodable or oversized map, one that is neither 16-bit nor 8-bit
// grayscale, one whose size differs from its image's, and a pixel value
// that is no Cityscapes class are errors of that item only.
//
// The official maps are 16-bit grayscale PNGs. Third-party tools also
// write them as 8-bit grayscale PNGs when every value fits in a byte (no
// instance ids, only plain class ids): those are read with the same value
// rules, so that each class with instances present gives one group region.
//
// # Objects
//
// A pixel value v ≥ 1000 is instance v mod 1000 of class v / 1000, which
// must be a class with instances: person 24, rider 25, car 26, truck 27,
// bus 28, caravan 29, trailer 30, train 31, motorcycle 32, bicycle 33. Each
// distinct such value is one bitmap object of that class. A value below
// 1000 is a plain class id:
//
//   - 24 … 33, a class with instances: a group region (persongroup,
//     ridergroup, cargroup, ...; drawn without instance ids). All its pixels
//     are one bitmap object of that class (person, rider, ...) with the
//     object tag "group", always kept; the class mapping may route it.
//   - 7 … 23, the flat, construction, object, nature and sky classes (road,
//     building, sky, ...): stuff, dropped unless stuff = "keep", then one
//     bitmap object per class.
//   - 0 … 6, the void classes (unlabeled, ego vehicle, rectification
//     border, out of roi, static, dynamic, ground): dropped unless
//     void = "keep", then one bitmap object per class.
//
// license plate (id -1) is never drawn in instanceIds maps. Class names are
// the Cityscapes label names; the returned meta lists the classes that can
// give objects under the options, as bitmap classes with the Cityscapes
// colours.
//
// # Options
//
//   - stuff = "drop" | "keep" (default "drop"): whether stuff classes give
//     objects.
//   - void = "drop" | "keep" (default "drop"): whether void classes give
//     objects.
package cityscapes

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"dsbuild/dataset"
	"dsbuild/dataset/internal/instancemap"
)

// Format is the name of this format in recipes.
const Format = "cityscapes"

// Tags this format adds.
const (
	GroupTag = "group" // object tag of group regions
	CityTag  = "city"  // image tag whose value is the city
)

// Directories and file suffixes.
const (
	imageDir    = "leftImg8bit"
	gtDir       = "gtFine"
	imageSuffix = "_leftImg8bit.png"
	instSuffix  = "_gtFine_instanceIds.png"
)

// Class kinds.
const (
	kindVoid = iota
	kindStuff
	kindInstance
)

type class struct {
	name  string
	kind  int
	color string
}

// classes is the Cityscapes label table, indexed by label id (formats.md
// §5 and the Cityscapes label definitions): name, whether the class has
// instances, whether it is void, and its colour.
var classes = [34]class{
	{"unlabeled", kindVoid, "#000000"},
	{"ego vehicle", kindVoid, "#000000"},
	{"rectification border", kindVoid, "#000000"},
	{"out of roi", kindVoid, "#000000"},
	{"static", kindVoid, "#000000"},
	{"dynamic", kindVoid, "#6F4A00"},
	{"ground", kindVoid, "#510051"},
	{"road", kindStuff, "#804080"},
	{"sidewalk", kindStuff, "#F423E8"},
	{"parking", kindStuff, "#FAAAA0"},
	{"rail track", kindStuff, "#E6968C"},
	{"building", kindStuff, "#464646"},
	{"wall", kindStuff, "#66669C"},
	{"fence", kindStuff, "#BE9999"},
	{"guard rail", kindStuff, "#B4A5B4"},
	{"bridge", kindStuff, "#966464"},
	{"tunnel", kindStuff, "#96785A"},
	{"pole", kindStuff, "#999999"},
	{"polegroup", kindStuff, "#999999"},
	{"traffic light", kindStuff, "#FAAA1E"},
	{"traffic sign", kindStuff, "#DCDC00"},
	{"vegetation", kindStuff, "#6B8E23"},
	{"terrain", kindStuff, "#98FB98"},
	{"sky", kindStuff, "#4682B4"},
	{"person", kindInstance, "#DC143C"},
	{"rider", kindInstance, "#FF0000"},
	{"car", kindInstance, "#00008E"},
	{"truck", kindInstance, "#000046"},
	{"bus", kindInstance, "#003C64"},
	{"caravan", kindInstance, "#00005A"},
	{"trailer", kindInstance, "#00006E"},
	{"train", kindInstance, "#005064"},
	{"motorcycle", kindInstance, "#0000E6"},
	{"bicycle", kindInstance, "#770B20"},
}

// NewImporter returns the Cityscapes reader configured by opt (see the
// package documentation).
func NewImporter(opt dataset.Options) (dataset.Importer, error) {
	stuff, void := opt.Take("stuff", "drop"), opt.Take("void", "drop")
	if err := opt.Done(Format); err != nil {
		return nil, err
	}
	imp := &importer{}
	var err error
	if imp.stuff, err = instancemap.KeepDrop(Format, "stuff", stuff); err != nil {
		return nil, err
	}
	if imp.void, err = instancemap.KeepDrop(Format, "void", void); err != nil {
		return nil, err
	}
	imp.lut = make([]int32, 1<<16)
	for v := range imp.lut {
		imp.lut[v] = imp.key(v)
	}
	return imp, nil
}

type importer struct {
	stuff, void bool
	lut         []int32 // pixel value → object key (the value), instancemap.Drop or instancemap.Bad
}

// key says what becomes of pixel value v.
func (imp *importer) key(v int) int32 {
	if v >= 1000 {
		if id := v / 1000; id < len(classes) && classes[id].kind == kindInstance {
			return int32(v)
		}
		return instancemap.Bad
	}
	if v >= len(classes) {
		return instancemap.Bad
	}
	if imp.keeps(classes[v].kind) {
		return int32(v)
	}
	return instancemap.Drop
}

func (imp *importer) keeps(kind int) bool {
	switch kind {
	case kindInstance:
		return true
	case kindStuff:
		return imp.stuff
	}
	return imp.void
}

// job is one item to read.
type job struct {
	name, split, city string
	image             string // path of the image
	inst              string // path of the instanceIds map, "" for an unlabelled split
	missingImage      bool   // a map without an image
	missingInst       bool   // an image without its map
	dupOf             string // the city of an earlier image of the same name
}

// Import implements dataset.Importer.
func (imp *importer) Import(ctx context.Context, src dataset.Source, emit func(*dataset.SourceItem) error) (*dataset.Meta, error) {
	splits, err := subdirs(src, imageDir)
	if err != nil {
		return nil, err
	}
	gtSplits, err := subdirs(src, gtDir)
	if err != nil {
		return nil, err
	}
	meta := &dataset.Meta{}
	byName := map[string]*job{}
	var jobs []*job
	add := func(j *job) {
		if first, ok := byName[j.name]; ok {
			if j.missingImage {
				return // its image is listed already, in another city
			}
			j.dupOf = first.city
		} else {
			byName[j.name] = j
		}
		jobs = append(jobs, j)
	}
	for _, split := range splits {
		meta.AddTag(dataset.TagMeta{Name: split, ValueType: dataset.TagNone})
		labelled := slices.Contains(gtSplits, split)
		cities, err := subdirs(src, path.Join(imageDir, split))
		if err != nil {
			return nil, err
		}
		for _, city := range cities {
			var insts map[string]bool
			gtCity := path.Join(gtDir, split, city)
			if labelled {
				if insts, err = listSuffix(src, gtCity, instSuffix, true); err != nil {
					return nil, err
				}
			}
			imgs, err := listSuffix(src, path.Join(imageDir, split, city), imageSuffix, false)
			if err != nil {
				return nil, err
			}
			for _, stem := range sortedKeys(imgs) {
				j := &job{name: split + "/" + stem + imageSuffix, split: split, city: city,
					image: path.Join(imageDir, split, city, stem+imageSuffix)}
				if labelled {
					j.inst = path.Join(gtCity, stem+instSuffix)
					j.missingInst = !insts[stem]
				}
				add(j)
			}
			for _, stem := range sortedKeys(insts) {
				if !imgs[stem] {
					add(&job{name: split + "/" + stem + imageSuffix, split: split, city: city,
						inst: path.Join(gtCity, stem+instSuffix), missingImage: true})
				}
			}
		}
	}
	// Ground truth of cities or splits that have no images.
	for _, split := range gtSplits {
		cities, err := subdirs(src, path.Join(gtDir, split))
		if err != nil {
			return nil, err
		}
		for _, city := range cities {
			if slices.Contains(splits, split) {
				if fi, err := fs.Stat(src, path.Join(imageDir, split, city)); err == nil && fi.IsDir() {
					continue // listed above
				}
			}
			gtCity := path.Join(gtDir, split, city)
			insts, err := listSuffix(src, gtCity, instSuffix, true)
			if err != nil {
				return nil, err
			}
			for _, stem := range sortedKeys(insts) {
				add(&job{name: split + "/" + stem + imageSuffix, split: split, city: city,
					inst: path.Join(gtCity, stem+instSuffix), missingImage: true})
			}
		}
	}
	if len(jobs) == 0 && len(splits) == 0 {
		return nil, fmt.Errorf("%s: %s has no split directories (train, val, test)", Format, imageDir)
	}
	for _, c := range classes {
		if imp.keeps(c.kind) {
			meta.AddClass(dataset.Class{Title: c.name, Shape: dataset.ShapeBitmap, Color: c.color})
		}
	}
	meta.AddTag(dataset.TagMeta{Name: CityTag, ValueType: dataset.TagAnyString})
	meta.AddTag(dataset.TagMeta{Name: GroupTag, ValueType: dataset.TagNone})
	meta.Sort()
	sort.SliceStable(jobs, func(i, k int) bool { return jobs[i].name < jobs[k].name })
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := emit(imp.read(src, j)); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

// subdirs lists the directories in dir, sorted, hidden ones left out; a
// missing dir is an error naming it.
func subdirs(src dataset.Source, dir string) ([]string, error) {
	ents, err := fs.ReadDir(src, dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %s: no such directory", Format, dir)
		}
		return nil, fmt.Errorf("%s: %s: %w", Format, dir, err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// listSuffix returns the stems of the files in dir named <stem><suffix>; a
// missing dir is empty when optional.
func listSuffix(src dataset.Source, dir, suffix string, optional bool) (map[string]bool, error) {
	out := map[string]bool{}
	ents, err := fs.ReadDir(src, dir)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return out, nil
		}
		return nil, fmt.Errorf("%s: %s: %w", Format, dir, err)
	}
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, suffix) && len(n) > len(suffix) {
			out[strings.TrimSuffix(n, suffix)] = true
		}
	}
	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// read makes one item; its instanceIds map is read when the import needs
// it (instancemap.Format.Read).
func (imp *importer) read(src dataset.Source, j *job) *dataset.SourceItem {
	ann := &dataset.Annotation{Tags: []dataset.Tag{{Name: j.split}, {Name: CityTag, Value: j.city}}}
	sort.Slice(ann.Tags, func(a, b int) bool { return ann.Tags[a].Name < ann.Tags[b].Name }) // canonical order
	return maps.Read(src, instancemap.Item{Name: j.name, Image: j.image, Map: j.inst}, func() (string, error) {
		switch {
		case j.dupOf != "":
			return j.image, fmt.Errorf("an image of the same name is in city %s", j.dupOf)
		case j.missingImage:
			return j.inst, fmt.Errorf("instanceIds map has no image %s", path.Join(imageDir, j.split, j.city, path.Base(j.name)))
		case j.missingInst:
			return j.inst, errors.New("the image has no instanceIds map")
		}
		return "", nil
	}, ann, imp.objects)
}

// maps describes the instanceIds maps.
var maps = instancemap.Format{What: "instanceIds map", ImageConfig: png.DecodeConfig, Gray8: true}

// objects turns an instanceIds map into bitmap objects, sorted by pixel
// value.
func (imp *importer) objects(g *image.Gray16) ([]dataset.Object, error) {
	objs, err := instancemap.Objects(g, imp.lut, func(key int32) (string, []dataset.Tag) {
		id := int(key)
		if id >= 1000 {
			id /= 1000
		}
		if key < 1000 && classes[id].kind == kindInstance {
			return classes[id].name, []dataset.Tag{{Name: GroupTag}}
		}
		return classes[id].name, nil
	})
	if err != nil {
		var bad instancemap.BadValue
		if errors.As(err, &bad) {
			v := int(bad.V)
			if id := v / 1000; v >= 1000 && id < len(classes) {
				return nil, fmt.Errorf("pixel (%d, %d) has value %d: class %d (%s) has no instances", bad.X, bad.Y, v, id, classes[id].name)
			}
			return nil, fmt.Errorf("pixel (%d, %d) has value %d, which is no Cityscapes class id (0-33) or id*1000+k", bad.X, bad.Y, v)
		}
		return nil, err
	}
	return objs, nil
}
