package review

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // sizes of JPEG images
	_ "image/png"  // sizes of PNG images
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"dsbuild/dataset"
)

// Directories and files of a review package.
const (
	SuperviselyDir = "supervisely"
	CVATDir        = "cvat"
	LabelStudioDir = "label-studio"
	ReadmeFile     = "README.txt"
	// ResultsDir is where the README asks reviewers to put their results:
	// a directory results/ next to README.txt.
	ResultsDir = "results"
)

// PackageOptions are the choices [WritePackageWith] offers beyond the
// items and classes.
type PackageOptions struct {
	// Tags are the tag definitions of the predictions' dataset (its
	// meta.json): the Supervisely project declares each tag the
	// predictions use as defined here, or, when a tag is not defined here
	// or its values do not fit the definition, with the value type its
	// values need.
	Tags []dataset.TagMeta
	// ImageRoot, when set, is the URL of the package's label-studio/images
	// folder as Label Studio will reach it (a web server, a cloud bucket's
	// public URL): each task's image is ImageRoot/<dataset>/<file>, path
	// segments escaped. At most one of ImageRoot and LocalFiles is set.
	ImageRoot string
	// LocalFiles, when set, is the path of the package's
	// label-studio/images folder relative to Label Studio's
	// LOCAL_FILES_DOCUMENT_ROOT (local files serving): each task's image
	// is /data/local-files/?d=LocalFiles/<dataset>/<file>, each path
	// segment query-escaped. It must be a relative slash path without
	// "." or ".." elements.
	LocalFiles string
}

// WritePackage is [WritePackageWith] without options: Label Studio tasks
// name their images by paths relative to tasks.json (images/<item>), which
// Label Studio cannot open without editing, and tags are declared by the
// kind of their values.
func WritePackage(dir string, items []Item, classes []dataset.Class) error {
	return WritePackageWith(dir, items, classes, PackageOptions{})
}

// WritePackageWith writes the review package of items into dir, which must
// not exist or be empty:
//
//	README.txt                          what to do, for the reviewer
//	supervisely/meta.json               the classes, the verdict tags and
//	                                    every tag the predictions carry
//	supervisely/<dataset>/img/<file>    the image, as stored
//	supervisely/<dataset>/ann/<file>.json  the prediction (canonical JSON)
//	cvat/annotations.xml                a CVAT for images 1.1 task
//	cvat/labels.json                    its labels, for CVAT's Raw label editor
//	cvat/images/<dataset>/<file>        the image
//	label-studio/config.xml             the labelling config
//	label-studio/tasks.json             one task per item with its prediction
//	label-studio/images/<dataset>/<file>  the image
//
// Items are written sorted by name, whatever their order in items. Every
// item needs its image bytes and a prediction (Ann) with the image's size;
// every predicted object must be of one of classes, have a valid geometry
// and lie inside its image. When the image bytes are a PNG or JPEG whose size
// differs from the prediction's, WritePackageWith fails. Image tags of the
// prediction that read as verdicts are left out. The files are a pure
// function of the arguments: no time, no random ids.
//
// Each tool's part follows that tool's rules, the ones [ValidatePackage]
// checks: every class and tag used is declared, with the value type its
// values need, and every field has the name and JSON or XML type the tool
// reads.
func WritePackageWith(dir string, items []Item, classes []dataset.Class, opts PackageOptions) error {
	imageURL, err := lsImageURLs(opts)
	if err != nil {
		return fmt.Errorf("review package: %w", err)
	}
	ix, err := newIndex(items, classes, true, true)
	if err != nil {
		return fmt.Errorf("review package: %w", err)
	}
	ix.tags = opts.Tags
	entries := sortedEntries(ix)
	meta, err := svMeta(ix, entries)
	if err != nil {
		return fmt.Errorf("review package: %s: %w", SuperviselyDir, err)
	}
	if err := emptyDir(dir); err != nil {
		return fmt.Errorf("review package: %w", err)
	}
	if err := writeSupervisely(filepath.Join(dir, SuperviselyDir), entries, meta); err != nil {
		return fmt.Errorf("review package: %s: %w", SuperviselyDir, err)
	}
	if err := writeCVATPackage(filepath.Join(dir, CVATDir), ix, entries); err != nil {
		return fmt.Errorf("review package: %s: %w", CVATDir, err)
	}
	if err := writeLSPackage(filepath.Join(dir, LabelStudioDir), ix, entries, imageURL); err != nil {
		return fmt.Errorf("review package: %s: %w", LabelStudioDir, err)
	}
	if err := writeFile(dir, ReadmeFile, readme(ix, opts)); err != nil {
		return fmt.Errorf("review package: %w", err)
	}
	return nil
}

// lsImageURLs returns the function that gives a task's image URL.
func lsImageURLs(opts PackageOptions) (func(item string) string, error) {
	segments := func(name string, esc func(string) string) string {
		parts := strings.Split(name, "/")
		for i, p := range parts {
			parts[i] = esc(p)
		}
		return strings.Join(parts, "/")
	}
	queryEscape := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	switch {
	case opts.ImageRoot != "" && opts.LocalFiles != "":
		return nil, errors.New("Label Studio images: give either an image root URL or a local files path, not both")
	case opts.ImageRoot != "":
		if _, err := url.Parse(opts.ImageRoot); err != nil || strings.ContainsAny(opts.ImageRoot, "?#") {
			return nil, fmt.Errorf("Label Studio image root %q is not a URL prefix (want e.g. https://host/review/images, without ? or #)", opts.ImageRoot)
		}
		root := strings.TrimRight(opts.ImageRoot, "/")
		return func(item string) string { return root + "/" + segments(item, url.PathEscape) }, nil
	case opts.LocalFiles != "":
		lf := strings.TrimRight(opts.LocalFiles, "/")
		if strings.HasPrefix(lf, "/") || strings.Contains(lf, "\\") || !fs.ValidPath(lf) {
			return nil, fmt.Errorf("Label Studio local files path %q must be relative to LOCAL_FILES_DOCUMENT_ROOT: a slash path without leading /, \".\" or \"..\" (e.g. review/round1/package/label-studio/images)", opts.LocalFiles)
		}
		return func(item string) string {
			return "/data/local-files/?d=" + segments(path.Join(lf, item), queryEscape)
		}, nil
	}
	return lsImagePath, nil
}

func writeCVATPackage(dir string, ix *index, entries []entry) error {
	xml, err := encodeCVAT(entries, ix.classes)
	if err != nil {
		return err
	}
	if err := writeFile(dir, "annotations.xml", xml); err != nil {
		return err
	}
	if err := writeFile(dir, "labels.json", cvatLabelsJSON(ix.classes)); err != nil {
		return err
	}
	return writeImages(dir, entries)
}

func writeLSPackage(dir string, ix *index, entries []entry, imageURL func(string) string) error {
	tasks, err := encodeLSTasks(entries, entries, false, imageURL)
	if err != nil {
		return err
	}
	if err := writeFile(dir, "tasks.json", tasks); err != nil {
		return err
	}
	if err := writeFile(dir, "config.xml", lsConfig(ix.classes)); err != nil {
		return err
	}
	return writeImages(dir, entries)
}

// writeImages writes every entry's image to dir/images/<item name>.
func writeImages(dir string, entries []entry) error {
	for _, e := range entries {
		if err := writeFile(dir, "images/"+e.it.Name, e.it.Image); err != nil {
			return err
		}
	}
	return nil
}

// checkItemImage requires image bytes and, when they are a PNG or JPEG,
// the prediction's size.
func checkItemImage(it *Item) error {
	if len(it.Image) == 0 {
		return fmt.Errorf("item %s has no image bytes", it.Name)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(it.Image))
	if err != nil {
		return nil // another format: its size cannot be checked here
	}
	if cfg.Width != it.Ann.Width || cfg.Height != it.Ann.Height {
		return fmt.Errorf("item %s: the %s image is %dx%d, the prediction is for %dx%d",
			it.Name, strings.ToUpper(format), cfg.Width, cfg.Height, it.Ann.Width, it.Ann.Height)
	}
	return nil
}

// emptyDir makes dir, or checks that it is an empty directory.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// lsImagesAdvice says how Label Studio reaches the images, as the tasks
// name them.
func lsImagesAdvice(opts PackageOptions) string {
	switch {
	case opts.ImageRoot != "":
		return "The tasks load their images from " + strings.TrimRight(opts.ImageRoot, "/") + "/;\n  serve images/ there."
	case opts.LocalFiles != "":
		return "The tasks load their images through local files serving\n  (/data/local-files/?d=" + strings.TrimRight(opts.LocalFiles, "/") + "/...): start Label Studio with\n  LOCAL_FILES_SERVING_ENABLED=true and LOCAL_FILES_DOCUMENT_ROOT such that\n  images/ is " + strings.TrimRight(opts.LocalFiles, "/") + " below it."
	}
	return "The tasks name their images as images/<dataset>/<file>, relative to\n  tasks.json, which Label Studio cannot open: set the review step's\n  image_root (a URL where images/ is served) or local_files (the path of\n  images/ below LOCAL_FILES_DOCUMENT_ROOT) and build again, or edit the\n  \"image\" URLs (keep \"dsbuild_item\", which links a task to its image)."
}

// readme is the reviewer's instructions.
func readme(ix *index, opts PackageOptions) []byte {
	var b bytes.Buffer
	titles := make([]string, len(ix.classes))
	for i, c := range ix.classes {
		titles[i] = c.Title
	}
	classList := strings.Join(titles, ", ")
	if classList == "" {
		classList = "(none)"
	}
	fmt.Fprintf(&b, `dsbuild review package
======================

%d images, pre-annotated by a model. Classes: %s.

Your task: look at every image and its predicted objects and give the image
exactly ONE verdict:

  good              the prediction is right as it is; change nothing.
  needs correction  fix the objects: move, redraw or delete wrong ones, draw
                    the missing ones, so that they are right when you are
                    done. Deleting every object means "nothing there".
  bad               the prediction is useless and you do not fix it.

Every image needs a verdict; an image without one, or with two, makes dsbuild
reject the whole results.

Use ONE of the three tools below; each folder holds the same images and
predictions.

Supervisely (folder %s/)
  Import the folder as a project in Supervisely format. On each image, add
  one image tag: "good prediction", "needs correction" or "bad prediction".
  Download the project in Supervisely format (JSON annotations; images are
  not needed) and put the downloaded .zip, or the folder it holds, into
  results/.

CVAT (folder %s/)
  Create a task: paste labels.json into the "Raw" label editor, and upload
  the contents of images/ (keep the <dataset>/<file> folders, e.g. as a zip).
  Upload annotations.xml as "CVAT 1.1" annotations. On each image, add the
  tag "review" and set its attribute "verdict". Export the task as "CVAT for
  images 1.1" and put the exported .zip as it is (or the annotations.xml it
  holds) into results/.

Label Studio (folder %s/)
  Create a project with config.xml as its labelling interface (Code view).
  %s
  Import tasks.json; its predictions are the model
  version "dsbuild" (have Label Studio show them as pre-annotations in the
  project's annotation settings). Choose a verdict for each task and
  fix the brush, polygon or rectangle regions when it needs correction.
  Export as JSON and put the file (or a .zip holding it) into results/.

Put the results into the folder %s/ next to this README, in any one of the
three formats, then run the build again.
`, len(ix.items), classList, SuperviselyDir, CVATDir, LabelStudioDir, lsImagesAdvice(opts), ResultsDir)
	return b.Bytes()
}
