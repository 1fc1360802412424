package review

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/dataset"
)

// TestPackageLoadsInItsTools validates every part of a written package,
// and of each simulated export, against the tools' rules.
func TestPackageLoadsInItsTools(t *testing.T) {
	s := newScenario(t)
	dir := filepath.Join(t.TempDir(), "pkg")
	if err := WritePackage(dir, s.items, testClasses); err != nil {
		t.Fatal(err)
	}
	if err := ValidatePackage(dir); err != nil {
		t.Fatalf("the package breaks its tools' rules:\n%v", err)
	}
	meta, err := os.ReadFile(filepath.Join(dir, SuperviselyDir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(meta, []byte(`"name":"confidence","value_type":"any_number"`)) {
		t.Errorf("meta.json does not declare confidence as any_number:\n%s", meta)
	}
	for _, f := range []string{FormatSupervisely, FormatCVAT, FormatLabelStudio} {
		out := filepath.Join(t.TempDir(), f)
		if _, err := Simulate(s.items, testClasses, s.truth, 0.8, 0.2, f, out); err != nil {
			t.Fatal(err)
		}
		switch f {
		case FormatSupervisely:
			err = ValidateSupervisely(out, false)
		case FormatCVAT:
			// The export has no labels.json; validate it beside the package's.
			data, _ := os.ReadFile(filepath.Join(out, "annotations.xml"))
			cv := filepath.Join(t.TempDir(), "cvat")
			writeFile(cv, "annotations.xml", data)
			labels, _ := os.ReadFile(filepath.Join(dir, CVATDir, "labels.json"))
			writeFile(cv, "labels.json", labels)
			err = ValidateCVAT(cv)
		case FormatLabelStudio:
			data, _ := os.ReadFile(filepath.Join(out, SimulatedLabelStudioFile))
			ls := filepath.Join(t.TempDir(), "ls")
			writeFile(ls, "tasks.json", data)
			cfg, _ := os.ReadFile(filepath.Join(dir, LabelStudioDir, "config.xml"))
			writeFile(ls, "config.xml", cfg)
			err = ValidateLabelStudio(ls)
		}
		if err != nil {
			t.Errorf("simulated %s export breaks the tool's rules:\n%v", f, err)
		}
	}
}

// TestValidatorCatchesUndeclaredTag: the package as dsbuild wrote it
// before the fix (meta.json without the confidence tag) is refused, with
// the SDK's reason; so are other breaches of each tool's rules.
func TestValidatorCatchesUndeclaredTag(t *testing.T) {
	s := newScenario(t)
	dir := filepath.Join(t.TempDir(), "pkg")
	if err := WritePackage(dir, s.items, testClasses); err != nil {
		t.Fatal(err)
	}
	edit := func(rel, old, new string) func() {
		p := filepath.Join(dir, rel)
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(orig, []byte(old)) {
			t.Fatalf("%s lacks %q", rel, old)
		}
		if err := os.WriteFile(p, bytes.Replace(orig, []byte(old), []byte(new), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		return func() { os.WriteFile(p, orig, 0o644) }
	}
	cases := []struct {
		rel, old, new, want string
	}{
		{"supervisely/ds1/ann/a.png.json", `"value":0.93`, `"value":"high"`, `tag "confidence": value high is not valid for value type any_number`},
		{"supervisely/ds1/ann/a.png.json", `"classTitle":"person"`, `"classTitle":"persons"`, `class "persons" is not declared`},
		{"cvat/annotations.xml", `<mask label="person"`, `<mask label="people"`, `label "people", which meta/task/labels does not declare`},
		{"cvat/annotations.xml", `width="12" height="10">`, `width="12.5" height="10">`, `size "12.5" is not a positive integer`},
		{"cvat/labels.json", `"any"`, `"polygon"`, `the labels differ from annotations.xml's`},
		{"label-studio/tasks.json", `"brushlabels":["person"]`, `"brushlabels":["people"]`, `brushlabels people is not declared in config.xml`},
		{"label-studio/tasks.json", `"from_name":"mask"`, `"from_name":"masks"`, `from_name "masks" is not a BrushLabels control`},
	}
	for _, c := range cases {
		undo := edit(c.rel, c.old, c.new)
		err := ValidatePackage(dir)
		undo()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with %s: %v, want %q", c.rel, c.new, err, c.want)
		}
	}
	// The old meta.json, as svMeta wrote it before tags were declared.
	ix, err := newIndex(s.items, testClasses, true, true)
	if err != nil {
		t.Fatal(err)
	}
	old := &dataset.Meta{Classes: ix.classes}
	for _, v := range Verdicts {
		old.AddTag(dataset.TagMeta{Name: v.Tag(), ValueType: dataset.TagNone})
	}
	old.Sort()
	if err := os.WriteFile(filepath.Join(dir, SuperviselyDir, "meta.json"), dataset.EncodeMeta(old), 0o644); err != nil {
		t.Fatal(err)
	}
	err = ValidatePackage(dir)
	if err == nil || !strings.Contains(err.Error(), `tag "confidence" is not declared in meta.json (the SDK stops: TagMeta is None)`) {
		t.Errorf("old meta.json: %v, want the undeclared confidence tag", err)
	}
}

// TestPackageTagDeclarations: a tag takes the dataset meta's definition
// when its values fit it, else the type its values need; a tag with
// numbers and text cannot be declared and fails the package.
func TestPackageTagDeclarations(t *testing.T) {
	img := pngImage(t, W, H)
	items := []Item{
		{Name: "d/a.png", Image: img, Ann: &dataset.Annotation{Width: W, Height: H,
			Tags:    []dataset.Tag{{Name: "weather", Value: "sun"}, {Name: "night"}},
			Objects: []dataset.Object{bitmap("person", block(2, 2), 0, 0, conf(0.5), dataset.NumberTag("score", 3))}}},
	}
	dir := filepath.Join(t.TempDir(), "pkg")
	opts := PackageOptions{Tags: []dataset.TagMeta{
		{Name: "weather", ValueType: dataset.TagOneOfString, Values: []string{"rain", "sun"}, Color: "#010203"},
		{Name: "score", ValueType: dataset.TagAnyString, Color: "#040506"}, // does not fit a number
	}}
	if err := WritePackageWith(dir, items, testClasses, opts); err != nil {
		t.Fatal(err)
	}
	if err := ValidatePackage(dir); err != nil {
		t.Fatal(err)
	}
	meta, _ := os.ReadFile(filepath.Join(dir, SuperviselyDir, "meta.json"))
	for _, want := range []string{
		`"name":"weather","value_type":"oneof_string","values":["rain","sun"]`,
		`"color":"#010203"`,
		`"name":"score","value_type":"any_number"`,
		`"name":"night","value_type":"none"`,
		`"name":"confidence","value_type":"any_number"`,
	} {
		if !bytes.Contains(meta, []byte(want)) {
			t.Errorf("meta.json lacks %s:\n%s", want, meta)
		}
	}
	items[0].Ann.Objects = append(items[0].Ann.Objects, bitmap("person", block(2, 2), 4, 4, dataset.Tag{Name: "confidence", Value: "high"}))
	err := WritePackage(filepath.Join(t.TempDir(), "pkg"), items, testClasses)
	if err == nil || !strings.Contains(err.Error(), `tag "confidence" has values of two kinds, a number (item d/a.png) and text (item d/a.png)`) {
		t.Errorf("mixed tag: %v", err)
	}
}

// TestLabelStudioImageURLs: image_root and local files give URLs Label
// Studio opens; the README says how; bad values are refused.
func TestLabelStudioImageURLs(t *testing.T) {
	items := []Item{{Name: "my set/a b+c.png", Image: pngImage(t, W, H), Ann: &dataset.Annotation{Width: W, Height: H}}}
	for _, c := range []struct {
		opts      PackageOptions
		url, note string
	}{
		{PackageOptions{}, `"image":"images/my set/a b+c.png"`, "cannot open"},
		{PackageOptions{ImageRoot: "https://example.org/rev/images/"}, `"image":"https://example.org/rev/images/my%20set/a%20b+c.png"`, "https://example.org/rev/images/;"},
		{PackageOptions{LocalFiles: "review/r1/package/label-studio/images"}, `"image":"/data/local-files/?d=review/r1/package/label-studio/images/my%20set/a%20b%2Bc.png"`, "LOCAL_FILES_DOCUMENT_ROOT"},
	} {
		dir := filepath.Join(t.TempDir(), "pkg")
		if err := WritePackageWith(dir, items, testClasses, c.opts); err != nil {
			t.Fatal(err)
		}
		tasks, _ := os.ReadFile(filepath.Join(dir, LabelStudioDir, "tasks.json"))
		if !bytes.Contains(tasks, []byte(c.url)) {
			t.Errorf("%+v: tasks.json lacks %s:\n%s", c.opts, c.url, tasks)
		}
		readme, _ := os.ReadFile(filepath.Join(dir, ReadmeFile))
		if !bytes.Contains(readme, []byte(c.note)) {
			t.Errorf("%+v: README lacks %q", c.opts, c.note)
		}
		if err := ValidatePackage(dir); err != nil {
			t.Error(err)
		}
		// An export of such tasks reads back: matched by dsbuild_item,
		// and by the URL's file name when that is gone.
		export := bytes.Replace(tasks, []byte(`"dsbuild_item":"my set/a b+c.png",`), nil, 1)
		export = bytes.Replace(export, []byte(`"predictions"`), []byte(`"annotations":[{"result":[{"type":"choices","from_name":"verdict","value":{"choices":["good"]}}]}],"predictions"`), 1)
		res := filepath.Join(t.TempDir(), "export.json")
		os.WriteFile(res, export, 0o644)
		if got, err := ReadResults(res, items, testClasses); err != nil || len(got) != 1 || got[0].Verdict != Good {
			t.Errorf("%+v: reading an export back: %v %v", c.opts, got, err)
		}
	}
	for _, bad := range []PackageOptions{
		{ImageRoot: "https://x/", LocalFiles: "a"},
		{LocalFiles: "/abs/images"},
		{LocalFiles: "../images"},
		{ImageRoot: "https://x/?a=b"},
	} {
		if err := WritePackageWith(filepath.Join(t.TempDir(), "pkg"), items, testClasses, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// zipDir writes the files of dir into the zip archive file, under prefix.
func zipDir(t *testing.T, dir, prefix, file string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, err := zw.Create(path.Join(prefix, filepath.ToSlash(rel)))
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil {
			_, err = w.Write(data)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestResultsFromZip: each tool's export read from a zip archive, given
// as the file or found in the results directory (at its root or in a
// folder), gives the same results as unpacked.
func TestResultsFromZip(t *testing.T) {
	s := newScenario(t)
	for _, f := range Formats {
		out := filepath.Join(t.TempDir(), f)
		if _, err := Simulate(s.items, testClasses, s.truth, 0.8, 0.2, f, out); err != nil {
			t.Fatal(err)
		}
		for _, prefix := range []string{"", "export"} {
			results := filepath.Join(t.TempDir(), "results")
			os.MkdirAll(results, 0o755)
			zf := filepath.Join(results, "task_1.zip")
			zipDir(t, out, prefix, zf)
			os.WriteFile(filepath.Join(results, ".gitkeep"), nil, 0o644)
			for _, p := range []string{results, zf} {
				got, err := ReadResults(p, s.items, testClasses)
				if err != nil {
					t.Fatalf("%s in %q of %s: %v", f, prefix, p, err)
				}
				checkResults(t, s, got)
			}
		}
	}
	// A broken export inside a zip names the file inside the archive.
	results := filepath.Join(t.TempDir(), "results")
	os.MkdirAll(filepath.Join(results, "x"), 0o755)
	os.WriteFile(filepath.Join(results, "x", "annotations.xml"), []byte("<annotations><image"), 0o644)
	zf := filepath.Join(t.TempDir(), "cvat.zip")
	zipDir(t, results, "", zf)
	_, err := ReadResults(zf, s.items, testClasses)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(zf, "x", "annotations.xml")) {
		t.Errorf("broken zip: %v", err)
	}
}

// TestNoResultsSaysWhatItLookedFor: the error names the files looked for
// and what the directory holds; HasResults ignores dot files.
func TestNoResultsSaysWhatItLookedFor(t *testing.T) {
	s := newScenario(t)
	dir := t.TempDir()
	if HasResults(dir) {
		t.Error("empty directory has results")
	}
	os.WriteFile(filepath.Join(dir, ".gitkeep"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, ".DS_Store"), nil, 0o644)
	if HasResults(dir) {
		t.Error(".gitkeep and .DS_Store are results")
	}
	if HasResults(filepath.Join(dir, "missing")) {
		t.Error("a missing directory has results")
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hi"), 0o644)
	if !HasResults(dir) {
		t.Error("notes.txt is not seen")
	}
	_, err := ReadResults(dir, s.items, testClasses)
	for _, want := range []string{filepath.Join(dir, "meta.json"), filepath.Join(dir, "annotations.xml"), "a .zip archive", "it holds notes.txt"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "unzip") {
		t.Errorf("error still says unzip: %v", err)
	}
}
