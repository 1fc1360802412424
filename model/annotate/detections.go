package annotate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
)

// maxCoord bounds detection coordinates, in pixels.
const maxCoord = 1 << 29

// rawDetection is one entry of a COCO results file; fields are kept raw to
// tell a missing field from a wrong one.
type rawDetection struct {
	ImageID    json.RawMessage `json:"image_id"`
	FileName   json.RawMessage `json:"file_name"`
	CategoryID json.RawMessage `json:"category_id"`
	BBox       json.RawMessage `json:"bbox"`
	Score      json.RawMessage `json:"score"`
}

func missing(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// ParseDetections reads detections in COCO results format, a JSON array of
// {"image_id", "category_id", "bbox": [x, y, w, h], "score"} (other fields
// are ignored), and returns the boxes of each of the given items, by item
// name, in file order. Every item gets an entry, a non-nil empty slice when
// it has no detections, so that [Boxes] gives it no objects instead of
// running stage 1.
//
// An image_id string names an item: its full name ("<dataset>/<file>"),
// or, when it has no "/", the file name of exactly one item. A numeric
// image_id is accepted only with a "file_name" string, matched the same
// way. Detections with a score below minScore, or with a category_id not
// in categories (when categories is not empty), are dropped. A box
// covers the pixels it touches: [⌊x⌋, ⌈x+w⌉) × [⌊y⌋, ⌈y+h⌉).
//
// Errors name the entry's index and what is wrong with it: not an object,
// a missing or malformed image_id, bbox, score or (when filtering by
// category) category_id, a negative size, coordinates beyond ±2²⁹, an
// unknown image or one that matches several items. Every entry is checked,
// including those that the filters drop.
func ParseDetections(data []byte, items []string, categories []int, minScore float64) (map[string][]Box, error) {
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '[' {
		return nil, errors.New("detections: not a JSON array")
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("detections: %w", err)
	}
	out := make(map[string][]Box, len(items))
	byFile := map[string][]string{}
	for _, it := range items {
		if _, dup := out[it]; dup {
			continue
		}
		out[it] = []Box{}
		base := it[strings.LastIndexByte(it, '/')+1:]
		byFile[base] = append(byFile[base], it)
	}
	resolve := func(id string) (string, error) {
		if _, ok := out[id]; ok {
			return id, nil
		}
		if !strings.Contains(id, "/") {
			switch names := byFile[id]; len(names) {
			case 1:
				return names[0], nil
			case 0:
			default:
				return "", fmt.Errorf("image %q is ambiguous: it may be %s", id, strings.Join(names, ", "))
			}
		}
		return "", fmt.Errorf("unknown image %q", id)
	}
	for i, raw := range entries {
		d, err := parseDetection(raw, len(categories) > 0)
		if err != nil {
			return nil, fmt.Errorf("detections: entry %d: %w", i, err)
		}
		item, err := resolve(d.image)
		if err != nil {
			return nil, fmt.Errorf("detections: entry %d: %w", i, err)
		}
		if d.score < minScore || (len(categories) > 0 && !slices.Contains(categories, d.category)) {
			continue
		}
		out[item] = append(out[item], Box{Rect: d.rect, Score: d.score})
	}
	return out, nil
}

// ParseBBox reads a COCO bbox, [x, y, width, height] in pixels (each
// coordinate within ±2^29, the size not negative), and the pixels it
// touches: [⌊x⌋, ⌈x+width⌉) × [⌊y⌋, ⌈y+height⌉).
func ParseBBox(raw json.RawMessage) (bb [4]float64, rect image.Rectangle, err error) {
	var vs []float64
	if err := json.Unmarshal(raw, &vs); err != nil || len(vs) != 4 {
		return bb, rect, fmt.Errorf("bbox %s is not [x, y, width, height] in pixels: it must be [x, y, width, height], four numbers", raw)
	}
	copy(bb[:], vs)
	for _, v := range bb {
		if math.Abs(v) > maxCoord {
			return bb, rect, fmt.Errorf("bbox %v is out of range (±%d)", bb, maxCoord)
		}
	}
	if bb[2] < 0 || bb[3] < 0 {
		return bb, rect, fmt.Errorf("bbox %v has a negative size", bb)
	}
	rect = image.Rect(int(math.Floor(bb[0])), int(math.Floor(bb[1])),
		int(math.Ceil(bb[0]+bb[2])), int(math.Ceil(bb[1]+bb[3])))
	return bb, rect, nil
}

// detection is one checked entry.
type detection struct {
	image    string
	category int
	rect     image.Rectangle
	score    float64
}

// parseDetection checks one entry; needCategory makes category_id
// required.
func parseDetection(raw json.RawMessage, needCategory bool) (detection, error) {
	var d detection
	var r rawDetection
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return d, errors.New("not a JSON object")
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return d, err // cannot happen for a valid object with raw fields
	}
	// image_id, or file_name for a numeric one.
	switch {
	case missing(r.ImageID):
		return d, errors.New("missing image_id")
	case r.ImageID[0] == '"':
		if err := json.Unmarshal(r.ImageID, &d.image); err != nil {
			return d, fmt.Errorf("image_id: %w", err)
		}
	case r.ImageID[0] == '-' || r.ImageID[0] >= '0' && r.ImageID[0] <= '9':
		if missing(r.FileName) {
			return d, fmt.Errorf("image_id is the number %s without a file_name; use the item name or add file_name", r.ImageID)
		}
		if err := json.Unmarshal(r.FileName, &d.image); err != nil {
			return d, errors.New("file_name is not a string")
		}
	default:
		return d, fmt.Errorf("image_id is %s; it must be a string or a number", r.ImageID)
	}
	if d.image == "" {
		return d, errors.New("empty image name")
	}
	// bbox: [x, y, w, h].
	if missing(r.BBox) {
		return d, errors.New("missing bbox")
	}
	var err error
	if _, d.rect, err = ParseBBox(r.BBox); err != nil {
		return d, err
	}
	// score.
	if missing(r.Score) {
		return d, errors.New("missing score")
	}
	if err := json.Unmarshal(r.Score, &d.score); err != nil {
		return d, fmt.Errorf("score is %s; it must be a number", r.Score)
	}
	// category_id.
	if missing(r.CategoryID) {
		if needCategory {
			return d, errors.New("missing category_id")
		}
		return d, nil
	}
	var cat int64
	if err := json.Unmarshal(r.CategoryID, &cat); err != nil || cat != int64(int(cat)) {
		return d, fmt.Errorf("category_id is %s; it must be an integer", r.CategoryID)
	}
	d.category = int(cat)
	return d, nil
}
