package review

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
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
//   - a .zip file, or a directory holding none of these but exactly one
//     .zip file (and no folder): the archive, as Supervisely, CVAT ("CVAT
//     for images 1.1") or Label Studio export it, read in place with the
//     same rules;
//   - a directory holding none of these but exactly one directory: that
//     directory (an unpacked archive's top folder).
//
// Names starting with "." and __MACOSX folders are ignored. When nothing
// is found, the error names the files it looked for and what the
// directory holds.
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
	loc, closeZip, err := locate(path)
	if err != nil {
		return nil, fmt.Errorf("review results: %w", err)
	}
	defer closeZip()
	c := newCollector(ix, path)
	c.path = loc.display
	switch loc.format {
	case FormatSupervisely:
		sub, err := fs.Sub(loc.fsys, loc.name)
		if err != nil {
			return nil, fmt.Errorf("review results: %w", err)
		}
		readSuperviselyFS(sub, loc.display, c)
	default:
		data, err := readLimited(loc.fsys, loc.name, loc.display)
		if err != nil {
			return nil, fmt.Errorf("review results: %w", err)
		}
		if loc.format == FormatCVAT {
			readCVAT(data, loc.display, c)
		} else {
			readLS(data, loc.display, c)
		}
	}
	return c.results(items)
}

// location is where results were found: a directory (Supervisely) or file
// (CVAT, Label Studio) of fsys, a directory or a zip archive, and the name
// errors give it.
type location struct {
	format  string
	fsys    fs.FS
	name    string // slash path in fsys
	display string
}

// HasResults reports whether the results directory dir holds anything a
// reviewer put there: an entry whose name does not start with "." (so an
// empty directory, or one holding only .gitkeep or .DS_Store, has none).
// The review step waits while it is false, and dsbuild review status says
// "waiting"; once it is true, the build reads the results.
func HasResults(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			return true
		}
	}
	return false
}

// locate finds the results at path (see ReadResults); closeZip closes an
// archive it opened.
func locate(path string) (loc location, closeZip func(), err error) {
	closeZip = func() {}
	st, err := os.Stat(path)
	if err != nil {
		return loc, closeZip, err
	}
	if !st.IsDir() {
		if strings.EqualFold(filepath.Ext(path), ".zip") {
			return openZip(path)
		}
		dir := filepath.Dir(path)
		format, err := fileFormat(path)
		if err != nil {
			return loc, closeZip, err
		}
		name := filepath.Base(path)
		if format == FormatSupervisely {
			name = "."
			path = dir
		}
		return location{format: format, fsys: os.DirFS(dir), name: name, display: path}, closeZip, nil
	}
	fsys := os.DirFS(path)
	loc, zipName, err := detect(fsys, ".", path, 0)
	if err != nil {
		return loc, closeZip, err
	}
	if zipName != "" {
		return openZip(filepath.Join(path, filepath.FromSlash(zipName)))
	}
	return loc, closeZip, nil
}

// fileFormat is the format of a results file given by its path.
func fileFormat(path string) (string, error) {
	switch {
	case filepath.Base(path) == dataset.MetaFile:
		return FormatSupervisely, nil
	case strings.EqualFold(filepath.Ext(path), ".xml"):
		return FormatCVAT, nil
	case strings.EqualFold(filepath.Ext(path), ".json"):
		return FormatLabelStudio, nil
	}
	return "", fmt.Errorf("%s: not a results file (want a CVAT annotations.xml, a Label Studio .json export, a Supervisely meta.json, or a .zip of one of them as the tool exports it)", path)
}

// openZip finds the results inside a zip archive, as a tool exports them.
func openZip(file string) (location, func(), error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return location{}, func() {}, fmt.Errorf("%s: not a readable zip archive: %w", file, err)
	}
	loc, inner, err := detect(zr, ".", file, 0)
	if err == nil && inner != "" {
		err = fmt.Errorf("%s: holds another zip archive, %s: put that one into the results directory instead", file, inner)
	}
	if err != nil {
		zr.Close()
		return location{}, func() {}, err
	}
	return loc, func() { zr.Close() }, nil
}

// detect finds the results format in directory dir of fsys (display names
// dir in errors), or a zip archive to look into (zipName).
func detect(fsys fs.FS, dir, display string, depth int) (loc location, zipName string, err error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return loc, "", err
	}
	join := func(name string) string { return path.Join(dir, name) }
	shown := func(name string) string { return filepath.Join(display, filepath.FromSlash(name)) }
	var dirs, arrays, zips, others []string
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || name == "__MACOSX" {
			continue
		}
		switch {
		case e.IsDir():
			dirs = append(dirs, name)
		case name == dataset.MetaFile:
			return location{format: FormatSupervisely, fsys: fsys, name: dir, display: display}, "", nil
		case name == "annotations.xml":
			return location{format: FormatCVAT, fsys: fsys, name: join(name), display: shown(name)}, "", nil
		case strings.EqualFold(path.Ext(name), ".json") && isJSONArray(fsys, join(name)):
			arrays = append(arrays, name)
		case strings.EqualFold(path.Ext(name), ".zip"):
			zips = append(zips, name)
		default:
			others = append(others, name)
		}
	}
	switch {
	case len(arrays) == 1:
		return location{format: FormatLabelStudio, fsys: fsys, name: join(arrays[0]), display: shown(arrays[0])}, "", nil
	case len(arrays) > 1:
		sort.Strings(arrays)
		return loc, "", fmt.Errorf("%s: %d JSON files (%s): which is the Label Studio export? Keep one", display, len(arrays), strings.Join(arrays, ", "))
	case len(zips) == 1 && len(dirs) == 0:
		return loc, join(zips[0]), nil
	case len(zips) > 1:
		sort.Strings(zips)
		return loc, "", fmt.Errorf("%s: %d zip archives (%s): which is the export? Keep one", display, len(zips), strings.Join(zips, ", "))
	case len(dirs) == 1 && len(zips) == 0 && depth < 2:
		return detect(fsys, join(dirs[0]), shown(dirs[0]), depth+1)
	}
	found := append(append(append([]string{}, dirs...), zips...), others...)
	sort.Strings(found)
	what := "it is empty"
	if len(found) > 0 {
		if len(found) > 5 {
			found = append(found[:5], "…")
		}
		what = "it holds " + strings.Join(found, ", ")
	}
	return loc, "", fmt.Errorf("%s: no review results: looked for %s (a Supervisely project), %s (a CVAT for images 1.1 export), a .json file holding a JSON array (a Label Studio export), a .zip archive holding one of them (as the tools export it), or a single folder holding one of them; %s",
		display, shown(dataset.MetaFile), shown("annotations.xml"), what)
}

// isJSONArray reports whether the file starts, after white space, with '['.
func isJSONArray(fsys fs.FS, file string) bool {
	f, err := fsys.Open(file)
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
func readLimited(fsys fs.FS, file, display string) ([]byte, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxResultsFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", display, err)
	}
	if len(data) > maxResultsFile {
		return nil, fmt.Errorf("%s: more than a results file may have (%d bytes)", display, maxResultsFile)
	}
	return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), nil
}
