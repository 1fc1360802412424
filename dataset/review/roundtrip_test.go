package review

import (
	"dsbuild/dataset/internal/importtest"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/dataset"
)

// TestRoundTrip writes a package, lets Simulate review it in each format
// and reads the results back: verdicts and corrected pixels must be
// exactly Simulate's.
func TestRoundTrip(t *testing.T) {
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			s := newScenario(t)
			dir := t.TempDir()
			if err := WritePackage(filepath.Join(dir, "pkg"), s.items, testClasses); err != nil {
				t.Fatal(err)
			}
			results := filepath.Join(dir, "pkg", ResultsDir)
			if _, err := Simulate(s.items, testClasses, s.truth, 0.8, 0.2, format, filepath.Join(results, format)); err != nil {
				t.Fatal(err)
			}
			// Read through the results directory: the one folder in it is
			// the format's.
			got, err := ReadResults(results, s.items, testClasses)
			if err != nil {
				t.Fatal(err)
			}
			checkResults(t, s, got)
		})
	}
}

// TestRoundTripEmptyCorrection: with badIoU 0, a prediction where the truth
// has nothing is corrected to no object, which reads back as an empty,
// non-nil correction.
func TestRoundTripEmptyCorrection(t *testing.T) {
	items := []Item{
		{Name: "a/x.png", Image: pngImage(t, 6, 4), Ann: &dataset.Annotation{Width: 6, Height: 4,
			Objects: []dataset.Object{bitmap("person", block(2, 2), 1, 1, conf(0.3))}}},
		{Name: "a/y.png", Image: pngImage(t, 6, 4), Ann: &dataset.Annotation{Width: 6, Height: 4}},
	}
	truth := map[string]*dataset.Annotation{
		"a/x.png": {Width: 6, Height: 4},
		"a/y.png": {Width: 6, Height: 4},
	}
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), format)
			if _, err := Simulate(items, testClasses, truth, 1, 0, format, dir); err != nil {
				t.Fatal(err)
			}
			got, err := ReadResults(dir, items, testClasses)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Verdict != NeedsCorrection || got[0].Objects == nil || len(got[0].Objects) != 0 {
				t.Errorf("a/x.png: %+v, want needs correction with an empty, non-nil correction", got[0])
			}
			if got[1].Verdict != Good || got[1].Objects != nil {
				t.Errorf("a/y.png: %+v, want good", got[1])
			}
		})
	}
}

// TestDeterminism writes the package and each format's results twice.
func TestDeterminism(t *testing.T) {
	dir := t.TempDir()
	write := func(sub string) map[string][]byte {
		s := newScenario(t)
		// Another order of the items must not matter.
		if sub == "2" {
			for i, j := 0, len(s.items)-1; i < j; i, j = i+1, j-1 {
				s.items[i], s.items[j] = s.items[j], s.items[i]
			}
		}
		root := filepath.Join(dir, sub)
		if err := WritePackage(filepath.Join(root, "pkg"), s.items, testClasses); err != nil {
			t.Fatal(err)
		}
		for _, f := range Formats {
			if _, err := Simulate(s.items, testClasses, s.truth, 0.8, 0.2, f, filepath.Join(root, f)); err != nil {
				t.Fatal(err)
			}
		}
		return importtest.ReadFiles(t, root)
	}
	a, b := write("1"), write("2")
	if err := sameTree(a, b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"pkg/README.txt",
		"pkg/supervisely/meta.json", "pkg/supervisely/ds1/img/a.png", "pkg/supervisely/ds1/ann/a.png.json",
		"pkg/cvat/annotations.xml", "pkg/cvat/labels.json", "pkg/cvat/images/ds1/a.png",
		"pkg/label-studio/tasks.json", "pkg/label-studio/config.xml", "pkg/label-studio/images/ds1/a.png",
		"supervisely/meta.json", "supervisely/ds2/ann/f.png.json", "cvat/annotations.xml", "label-studio/export.json",
	} {
		if _, ok := a[want]; !ok {
			t.Errorf("no %s", want)
		}
	}
}

// TestPackageContents reads the package back: each tool's files hold the
// predictions (same pixels, same classes), and no verdict yet.
func TestPackageContents(t *testing.T) {
	s := newScenario(t)
	dir := t.TempDir()
	if err := WritePackage(dir, s.items, testClasses); err != nil {
		t.Fatal(err)
	}
	ix, err := newIndex(s.items, testClasses, false, false)
	if err != nil {
		t.Fatal(err)
	}
	check := func(tool string, c *collector) {
		t.Helper()
		if len(c.problems) > 0 {
			t.Fatalf("%s: %v", tool, c.problems)
		}
		for _, it := range s.items {
			f := c.found[it.Name]
			if f == nil {
				t.Errorf("%s: no %s", tool, it.Name)
				continue
			}
			if len(f.verdicts) > 0 {
				t.Errorf("%s: %s has verdicts %v in the package", tool, it.Name, f.verdicts)
			}
			got, want := objectKeys(t, f.objects, W, H), objectKeys(t, it.Ann.Objects, W, H)
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%s: %s: objects\n%v\nwant\n%v", tool, it.Name, got, want)
			}
		}
	}

	c := newCollector(ix, "")
	readSupervisely(filepath.Join(dir, SuperviselyDir), c)
	check("supervisely", c)

	c = newCollector(ix, "")
	data, err := os.ReadFile(filepath.Join(dir, CVATDir, "annotations.xml"))
	if err != nil {
		t.Fatal(err)
	}
	readCVAT(data, "annotations.xml", c)
	check("cvat", c)

	// Label Studio predictions, read as if they were an annotation.
	data, err = os.ReadFile(filepath.Join(dir, LabelStudioDir, "tasks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tasks []struct {
		Data        lsData
		Predictions []struct {
			ModelVersion string `json:"model_version"`
			Result       []lsResultIn
		}
	}
	if err := json.Unmarshal(data, &tasks); err != nil {
		t.Fatal(err)
	}
	c = newCollector(ix, "")
	for _, task := range tasks {
		it := ix.byName[task.Data.Item]
		if it == nil || task.Data.Image != "images/"+task.Data.Item || len(task.Predictions) != 1 || task.Predictions[0].ModelVersion != "dsbuild" {
			t.Fatalf("task %+v", task)
		}
		f, _ := c.item("tasks.json", it, "task")
		for _, r := range task.Predictions[0].Result {
			if r.Type != "brushlabels" {
				t.Errorf("%s: prediction of type %s", it.Name, r.Type)
			}
			readLSResult(&r, "prediction", f, it, c)
		}
	}
	check("label-studio", c)

	// Without verdicts, the package itself is no results.
	for _, p := range []string{SuperviselyDir, CVATDir, filepath.Join(LabelStudioDir, "tasks.json")} {
		_, err := ReadResults(filepath.Join(dir, p), s.items, testClasses)
		if err == nil || !strings.Contains(err.Error(), "item ds1/a.png has no verdict in ") {
			t.Errorf("ReadResults(package %s) = %v, want no verdict", p, err)
		}
	}
}

func TestPackageFiles(t *testing.T) {
	s := newScenario(t)
	dir := t.TempDir()
	s.items[1].Ann.Tags = []dataset.Tag{{Name: "train"}, {Name: "bad prediction"}}
	if err := WritePackage(dir, s.items, testClasses); err != nil {
		t.Fatal(err)
	}
	files := importtest.ReadFiles(t, dir)
	meta, err := dataset.ParseMeta(files["supervisely/meta.json"])
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"good prediction", "needs correction", "bad prediction"} {
		if tm := meta.TagMeta(tag); tm == nil || tm.ValueType != dataset.TagNone {
			t.Errorf("meta.json: tag %q: %+v", tag, tm)
		}
	}
	if c := meta.Class("person"); c == nil || c.Shape != dataset.ShapeBitmap || c.Color != "#FF0099" {
		t.Errorf("meta.json: class person %+v", c)
	}
	ann := string(files["supervisely/ds1/ann/a.png.json"])
	if !strings.Contains(ann, `"tags":[{"name":"train"}]}`) || strings.Contains(ann, "bad prediction") {
		t.Errorf("the prediction's tags are not kept, less its verdict tag: %s", ann)
	}
	if !strings.Contains(ann, `{"name":"confidence","value":0.93}`) {
		t.Errorf("no confidence tag: %s", ann)
	}
	xml := string(files["cvat/annotations.xml"])
	for _, want := range []string{
		"<version>1.1</version>",
		"<name>person</name>", "<type>any</type>",
		"<name>review</name>", "<type>tag</type>", "<input_type>select</input_type>", "<values>good\nneeds correction\nbad</values>",
		`<image id="0" name="ds1/a.png" width="12" height="10">`,
		`<mask label="person" source="auto" occluded="0" rle="0, 16" left="2" top="2" width="4" height="4" z_order="0">`,
	} {
		if !strings.Contains(xml, want) {
			t.Errorf("annotations.xml has no %q", want)
		}
	}
	cfg := string(files["label-studio/config.xml"])
	for _, want := range []string{
		`<Choices name="verdict" toName="image"`,
		`<Choice value="good"/>`, `<Choice value="needs correction"/>`, `<Choice value="bad"/>`,
		`<BrushLabels name="mask" toName="image">`, `<Label value="car"`, `<Label value="person"`,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config.xml has no %q", want)
		}
	}
	tasks := string(files["label-studio/tasks.json"])
	if !strings.Contains(tasks, `"data":{"dsbuild_item":"ds1/a.png","image":"images/ds1/a.png"},"predictions":[{"model_version":"dsbuild","result":[`) ||
		!strings.Contains(tasks, `"score":0.93`) {
		t.Errorf("tasks.json: %s", tasks[:min(len(tasks), 400)])
	}
	readme := string(files["README.txt"])
	for _, want := range []string{"7 images", "car, person", "results/", "good prediction", "CVAT for", "Label Studio"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.txt does not say %q", want)
		}
	}
}

// TestDetect reads results given as a file, as a directory and as a
// directory holding the unpacked archive's folder.
func TestDetect(t *testing.T) {
	s := newScenario(t)
	dir := t.TempDir()
	for _, f := range Formats {
		if _, err := Simulate(s.items, testClasses, s.truth, 0.8, 0.2, f, filepath.Join(dir, f, "export")); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{
		"supervisely", "supervisely/export", "supervisely/export/meta.json",
		"cvat", "cvat/export", "cvat/export/annotations.xml",
		"label-studio", "label-studio/export", "label-studio/export/export.json",
	} {
		got, err := ReadResults(filepath.Join(dir, p), s.items, testClasses)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		checkResults(t, s, got)
	}
	if _, err := ReadResults(dir, s.items, testClasses); err == nil || !strings.Contains(err.Error(), "no review results") {
		t.Errorf("three folders: %v, want no review results", err)
	}
	if _, err := ReadResults(filepath.Join(dir, "nothing"), s.items, testClasses); err == nil {
		t.Error("a missing path reads")
	}
}
