package review

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"dsbuild/dataset"
)

// maxResultsFile bounds the size of a CVAT or Label Studio results file
// (1 GiB) that ReadResults reads into memory.
const maxResultsFile = 1 << 30

// ReadResults reads reviewers' results from path and returns one Result per
// item, in the order of items. classes are the package's classes: corrected
// objects must be of one of them.
//
// path is a file or a directory; the format is detected:
//   - a directory holding meta.json, or a meta.json file: a Supervisely
//     project, read from <dataset>/ann/*.json;
//   - a directory holding annotations.xml, or an .xml file: CVAT for images
//     1.1;
//   - a directory holding exactly one .json file that is a JSON array, or
//     such a file: a Label Studio JSON export;
//   - a directory holding none of these but exactly one directory: that
//     directory (an unpacked archive's top folder).
//
// Results are matched to items by "<dataset>/<file>" in Supervisely (or
// the 2018 name <dataset>/<stem>.json), by image name in CVAT and by
// data.dsbuild_item in Label Studio, with the image's file name as a
// fallback when exactly one item has it.
//
// The verdict of an image is, in Supervisely, an image tag "good
// prediction", "needs correction" or "bad prediction" (or a tag "verdict"
// whose value is a verdict); in CVAT, the tag "review" with its "verdict"
// attribute, or a tag label named after a verdict; in Label Studio, the
// "choices" of the control named "verdict" (or "review"), or any choice whose
// value is a verdict, in the latest annotation that was not cancelled.
// Verdicts are read in any case, with "_" or "-" for spaces, and as
// either "good" or "good prediction". The same verdict given twice counts
// once. Objects are Supervisely's objects; CVAT's masks, polygons and boxes
// (other CVAT shapes are ignored); Label Studio's brushlabels,
// polygonlabels and rectanglelabels (percent coordinates converted to
// pixels, rounded to 1/1000 pixel). CVAT and Label Studio boxes are
// rounded to whole pixels.
//
// Objects come back in the shape of their class, with their pixels
// unchanged: an object of a bitmap class as a bitmap (cropped to its set
// pixels), of a polygon class as the polygons traced from its pixels
// ([dataset.Mask.Contours], one per 4-connected part), of a class of any
// shape as drawn (bitmaps cropped). A class of rectangles takes only
// rectangles. So the objects fit the dataset's meta as they are.
//
// An image tag (Supervisely) or tag label (CVAT) that is neither a verdict
// nor, in Supervisely, a tag the prediction already had, is an unknown
// verdict tag.
//
// Any problem rejects all results: ReadResults returns no results and an
// error listing the problems (up to 10), each naming the results file and,
// when known, the item. Problems are: an unreadable or malformed file;
// results for an image that is not in the package, or twice for one image;
// an image size that differs from the package's; an image with no verdict,
// with more than one verdict, or with a tag (CVAT, Supervisely) or verdict
// value that is not a verdict; an object of a class not in classes, with a
// geometry that does not decode, with no pixel, or lying (even partly)
// outside its image; a non-rectangle for a class of rectangles; a rotated
// box; a Label Studio region with other than one label, or of a type other
// than the three above (text, ratings and the like are ignored); and items of
// the package without results (the error counts them and names up to 5).
// Objects are checked whatever the verdict. A "needs correction" with no
// object is valid: the image holds none.
func ReadResults(path string, items []Item, classes []dataset.Class) ([]Result, error) {
	ix, err := newIndex(items, classes, false, false)
	if err != nil {
		return nil, fmt.Errorf("review results: %w", err)
	}
	format, file, err := detect(path, 0)
	if err != nil {
		return nil, fmt.Errorf("review results: %w", err)
	}
	c := newCollector(ix, path)
	switch format {
	case FormatSupervisely:
		c.path = file
		readSupervisely(file, c)
	default:
		data, err := readLimited(file)
		if err != nil {
			return nil, fmt.Errorf("review results: %w", err)
		}
		c.path = file
		if format == FormatCVAT {
			readCVAT(data, file, c)
		} else {
			readLS(data, file, c)
		}
	}
	return c.results(items)
}

// detect finds the results format at path and the project directory
// (Supervisely) or file (CVAT, Label Studio) to read.
func detect(path string, depth int) (format, file string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", "", err
	}
	if !st.IsDir() {
		switch {
		case filepath.Base(path) == dataset.MetaFile:
			return FormatSupervisely, filepath.Dir(path), nil
		case strings.EqualFold(filepath.Ext(path), ".xml"):
			return FormatCVAT, path, nil
		case strings.EqualFold(filepath.Ext(path), ".json"):
			return FormatLabelStudio, path, nil
		}
		return "", "", fmt.Errorf("%s: not a results file (want annotations.xml, a Label Studio .json export or a Supervisely meta.json)", path)
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return "", "", err
	}
	var dirs, arrays []string
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		switch {
		case e.IsDir():
			dirs = append(dirs, name)
		case name == dataset.MetaFile:
			return FormatSupervisely, path, nil
		case name == "annotations.xml":
			return FormatCVAT, filepath.Join(path, name), nil
		case strings.EqualFold(filepath.Ext(name), ".json") && isJSONArray(filepath.Join(path, name)):
			arrays = append(arrays, name)
		}
	}
	switch {
	case len(arrays) == 1:
		return FormatLabelStudio, filepath.Join(path, arrays[0]), nil
	case len(arrays) > 1:
		sort.Strings(arrays)
		return "", "", fmt.Errorf("%s: %d JSON files (%s): which is the Label Studio export? Keep one", path, len(arrays), strings.Join(arrays, ", "))
	case len(dirs) == 1 && depth < 2:
		return detect(filepath.Join(path, dirs[0]), depth+1)
	}
	return "", "", fmt.Errorf("%s: no review results: want a Supervisely project (meta.json), a CVAT annotations.xml or a Label Studio JSON export", path)
}

// isJSONArray reports whether the file starts, after white space, with '['.
func isJSONArray(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, _ := f.Read(buf)
	trimmed := bytes.TrimLeft(buf[:n], " \t\r\n\ufeff") // white space and a byte order mark
	return len(trimmed) > 0 && trimmed[0] == '['
}

// readLimited reads a results file of at most maxResultsFile bytes.
func readLimited(file string) ([]byte, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxResultsFile {
		return nil, fmt.Errorf("%s: %d bytes, more than a results file may have (%d)", file, st.Size(), maxResultsFile)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), nil
}
