// Package mapillary reads Mapillary Vistas datasets, versions 1.2 and 2.0
// (format "mapillary_vistas"; formats.md §4), as the release archive lays
// them out:
//
//	config_v1.2.json, config_v2.0.json         label lists (either or both)
//	<split>/images/<key>.jpg                   the images
//	<split>/v1.2/instances/<key>.png           16-bit gray, label<<8 | instance
//	<split>/v2.0/instances/<key>.png
//
// Versions 1.0 and 1.1 (a root config.json and <split>/instances/<key>.png,
// no version directory) are read too when the version is "auto".
//
// # Items
//
// Every top-level directory with an images/ directory is a split
// (training, validation, testing). An item is named "<split>/<image file>",
// carries the image tag <split> (a tag without a value, declared in the
// returned meta), and has the size of its instance map. Items are emitted
// sorted by name, without reading their maps: each map is read when the
// import step needs it (dataset.SourceItem.Load), so that the step reads
// maps on its worker pool and keeps the result of an item whose image, map
// and config did not change. A split without a version directory (<split>/v2.0 for
// v2.0; the testing split ships without labels) gives items without
// objects and without a size. An image without its instance map, an
// instance map without its image, an undecodable or oversized instance
// map, an instance map that is not 16-bit grayscale, one whose size differs
// from its image's, and a pixel whose label id is not in the config are
// errors of that item only.
//
// # Objects
//
// The label id is the label's position in the config's "labels" list; a
// pixel value v has label v>>8 and instance v&0xFF. The labels PNGs are not
// read: the instance map holds the label too. Each label is one of:
//
//   - an instance label ("instances": true): one bitmap object per distinct
//     pixel value, i.e. per (label, instance);
//   - a crowd label ("instances": false and a name ending in "-group", e.g.
//     v2.0's human--person--person-group): one bitmap object per label, with
//     the object tag "group", always kept (the class mapping may route it);
//   - a void label ("instances": false and a name starting with "void--",
//     e.g. void--unlabeled, void--ego-vehicle): dropped unless void = "keep",
//     then one bitmap object per label;
//   - a stuff label (any other "instances": false label, e.g. road, sky):
//     dropped unless stuff = "keep", then one bitmap object per label.
//
// Class names are the labels' names as the config spells them (e.g.
// human--person in v1.2, human--person--individual in v2.0); the returned
// meta lists the labels that can give objects under the options, as bitmap
// classes with the config's colours. The tag "group" is declared when the
// config has a crowd label.
//
// # Options
//
//   - version = "auto" | "1.2" | "2.0" (default "auto"): which labels to
//     read. "auto" takes 2.0 when config_v2.0.json exists, else 1.2 when
//     config_v1.2.json exists, else the 1.0/1.1 layout with config.json.
//   - stuff = "drop" | "keep" (default "drop"): whether stuff labels give
//     objects.
//   - void = "drop" | "keep" (default "drop"): whether void labels give
//     objects.
package mapillary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // image.DecodeConfig of the images
	_ "image/png"  // image.DecodeConfig of the images
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"dsbuild/dataset"
	"dsbuild/dataset/internal/instancemap"
)

// Format is the name of this format in recipes.
const Format = "mapillary_vistas"

// GroupTag is the object tag of crowd regions.
const GroupTag = "group"

// NewImporter returns the Mapillary Vistas reader configured by opt (see the
// package documentation).
func NewImporter(opt dataset.Options) (dataset.Importer, error) {
	imp := &importer{version: opt.Take("version", "auto")}
	stuff, void := opt.Take("stuff", "drop"), opt.Take("void", "drop")
	if err := opt.Done(Format); err != nil {
		return nil, err
	}
	switch imp.version {
	case "auto", "1.2", "2.0":
	default:
		return nil, fmt.Errorf("format %s: option version is %q; it must be \"auto\", \"1.2\" or \"2.0\"", Format, imp.version)
	}
	var err error
	if imp.stuff, err = instancemap.KeepDrop(Format, "stuff", stuff); err != nil {
		return nil, err
	}
	if imp.void, err = instancemap.KeepDrop(Format, "void", void); err != nil {
		return nil, err
	}
	return imp, nil
}

type importer struct {
	version     string
	stuff, void bool
}

// layout says where one version's files are.
type layout struct {
	version string // "1.2", "2.0" or "1.1" (the 1.0/1.1 layout)
	config  string // config file
	subdir  string // per-split directory holding instances/, "" for 1.0/1.1
}

var layouts = map[string]layout{
	"2.0": {"2.0", "config_v2.0.json", "v2.0"},
	"1.2": {"1.2", "config_v1.2.json", "v1.2"},
	"1.1": {"1.1", "config.json", ""},
}

// Label kinds.
const (
	kindInstance = iota
	kindCrowd
	kindStuff
	kindVoid
)

type label struct {
	name  string
	color string
	kind  int
}

// config is a parsed config file.
type config struct {
	labels []label
	// lut has 65536 entries: pixel value → object key, instancemap.Drop
	// (a label whose regions are dropped) or instancemap.Bad (a label id
	// outside the config).
	lut []int32
}

func (imp *importer) findLayout(src dataset.Source) (layout, error) {
	if imp.version != "auto" {
		l := layouts[imp.version]
		if _, err := fs.Stat(src, l.config); err != nil {
			return l, fmt.Errorf("%s: %s: %w (version = %q)", Format, l.config, notFound(err), imp.version)
		}
		return l, nil
	}
	for _, v := range []string{"2.0", "1.2", "1.1"} {
		l := layouts[v]
		_, err := fs.Stat(src, l.config)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return l, fmt.Errorf("%s: %s: %w", Format, l.config, err)
		}
	}
	return layout{}, fmt.Errorf("%s: no config_v2.0.json, config_v1.2.json or config.json at the top of the source", Format)
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("no such file")
	}
	return err
}

// readConfig parses the config file: {"labels": [{name, readable, color,
// instances, evaluate}, ...]}, the label id being the position.
func (imp *importer) readConfig(src dataset.Source, file string) (*config, error) {
	raw, err := fs.ReadFile(src, file)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", Format, file, err)
	}
	var doc struct {
		Labels []struct {
			Name      *string         `json:"name"`
			Color     json.RawMessage `json:"color"`
			Instances *bool           `json:"instances"`
		} `json:"labels"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", Format, file, err)
	}
	if len(doc.Labels) == 0 {
		return nil, fmt.Errorf("%s: %s: no labels", Format, file)
	}
	cfg := &config{}
	for i, l := range doc.Labels {
		if l.Name == nil || *l.Name == "" {
			return nil, fmt.Errorf("%s: %s: label %d has no name", Format, file, i)
		}
		lb := label{name: *l.Name}
		if len(l.Color) > 0 && string(l.Color) != "null" {
			var c []int
			if err := json.Unmarshal(l.Color, &c); err != nil || len(c) != 3 || !byteRange(c) {
				return nil, fmt.Errorf("%s: %s: label %d (%s): color %s is not [r, g, b]", Format, file, i, lb.name, l.Color)
			}
			lb.color = fmt.Sprintf("#%02X%02X%02X", c[0], c[1], c[2])
		}
		switch {
		case l.Instances != nil && *l.Instances:
			lb.kind = kindInstance
		case strings.HasSuffix(lb.name, "-group"):
			lb.kind = kindCrowd
		case strings.HasPrefix(lb.name, "void--") || lb.name == "unlabeled":
			lb.kind = kindVoid
		default:
			lb.kind = kindStuff
		}
		cfg.labels = append(cfg.labels, lb)
	}
	cfg.lut = imp.lut(cfg.labels)
	return cfg, nil
}

// lut returns the lookup table of labels under the options: pixel value →
// object key, instancemap.Drop or instancemap.Bad.
func (imp *importer) lut(labels []label) []int32 {
	lut := make([]int32, 1<<16)
	for v := range lut {
		id := v >> 8
		switch {
		case id >= len(labels):
			lut[v] = instancemap.Bad
		case imp.keeps(labels[id].kind):
			if labels[id].kind == kindInstance {
				lut[v] = int32(v)
			} else {
				lut[v] = int32(id << 8) // one object per label
			}
		default:
			lut[v] = instancemap.Drop
		}
	}
	return lut
}

func byteRange(c []int) bool {
	for _, v := range c {
		if v < 0 || v > 255 {
			return false
		}
	}
	return true
}

func (imp *importer) keeps(kind int) bool {
	switch kind {
	case kindInstance, kindCrowd:
		return true
	case kindStuff:
		return imp.stuff
	case kindVoid:
		return imp.void
	}
	return false
}

// job is one item to read.
type job struct {
	name, split  string
	image        string // path of the image, "" if missing
	inst         string // path of the instance map, "" for an unlabelled split
	missingImage bool   // an instance map without an image
	missingInst  bool   // an image without its instance map
}

var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true}

// Import implements dataset.Importer.
func (imp *importer) Import(ctx context.Context, src dataset.Source, emit func(*dataset.SourceItem) error) (*dataset.Meta, error) {
	lay, err := imp.findLayout(src)
	if err != nil {
		return nil, err
	}
	cfg, err := imp.readConfig(src, lay.config)
	if err != nil {
		return nil, err
	}
	top, err := fs.ReadDir(src, ".")
	if err != nil {
		return nil, fmt.Errorf("%s: reading the source: %w", Format, err)
	}
	meta := &dataset.Meta{}
	var jobs []job
	for _, e := range top {
		split := e.Name()
		if !e.IsDir() || strings.HasPrefix(split, ".") {
			continue
		}
		imgDir := path.Join(split, "images")
		if fi, err := fs.Stat(src, imgDir); err != nil || !fi.IsDir() {
			continue
		}
		meta.AddTag(dataset.TagMeta{Name: split, ValueType: dataset.TagNone})
		sj, err := splitJobs(src, lay, split)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, sj...)
	}
	if len(meta.Tags) == 0 {
		return nil, fmt.Errorf("%s: the source has no <split>/images directory (e.g. training/images)", Format)
	}
	for _, l := range cfg.labels {
		if imp.keeps(l.kind) {
			meta.AddClass(dataset.Class{Title: l.name, Shape: dataset.ShapeBitmap, Color: l.color})
		}
		if l.kind == kindCrowd {
			meta.AddTag(dataset.TagMeta{Name: GroupTag, ValueType: dataset.TagNone})
		}
	}
	meta.Sort()
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].name < jobs[j].name })
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := emit(imp.read(src, lay, cfg, j)); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

// splitJobs lists the items of one split.
func splitJobs(src dataset.Source, lay layout, split string) ([]job, error) {
	imgDir := path.Join(split, "images")
	entries, err := fs.ReadDir(src, imgDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", Format, imgDir, err)
	}
	// The instance directory; a split without its version directory (or,
	// in the 1.0/1.1 layout, without labels/ and instances/) is unlabelled.
	labelled := false
	instDir := path.Join(split, lay.subdir, "instances")
	if lay.subdir != "" {
		if fi, err := fs.Stat(src, path.Join(split, lay.subdir)); err == nil && fi.IsDir() {
			labelled = true
		}
	} else {
		for _, d := range []string{"instances", "labels"} {
			if fi, err := fs.Stat(src, path.Join(split, d)); err == nil && fi.IsDir() {
				labelled = true
			}
		}
	}
	insts := map[string]string{} // key → file name
	if labelled {
		ie, err := fs.ReadDir(src, instDir)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", Format, instDir, notFound(err))
		}
		for _, e := range ie {
			n := e.Name()
			if e.IsDir() || strings.HasPrefix(n, ".") || strings.ToLower(path.Ext(n)) != ".png" {
				continue
			}
			insts[strings.TrimSuffix(n, path.Ext(n))] = n
		}
	}
	var jobs []job
	used := map[string]bool{}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !imageExts[strings.ToLower(path.Ext(n))] {
			continue
		}
		j := job{name: split + "/" + n, split: split, image: path.Join(imgDir, n)}
		if labelled {
			key := strings.TrimSuffix(n, path.Ext(n))
			if f, ok := insts[key]; ok {
				j.inst = path.Join(instDir, f)
				used[key] = true
			} else {
				j.inst = path.Join(instDir, key+".png")
				j.missingInst = true
			}
		}
		jobs = append(jobs, j)
	}
	for key, f := range insts {
		if !used[key] {
			jobs = append(jobs, job{name: split + "/" + key + ".jpg", split: split, inst: path.Join(instDir, f), missingImage: true})
		}
	}
	return jobs, nil
}

// read makes one item; its instance map is read when the import needs it
// (instancemap.Format.Read), and its objects depend on the map and on the
// config that gives the labels.
func (imp *importer) read(src dataset.Source, lay layout, cfg *config, j job) *dataset.SourceItem {
	ann := &dataset.Annotation{Tags: []dataset.Tag{{Name: j.split}}}
	return maps.Read(src, instancemap.Item{Name: j.name, Image: j.image, Map: j.inst, Deps: []string{lay.config}}, func() (string, error) {
		switch {
		case j.missingImage:
			return j.inst, fmt.Errorf("instance map has no image in %s/images", j.split)
		case j.missingInst:
			return j.inst, errors.New("the image has no instance map")
		}
		return "", nil
	}, ann, cfg.objects)
}

// maps describes the instance maps; the images are JPEG or PNG.
var maps = instancemap.Format{What: "instance map", ImageConfig: func(r io.Reader) (image.Config, error) {
	c, _, err := image.DecodeConfig(r)
	return c, err
}}

// objects turns an instance map into bitmap objects, sorted by key.
func (cfg *config) objects(g *image.Gray16) ([]dataset.Object, error) {
	objs, err := instancemap.Objects(g, cfg.lut, func(key int32) (string, []dataset.Tag) {
		l := cfg.labels[key>>8]
		if l.kind == kindCrowd {
			return l.name, []dataset.Tag{{Name: GroupTag}}
		}
		return l.name, nil
	})
	if err != nil {
		var bad instancemap.BadValue
		if errors.As(err, &bad) {
			return nil, fmt.Errorf("pixel (%d, %d) has value %d: label id %d is not in the config (%d labels)", bad.X, bad.Y, bad.V, bad.V>>8, len(cfg.labels))
		}
		return nil, err
	}
	return objs, nil
}
