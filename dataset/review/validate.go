package review

// This file checks a review package as each tool reads it: the rules are
// written down in docs/loop.md ("What each tool requires of a package").

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ValidatePackage checks the review package in dir as Supervisely, CVAT
// and Label Studio read it (see [ValidateSupervisely], [ValidateCVAT] and
// [ValidateLabelStudio]). It returns nil, or an error listing every
// problem (up to 20), each naming its file.
func ValidatePackage(dir string) error {
	var v validator
	v.supervisely(filepath.Join(dir, SuperviselyDir), true)
	v.cvat(filepath.Join(dir, CVATDir))
	v.labelStudio(filepath.Join(dir, LabelStudioDir))
	return v.err()
}

// ValidateSupervisely checks a Supervisely project as the Supervisely SDK
// loads it (ProjectMeta, Annotation.from_json): meta.json declares classes
// (title, a known shape, a #RRGGBB color) and tags (name, a known
// value_type, values for oneof_string only, applicable_type when given);
// every <dataset>/ann/<file>.json has size.width and size.height (positive
// integers), a tags and an objects array; every tag, of the image or of an
// object, is declared, its value valid for the value type (none: absent or
// null; any_number: a number; any_string: a string; oneof_string: one of
// the values) and its applicable_type allows it there; every object's
// classTitle is declared, its geometryType is the class's shape (or the
// class's shape is any) and its geometry has the fields that type needs.
// With images set, every annotation has its image <dataset>/img/<file>.
func ValidateSupervisely(dir string, images bool) error {
	var v validator
	v.supervisely(dir, images)
	return v.err()
}

// ValidateCVAT checks the CVAT task of a package directory (annotations.xml
// and labels.json) as CVAT's "CVAT for images 1.1" import reads it: every
// label used by a shape or tag is declared in meta/task/labels (a shape's
// label not of type tag, a tag's of type tag or any), every attribute is
// declared for its label with a value among its values, images have unique
// integer ids, unique names and positive integer sizes, boxes have numeric
// corners in order, polygons at least three numeric points, masks an RLE
// whose runs cover their width × height; labels.json declares the same
// labels, types and attributes.
func ValidateCVAT(dir string) error {
	var v validator
	v.cvat(dir)
	return v.err()
}

// ValidateLabelStudio checks the Label Studio project of a package
// directory (config.xml and tasks.json) as Label Studio imports it: tasks
// are an array of objects whose data holds every variable the config's
// Image tag names (a non-empty string URL); predictions have a
// model_version and a result array whose items have an id, a type, a
// from_name naming a control of that type in the config, to_name naming
// its Image, and a value of that type (labels declared under the control;
// coordinates numbers in [0, 100]; brush RLE a list of integers).
func ValidateLabelStudio(dir string) error {
	var v validator
	v.labelStudio(dir)
	return v.err()
}

const maxValidateProblems = 20

type validator struct {
	problems []string
	more     int
}

func (v *validator) add(file, format string, a ...any) {
	if len(v.problems) == maxValidateProblems {
		v.more++
		return
	}
	v.problems = append(v.problems, file+": "+fmt.Sprintf(format, a...))
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	msg := strings.Join(v.problems, "\n")
	if v.more > 0 {
		msg += fmt.Sprintf("\nand %d more problems", v.more)
	}
	return errors.New(msg)
}

// readJSON decodes file with numbers kept as json.Number.
func (v *validator) readJSON(file string) (any, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		v.add(file, "%v", err)
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		v.add(file, "not JSON: %v", err)
		return nil, false
	}
	return x, true
}

var hexColor = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// isInt reports whether x is a JSON integer.
func isInt(x any) bool {
	n, ok := x.(json.Number)
	if !ok {
		return false
	}
	_, err := strconv.ParseInt(string(n), 10, 64)
	return err == nil
}

func num(x any) (float64, bool) {
	n, ok := x.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// svTagDef is a tag definition of meta.json.
type svTagDef struct {
	valueType  string
	values     map[string]bool
	applicable string
}

var svShapes = map[string]bool{"bitmap": true, "polygon": true, "rectangle": true, "line": true, "point": true, "any": true}

func (v *validator) supervisely(dir string, images bool) {
	metaFile := filepath.Join(dir, "meta.json")
	x, ok := v.readJSON(metaFile)
	if !ok {
		return
	}
	meta, ok := x.(map[string]any)
	if !ok {
		v.add(metaFile, "not a JSON object")
		return
	}
	classes := map[string]string{}
	cl, ok := meta["classes"].([]any)
	if !ok {
		v.add(metaFile, `"classes" is not an array`)
	}
	for i, c := range cl {
		o, _ := c.(map[string]any)
		title, _ := o["title"].(string)
		shape, _ := o["shape"].(string)
		color, _ := o["color"].(string)
		switch {
		case title == "":
			v.add(metaFile, "class %d has no title", i)
		case classes[title] != "":
			v.add(metaFile, "class %q is declared twice", title)
		case !svShapes[shape]:
			v.add(metaFile, "class %q: shape %q is not one Supervisely knows", title, shape)
		case !hexColor.MatchString(color):
			v.add(metaFile, "class %q: color %q is not #RRGGBB", title, color)
		default:
			classes[title] = shape
		}
	}
	tags := map[string]*svTagDef{}
	tl, ok := meta["tags"].([]any)
	if !ok {
		v.add(metaFile, `"tags" is not an array`)
	}
	for i, t := range tl {
		o, _ := t.(map[string]any)
		name, _ := o["name"].(string)
		vt, _ := o["value_type"].(string)
		if name == "" {
			v.add(metaFile, "tag %d has no name", i)
			continue
		}
		if tags[name] != nil {
			v.add(metaFile, "tag %q is declared twice", name)
			continue
		}
		d := &svTagDef{valueType: vt, applicable: "all"}
		switch vt {
		case "none", "any_number", "any_string":
			if _, has := o["values"]; has {
				v.add(metaFile, "tag %q: values are only for oneof_string", name)
			}
		case "oneof_string":
			vals, ok := o["values"].([]any)
			if !ok {
				v.add(metaFile, "tag %q: oneof_string needs a values array", name)
			}
			d.values = map[string]bool{}
			for _, s := range vals {
				str, ok := s.(string)
				if !ok {
					v.add(metaFile, "tag %q: value %v is not a string", name, s)
				}
				d.values[str] = true
			}
		default:
			v.add(metaFile, "tag %q: value_type %q is not one Supervisely knows", name, vt)
			continue
		}
		if c, has := o["color"]; has {
			if s, _ := c.(string); !hexColor.MatchString(s) {
				v.add(metaFile, "tag %q: color %v is not #RRGGBB", name, c)
			}
		}
		if a, has := o["applicable_type"]; has {
			s, _ := a.(string)
			if s != "all" && s != "imagesOnly" && s != "objectsOnly" {
				v.add(metaFile, "tag %q: applicable_type %v is not all, imagesOnly or objectsOnly", name, a)
			}
			d.applicable = s
		}
		tags[name] = d
	}
	tops, err := os.ReadDir(dir)
	if err != nil {
		v.add(dir, "%v", err)
		return
	}
	for _, d := range tops {
		if !d.IsDir() {
			continue
		}
		annDir := filepath.Join(dir, d.Name(), "ann")
		anns, err := os.ReadDir(annDir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			v.add(annDir, "%v", err)
			continue
		}
		for _, a := range anns {
			if a.IsDir() || !strings.HasSuffix(a.Name(), ".json") {
				continue
			}
			file := filepath.Join(annDir, a.Name())
			if images {
				img := filepath.Join(dir, d.Name(), "img", strings.TrimSuffix(a.Name(), ".json"))
				if _, err := os.Stat(img); err != nil {
					v.add(file, "its image %s is missing", img)
				}
			}
			v.svAnnotation(file, classes, tags)
		}
	}
}

func (v *validator) svAnnotation(file string, classes map[string]string, tags map[string]*svTagDef) {
	x, ok := v.readJSON(file)
	if !ok {
		return
	}
	ann, ok := x.(map[string]any)
	if !ok {
		v.add(file, "not a JSON object")
		return
	}
	size, _ := ann["size"].(map[string]any)
	for _, k := range []string{"width", "height"} {
		if f, ok := num(size[k]); !ok || !isInt(size[k]) || f <= 0 {
			v.add(file, "size.%s is %v, not a positive integer", k, size[k])
		}
	}
	if d, has := ann["description"]; has {
		if _, ok := d.(string); !ok {
			v.add(file, "description is not a string")
		}
	}
	v.svTags(file, "image", ann["tags"], tags, "imagesOnly")
	objs, ok := ann["objects"].([]any)
	if !ok {
		v.add(file, `"objects" is not an array`)
	}
	for i, o := range objs {
		obj, _ := o.(map[string]any)
		where := fmt.Sprintf("object %d", i)
		title, _ := obj["classTitle"].(string)
		gt, _ := obj["geometryType"].(string)
		shape, declared := classes[title]
		switch {
		case !declared:
			v.add(file, "%s: class %q is not declared in meta.json", where, title)
		case shape != "any" && shape != gt:
			v.add(file, "%s: a %s of class %q, whose shape is %s", where, gt, title, shape)
		}
		v.svTags(file, where, obj["tags"], tags, "objectsOnly")
		switch gt {
		case "bitmap":
			bm, _ := obj["bitmap"].(map[string]any)
			data, _ := bm["data"].(string)
			origin, _ := bm["origin"].([]any)
			if data == "" || len(origin) != 2 || !isInt(origin[0]) || !isInt(origin[1]) {
				v.add(file, "%s: a bitmap needs bitmap.data (a string) and bitmap.origin ([x, y] integers)", where)
			}
		case "polygon", "rectangle":
			pts, _ := obj["points"].(map[string]any)
			ext, _ := pts["exterior"].([]any)
			inter, ok := pts["interior"].([]any)
			want := 3
			if gt == "rectangle" {
				want = 2
			}
			if !ok || (gt == "polygon" && len(ext) < want) || (gt == "rectangle" && (len(ext) != 2 || len(inter) != 0)) {
				v.add(file, "%s: a %s needs points.exterior (%d points) and points.interior (an array)", where, gt, want)
			}
			rings := append([]any{ext}, inter...)
			for _, r := range rings {
				ring, _ := r.([]any)
				for _, p := range ring {
					xy, _ := p.([]any)
					_, ox := num(first(xy, 0))
					_, oy := num(first(xy, 1))
					if len(xy) != 2 || !ox || !oy {
						v.add(file, "%s: point %v is not [x, y] numbers", where, p)
					}
				}
			}
		default:
			v.add(file, "%s: geometryType %q is not one dsbuild's classes take", where, gt)
		}
	}
}

func first(xs []any, i int) any {
	if i < len(xs) {
		return xs[i]
	}
	return nil
}

// svTags checks a tags array of an image or object; forbidden is the
// applicable_type that excludes that place.
func (v *validator) svTags(file, where string, x any, tags map[string]*svTagDef, forbidden string) {
	list, ok := x.([]any)
	if !ok {
		v.add(file, "%s: \"tags\" is not an array", where)
		return
	}
	for _, t := range list {
		o, _ := t.(map[string]any)
		name, _ := o["name"].(string)
		d := tags[name]
		if d == nil {
			v.add(file, "%s: tag %q is not declared in meta.json (the SDK stops: TagMeta is None)", where, name)
			continue
		}
		if d.applicable == forbidden {
			v.add(file, "%s: tag %q is declared %s", where, name, forbidden)
		}
		val, has := o["value"]
		okv := false
		switch d.valueType {
		case "none":
			okv = !has || val == nil
		case "any_number":
			_, okv = num(val)
		case "any_string":
			_, okv = val.(string)
		case "oneof_string":
			s, isStr := val.(string)
			okv = isStr && d.values[s]
		}
		if !okv {
			v.add(file, "%s: tag %q: value %v is not valid for value type %s", where, name, val, d.valueType)
		}
	}
}

// The XML of a CVAT for images 1.1 file, as the validator reads it.
type cvatValDoc struct {
	XMLName xml.Name       `xml:"annotations"`
	Version string         `xml:"version"`
	Labels  []cvatValLabel `xml:"meta>task>labels>label"`
	Images  []cvatImage    `xml:"image"`
}

type cvatValLabel struct {
	Name       string `xml:"name" json:"name"`
	Type       string `xml:"type" json:"type"`
	Attributes []struct {
		Name      string   `xml:"name" json:"name"`
		InputType string   `xml:"input_type" json:"input_type"`
		Values    string   `xml:"values" json:"-"`
		ValueList []string `xml:"-" json:"values"`
	} `xml:"attributes>attribute" json:"attributes"`
}

var cvatLabelTypes = map[string]bool{"": true, "any": true, "tag": true, "rectangle": true, "polygon": true, "mask": true, "polyline": true, "points": true, "ellipse": true, "cuboid": true, "skeleton": true}
var cvatInputTypes = map[string]bool{"select": true, "radio": true, "checkbox": true, "number": true, "text": true}
var cvatSources = map[string]bool{"": true, "manual": true, "auto": true, "semi-auto": true, "file": true, "consensus": true}

func (v *validator) cvat(dir string) {
	file := filepath.Join(dir, "annotations.xml")
	data, err := os.ReadFile(file)
	if err != nil {
		v.add(file, "%v", err)
		return
	}
	var doc cvatValDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		v.add(file, "not CVAT XML: %v", err)
		return
	}
	if strings.TrimSpace(doc.Version) != "1.1" {
		v.add(file, "version is %q, not 1.1", doc.Version)
	}
	type labelDef struct {
		typ   string
		attrs map[string]map[string]bool // attribute → values (nil: any)
	}
	labels := map[string]*labelDef{}
	for _, l := range doc.Labels {
		if l.Name == "" || labels[l.Name] != nil {
			v.add(file, "label %q: empty or declared twice", l.Name)
			continue
		}
		if !cvatLabelTypes[l.Type] {
			v.add(file, "label %q: type %q is not one CVAT knows", l.Name, l.Type)
		}
		d := &labelDef{typ: l.Type, attrs: map[string]map[string]bool{}}
		for _, a := range l.Attributes {
			if !cvatInputTypes[a.InputType] {
				v.add(file, "label %q: attribute %q: input_type %q is not one CVAT knows", l.Name, a.Name, a.InputType)
			}
			if a.InputType == "select" || a.InputType == "radio" {
				vals := map[string]bool{}
				for _, s := range strings.Split(a.Values, "\n") {
					vals[s] = true
				}
				d.attrs[a.Name] = vals
			} else {
				d.attrs[a.Name] = nil
			}
		}
		labels[l.Name] = d
	}
	ids, names := map[string]bool{}, map[string]bool{}
	for _, img := range doc.Images {
		where := fmt.Sprintf("image %q", img.Name)
		if _, err := strconv.Atoi(img.ID); err != nil || ids[img.ID] {
			v.add(file, "%s: id %q is not a unique integer", where, img.ID)
		}
		ids[img.ID] = true
		if img.Name == "" || names[img.Name] {
			v.add(file, "%s: the name is empty or not unique", where)
		}
		names[img.Name] = true
		for _, s := range []string{img.Width, img.Height} {
			if n, err := strconv.Atoi(s); err != nil || n <= 0 {
				v.add(file, "%s: size %q is not a positive integer", where, s)
			}
		}
		for _, e := range img.Elems {
			kind := e.XMLName.Local
			label, _ := e.attr("label")
			d := labels[label]
			if d == nil {
				v.add(file, "%s: %s of label %q, which meta/task/labels does not declare", where, kind, label)
				continue
			}
			if src, _ := e.attr("source"); !cvatSources[src] {
				v.add(file, "%s: %s: source %q is not one CVAT knows", where, kind, src)
			}
			if kind == "tag" {
				if d.typ != "tag" && d.typ != "any" && d.typ != "" {
					v.add(file, "%s: tag of label %q, whose type is %s", where, label, d.typ)
				}
			} else if d.typ == "tag" {
				v.add(file, "%s: %s of label %q, a tag label", where, kind, label)
			}
			for _, a := range e.Attributes {
				vals, ok := d.attrs[a.Name]
				if !ok {
					v.add(file, "%s: %s: attribute %q is not declared for label %q", where, kind, a.Name, label)
				} else if vals != nil && !vals[a.Value] {
					v.add(file, "%s: %s: attribute %q has value %q, not one of its values", where, kind, a.Name, a.Value)
				}
			}
			v.cvatShape(file, where, &e)
		}
	}
	v.cvatLabels(filepath.Join(dir, "labels.json"), doc.Labels)
}

func (v *validator) cvatShape(file, where string, e *cvatElem) {
	kind := e.XMLName.Local
	numAttr := func(name string) (float64, bool) {
		s, ok := e.attr(name)
		if !ok {
			v.add(file, "%s: %s has no %s", where, kind, name)
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			v.add(file, "%s: %s: %s=%q is not a number", where, kind, name, s)
			return 0, false
		}
		return f, true
	}
	if kind != "tag" {
		if s, _ := e.attr("occluded"); s != "0" && s != "1" {
			v.add(file, "%s: %s: occluded=%q is not 0 or 1", where, kind, s)
		}
		if s, ok := e.attr("z_order"); ok {
			if _, err := strconv.Atoi(s); err != nil {
				v.add(file, "%s: %s: z_order=%q is not an integer", where, kind, s)
			}
		}
	}
	switch kind {
	case "box":
		x0, ok0 := numAttr("xtl")
		y0, ok1 := numAttr("ytl")
		x1, ok2 := numAttr("xbr")
		y1, ok3 := numAttr("ybr")
		if ok0 && ok1 && ok2 && ok3 && (x1 <= x0 || y1 <= y0) {
			v.add(file, "%s: box corners are not in order", where)
		}
	case "polygon":
		s, _ := e.attr("points")
		pts := strings.Split(s, ";")
		if len(pts) < 3 {
			v.add(file, "%s: polygon with %d points", where, len(pts))
		}
		for _, p := range pts {
			xy := strings.Split(p, ",")
			if len(xy) != 2 {
				v.add(file, "%s: polygon point %q is not x,y", where, p)
				break
			}
			if _, err := strconv.ParseFloat(xy[0], 64); err != nil {
				v.add(file, "%s: polygon point %q is not numeric", where, p)
			} else if _, err := strconv.ParseFloat(xy[1], 64); err != nil {
				v.add(file, "%s: polygon point %q is not numeric", where, p)
			}
		}
	case "mask":
		w, okw := numAttr("width")
		h, okh := numAttr("height")
		numAttr("left")
		numAttr("top")
		s, _ := e.attr("rle")
		total := 0
		for _, r := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(r))
			if err != nil || n < 0 {
				v.add(file, "%s: mask rle %q is not a list of counts", where, r)
				return
			}
			total += n
		}
		if okw && okh && float64(total) != w*h {
			v.add(file, "%s: mask runs cover %d pixels, its box %vx%v", where, total, w, h)
		}
	}
}

// cvatLabels checks that labels.json declares what annotations.xml does.
func (v *validator) cvatLabels(file string, want []cvatValLabel) {
	data, err := os.ReadFile(file)
	if err != nil {
		v.add(file, "%v", err)
		return
	}
	var got []cvatValLabel
	if err := json.Unmarshal(data, &got); err != nil {
		v.add(file, "not CVAT's label JSON (an array of labels): %v", err)
		return
	}
	key := func(ls []cvatValLabel, split bool) []string {
		var out []string
		for _, l := range ls {
			k := l.Name + "|" + l.Type
			for _, a := range l.Attributes {
				vals := a.ValueList
				if split {
					vals = strings.Split(a.Values, "\n")
				}
				k += "|" + a.Name + ":" + a.InputType + ":" + strings.Join(vals, ",")
			}
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	if g, w := strings.Join(key(got, false), "\n"), strings.Join(key(want, true), "\n"); g != w {
		v.add(file, "the labels differ from annotations.xml's:\n%s\nversus\n%s", g, w)
	}
}

// lsControl is a control tag of a labelling config.
type lsControl struct {
	tag    string
	toName string
	labels map[string]bool
}

func (v *validator) labelStudio(dir string) {
	cfgFile := filepath.Join(dir, "config.xml")
	data, err := os.ReadFile(cfgFile)
	if err != nil {
		v.add(cfgFile, "%v", err)
		return
	}
	controls := map[string]*lsControl{}
	images := map[string]string{} // Image name → data key
	dec := xml.NewDecoder(bytes.NewReader(data))
	var cur *lsControl
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() != "EOF" {
				v.add(cfgFile, "not XML: %v", err)
			}
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := func(n string) string {
			for _, a := range se.Attr {
				if a.Name.Local == n {
					return a.Value
				}
			}
			return ""
		}
		switch se.Name.Local {
		case "Image":
			val := attr("value")
			if !strings.HasPrefix(val, "$") {
				v.add(cfgFile, "Image %q: value %q is not a $variable", attr("name"), val)
			}
			images[attr("name")] = strings.TrimPrefix(val, "$")
		case "Choices", "BrushLabels", "PolygonLabels", "RectangleLabels", "TextArea":
			cur = &lsControl{tag: se.Name.Local, toName: attr("toName"), labels: map[string]bool{}}
			if controls[attr("name")] != nil {
				v.add(cfgFile, "control name %q is used twice", attr("name"))
			}
			controls[attr("name")] = cur
		case "Label", "Choice":
			if cur != nil {
				cur.labels[attr("value")] = true
			}
		}
	}
	for name, c := range controls {
		if _, ok := images[c.toName]; !ok {
			v.add(cfgFile, "control %q: toName %q names no Image", name, c.toName)
		}
	}
	file := filepath.Join(dir, "tasks.json")
	x, ok := v.readJSON(file)
	if !ok {
		return
	}
	tasks, ok := x.([]any)
	if !ok {
		v.add(file, "not a JSON array of tasks")
		return
	}
	typeOf := map[string]string{"choices": "Choices", "brushlabels": "BrushLabels", "polygonlabels": "PolygonLabels", "rectanglelabels": "RectangleLabels", "textarea": "TextArea"}
	for i, t := range tasks {
		task, _ := t.(map[string]any)
		where := fmt.Sprintf("task %d", i)
		dataObj, ok := task["data"].(map[string]any)
		if !ok {
			v.add(file, "%s: no data object", where)
			continue
		}
		for _, key := range images {
			if s, _ := dataObj[key].(string); s == "" {
				v.add(file, "%s: data.%s (the Image's URL) is not a non-empty string", where, key)
			}
		}
		preds, ok := task["predictions"].([]any)
		if _, has := task["predictions"]; has && !ok {
			v.add(file, "%s: predictions is not an array", where)
		}
		var results []any
		for j, p := range preds {
			pred, _ := p.(map[string]any)
			if _, ok := pred["model_version"].(string); !ok {
				v.add(file, "%s: prediction %d has no model_version string", where, j)
			}
			if s, has := pred["score"]; has {
				if _, ok := num(s); !ok {
					v.add(file, "%s: prediction %d: score is not a number", where, j)
				}
			}
			rs, ok := pred["result"].([]any)
			if !ok {
				v.add(file, "%s: prediction %d: result is not an array", where, j)
			}
			results = append(results, rs...)
		}
		if anns, ok := task["annotations"].([]any); ok {
			for _, a := range anns {
				ann, _ := a.(map[string]any)
				rs, _ := ann["result"].([]any)
				results = append(results, rs...)
			}
		}
		for k, r := range results {
			res, _ := r.(map[string]any)
			rwhere := fmt.Sprintf("%s: result %d", where, k)
			if _, ok := res["id"].(string); !ok {
				v.add(file, "%s: no id string", rwhere)
			}
			typ, _ := res["type"].(string)
			from, _ := res["from_name"].(string)
			to, _ := res["to_name"].(string)
			c := controls[from]
			if c == nil || typeOf[typ] != c.tag {
				v.add(file, "%s: from_name %q is not a %s control of config.xml", rwhere, from, typeOf[typ])
				continue
			}
			if to != c.toName {
				v.add(file, "%s: to_name %q is not %q", rwhere, to, c.toName)
			}
			for _, k := range []string{"original_width", "original_height"} {
				if x, has := res[k]; has && !isInt(x) {
					v.add(file, "%s: %s is not an integer", rwhere, k)
				}
			}
			if s, has := res["score"]; has {
				if _, ok := num(s); !ok {
					v.add(file, "%s: score is not a number", rwhere)
				}
			}
			val, _ := res["value"].(map[string]any)
			lsValue(v, file, rwhere, typ, val, c)
		}
	}
}

// lsValue checks a result's value for its type.
func lsValue(v *validator, file, where, typ string, val map[string]any, c *lsControl) {
	labels := func(key string) {
		ls, _ := val[key].([]any)
		if len(ls) == 0 {
			v.add(file, "%s: %s is not a list of labels", where, key)
		}
		for _, l := range ls {
			s, _ := l.(string)
			if !c.labels[s] {
				v.add(file, "%s: %s %v is not declared in config.xml", where, key, l)
			}
		}
	}
	pct := func(x any, what string) {
		f, ok := num(x)
		if !ok || f < 0 || f > 100 {
			v.add(file, "%s: %s %v is not a percentage in [0, 100]", where, what, x)
		}
	}
	switch typ {
	case "choices":
		labels("choices")
	case "brushlabels":
		if f, _ := val["format"].(string); f != "rle" {
			v.add(file, "%s: brush format %q is not rle", where, val["format"])
		}
		rle, _ := val["rle"].([]any)
		for _, n := range rle {
			if !isInt(n) {
				v.add(file, "%s: rle holds %v, not an integer", where, n)
				break
			}
		}
		labels("brushlabels")
	case "polygonlabels":
		pts, _ := val["points"].([]any)
		if len(pts) < 3 {
			v.add(file, "%s: polygon with %d points", where, len(pts))
		}
		for _, p := range pts {
			xy, _ := p.([]any)
			if len(xy) != 2 {
				v.add(file, "%s: point %v is not [x, y]", where, p)
				continue
			}
			pct(xy[0], "x")
			pct(xy[1], "y")
		}
		labels("polygonlabels")
	case "rectanglelabels":
		for _, k := range []string{"x", "y", "width", "height"} {
			pct(val[k], k)
		}
		labels("rectanglelabels")
	case "textarea":
	}
}
