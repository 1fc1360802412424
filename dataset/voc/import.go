package voc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"path"
	"slices"
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
	dirMainLists   = "ImageSets/Main"
)

// nestedRoot is where the VOC2012 directory lies inside the archive.
const nestedRoot = "VOCdevkit/VOC2012"

// Values of the class_source option.
const (
	sourceMask  = "mask"
	sourceXML   = "xml"
	sourceError = "error"
)

type importer struct {
	dataset     string
	dropVoid    bool
	classOpt    string   // the classes option: "auto", "voc", "labelmap" or a list
	listed      []string // the classes of a list option
	classSource string
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
	im.classOpt = strings.TrimSpace(opt.Take("classes", "auto"))
	switch im.classOpt {
	case "auto", "voc", "labelmap":
	default:
		var err error
		if im.listed, err = parseClasses(im.classOpt, false); err != nil {
			return nil, fmt.Errorf("format %s: %w", Format, err)
		}
	}
	switch im.classSource = opt.Take("class_source", sourceMask); im.classSource {
	case sourceMask, sourceXML, sourceError:
	default:
		return nil, fmt.Errorf("format %s: option class_source is %q; it must be %q, %q or %q", Format, im.classSource, sourceMask, sourceXML, sourceError)
	}
	if err := opt.Done(Format); err != nil {
		return nil, err
	}
	return im, nil
}

// source is what one import knows of the tree: its root and its classes.
type source struct {
	src       dataset.Source
	root      string
	classes   []string
	classIdxs map[string]int
	inverse   map[[3]uint8]uint8 // colours of SegmentationClass PNGs; nil: the VOC colormap
}

func (s *source) path(elem ...string) string { return path.Join(append([]string{s.root}, elem...)...) }

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
	if !isDir(src, dirLists) && !isDir(src, dirMainLists) &&
		(isDir(src, path.Join(nestedRoot, dirLists)) || isDir(src, path.Join(nestedRoot, dirMainLists))) {
		root = nestedRoot
	}
	s := &source{src: src, root: root}
	p := s.path
	// Without JPEGImages, only lists that name no id make a tree (the
	// export of a dataset without items): checked once the lists are read.
	noImages := !isDir(src, p(dirImages))
	noImagesErr := fmt.Errorf("%s: no such directory: this is not a VOC2012 directory", p(dirImages))
	listDir := dirLists
	if !isDir(src, p(dirLists)) {
		if noImages {
			return nil, noImagesErr
		}
		if !isDir(src, p(dirMainLists)) {
			return nil, fmt.Errorf("%s: no such directory (nor %s): this is not a VOC2012 directory", p(dirLists), p(dirMainLists))
		}
		listDir = dirMainLists
	}
	if err := im.loadClasses(s); err != nil {
		return nil, err
	}

	// The lists.
	ents, err := fs.ReadDir(src, p(listDir))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p(listDir), err)
	}
	meta := &dataset.Meta{}
	byID := map[string]*pending{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".txt") || strings.HasPrefix(e.Name(), ".") {
			continue // hidden files include macOS's ._train.txt
		}
		subset := strings.TrimSuffix(e.Name(), ".txt")
		if listDir == dirMainLists {
			// ImageSets/Main also holds <class>_<subset>.txt, the
			// classification lists of each class.
			if c, _, ok := strings.Cut(subset, "_"); ok && (s.classIdxs[c] > 0 || slices.Contains(Classes, c)) {
				continue
			}
		}
		file := p(listDir, e.Name())
		data, err := fs.ReadFile(src, file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		meta.AddTag(dataset.TagMeta{Name: subset})
		for n, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			id := fields[0]
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
		if noImages {
			return nil, noImagesErr
		}
		return nil, fmt.Errorf("%s: no .txt lists of ids", p(listDir))
	}
	if noImages && len(byID) > 0 {
		return nil, noImagesErr
	}
	for _, c := range s.classes {
		meta.AddClass(dataset.Class{Title: c, Shape: dataset.ShapeBitmap, Color: hexColor(s.classIdxs[c])})
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
		si := im.item(s, it, imageOf)
		if err := emit(si); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

// loadClasses sets the class list from the classes option and, for
// "auto" and "labelmap", the tree's labelmap.txt.
func (im *importer) loadClasses(s *source) error {
	switch im.classOpt {
	case "voc":
		s.classes = append([]string(nil), Classes...)
	case "auto", "labelmap":
		file := s.path(LabelmapFile)
		data, err := fs.ReadFile(s.src, file)
		switch {
		case err == nil:
			lm, err := parseLabelmap(data)
			if err != nil {
				return fmt.Errorf("%s: %w", s.path(), err)
			}
			s.classes, s.inverse = lm.classes, lm.colors
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("%s: %w", file, err)
		case im.classOpt == "labelmap":
			return fmt.Errorf("%s: no such file (option classes = \"labelmap\")", file)
		default:
			s.classes = append([]string(nil), Classes...)
		}
	default:
		s.classes = im.listed
	}
	s.classIdxs = map[string]int{}
	for i, c := range s.classes {
		s.classIdxs[c] = i + 1
	}
	return nil
}

func isDir(src dataset.Source, name string) bool {
	fi, err := fs.Stat(src, name)
	return err == nil && fi.IsDir()
}

// readOptional reads file, or returns nil when it does not exist.
func readOptional(src dataset.Source, file string) ([]byte, error) {
	data, err := fs.ReadFile(src, file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err == nil && data == nil {
		data = []byte{}
	}
	return data, err
}

// item reads one listed id.
func (im *importer) item(s *source, it *pending, imageOf func(string) (string, error)) *dataset.SourceItem {
	p := s.path
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

	// The XML and the two PNGs are each optional: a split shipped
	// without labels (the VOC test set), or CVAT's segmentation export
	// without XML.
	raw, err := readOptional(s.src, xmlFile)
	if err != nil {
		return fail(xmlFile, err)
	}
	var xa *annotation
	if raw != nil {
		if xa, err = parseXML(raw); err != nil {
			return fail(xmlFile, err)
		}
	}
	var maps [2]*indexMap
	files := [2]string{p(dirSegObject, it.id+".png"), p(dirSegClass, it.id+".png")}
	inverse := [2]map[[3]uint8]uint8{nil, s.inverse}
	for i, f := range files {
		data, err := readOptional(s.src, f)
		if err != nil {
			return fail(f, err)
		}
		if data == nil {
			continue
		}
		if maps[i], err = decodeIndexPNG(data, inverse[i]); err != nil {
			return fail(f, err)
		}
	}
	obj, cls := maps[0], maps[1]
	if raw == nil {
		si.File = files[0]
		if obj == nil {
			si.File = files[1]
		}
	}
	if obj != nil && cls != nil && (cls.W != obj.W || cls.H != obj.H) {
		return fail(files[1], fmt.Errorf("size %dx%d differs from %s's %dx%d", cls.W, cls.H, files[0], obj.W, obj.H))
	}
	ann := &dataset.Annotation{}
	switch m := cmp.Or(obj, cls); {
	case m == nil:
		// No segmentation: an item without objects, of the XML's size
		// if it gives one (else the image's).
		if xa != nil {
			ann.Width, ann.Height = xa.Width, xa.Height
			if n := len(xa.Objects); n > 0 {
				si.Warnings = append(si.Warnings, fmt.Sprintf("no %s or %s PNG: the %d objects of %s are not imported (dsbuild reads VOC segmentation, not boxes)", dirSegObject, dirSegClass, n, xmlFile))
			}
		}
	case xa != nil && (xa.Width != 0 || xa.Height != 0) && (xa.Width != m.W || xa.Height != m.H):
		return fail(xmlFile, fmt.Errorf("<size> %dx%d differs from the segmentation PNGs' %dx%d", xa.Width, xa.Height, m.W, m.H))
	case obj == nil:
		ann = im.classObjects(s, cls)
	default:
		var err error
		if ann, err = im.objects(s, xa, xmlFile, obj, cls, &si.Warnings); err != nil {
			return fail(files[0], err)
		}
	}
	for _, t := range it.tags {
		ann.Tags = append(ann.Tags, dataset.Tag{Name: t})
	}
	si.Ann = ann
	return si
}

// regions is the per-value layout of an index map: which values occur, the
// box of each, and a crop of a value's pixels.
type regions struct {
	w       int
	present [256]bool
	boxes   [256]image.Rectangle
	in      func(i int, v uint8) bool // pixel i belongs to value v
}

func newRegions(w, h int, valueAt func(i int) (uint8, bool), in func(i int, v uint8) bool) *regions {
	r := &regions{w: w, in: in}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v, ok := valueAt(y*w + x)
			if !ok {
				continue
			}
			px := image.Rect(x, y, x+1, y+1)
			if !r.present[v] {
				r.present[v], r.boxes[v] = true, px
				continue
			}
			r.boxes[v] = r.boxes[v].Union(px)
		}
	}
	return r
}

// object is the bitmap object of value v's pixels.
func (r *regions) object(class string, v uint8) dataset.Object {
	b := r.boxes[v]
	m := &dataset.Mask{W: b.Dx(), H: b.Dy()}
	m.Bits = make([]uint8, m.W*m.H)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r.in(y*r.w+x, v) {
				m.Bits[(y-b.Min.Y)*m.W+x-b.Min.X] = 1
			}
		}
	}
	return dataset.Object{Class: class, Shape: dataset.ShapeBitmap, Mask: m, Origin: b.Min}
}

// classObjects turns a SegmentationClass map without its SegmentationObject
// map into one bitmap object per class index present (semantic
// segmentation has no instances), and the void pixels.
func (im *importer) classObjects(s *source, cls *indexMap) *dataset.Annotation {
	r := newRegions(cls.W, cls.H, func(i int) (uint8, bool) { return cls.Pix[i], cls.Pix[i] != 0 },
		func(i int, v uint8) bool { return cls.Pix[i] == v })
	a := &dataset.Annotation{Width: cls.W, Height: cls.H}
	for v := 1; v < Void; v++ {
		if r.present[v] && v <= len(s.classes) {
			a.Objects = append(a.Objects, r.object(s.classes[v-1], uint8(v)))
		}
	}
	if r.present[Void] && !im.dropVoid {
		a.Objects = append(a.Objects, r.object(Neutral, Void))
	}
	return a
}

// objects turns the two index maps into bitmap objects: one per instance
// value, classed as option class_source says, and the void pixels. xa is
// nil when the item has no XML; cls is nil when it has no SegmentationClass
// PNG (then the XML alone gives the classes). Disagreements that the option
// settles are added to warnings.
func (im *importer) objects(s *source, xa *annotation, xmlFile string, obj, cls *indexMap, warnings *[]string) (*dataset.Annotation, error) {
	w, h := obj.W, obj.H
	isVoid := func(i int) bool { return obj.Pix[i] == Void || (obj.Pix[i] == 0 && cls != nil && cls.Pix[i] == Void) }
	var hist [256]*[256]int
	r := newRegions(w, h, func(i int) (uint8, bool) {
		switch v := obj.Pix[i]; {
		case isVoid(i):
			return Void, true
		case v == 0:
			return 0, false
		default:
			if cls != nil {
				if hist[v] == nil {
					hist[v] = new([256]int)
				}
				hist[v][cls.Pix[i]]++
			}
			return v, true
		}
	}, func(i int, v uint8) bool {
		if v == Void {
			return isVoid(i)
		}
		return obj.Pix[i] == v
	})
	a := &dataset.Annotation{Width: w, Height: h}
	for k := 1; k < Void; k++ {
		if !r.present[k] {
			continue
		}
		class, warn, err := im.instanceClass(s, xa, xmlFile, k, hist[k])
		if err != nil {
			return nil, err
		}
		if warn != "" {
			*warnings = append(*warnings, warn)
		}
		a.Objects = append(a.Objects, r.object(class, uint8(k)))
	}
	if r.present[Void] && !im.dropVoid {
		a.Objects = append(a.Objects, r.object(Neutral, Void))
	}
	return a, nil
}

// instanceClass decides the class of instance k from the k-th <object> of
// the XML and the majority class index under its pixels in
// SegmentationClass (hist; nil without that PNG), void ignored (§2.5). When
// they agree, or only one of them names a class, that is the class (an
// <object> missing from an XML that exists counts as a disagreement).
// Otherwise option class_source decides: "mask" takes the mask's class
// (the XML's when the mask names none) and "xml" the XML's, each with a
// warning naming the instance and both classes; "error" fails the item.
func (im *importer) instanceClass(s *source, xa *annotation, xmlFile string, k int, hist *[256]int) (class, warning string, err error) {
	// What the XML says.
	xmlClass, xmlProblem := "", ""
	switch {
	case xa == nil:
	case k > len(xa.Objects):
		xmlProblem = fmt.Sprintf("instance %d has no <object> in the XML, which has %d", k, len(xa.Objects))
	case xa.Objects[k-1].Name == "":
		xmlProblem = fmt.Sprintf("instance %d: its <object> has no <name>", k)
	case s.classIdxs[xa.Objects[k-1].Name] == 0:
		xmlProblem = fmt.Sprintf("instance %d: class %q is not one of the %d classes (option classes)", k, xa.Objects[k-1].Name, len(s.classes))
	default:
		xmlClass = xa.Objects[k-1].Name
	}
	// What the mask says.
	best, n := -1, 0
	if hist != nil {
		for c, cnt := range hist {
			if c != Void && cnt > n {
				best, n = c, cnt
			}
		}
	}
	maskClass := ""
	if best >= 1 && best <= len(s.classes) {
		maskClass = s.classes[best-1]
	}
	switch {
	case xmlClass != "" && (maskClass == xmlClass || best < 0):
		return xmlClass, "", nil
	case xa == nil && maskClass != "":
		return maskClass, "", nil
	case xa == nil && hist == nil:
		return "", "", fmt.Errorf("instance %d: neither an XML nor a %s PNG gives its class", k, dirSegClass)
	case xa == nil:
		return "", "", fmt.Errorf("instance %d: there is no XML, and %s has %s under it", k, dirSegClass, s.describe(best))
	}
	// They disagree.
	conflict := xmlProblem
	if conflict == "" {
		conflict = fmt.Sprintf("instance %d is %q in the XML", k, xmlClass)
	}
	conflict += fmt.Sprintf(" but %s in %s", s.describe(best), dirSegClass)
	if best < 0 {
		conflict = xmlProblem // no mask to disagree with
	}
	switch {
	case im.classSource == sourceMask && maskClass != "":
		return maskClass, conflict + fmt.Sprintf("; the mask's %q is kept (option class_source = \"mask\")", maskClass), nil
	case im.classSource == sourceMask && xmlClass != "":
		return xmlClass, conflict + fmt.Sprintf("; the mask names no class, so the XML's %q is kept (option class_source = \"mask\")", xmlClass), nil
	case im.classSource == sourceXML && xmlClass != "":
		return xmlClass, conflict + fmt.Sprintf("; the XML's %q is kept (option class_source = \"xml\")", xmlClass), nil
	}
	if im.classSource == sourceError && xmlProblem == "" && maskClass != "" {
		conflict += " (option class_source = \"error\"; \"mask\" or \"xml\" would choose one)"
	}
	return "", "", errors.New(conflict)
}

// describe names a class index for an error message.
func (s *source) describe(c int) string {
	switch {
	case c < 0:
		return "only void"
	case c == 0:
		return "background (0)"
	case c <= len(s.classes):
		return fmt.Sprintf("%q (%d)", s.classes[c-1], c)
	}
	return fmt.Sprintf("index %d, which has no class", c)
}
