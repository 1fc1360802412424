// Package cocorules checks COCO instance files against the rules by which
// pycocotools reads them, re-implemented in Go so that tests can hold every
// COCO file dsbuild writes to what the reference reader accepts, without
// Python. The rules come from pycocotools' coco.py (COCO.createIndex,
// annToRLE, annToMask), _mask.pyx (frPyObjects, frPoly, frBbox,
// frUncompressedRLE, decode) and cocoeval.py (the fields COCOeval reads):
//
//   - The file is a JSON object with "images", "annotations" and
//     "categories" arrays (createIndex indexes them; COCOeval needs all
//     three).
//   - images[]: an integer id, unique (imgs is a dict by id), a non-empty
//     file_name, and integer width and height above 0 (annToRLE passes
//     them to frPoly, which takes C integers).
//   - categories[]: an integer id, unique, and a name.
//   - annotations[]: an integer id, unique (anns is a dict by id); an
//     integer image_id that is in images (annToRLE looks it up); an
//     integer category_id that is in categories (COCOeval evaluates by
//     category); iscrowd 0 or 1; a number area ≥ 0 and a bbox of four
//     numbers with width and height ≥ 0 (COCOeval's area ranges and box
//     IoU); and a segmentation, which annToRLE requires.
//   - segmentation, as annToRLE and frPyObjects dispatch on it:
//     a non-empty list of polygons, each an even count of at least 6
//     numbers (frPyObjects indexes the first element, so [] raises
//     IndexError; a first element of 4 numbers is read as a box, not a
//     polygon; an odd count loses its last number); or a non-empty list of
//     uncompressed RLEs (dicts whose counts is a list); or one RLE dict
//     with size [height, width] equal to the image's and counts either a
//     list (uncompressed) or a compressed string; counts must decode and
//     sum to height×width (the C decoder does not check, and reads past
//     its runs). Anything else (null, a number, a dict without counts)
//     raises in annToRLE.
//
// Check reports every violation it finds, each naming the annotation or
// table entry, as one error.
package cocorules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"dsbuild/dataset"
)

// CheckDir checks every annotations/instances_*.json file under dir and
// fails when there is none.
func CheckDir(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "annotations", "instances_*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: no annotations/instances_*.json", dir)
	}
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := Check(data); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
		}
	}
	return errors.Join(errs...)
}

type image struct {
	w, h int64
}

// Check checks one COCO instances file.
func Check(data []byte) error {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	lists := map[string][]map[string]json.RawMessage{}
	for _, key := range []string{"images", "annotations", "categories"} {
		raw, ok := doc[key]
		if !ok {
			bad("no %q array", key)
			continue
		}
		var l []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &l); err != nil {
			bad("%q is not an array of objects: %v", key, err)
			continue
		}
		lists[key] = l
	}
	images := map[int64]image{}
	for i, im := range lists["images"] {
		id, err := integer(im["id"])
		if err != nil {
			bad("images[%d]: id: %v", i, err)
			continue
		}
		if _, dup := images[id]; dup {
			bad("images[%d]: id %d is used twice", i, id)
		}
		var name string
		if json.Unmarshal(im["file_name"], &name) != nil || name == "" {
			bad("images[%d] (id %d): file_name is not a non-empty string", i, id)
		}
		w, werr := integer(im["width"])
		h, herr := integer(im["height"])
		if werr != nil || herr != nil || w <= 0 || h <= 0 {
			bad("images[%d] (id %d): width and height must be integers above 0 (frPoly takes C integers): %s, %s", i, id, im["width"], im["height"])
		}
		images[id] = image{w, h}
	}
	cats := map[int64]bool{}
	for i, c := range lists["categories"] {
		id, err := integer(c["id"])
		if err != nil {
			bad("categories[%d]: id: %v", i, err)
			continue
		}
		if cats[id] {
			bad("categories[%d]: id %d is used twice", i, id)
		}
		cats[id] = true
		var name string
		if json.Unmarshal(c["name"], &name) != nil || name == "" {
			bad("categories[%d] (id %d): name is not a non-empty string", i, id)
		}
	}
	anns := map[int64]bool{}
	for i, a := range lists["annotations"] {
		where := fmt.Sprintf("annotations[%d]", i)
		id, err := integer(a["id"])
		if err != nil {
			bad("%s: id: %v", where, err)
		} else {
			where += fmt.Sprintf(" (id %d)", id)
			if anns[id] {
				bad("%s: id is used twice", where)
			}
			anns[id] = true
		}
		im, imgOK := image{}, false
		if imgID, err := integer(a["image_id"]); err != nil {
			bad("%s: image_id: %v", where, err)
		} else if im, imgOK = images[imgID]; !imgOK {
			bad("%s: image_id %d is not in images (annToRLE raises KeyError)", where, imgID)
		}
		if catID, err := integer(a["category_id"]); err != nil {
			bad("%s: category_id: %v", where, err)
		} else if !cats[catID] {
			bad("%s: category_id %d is not in categories", where, catID)
		}
		if c, err := integer(a["iscrowd"]); err != nil || (c != 0 && c != 1) {
			bad("%s: iscrowd is %s, not 0 or 1", where, a["iscrowd"])
		}
		if v, err := number(a["area"]); err != nil || v < 0 {
			bad("%s: area is %s, not a number ≥ 0", where, a["area"])
		}
		var box []json.RawMessage
		if json.Unmarshal(a["bbox"], &box) != nil || len(box) != 4 {
			bad("%s: bbox is %s, not [x, y, width, height]", where, a["bbox"])
		} else {
			for k, b := range box {
				v, err := number(b)
				if err != nil || (k >= 2 && v < 0) {
					bad("%s: bbox[%d] is %s", where, k, b)
				}
			}
		}
		seg, ok := a["segmentation"]
		if !ok {
			bad("%s: no segmentation (annToRLE raises KeyError)", where)
			continue
		}
		if imgOK {
			if err := checkSegmentation(seg, im); err != nil {
				bad("%s: segmentation: %v", where, err)
			}
		}
	}
	return errors.Join(errs...)
}

// checkSegmentation follows annToRLE and frPyObjects.
func checkSegmentation(raw json.RawMessage, im image) error {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) > 0 && raw[0] == '[':
		var parts []json.RawMessage
		if err := json.Unmarshal(raw, &parts); err != nil {
			return err
		}
		if len(parts) == 0 {
			return errors.New("[] (frPyObjects indexes its first element: IndexError in annToMask)")
		}
		first := bytes.TrimSpace(parts[0])
		if len(first) > 0 && first[0] == '{' {
			for i, p := range parts {
				if err := checkRLE(p, im, false); err != nil {
					return fmt.Errorf("[%d]: %v", i, err)
				}
			}
			return nil
		}
		for i, p := range parts {
			var nums []json.RawMessage
			if err := json.Unmarshal(p, &nums); err != nil {
				return fmt.Errorf("[%d] is not a list of numbers", i)
			}
			for _, n := range nums {
				if _, err := number(n); err != nil {
					return fmt.Errorf("[%d]: %v", i, err)
				}
			}
			switch {
			case i == 0 && len(nums) == 4:
				return errors.New("[0] has 4 numbers: frPyObjects reads the list as boxes, not polygons")
			case len(nums) < 6 || len(nums)%2 != 0:
				return fmt.Errorf("[%d] has %d numbers: a polygon is an even count of at least 6", i, len(nums))
			}
		}
		return nil
	case len(raw) > 0 && raw[0] == '{':
		return checkRLE(raw, im, true)
	}
	return fmt.Errorf("%.40s is neither a list nor an RLE dict (annToRLE raises)", raw)
}

// checkRLE checks an RLE dict; compressed says whether a counts string is
// allowed (frUncompressedRLE, used for lists of RLEs, takes only lists).
func checkRLE(raw json.RawMessage, im image, compressed bool) error {
	var r map[string]json.RawMessage
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("RLE is not an object: %v", err)
	}
	sizeRaw, ok1 := r["size"]
	countsRaw, ok2 := r["counts"]
	if !ok1 || !ok2 {
		return errors.New("RLE needs size and counts")
	}
	var size []json.RawMessage
	if json.Unmarshal(sizeRaw, &size) != nil || len(size) != 2 {
		return fmt.Errorf("RLE size %s is not [height, width]", sizeRaw)
	}
	h, err1 := integer(size[0])
	w, err2 := integer(size[1])
	if err1 != nil || err2 != nil || h != im.h || w != im.w {
		return fmt.Errorf("RLE size %s differs from the image's [%d, %d]", sizeRaw, im.h, im.w)
	}
	countsRaw = bytes.TrimSpace(countsRaw)
	var rle *dataset.RLE
	switch {
	case len(countsRaw) > 0 && countsRaw[0] == '"':
		if !compressed {
			return errors.New("a list of RLEs must have counts lists (frUncompressedRLE)")
		}
		var s string
		if err := json.Unmarshal(countsRaw, &s); err != nil {
			return err
		}
		var err error
		if rle, err = dataset.ParseRLEString(int(h), int(w), s); err != nil {
			return err
		}
	case len(countsRaw) > 0 && countsRaw[0] == '[':
		var nums []json.RawMessage
		if err := json.Unmarshal(countsRaw, &nums); err != nil {
			return err
		}
		rle = &dataset.RLE{H: int(h), W: int(w)}
		for _, n := range nums {
			v, err := integer(n)
			if err != nil || v < 0 || v > math.MaxUint32 {
				return fmt.Errorf("RLE count %s is not a count", n)
			}
			rle.Counts = append(rle.Counts, uint32(v))
		}
	default:
		return fmt.Errorf("RLE counts %.20s is neither a list nor a string", countsRaw)
	}
	return rle.Validate()
}

// integer parses a JSON integer literal (Python's json gives an int only
// for those).
func integer(raw json.RawMessage) (int64, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" {
		return 0, errors.New("missing")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%.20s is not an integer", s)
	}
	return n, nil
}

// number parses a JSON number.
func number(raw json.RawMessage) (float64, error) {
	var f float64
	if s := string(bytes.TrimSpace(raw)); s == "" || s == "null" || json.Unmarshal(raw, &f) != nil {
		return 0, fmt.Errorf("%.20s is not a number", raw)
	}
	return f, nil
}
