package coco

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"dsbuild/cache"
	"dsbuild/dataset"
)

type importer struct {
	annGlob string
	images  string // "" detects the layout (imageLayouts)
}

// imageLayouts are the image directories of a subset that the importer
// looks for, in this order, when option images is not set: the official
// layout (<subset>/), Datumaro's and current CVAT's (images/<subset>/),
// and older CVAT's merged one (images/).
var imageLayouts = []string{"{subset}", "images/{subset}", "images"}

// NewImporter returns the COCO reader configured by opt (see the package
// documentation for its options).
func NewImporter(opt dataset.Options) (dataset.Importer, error) {
	im := &importer{
		annGlob: opt.Take("annotations", DefaultAnnotations),
		images:  opt.Take("images", ""),
	}
	if err := opt.Done(Format); err != nil {
		return nil, err
	}
	if _, err := path.Match(im.annGlob, ""); err != nil || im.annGlob == "" {
		return nil, fmt.Errorf("format %s: option annotations = %q is not a valid glob", Format, im.annGlob)
	}
	if p := strings.ReplaceAll(im.images, "{subset}", "x"); im.images != "" && !fs.ValidPath(p) {
		return nil, fmt.Errorf("format %s: option images = %q is not a clean relative path (slash-separated, no .. or leading /)", Format, im.images)
	}
	return im, nil
}

type annFile struct {
	path, subset string
}

// Import implements dataset.Importer.
func (im *importer) Import(ctx context.Context, src dataset.Source, emit func(*dataset.SourceItem) error) (*dataset.Meta, error) {
	matches, err := fs.Glob(src, im.annGlob)
	if err != nil {
		return nil, fmt.Errorf("coco: annotations %q: %w", im.annGlob, err)
	}
	var files []annFile
	seen := map[string]string{}
	for _, p := range matches {
		if st, err := fs.Stat(src, p); err != nil || st.IsDir() {
			continue
		}
		subset := strings.TrimPrefix(strings.TrimSuffix(path.Base(p), path.Ext(p)), "instances_")
		if err := cache.ValidName(subset); err != nil || strings.HasPrefix(subset, ".") {
			return nil, fmt.Errorf("coco: %s: subset name %q cannot be a dataset name", p, subset)
		}
		if prev, ok := seen[subset]; ok {
			return nil, fmt.Errorf("coco: %s and %s both give subset %q", prev, p, subset)
		}
		seen[subset] = p
		files = append(files, annFile{p, subset})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("coco: no annotation file matches %q", im.annGlob)
	}
	// Item names are "<subset>/<file>": ordering files by subset+"/" makes
	// the concatenation of the sorted per-file sequences sorted.
	sort.Slice(files, func(i, j int) bool { return files[i].subset+"/" < files[j].subset+"/" })
	meta := &dataset.Meta{}
	meta.AddTag(dataset.TagMeta{Name: CrowdTag, ValueType: dataset.TagNone})
	for _, f := range files {
		meta.AddTag(dataset.TagMeta{Name: f.subset, ValueType: dataset.TagNone})
		if err := im.importFile(ctx, src, f, meta, emit); err != nil {
			return nil, err
		}
	}
	meta.Sort()
	return meta, nil
}

// imageRec is one entry of the images table.
type imageRec struct {
	index    int    // position in images[]
	key      int32  // interned id
	fileName string // as written
	w, h     int
	err      error // a problem of this image alone
}

// annRef locates one annotation's packed record in the spool.
type annRef struct {
	img   int32 // interned image id
	index int32 // position in annotations[]
	rec   spoolRef
}

// rawAnn is an annotation with the fields the importer uses, undecoded.
type rawAnn struct {
	ID           json.RawMessage `json:"id"`
	ImageID      json.RawMessage `json:"image_id"`
	CategoryID   json.RawMessage `json:"category_id"`
	Iscrowd      json.RawMessage `json:"iscrowd"`
	Bbox         json.RawMessage `json:"bbox"`
	Segmentation json.RawMessage `json:"segmentation"`
}

// cocoFile is what the importer keeps of one annotation file.
type cocoFile struct {
	path, subset string
	images       []imageRec
	keys         map[string]int32 // image id key → interned index
	keyNames     []string
	cats         map[string]string // category id key → name
	refs         []annRef
	spool        spool
	scratch      []byte
	badImageID   []int32 // annotations whose image_id is missing or malformed
}

func (c *cocoFile) intern(k string) int32 {
	if i, ok := c.keys[k]; ok {
		return i
	}
	i := int32(len(c.keyNames))
	c.keys[k] = i
	c.keyNames = append(c.keyNames, k)
	return i
}

// fileError is an error that spoils the whole file.
func (c *cocoFile) fileError(format string, args ...any) error {
	return fmt.Errorf("coco: %s: %s", c.path, fmt.Sprintf(format, args...))
}

func (im *importer) importFile(ctx context.Context, src dataset.Source, af annFile, meta *dataset.Meta, emit func(*dataset.SourceItem) error) error {
	c := &cocoFile{path: af.path, subset: af.subset, keys: map[string]int32{}, cats: map[string]string{}}
	defer c.spool.close()
	if err := c.parse(ctx, src); err != nil {
		return err
	}
	// Classes: every category name (the meta is sorted in the end).
	names := make([]string, 0, len(c.cats))
	for _, n := range c.cats {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		meta.AddClass(dataset.Class{Title: n, Shape: dataset.ShapeAny})
	}
	imgDir, err := im.imageDir(src, c)
	if err != nil {
		return err
	}
	items := c.items(imgDir)
	slices.SortStableFunc(c.refs, func(a, b annRef) int {
		if a.img != b.img {
			return int(a.img) - int(b.img)
		}
		return int(a.index) - int(b.index)
	})
	// byKey[k] is the range of refs for image key k.
	type span struct{ lo, hi int }
	byKey := make([]span, len(c.keyNames))
	for i := 0; i < len(c.refs); {
		j := i
		for j < len(c.refs) && c.refs[j].img == c.refs[i].img {
			j++
		}
		byKey[c.refs[i].img] = span{i, j}
		i = j
	}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		si := &dataset.SourceItem{Name: it.name, Image: it.image, File: c.path}
		err := it.err
		if err == nil && it.img != nil {
			if _, serr := fs.Stat(src, it.image); serr != nil {
				err = fmt.Errorf("image %s (file_name %q) not found", it.image, it.img.fileName)
			}
		}
		if err == nil && it.img != nil {
			sp := byKey[it.img.key]
			si.Ann, err = c.annotation(it.img, c.refs[sp.lo:sp.hi])
		}
		if err != nil {
			si.Ann = nil
			si.Err = &dataset.ItemError{Item: it.name, File: c.path, Err: err}
		}
		if err := emit(si); err != nil {
			return err
		}
	}
	return nil
}

// imageDir finds the directory of the subset's images: the one option
// images names, or the first of imageLayouts that exists and holds the
// file of the first image whose file_name is a clean path (else the first
// that exists). A file without images needs no directory.
func (im *importer) imageDir(src dataset.Source, c *cocoFile) (string, error) {
	isDir := func(d string) bool {
		st, err := fs.Stat(src, d)
		return err == nil && st.IsDir()
	}
	if im.images != "" {
		d := strings.ReplaceAll(im.images, "{subset}", c.subset)
		if len(c.images) > 0 && !isDir(d) {
			return "", c.fileError("image directory %s (option images = %q) does not exist", d, im.images)
		}
		return d, nil
	}
	probe := ""
	for _, r := range c.images {
		if r.err == nil && fs.ValidPath(r.fileName) && !strings.Contains(r.fileName, `\`) {
			probe = r.fileName
			break
		}
	}
	var dirs, existing []string
	for _, l := range imageLayouts {
		d := strings.ReplaceAll(l, "{subset}", c.subset)
		dirs = append(dirs, d)
		if !isDir(d) {
			continue
		}
		if probe != "" {
			if st, err := fs.Stat(src, path.Join(d, probe)); err == nil && !st.IsDir() {
				return d, nil
			}
		}
		existing = append(existing, d)
	}
	switch {
	case len(existing) > 0:
		return existing[0], nil
	case len(c.images) == 0:
		return strings.ReplaceAll(imageLayouts[0], "{subset}", c.subset), nil
	}
	return "", c.fileError("image directory %s (or %s) does not exist; option images names another", dirs[0], strings.Join(dirs[1:], ", "))
}

// item is an item to emit: an image, or the annotations of an unknown image.
type item struct {
	name  string
	image string
	img   *imageRec
	err   error
}

// items lists the file's items, sorted by name, with the problems found in
// the tables.
func (c *cocoFile) items(imgDir string) []*item {
	byName := map[string]*item{}
	byKey := map[int32]*item{}
	var out []*item
	for i := range c.images {
		r := &c.images[i]
		name := c.subset + "/" + path.Base(r.fileName)
		it := &item{name: name, img: r, err: r.err}
		switch {
		case it.err != nil:
		case !fs.ValidPath(r.fileName) || strings.Contains(r.fileName, `\`):
			it.err = fmt.Errorf("images[%d]: file_name %q is not a clean relative path: it would escape the image directory %s", r.index, r.fileName, imgDir)
		default:
			it.image = path.Join(imgDir, r.fileName)
			if err := dataset.ValidItemName(name); err != nil {
				it.err = fmt.Errorf("images[%d]: %w", r.index, err)
			}
		}
		if prev := byName[name]; prev != nil {
			prev.err = fmt.Errorf("images[%d] and images[%d] have the same file name %q", prev.img.index, r.index, path.Base(r.fileName))
			if byKey[r.key] == nil {
				byKey[r.key] = prev // its annotations belong to the failed item
			}
			continue
		}
		if prev := byKey[r.key]; prev != nil {
			err := fmt.Errorf("images[%d] and images[%d] have the same id %s", prev.img.index, r.index, showKey(c.keyNames[r.key]))
			prev.err, it.err = err, err
		}
		byName[name], byKey[r.key] = it, it
		out = append(out, it)
	}
	// Annotations of ids that no image has, one error item per id (in the
	// order ids first appear), merged into any item of the same name.
	unknown := map[int32][]int32{}
	var keys []int32
	for _, ref := range c.refs {
		if byKey[ref.img] == nil {
			if unknown[ref.img] == nil {
				keys = append(keys, ref.img)
			}
			unknown[ref.img] = append(unknown[ref.img], ref.index)
		}
	}
	addError := func(name string, err error) {
		if it := byName[name]; it != nil {
			if it.err == nil {
				it.err = err
			}
			return
		}
		it := &item{name: name, err: err}
		byName[name] = it
		out = append(out, it)
	}
	for _, k := range keys {
		idx := unknown[k]
		id := showKey(c.keyNames[k])
		addError(c.subset+"/image_id="+safeName(id),
			fmt.Errorf("annotations[%d]%s refer to image_id %s, which is not in images", idx[0], more(len(idx)), id))
	}
	if len(c.badImageID) > 0 {
		addError(c.subset+"/image_id=?",
			fmt.Errorf("annotations[%d]%s have no valid image_id", c.badImageID[0], more(len(c.badImageID))))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func more(n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n-1)
}

// safeName makes an id printable as an item name.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r == '\n' || r == '\r' {
			return '_'
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// parse streams the file: images and categories into tables, annotations
// into the spool.
func (c *cocoFile) parse(ctx context.Context, src dataset.Source) error {
	f, err := src.Open(c.path)
	if err != nil {
		return fmt.Errorf("coco: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	wrap := func(err error) error {
		var fe *fileErr
		if errors.As(err, &fe) {
			return c.fileError("%s", fe.msg)
		}
		return c.fileError("%v (near byte %d)", err, dec.InputOffset())
	}
	tok, err := dec.Token()
	if err == io.EOF {
		return c.fileError("empty file: not JSON")
	}
	if err != nil {
		return wrap(fmt.Errorf("not JSON: %w", err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return c.fileError("the top level is not a JSON object")
	}
	sawImages := false
	for dec.More() {
		tok, err := token(dec)
		if err != nil {
			return wrap(err)
		}
		key, _ := tok.(string)
		switch key {
		case "images":
			sawImages = true
			err = eachElement(dec, key, func(i int) error { return c.image(dec, i) })
		case "annotations":
			err = eachElement(dec, key, func(i int) error {
				if i%4096 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				return c.annotationRecord(dec, i)
			})
		case "categories":
			err = eachElement(dec, key, func(i int) error { return c.category(dec, i) })
		default:
			err = skipValue(dec)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return wrap(err)
		}
	}
	if _, err := token(dec); err != nil {
		return wrap(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return c.fileError("data after the top-level object (near byte %d)", dec.InputOffset())
	}
	if !sawImages {
		return c.fileError("no \"images\" array")
	}
	return nil
}

// fileErr is a problem found in a well-formed table entry.
type fileErr struct{ msg string }

func (e *fileErr) Error() string { return e.msg }

func badEntry(format string, args ...any) error {
	return &fileErr{fmt.Sprintf(format, args...)}
}

// eachElement reads the array named key, calling fn for each element (fn
// decodes it and names it in its errors).
func eachElement(dec *json.Decoder, key string, fn func(i int) error) error {
	tok, err := token(dec)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return badEntry("%q is not an array", key)
	}
	for i := 0; dec.More(); i++ {
		if err := fn(i); err != nil {
			return err
		}
	}
	if _, err = token(dec); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// token is dec.Token, where the end of the input is unexpected.
func token(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return tok, err
}

// skipValue reads one value of any depth without keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := token(dec)
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

func (c *cocoFile) image(dec *json.Decoder, i int) error {
	var r struct {
		ID       json.RawMessage `json:"id"`
		FileName *string         `json:"file_name"`
		Width    json.RawMessage `json:"width"`
		Height   json.RawMessage `json:"height"`
	}
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf("images[%d]: %w", i, err)
	}
	k, err := idKey(r.ID)
	if err != nil {
		return badEntry("images[%d]: id: %v", i, err)
	}
	if r.FileName == nil || *r.FileName == "" {
		return badEntry("images[%d] (id %s): no file_name", i, showKey(k))
	}
	rec := imageRec{index: i, key: c.intern(k), fileName: *r.FileName}
	w, werr := optInt(r.Width)
	h, herr := optInt(r.Height)
	switch {
	case werr != nil:
		rec.err = fmt.Errorf("images[%d]: width: %v", i, werr)
	case herr != nil:
		rec.err = fmt.Errorf("images[%d]: height: %v", i, herr)
	case w < 0 || h < 0 || (w > 0 && h > int64(maxPixels)/w):
		rec.err = fmt.Errorf("images[%d]: size %dx%d is negative or exceeds %d pixels", i, w, h, maxPixels)
	case (w == 0) != (h == 0):
		rec.err = fmt.Errorf("images[%d]: size %dx%d has a zero side", i, w, h)
	default:
		rec.w, rec.h = int(w), int(h)
	}
	c.images = append(c.images, rec)
	return nil
}

func (c *cocoFile) category(dec *json.Decoder, i int) error {
	var r struct {
		ID   json.RawMessage `json:"id"`
		Name *string         `json:"name"`
	}
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf("categories[%d]: %w", i, err)
	}
	k, err := idKey(r.ID)
	if err != nil {
		return badEntry("categories[%d]: id: %v", i, err)
	}
	if r.Name == nil || *r.Name == "" {
		return badEntry("categories[%d] (id %s): no name", i, showKey(k))
	}
	if prev, ok := c.cats[k]; ok && prev != *r.Name {
		return badEntry("categories[%d]: id %s is both %q and %q", i, showKey(k), prev, *r.Name)
	}
	c.cats[k] = *r.Name
	return nil
}

// annotationRecord reads one annotation and packs what the import needs.
func (c *cocoFile) annotationRecord(dec *json.Decoder, i int) error {
	if i > math32 {
		return badEntry("more than %d annotations", math32)
	}
	var r rawAnn
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badEntry("annotations[%d] is not an object", i)
		}
		return fmt.Errorf("annotations[%d]: %w", i, err)
	}
	k, err := idKey(r.ImageID)
	if err != nil {
		c.badImageID = append(c.badImageID, int32(i))
		return nil
	}
	rec := c.scratch[:0]
	for _, f := range [][]byte{r.ID, r.CategoryID, r.Iscrowd, r.Bbox, r.Segmentation} {
		if bytes.ContainsAny(f, " \t\r\n") {
			var b bytes.Buffer
			if err := json.Compact(&b, f); err != nil {
				return fmt.Errorf("annotations[%d]: %w", i, err)
			}
			f = b.Bytes()
		}
		rec = appendField(rec, f)
	}
	c.scratch = rec
	ref, err := c.spool.add(rec)
	if err != nil {
		return fmt.Errorf("annotations[%d]: %w", i, err)
	}
	c.refs = append(c.refs, annRef{img: c.intern(k), index: int32(i), rec: ref})
	return nil
}

const math32 = 1<<31 - 1

// annotation decodes the annotations of one image.
func (c *cocoFile) annotation(img *imageRec, refs []annRef) (*dataset.Annotation, error) {
	a := &dataset.Annotation{Width: img.w, Height: img.h, Tags: []dataset.Tag{{Name: c.subset}}}
	for _, ref := range refs {
		var r rawAnn
		rec, err := c.spool.get(ref.rec)
		if err == nil {
			err = splitRecord(rec, &r)
		}
		if err != nil {
			return nil, fmt.Errorf("annotations[%d]: %w", ref.index, err)
		}
		objs, err := c.objects(&r, img.w, img.h)
		if err != nil {
			id := ""
			if k, kerr := idKey(r.ID); kerr == nil {
				id = " (id " + showKey(k) + ")"
			}
			return nil, fmt.Errorf("annotations[%d]%s: %w", ref.index, id, err)
		}
		a.Objects = append(a.Objects, objs...)
	}
	return a, nil
}
