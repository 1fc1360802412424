//go:build linux

package main

// The hostile-input corpus of the reliability suite (docs/reliability.md,
// "Hostile inputs"): the real CLI on recipes whose data is hostile — path
// traversal and absolute paths in file names, names that are not UTF-8,
// symbolic links in sources and review results, image bombs, truncated
// images, review results with escaping names and absurd coordinates. Each
// case asserts the exit code and the error text (naming the file and the
// item), that no process panicked, and that nothing outside the store
// changed anywhere under the test's directory except the paths the case
// allows (a snapshot before and after each command). Cases that other
// tests already cover are only referenced in the docs' table.
//
// Fixtures are the committed ones of testdata/fixtures (written by
// dataset/fixtures), edited here by a few bytes. Linux only: the snapshot
// reads Linux's stat fields, and the exec steps use GNU sed and sha256sum.

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileCase is one row of the corpus.
type hostileCase struct {
	name string // as docs/reliability.md names it
	// setup writes the recipe directory rec/ (and outside/, what links
	// and escaping names would reach) and runs what must come before.
	setup func(t *testing.T, h *hostileDir)
	args  []string // the command; "rec" is the recipe directory
	exit  int
	want  []string // regular expressions the output (stdout, stderr) must match
	// allow lists the paths under the case directory, slash-separated
	// prefixes, that the command may change besides rec/dsbuild.lock and
	// its lock file.
	allow []string
}

// hostileDir is one case's directory: rec/ and outside/, with the store
// that every case shares (so that what cases have in common is built once).
type hostileDir struct {
	*relRecipe
}

func (h *hostileDir) path(rel string) string { return filepath.Join(h.root, filepath.FromSlash(rel)) }

// write writes data at rel, making its directory.
func (h *hostileDir) write(rel string, data []byte) {
	h.t.Helper()
	p := h.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// fixture copies testdata/fixtures/name to rel.
func (h *hostileDir) fixture(name, rel string) {
	h.t.Helper()
	copyTree(h.t, filepath.Join("..", "..", "testdata", "fixtures", filepath.FromSlash(name)), h.path(rel))
}

func (h *hostileDir) rename(from, to string) {
	h.t.Helper()
	if err := os.Rename(h.path(from), h.path(to)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *hostileDir) symlink(target, rel string) {
	h.t.Helper()
	if err := os.MkdirAll(filepath.Dir(h.path(rel)), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Symlink(target, h.path(rel)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *hostileDir) read(rel string) []byte {
	h.t.Helper()
	data, err := os.ReadFile(h.path(rel))
	if err != nil {
		h.t.Fatal(err)
	}
	return data
}

// fileState is what a snapshot records of a path: any write, chmod, link
// or rename changes it (ctime included).
type fileState struct {
	mode         fs.FileMode
	size         int64
	mtime, ctime int64
	ino, nlink   uint64
	target       string // of a symbolic link
}

// snapshot records every path under root except skip (the store).
func snapshot(t *testing.T, root, skip string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		s := fileState{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime().UnixNano(),
			ctime: st.Ctim.Nano(), ino: st.Ino, nlink: uint64(st.Nlink)}
		if fi.Mode()&fs.ModeSymlink != 0 {
			s.target, _ = os.Readlink(p)
		}
		if fi.IsDir() {
			// Entries are compared one by one.
			s.size, s.mtime, s.ctime, s.nlink = 0, 0, 0, 0
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// changed lists the paths that differ between two snapshots and that no
// prefix of allow covers.
func changed(before, after map[string]fileState, allow []string) []string {
	allowed := func(p string) bool {
		for _, a := range allow {
			if p == a || strings.HasPrefix(p, a+"/") {
				return true
			}
		}
		return false
	}
	var out []string
	for p, b := range before {
		if a, ok := after[p]; !ok {
			if !allowed(p) {
				out = append(out, p+" removed")
			}
		} else if a != b && !allowed(p) {
			out = append(out, fmt.Sprintf("%s changed (%+v → %+v)", p, b, a))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok && !allowed(p) {
			out = append(out, p+" created")
		}
	}
	sort.Strings(out)
	return out
}

// exitCode is the exit status of a finished run.
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// pngBomb is a complete PNG (a few zero bytes of image data) whose header
// claims w×h pixels of 8-bit RGB.
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	chunk("IHDR", append(ihdr, 8, 2, 0, 0, 0))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 64))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// jpegBomb is the images fixture's street.jpg (complete, baseline) with
// its frame header claiming 60000×60000 pixels.
func jpegBomb(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fixtures", "images", "street.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("street.jpg has no SOF0 marker")
	}
	// FF C0, length (2), precision (1), height (2), width (2).
	binary.BigEndian.PutUint16(data[i+5:], 60000)
	binary.BigEndian.PutUint16(data[i+7:], 60000)
	return data
}

// swapScript makes an exec step's output out/ the dataset inputs/ds with
// one image file replaced by inputs/kit/<file>, and its manifest line
// naming the new image: a dataset that an exec step wrote itself.
const swapScript = `# swap.sh IMAGE FILE
set -e
cp -r inputs/ds out
chmod -R u+w out
old=$(sha256sum "out/$1" | cut -c1-64)
new=$(sha256sum "inputs/kit/$2" | cut -c1-64)
size=$(wc -c < "inputs/kit/$2" | tr -d ' ')
cp "inputs/kit/$2" "out/$1"
sed -i "s/sha256:$old\",\"image_size\":[0-9]*/sha256:$new\",\"image_size\":$size/" out/manifest.jsonl
grep -q "sha256:$new" out/manifest.jsonl
`

// pixelsRecipe feeds datasets that an exec step spoiled (an image bomb, a
// truncated image) to transform, train and preannotate.
const pixelsRecipe = `import "syn" {
  format  = "synthetic"
  options = { count = "4", width = "32", height = "32", figures = "1", seed = "1" }
}
import "people" {
  format  = "supervisely"
  path    = "people"
  classes = { person_poly = "person", person_bmp = "person" }
}
files "kit" {
  path = "kit"
}
exec "bombjpg" {
  inputs  = { ds = import.syn, kit = files.kit }
  command = ["sh", "inputs/kit/swap.sh", "synthetic/img/000001.jpg", "huge.jpg"]
  outputs = ["out"]
}
exec "bombpng" {
  inputs  = { ds = import.people, kit = files.kit }
  command = ["sh", "inputs/kit/swap.sh", "ds1/img/pexels-photo-2.png", "huge.png"]
  outputs = ["out"]
}
exec "trunc" {
  inputs  = { ds = import.people, kit = files.kit }
  command = ["sh", "inputs/kit/swap.sh", "ds2/img/pexels-photo-3.png", "trunc.png"]
  outputs = ["out"]
}
train "m" {
  data       = import.syn
  input_size = 32
  depth      = 1
  width      = 4
  epochs     = 1
}
`

// pixelsStep is a step of the kind given reading one spoiled dataset of
// pixelsRecipe (named after it), added per case.
func pixelsStep(kind, input string) string {
	name := strings.TrimPrefix(input, "exec.")
	switch kind {
	case "transform":
		return fmt.Sprintf("transform %q {\n  from = [%s.out]\n  flip {\n    direction = \"left_right\"\n  }\n}\n", name, input)
	case "train":
		return fmt.Sprintf("train %q {\n  data       = %s.out\n  input_size = 32\n  depth      = 1\n  width      = 4\n  epochs     = 1\n}\n", name, input)
	default:
		return fmt.Sprintf("preannotate %q {\n  model  = train.m\n  images = %s.out\n  device = \"cpu\"\n}\n", name, input)
	}
}

func setupPixels(kind, input string) func(t *testing.T, h *hostileDir) {
	return func(t *testing.T, h *hostileDir) {
		h.write("rec/main.hcl", []byte(pixelsRecipe+pixelsStep(kind, input)))
		h.fixture("supervisely", "rec/people")
		h.write("rec/kit/swap.sh", []byte(swapScript))
		h.write("rec/kit/huge.png", pngBomb(100000, 100000))
		h.write("rec/kit/huge.jpg", jpegBomb(t))
		png := h.read("rec/people/ds2/img/pexels-photo-3.png")
		h.write("rec/kit/trunc.png", png[:len(png)*6/10])
	}
}

// reviewRecipe is a review of synthetic images waiting for results.
const reviewRecipe = `import "pool" {
  format  = "synthetic"
  options = { count = "4", width = "32", height = "32", figures = "1", seed = "1" }
}
train "m" {
  data       = import.pool
  input_size = 32
  depth      = 1
  width      = 4
  epochs     = 1
}
preannotate "p" {
  model  = train.m
  images = import.pool
  device = "cpu"
}
review "r" {
  from = preannotate.p
}
`

// setupReview builds the review (it waits: exit 2, the package written),
// then lets results write the reviewers' results.
func setupReview(results func(h *hostileDir)) func(t *testing.T, h *hostileDir) {
	return func(t *testing.T, h *hostileDir) {
		h.write("rec/main.hcl", []byte(reviewRecipe))
		if res := h.run("build", "rec"); exitCode(res.err) != 2 {
			t.Fatalf("the review should wait for results (exit 2):\n%s", res)
		}
		results(h)
	}
}

// cvatResults are CVAT results with every image good, the second named
// name.
func cvatResults(name string) func(h *hostileDir) {
	return func(h *hostileDir) {
		var b strings.Builder
		b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations>\n  <version>1.1</version>\n")
		for i := range 4 {
			n := fmt.Sprintf("synthetic/%06d.jpg", i)
			if i == 1 {
				n = name
			}
			fmt.Fprintf(&b, "  <image id=\"%d\" name=%q width=\"32\" height=\"32\"><tag label=\"review\" source=\"manual\"><attribute name=\"verdict\">good</attribute></tag></image>\n", i, n)
		}
		b.WriteString("</annotations>\n")
		h.write("rec/review/r/results/annotations.xml", []byte(b.String()))
	}
}

// lsResults are Label Studio results: the third image needs correction
// and holds region (a result's JSON), the others are good.
func lsResults(region string) func(h *hostileDir) {
	return func(h *hostileDir) {
		var tasks []string
		for i := range 4 {
			n := fmt.Sprintf("synthetic/%06d.jpg", i)
			verdict := "good"
			res := []string{}
			if i == 2 {
				verdict = "needs correction"
				res = append(res, region)
			}
			res = append([]string{`{"id": "v", "type": "choices", "from_name": "verdict", "to_name": "image", "value": {"choices": ["` + verdict + `"]}}`}, res...)
			tasks = append(tasks, fmt.Sprintf(`{"id": %d, "data": {"dsbuild_item": %q, "image": "images/%s"}, "annotations": [{"id": %d, "result": [%s]}]}`, i+1, n, n, i+1, strings.Join(res, ", ")))
		}
		h.write("rec/review/r/results/export.json", []byte("[\n"+strings.Join(tasks, ",\n")+"\n]\n"))
	}
}

// svResults are Supervisely results (every image good) whose third
// annotation file is a symbolic link to target.
func svResults(target string) func(h *hostileDir) {
	return func(h *hostileDir) {
		h.write("rec/review/r/results/meta.json", h.read("rec/review/r/package/supervisely/meta.json"))
		for i := range 4 {
			p := fmt.Sprintf("rec/review/r/results/synthetic/ann/%06d.jpg.json", i)
			if i == 2 {
				h.symlink(target, p)
				continue
			}
			h.write(p, []byte(`{"size": {"width": 32, "height": 32}, "tags": ["good prediction"], "objects": []}`+"\n"))
		}
	}
}

// lsRect is a Label Studio rectangle (percentages) of class person.
func lsRect(x, y, w, h string) string {
	return `{"type": "rectanglelabels", "from_name": "box", "to_name": "image", "original_width": 32, "original_height": 32, "value": {"x": ` + x + `, "y": ` + y + `, "width": ` + w + `, "height": ` + h + `, "rotation": 0, "rectanglelabels": ["person"]}}`
}

// editJSON decodes the JSON file at rel, lets edit change it and writes it
// back.
func (h *hostileDir) editJSON(rel string, edit func(doc map[string]any)) {
	h.t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(h.read(rel), &doc); err != nil {
		h.t.Fatal(err)
	}
	edit(doc)
	data, err := json.Marshal(doc)
	if err != nil {
		h.t.Fatal(err)
	}
	h.write(rel, data)
}

func importRecipe(format string, extra ...string) []byte {
	return []byte(fmt.Sprintf("import %q {\n  format = %q\n  path   = \"data\"\n%s}\n", "x", format, strings.Join(extra, "")))
}

// renameAll renames, under dir, every file whose name starts with stem, to
// the same name starting with to.
func (h *hostileDir) renameAll(dir, stem, to string) {
	h.t.Helper()
	err := filepath.WalkDir(h.path(dir), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasPrefix(e.Name(), stem) {
			return err
		}
		return os.Rename(p, filepath.Join(filepath.Dir(p), to+strings.TrimPrefix(e.Name(), stem)))
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func hostileCases() []hostileCase {
	build := []string{"build", "rec"}
	coco := func(fileName string) func(t *testing.T, h *hostileDir) {
		return func(t *testing.T, h *hostileDir) {
			h.fixture("coco", "rec/data")
			h.write("rec/main.hcl", importRecipe("coco"))
			h.editJSON("rec/data/annotations/instances_val2017.json", func(doc map[string]any) {
				doc["images"].([]any)[0].(map[string]any)["file_name"] = fileName
			})
		}
	}
	vocList := func(ids string) func(t *testing.T, h *hostileDir) {
		return func(t *testing.T, h *hostileDir) {
			h.fixture("pascal_voc", "rec/data")
			h.write("rec/main.hcl", importRecipe("pascal_voc"))
			h.write("rec/data/ImageSets/Segmentation/val.txt", []byte(ids))
		}
	}
	// supervisely renames the fixture's first item (image and
	// annotation) to name.
	supervisely := func(name string) func(t *testing.T, h *hostileDir) {
		return func(t *testing.T, h *hostileDir) {
			h.fixture("supervisely", "rec/data")
			h.write("rec/main.hcl", importRecipe("supervisely"))
			h.rename("rec/data/ds1/img/pexels-photo-1.png", "rec/data/ds1/img/"+name)
			h.rename("rec/data/ds1/ann/pexels-photo-1.png.json", "rec/data/ds1/ann/"+name+".json")
		}
	}
	bombImport := func(name string, data func(t *testing.T) []byte) func(t *testing.T, h *hostileDir) {
		return func(t *testing.T, h *hostileDir) {
			h.write("rec/main.hcl", importRecipe("images", "  verify_images = \"decode\"\n"))
			h.fixture("images/park", "rec/data/ds")
			h.write("rec/data/ds/"+name, data(t))
		}
	}
	return []hostileCase{
		// Path traversal and absolute paths in names read from files.
		{
			name: "COCO: file_name ../../../x.png", setup: coco("../../../x.png"), args: build, exit: 1,
			want: []string{`annotations/instances_val2017\.json \(item val2017/x\.png\): images\[0\]: file_name "\.\./\.\./\.\./x\.png" is not a clean relative path: it would escape the image directory val2017`},
		},
		{
			name: "COCO: file_name /etc/passwd", setup: coco("/etc/passwd"), args: build, exit: 1,
			want: []string{`annotations/instances_val2017\.json \(item val2017/passwd\): images\[0\]: file_name "/etc/passwd" is not a clean relative path`},
		},
		{
			name: "VOC: an ImageSets id ../../x", setup: vocList("2099_000001\n../../x\n"), args: build, exit: 1,
			want: []string{`ImageSets/Segmentation/val\.txt \(item VOC2012/\.\./\.\./x\.jpg\): line 2: .*"\.\./\.\./x"`},
		},
		{
			name: "VOC: an ImageSets id /etc/passwd", setup: vocList("2099_000001\n/etc/passwd\n"), args: build, exit: 1,
			want: []string{`ImageSets/Segmentation/val\.txt \(item VOC2012//etc/passwd\.jpg\): line 2: .*"/etc/passwd"`},
		},
		{
			name: "VOC: an annotation's <filename> ../../../x.jpg",
			setup: func(t *testing.T, h *hostileDir) {
				vocList("2099_000001\n2099_000003\n")(t, h)
				xml := h.read("rec/data/Annotations/2099_000001.xml")
				xml = regexp.MustCompile(`<filename>[^<]*</filename>`).ReplaceAll(xml, []byte("<filename>../../../x.jpg</filename>"))
				h.write("rec/data/Annotations/2099_000001.xml", xml)
			},
			args: build, exit: 0, want: []string{`ran +import\.x`},
		},
		{
			name: "Supervisely meta: a class titled ../../../x, exported to every format",
			setup: func(t *testing.T, h *hostileDir) {
				h.fixture("supervisely", "rec/data")
				var exports string
				for _, f := range []string{"masks", "coco", "supervisely", "pascal_voc"} {
					opts := ""
					if f == "pascal_voc" {
						opts = "  options = { classes = \"meta\" }\n"
					}
					exports += fmt.Sprintf("export %q {\n  from   = import.x\n  format = %q\n%s}\n", f, f, opts)
				}
				h.write("rec/main.hcl", append(importRecipe("supervisely"), exports...))
				err := filepath.WalkDir(h.path("rec/data"), func(p string, e fs.DirEntry, err error) error {
					if err != nil || !strings.HasSuffix(p, ".json") {
						return err
					}
					data, err := os.ReadFile(p)
					if err != nil {
						return err
					}
					return os.WriteFile(p, bytes.ReplaceAll(data, []byte(`"person_poly"`), []byte(`"../../../x"`)), 0o644)
				})
				if err != nil {
					t.Fatal(err)
				}
			},
			args: build, exit: 0,
			want: []string{`ran +import\.x`, `ran +export\.masks`, `ran +export\.coco`, `ran +export\.supervisely`, `ran +export\.pascal_voc`},
		},

		// Names that are not UTF-8, cut inside a character, or hold a
		// backslash or a line break.
		{
			name: "Supervisely: an item named caf\\xc3.png (café cut inside its last character)", setup: supervisely("caf\xc3.png"), args: build, exit: 1,
			want: []string{`ds1/img/caf.\.png \(item ds1/caf.\.png\): item name "ds1/caf\\xc3\.png" is not valid UTF-8`},
		},
		{
			name: "Supervisely: an item named caf\\xe9.png (Latin-1)", setup: supervisely("caf\xe9.png"), args: build, exit: 1,
			want: []string{`\(item ds1/caf.\.png\): item name "ds1/caf\\xe9\.png" is not valid UTF-8`},
		},
		{
			name: "Supervisely: an item named a\\..\\..\\x.png", setup: supervisely(`a\..\..\x.png`), args: build, exit: 1,
			want: []string{`\(item ds1/a\\\.\.\\\.\.\\x\.png\): item name "ds1/a\\\\\.\.\\\\\.\.\\\\x\.png" holds a backslash`},
		},
		{
			name: "Supervisely: an item named a\\nb.png (a line break)", setup: supervisely("a\nb.png"), args: build, exit: 1,
			want: []string{`rec/data/ds1/(ann|img)/a\nb\.png(\.json)?: file name "a\\nb\.png(\.json)?" cannot be stored`},
		},
		{
			name: "Mapillary Vistas: an image (and its labels) named Bq\\xe9.jpg",
			setup: func(t *testing.T, h *hostileDir) {
				h.fixture("mapillary_vistas/v1.2", "rec/data")
				h.write("rec/main.hcl", importRecipe("mapillary_vistas"))
				h.renameAll("rec/data/training", "Bq7nV0cW4xZ2sH6mK1tJrA", "Bq\xe9")
			},
			args: build, exit: 1,
			want: []string{`training/images/Bq.\.jpg \(item training/Bq.\.jpg\): item name "training/Bq\\xe9\.jpg" is not valid UTF-8`},
		},
		{
			name: "Cityscapes: a city directory named aa\\xe9chen",
			setup: func(t *testing.T, h *hostileDir) {
				h.fixture("cityscapes", "rec/data")
				h.write("rec/main.hcl", importRecipe("cityscapes"))
				h.rename("rec/data/leftImg8bit/train/aachen", "rec/data/leftImg8bit/train/aa\xe9chen")
				h.rename("rec/data/gtFine/train/aachen", "rec/data/gtFine/train/aa\xe9chen")
			},
			args: build, exit: 1,
			want: []string{`(gtFine|leftImg8bit)/train/aa.chen: invalid argument: the name is not valid UTF-8`},
		},
		{
			name: "images: a file named caf\\xc3.png",
			setup: func(t *testing.T, h *hostileDir) {
				h.fixture("images/park", "rec/data")
				h.write("rec/main.hcl", importRecipe("images"))
				h.rename("rec/data/a.png", "rec/data/caf\xc3.png")
			},
			args: build, exit: 1,
			want: []string{`caf.\.png \(item images/caf.\.png\): item name "images/caf\\xc3\.png" is not valid UTF-8`},
		},
		{
			name: "images: a directory named eve\\xe9ning",
			setup: func(t *testing.T, h *hostileDir) {
				h.fixture("images/park", "rec/data")
				h.write("rec/main.hcl", importRecipe("images"))
				h.rename("rec/data/evening", "rec/data/eve\xe9ning")
			},
			args: build, exit: 1,
			want: []string{`images: eve.ning: readdir eve.ning: invalid argument: the name is not valid UTF-8`},
		},

		// Symbolic links in sources.
		{
			name: `files with link = "hard": links to a file and to a directory outside the source`,
			setup: func(t *testing.T, h *hostileDir) {
				h.write("outside/secret.txt", []byte("secret\n"))
				h.write("outside/dir/x.txt", []byte("inner\n"))
				h.write("rec/data/a.txt", []byte("alpha\n"))
				h.symlink("../../outside/secret.txt", "rec/data/s.txt")
				h.symlink("../../outside/dir", "rec/data/d")
				h.write("rec/main.hcl", []byte(`files "src" {
  path = "data"
  link = "hard"
}
exec "cat" {
  inputs  = { d = files.src }
  command = ["sh", "-c", "mkdir out && cat inputs/d/a.txt inputs/d/s.txt inputs/d/d/x.txt > out/all"]
  outputs = ["out"]
}
`))
			},
			// a.txt itself is linked into the store and made read-only
			// (what link = "hard" asks for); the files outside are not.
			args: build, exit: 0, want: []string{`ran +files\.src`, `ran +exec\.cat`}, allow: []string{"rec/data/a.txt"},
		},
		{
			name: "import: a link to a directory of images outside the source",
			setup: func(t *testing.T, h *hostileDir) {
				h.fixture("images/park", "outside/pics")
				h.write("rec/main.hcl", importRecipe("images"))
				h.fixture("images/park/evening", "rec/data/own")
				h.symlink("../../outside/pics", "rec/data/ext")
			},
			args: build, exit: 0, want: []string{`ran +import\.x`},
		},
		{
			name: "files: a link to /dev/zero in the source",
			setup: func(t *testing.T, h *hostileDir) {
				h.write("rec/data/a.txt", []byte("alpha\n"))
				h.symlink("/dev/zero", "rec/data/zero")
				h.write("rec/main.hcl", []byte("files \"src\" {\n  path = \"data\"\n}\n"))
			},
			args: build, exit: 1,
			want: []string{`files\.src \(rec/main\.hcl:1\): reading data: .*rec/data/zero: Dc[-rwx]* files cannot be stored; only regular files, directories and links to them`},
		},

		// Image bombs and truncated images.
		{
			name:  "import (verify_images = \"decode\"): a PNG whose header claims 100000×100000 pixels",
			setup: bombImport("huge.png", func(*testing.T) []byte { return pngBomb(100000, 100000) }), args: build, exit: 1,
			want: []string{`ds/huge\.png \(item images/ds__huge\.png\): the image header claims 100000x100000 pixels \(at most 268435456 are accepted\)`},
		},
		{
			name:  "import (verify_images = \"decode\"): a JPEG whose header claims 60000×60000 pixels",
			setup: bombImport("huge.jpg", jpegBomb), args: build, exit: 1,
			want: []string{`ds/huge\.jpg \(item images/ds__huge\.jpg\): the image header claims 60000x60000 pixels`},
		},
		{
			name: "import (verify_images = \"decode\"): a PNG cut at 60 %",
			setup: func(t *testing.T, h *hostileDir) {
				h.fixture("supervisely", "rec/data")
				h.write("rec/main.hcl", importRecipe("supervisely", "  verify_images = \"decode\"\n"))
				png := h.read("rec/data/ds2/img/pexels-photo-3.png")
				h.write("rec/data/ds2/img/pexels-photo-3.png", png[:len(png)*6/10])
			},
			args: build, exit: 1,
			want: []string{`ds2/img/pexels-photo-3\.png \(item ds2/pexels-photo-3\.png\): the png image does not decode: png: invalid format: not enough pixel data`},
		},
		{
			name: "transform: the JPEG bomb in a dataset an exec step wrote", setup: setupPixels("transform", "exec.bombjpg"),
			args: []string{"build", "rec", "transform.bombjpg"}, exit: 1, want: []string{`Error: item synthetic/000001\.jpg: op flip: the image is 60000x60000 pixels, more than 268435456`, `on rec/main\.hcl line \d+, in transform "bombjpg"`},
		},
		{
			name: "transform: the PNG bomb", setup: setupPixels("transform", "exec.bombpng"),
			args: []string{"build", "rec", "transform.bombpng"}, exit: 1, want: []string{`Error: item ds1/pexels-photo-2\.png: op flip: the image is 100000x100000 pixels`, `on rec/main\.hcl line \d+, in transform "bombpng"`},
		},
		{
			name: "transform: the truncated PNG", setup: setupPixels("transform", "exec.trunc"),
			args: []string{"build", "rec", "transform.trunc"}, exit: 1, want: []string{`Error: item ds2/pexels-photo-3\.png: op flip: decoding the image: png: invalid format: not enough pixel data`, `on rec/main\.hcl line \d+, in transform "trunc"`},
		},
		{
			name: "train: the JPEG bomb", setup: setupPixels("train", "exec.bombjpg"),
			args: []string{"build", "rec", "train.bombjpg"}, exit: 1, want: []string{`train\.bombjpg \(rec/main\.hcl:\d+\): data: item synthetic/000001\.jpg: the image is 60000x60000 pixels`},
		},
		{
			name: "train: the PNG bomb", setup: setupPixels("train", "exec.bombpng"),
			args: []string{"build", "rec", "train.bombpng"}, exit: 1, want: []string{`train\.bombpng \(rec/main\.hcl:\d+\): data: item ds1/pexels-photo-2\.png: the image is 100000x100000 pixels`},
		},
		{
			name: "train: the truncated PNG", setup: setupPixels("train", "exec.trunc"),
			args: []string{"build", "rec", "train.trunc"}, exit: 1, want: []string{`train\.trunc \(rec/main\.hcl:\d+\): data: item ds2/pexels-photo-3\.png: decoding the image: png: invalid format: not enough pixel data`},
		},
		{
			name: "preannotate: the JPEG bomb", setup: setupPixels("preannotate", "exec.bombjpg"),
			args: []string{"build", "rec", "preannotate.bombjpg"}, exit: 1, want: []string{`preannotate\.bombjpg \(rec/main\.hcl:\d+\): images: item synthetic/000001\.jpg: the image is 60000x60000 pixels`},
		},
		{
			name: "preannotate: the PNG bomb", setup: setupPixels("preannotate", "exec.bombpng"),
			args: []string{"build", "rec", "preannotate.bombpng"}, exit: 1, want: []string{`preannotate\.bombpng \(rec/main\.hcl:\d+\): images: item ds1/pexels-photo-2\.png: the image is 100000x100000 pixels`},
		},
		{
			name: "preannotate: the truncated PNG", setup: setupPixels("preannotate", "exec.trunc"),
			args: []string{"build", "rec", "preannotate.trunc"}, exit: 1, want: []string{`preannotate\.trunc \(rec/main\.hcl:\d+\): images: item ds2/pexels-photo-3\.png: decoding the image: png: invalid format: not enough pixel data`},
		},

		// Hostile review results. (The package directory is rewritten by
		// every run of the step.)
		{
			name: "CVAT results: an image named ../../../../etc/passwd", setup: setupReview(cvatResults("../../../../etc/passwd")),
			args: build, exit: 1, allow: []string{"rec/review/r/package"},
			want: []string{`rec/review/r/results/annotations\.xml: image "\.\./\.\./\.\./\.\./etc/passwd" \(id 1\) is not in the review package`, `nothing was accepted`},
		},
		{
			name: "CVAT results: an image named ../synthetic/000001.jpg", setup: setupReview(cvatResults("../synthetic/000001.jpg")),
			args: build, exit: 0, allow: []string{"rec/review/r/package"},
			want: []string{`ran +review\.r`},
		},
		{
			name: "Label Studio results: a rectangle at 1e308 %", setup: setupReview(lsResults(lsRect("1e308", "1e308", "1e308", "1e308"))),
			args: build, exit: 1, allow: []string{"rec/review/r/package"},
			want: []string{`rec/review/r/results/export\.json: item synthetic/000002\.jpg: task 2 \(id 3\), result 1: rectangle coordinate 1e\+308 is out of range; nothing was accepted`},
		},
		{
			name: "Label Studio results: a rectangle at y = -1e300 %, and one of width -1e308 %", setup: setupReview(lsResults(lsRect("10", "-1e300", "10", "10") + ", " + lsRect("10", "10", "-1e308", "10"))),
			args: build, exit: 1, allow: []string{"rec/review/r/package"},
			want: []string{`export\.json: item synthetic/000002\.jpg: task 2 \(id 3\), result 1: rectangle coordinate -1e\+300 is out of range`, `result 2: rectangle coordinate -1e\+308 is out of range`, `nothing was accepted`},
		},
		{
			name:  "Label Studio results: a polygon with points at ±1e308 %",
			setup: setupReview(lsResults(`{"type": "polygonlabels", "from_name": "poly", "to_name": "image", "original_width": 32, "original_height": 32, "value": {"points": [[-1e308, 0], [1e308, 1e308], [50, -1e308]], "polygonlabels": ["person"]}}`)),
			args:  build, exit: 1, allow: []string{"rec/review/r/package"},
			want: []string{`export\.json: item synthetic/000002\.jpg: task 2 \(id 3\), result 1: polygon point \[-1e\+308 0\] is not \[x, y\]; nothing was accepted`},
		},
		{
			name:  "Label Studio results: a brush mask of 100000×100000 pixels",
			setup: setupReview(lsResults(`{"type": "brushlabels", "from_name": "mask", "to_name": "image", "original_width": 100000, "original_height": 100000, "value": {"format": "rle", "rle": [0, 0, 16, 0, 57], "brushlabels": ["person"]}}`)),
			args:  build, exit: 1, allow: []string{"rec/review/r/package"},
			want: []string{`export\.json: item synthetic/000002\.jpg: task 2 \(id 3\), result 1: original_width is 100000, the package's image is 32x32; nothing was accepted`},
		},
		{
			name: "Supervisely results: an annotation file that links to /dev/zero", setup: setupReview(svResults("/dev/zero")),
			args: build, exit: 1, allow: []string{"rec/review/r/package"},
			want: []string{`review\.r \(rec/main\.hcl:\d+\): reading review/r/results: .*rec/review/r/results/synthetic/ann/000002\.jpg\.json: Dc[-rwx]* files cannot be stored`},
		},
		{
			name: "Supervisely results: an annotation file that links to a file outside",
			setup: func(t *testing.T, h *hostileDir) {
				h.write("outside/y.json", []byte(`{"size": {"width": 32, "height": 32}, "tags": ["bad prediction"], "objects": []}`+"\n"))
				setupReview(svResults("../../../../../../outside/y.json"))(t, h)
			},
			args: build, exit: 0, allow: []string{"rec/review/r/package"},
			want: []string{`ran +review\.r`},
		},
	}
}

// TestReliabilityHostileInputs runs the corpus: every case's command exits
// as the case says, with its error naming the file and item, without a
// panic, and changes nothing outside the store but what the case allows.
func TestReliabilityHostileInputs(t *testing.T) {
	began := time.Now()
	base := t.TempDir()
	store := filepath.Join(base, "store")
	cases := hostileCases()
	passed := 0
	for i, c := range cases {
		ok := t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(base, fmt.Sprintf("case%02d", i))
			h := &hostileDir{&relRecipe{t: t, root: root, dir: filepath.Join(root, "rec"), store: store}}
			if err := os.MkdirAll(h.path("outside"), 0o755); err != nil {
				t.Fatal(err)
			}
			h.write("outside/sentinel.txt", []byte("a user's file\n"))
			c.setup(t, h)
			before := snapshot(t, base, store)
			res := h.run(c.args...)
			after := snapshot(t, base, store)
			out := res.stdout + res.stderr
			if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") || strings.Contains(out, "fatal error:") {
				t.Fatalf("dsbuild panicked:\n%s", res)
			}
			if got := exitCode(res.err); got != c.exit {
				t.Fatalf("exit code %d, want %d:\n%s", got, c.exit, res)
			}
			for _, w := range c.want {
				if !regexp.MustCompile(w).MatchString(out) {
					t.Errorf("the output does not match %q:\n%s", w, res)
				}
			}
			rel := func(p string) string { return filepath.ToSlash(filepath.Join(filepath.Base(root), p)) }
			allow := []string{rel("rec/" + ".dsbuild.lock.lock"), rel("rec/dsbuild.lock")}
			for _, a := range c.allow {
				allow = append(allow, rel(a))
			}
			if d := changed(before, after, allow); len(d) > 0 {
				t.Errorf("files outside the store changed: %v", d)
			}
		})
		if ok {
			passed++
		}
	}
	t.Logf("hostile inputs: %d cases, %d with the expected exit code and message, no panic and no write outside the store; suite %v",
		len(cases), passed, time.Since(began).Round(time.Second))
}
