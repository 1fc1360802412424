package voc

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"path"
	"sort"
	"strings"

	"dsbuild/cache"
	"dsbuild/dataset"
)

// The directories of a VOC2012 tree.
const (
	dirAnnotations = "Annotations"
	dirImages      = "JPEGImages"
	dirSegClass    = "SegmentationClass"
	dirSegObject   = "SegmentationObject"
	dirLists       = "ImageSets/Segmentation"
)

// nestedRoot is where the VOC2012 directory lies inside the archive.
const nestedRoot = "VOCdevkit/VOC2012"

type importer struct {
	dataset   string
	dropVoid  bool
	classes   []string
	classIdxs map[string]int
}

// NewImporter returns the pascal_voc reader; the package documentation
// lists its options.
func NewImporter(opt dataset.Options) (dataset.Importer, error) {
	im := &importer{dataset: opt.Take("dataset", "VOC2012")}
	if err := cache.ValidName(im.dataset); err != nil || strings.HasPrefix(im.dataset, ".") {
		return nil, fmt.Errorf("format %s: option dataset: %q is not a valid dataset name", Format, im.dataset)
	}
	switch v := opt.Take("void", Neutral); v {
	case Neutral:
	case "drop":
		im.dropVoid = true
	default:
		return nil, fmt.Errorf("format %s: option void is %q; it must be %q or \"drop\"", Format, v, Neutral)
	}
	var err error
	if im.classes, err = parseClasses(opt.Take("classes", "voc"), false); err != nil {
		return nil, fmt.Errorf("format %s: %w", Format, err)
	}
	if err := opt.Done(Format); err != nil {
		return nil, err
	}
	im.classIdxs = map[string]int{}
	for i, c := range im.classes {
		im.classIdxs[c] = i + 1
	}
	return im, nil
}

// pending is one listed id, before it is read.
type pending struct {
	id   string
	name string
	tags []string
	bad  error // the id cannot name an item
	list string
}

// Import implements dataset.Importer.
func (im *importer) Import(ctx context.Context, src dataset.Source, emit func(*dataset.SourceItem) error) (*dataset.Meta, error) {
	root := "."
	if !isDir(src, dirLists) && isDir(src, path.Join(nestedRoot, dirLists)) {
		root = nestedRoot
	}
	p := func(elem ...string) string { return path.Join(append([]string{root}, elem...)...) }
	for _, d := range []string{dirLists, dirImages, dirAnnotations, dirSegObject, dirSegClass} {
		if !isDir(src, p(d)) {
			return nil, fmt.Errorf("%s: no such directory: this is not a VOC2012 segmentation directory", p(d))
		}
	}

	// The lists.
	ents, err := fs.ReadDir(src, p(dirLists))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p(dirLists), err)
	}
	meta := &dataset.Meta{}
	byID := map[string]*pending{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".txt") || strings.HasPrefix(e.Name(), ".") {
			continue // hidden files include macOS's ._train.txt
		}
		subset := strings.TrimSuffix(e.Name(), ".txt")
		file := p(dirLists, e.Name())
		data, err := fs.ReadFile(src, file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		meta.AddTag(dataset.TagMeta{Name: subset})
		for n, line := range strings.Split(string(data), "\n") {
			id := strings.TrimSpace(line)
			if id == "" {
				continue
			}
			it := byID[id]
			if it == nil {
				it = &pending{id: id, name: im.dataset + "/" + id + ".jpg", list: file}
				if err := checkID(id); err != nil {
					it.bad = fmt.Errorf("line %d: %w", n+1, err)
				}
				byID[id] = it
			}
			if len(it.tags) == 0 || it.tags[len(it.tags)-1] != subset {
				it.tags = append(it.tags, subset)
			}
		}
	}
	if len(meta.Tags) == 0 {
		return nil, fmt.Errorf("%s: no .txt lists of ids", p(dirLists))
	}
	for _, c := range im.classes {
		meta.AddClass(dataset.Class{Title: c, Shape: dataset.ShapeBitmap, Color: hexColor(im.classIdxs[c])})
	}
	if !im.dropVoid {
		meta.AddClass(dataset.Class{Title: Neutral, Shape: dataset.ShapeBitmap, Color: hexColor(Void)})
	}
	meta.Sort()

	// The image of each id: <id>.jpg, or the one JPEGImages/<id>.<ext>.
	var stems map[string][]string
	imageOf := func(id string) (string, error) {
		if fi, err := fs.Stat(src, p(dirImages, id+".jpg")); err == nil && !fi.IsDir() {
			return id + ".jpg", nil
		}
		if stems == nil {
			stems = map[string][]string{}
			ents, err := fs.ReadDir(src, p(dirImages))
			if err != nil {
				return "", fmt.Errorf("%s: %w", p(dirImages), err)
			}
			for _, e := range ents {
				if !e.IsDir() {
					s := strings.TrimSuffix(e.Name(), path.Ext(e.Name()))
					stems[s] = append(stems[s], e.Name())
				}
			}
		}
		switch c := stems[id]; len(c) {
		case 0:
			return "", fs.ErrNotExist
		case 1:
			return c[0], nil
		default:
			return "", fmt.Errorf("several images have id %s: %s", id, strings.Join(c, ", "))
		}
	}

	items := make([]*pending, 0, len(byID))
	for _, it := range byID {
		if it.bad == nil {
			file, err := imageOf(it.id)
			if err == nil {
				it.name = im.dataset + "/" + file
			}
		}
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].name != items[j].name {
			return items[i].name < items[j].name
		}
		return items[i].id < items[j].id
	})
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		si := im.item(src, p, it, imageOf)
		if err := emit(si); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

func isDir(src dataset.Source, name string) bool {
	fi, err := fs.Stat(src, name)
	return err == nil && fi.IsDir()
}

// item reads one listed id.
func (im *importer) item(src dataset.Source, p func(...string) string, it *pending, imageOf func(string) (string, error)) *dataset.SourceItem {
	xmlFile := p(dirAnnotations, it.id+".xml")
	si := &dataset.SourceItem{Name: it.name, File: xmlFile}
	fail := func(file string, err error) *dataset.SourceItem {
		si.Err = &dataset.ItemError{Item: it.name, File: file, Err: err}
		return si
	}
	if it.bad != nil {
		si.File = it.list
		return fail(it.list, it.bad)
	}
	imgFile, err := imageOf(it.id)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = errors.New("no image for this id")
		}
		return fail(p(dirImages, it.id+".jpg"), err)
	}
	si.Image = p(dirImages, imgFile)

	raw, err := fs.ReadFile(src, xmlFile)
	if err != nil {
		return fail(xmlFile, readErr(err))
	}
	xa, err := parseXML(raw)
	if err != nil {
		return fail(xmlFile, err)
	}
	var maps [2]*indexMap
	files := [2]string{p(dirSegObject, it.id+".png"), p(dirSegClass, it.id+".png")}
	for i, f := range files {
		data, err := fs.ReadFile(src, f)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fail(f, errors.New("no segmentation PNG for this id"))
			}
			return fail(f, readErr(err))
		}
		if maps[i], err = decodeIndexPNG(data); err != nil {
			return fail(f, err)
		}
	}
	obj, cls := maps[0], maps[1]
	if cls.W != obj.W || cls.H != obj.H {
		return fail(files[1], fmt.Errorf("size %dx%d differs from %s's %dx%d", cls.W, cls.H, files[0], obj.W, obj.H))
	}
	if (xa.Width != 0 || xa.Height != 0) && (xa.Width != obj.W || xa.Height != obj.H) {
		return fail(xmlFile, fmt.Errorf("<size> %dx%d differs from the segmentation PNGs' %dx%d", xa.Width, xa.Height, obj.W, obj.H))
	}
	ann, err := im.objects(xa, obj, cls)
	if err != nil {
		return fail(files[0], err)
	}
	for _, t := range it.tags {
		ann.Tags = append(ann.Tags, dataset.Tag{Name: t})
	}
	si.Ann = ann
	return si
}

func readErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("file is missing")
	}
	return err
}

// objects turns the two index maps into bitmap objects: one per instance
// value, classed by the XML and checked against the class map, and the
// void pixels.
func (im *importer) objects(xa *annotation, obj, cls *indexMap) (*dataset.Annotation, error) {
	w, h := obj.W, obj.H
	// Per value: bounding box, and a histogram of the class map under it.
	type box struct{ x0, y0, x1, y1 int }
	var boxes [256]box
	var present [256]bool
	var hist [256]*[256]int
	isVoid := func(i int) bool { return obj.Pix[i] == Void || (obj.Pix[i] == 0 && cls.Pix[i] == Void) }
	add := func(v uint8, x, y int) {
		if !present[v] {
			present[v] = true
			boxes[v] = box{x, y, x + 1, y + 1}
			return
		}
		b := &boxes[v]
		b.x0, b.x1 = min(b.x0, x), max(b.x1, x+1)
		b.y1 = y + 1
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			v := obj.Pix[i]
			if isVoid(i) {
				add(Void, x, y)
				continue
			}
			if v == 0 {
				continue
			}
			add(v, x, y)
			if hist[v] == nil {
				hist[v] = new([256]int)
			}
			hist[v][cls.Pix[i]]++
		}
	}
	crop := func(v uint8) *dataset.Mask {
		b := boxes[v]
		m := &dataset.Mask{W: b.x1 - b.x0, H: b.y1 - b.y0}
		m.Bits = make([]uint8, m.W*m.H)
		for y := b.y0; y < b.y1; y++ {
			for x := b.x0; x < b.x1; x++ {
				i := y*w + x
				if v == Void && isVoid(i) || v != Void && obj.Pix[i] == v {
					m.Bits[(y-b.y0)*m.W+x-b.x0] = 1
				}
			}
		}
		return m
	}
	a := &dataset.Annotation{Width: w, Height: h}
	for k := 1; k < Void; k++ {
		if !present[k] {
			continue
		}
		if k > len(xa.Objects) {
			return nil, fmt.Errorf("instance %d has no <object> in the XML, which has %d", k, len(xa.Objects))
		}
		name := xa.Objects[k-1].Name
		if name == "" {
			return nil, fmt.Errorf("instance %d: its <object> has no <name>", k)
		}
		want, ok := im.classIdxs[name]
		if !ok {
			return nil, fmt.Errorf("instance %d: class %q is not one of the %d classes (option classes)", k, name, len(im.classes))
		}
		// The majority class under the instance, void ignored (§2.5).
		best, n := -1, 0
		for c, cnt := range hist[k] {
			if c != Void && cnt > n {
				best, n = c, cnt
			}
		}
		if best >= 0 && best != want {
			return nil, fmt.Errorf("instance %d is %q in the XML but %s in %s", k, name, im.describe(best), dirSegClass)
		}
		a.Objects = append(a.Objects, dataset.Object{Class: name, Shape: dataset.ShapeBitmap, Mask: crop(uint8(k)), Origin: image.Pt(boxes[k].x0, boxes[k].y0)})
	}
	if present[Void] && !im.dropVoid {
		a.Objects = append(a.Objects, dataset.Object{Class: Neutral, Shape: dataset.ShapeBitmap, Mask: crop(Void), Origin: image.Pt(boxes[Void].x0, boxes[Void].y0)})
	}
	return a, nil
}

// describe names a class index for an error message.
func (im *importer) describe(c int) string {
	switch {
	case c == 0:
		return "background (0)"
	case c <= len(im.classes):
		return fmt.Sprintf("%q (%d)", im.classes[c-1], c)
	}
	return fmt.Sprintf("index %d, which has no class", c)
}
