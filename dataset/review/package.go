package review

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // sizes of JPEG images
	_ "image/png"  // sizes of PNG images
	"os"
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

// WritePackage writes the review package of items into dir, which must not
// exist or be empty:
//
//	README.txt                          what to do, for the reviewer
//	supervisely/meta.json               the classes and the verdict tags
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
// differs from the prediction's, WritePackage fails. Image tags of the
// prediction that read as verdicts are left out. The files are a pure
// function of the arguments: no time, no random ids.
func WritePackage(dir string, items []Item, classes []dataset.Class) error {
	ix, err := newIndex(items, classes, true, true)
	if err != nil {
		return fmt.Errorf("review package: %w", err)
	}
	if err := emptyDir(dir); err != nil {
		return fmt.Errorf("review package: %w", err)
	}
	entries := sortedEntries(ix)
	if err := writeSupervisely(filepath.Join(dir, SuperviselyDir), entries, svMeta(ix, entries)); err != nil {
		return fmt.Errorf("review package: %s: %w", SuperviselyDir, err)
	}
	if err := writeCVATPackage(filepath.Join(dir, CVATDir), ix, entries); err != nil {
		return fmt.Errorf("review package: %s: %w", CVATDir, err)
	}
	if err := writeLSPackage(filepath.Join(dir, LabelStudioDir), ix, entries); err != nil {
		return fmt.Errorf("review package: %s: %w", LabelStudioDir, err)
	}
	if err := writeFile(dir, ReadmeFile, readme(ix)); err != nil {
		return fmt.Errorf("review package: %w", err)
	}
	return nil
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

func writeLSPackage(dir string, ix *index, entries []entry) error {
	tasks, err := encodeLSTasks(entries, entries, false)
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

// readme is the reviewer's instructions.
func readme(ix *index) []byte {
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
  not needed) and unpack it into results/, so that results/meta.json exists.

CVAT (folder %s/)
  Create a task: paste labels.json into the "Raw" label editor, and upload
  the contents of images/ (keep the <dataset>/<file> folders, e.g. as a zip).
  Upload annotations.xml as "CVAT 1.1" annotations. On each image, add the
  tag "review" and set its attribute "verdict". Export the task as "CVAT for
  images 1.1" and put annotations.xml into results/.

Label Studio (folder %s/)
  Create a project with config.xml as its labelling interface (Code view).
  Make images/ reachable (e.g. local files storage, changing the "image"
  paths in tasks.json to its URLs; keep "dsbuild_item", which links a task
  to its image) and import tasks.json; its predictions are the model
  version "dsbuild" (have Label Studio show them as pre-annotations in the
  project's annotation settings). Choose a verdict for each task and
  fix the brush, polygon or rectangle regions when it needs correction.
  Export as JSON and put the file into results/.

Put the results into the folder %s/ next to this README, in any one of the
three formats, then run the build again.
`, len(ix.items), classList, SuperviselyDir, CVATDir, LabelStudioDir, ResultsDir)
	return b.Bytes()
}
