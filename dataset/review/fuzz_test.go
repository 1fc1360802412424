package review

import (
	"strings"
	"testing"

	"dsbuild/dataset"
)

// FuzzReadResults feeds arbitrary bytes to the CVAT and the Label Studio
// readers. They must not panic; an error must name the file; results must
// cover every item, with a known verdict, and corrected objects that are
// valid and inside their image.
func FuzzReadResults(f *testing.F) {
	s := newScenario(f)
	ix, err := newIndex(s.items, testClasses, true, false)
	if err != nil {
		f.Fatal(err)
	}
	preds := sortedEntries(ix)
	var reviewed []entry
	for _, p := range preds {
		e, _, err := simulateItem(ix, p, s.truth[p.it.Name], 0.8, 0.2)
		if err != nil {
			f.Fatal(err)
		}
		reviewed = append(reviewed, e)
	}
	cvat, err := encodeCVAT(reviewed, ix.classes)
	if err != nil {
		f.Fatal(err)
	}
	ls, err := encodeLSTasks(reviewed, preds, true, lsImagePath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cvat)
	f.Add(ls)
	for _, files := range []map[string]string{
		cvatY(cvatNeeds + `<mask label="person" rle="1, 3" left="6" top="4" width="2" height="2"></mask><box label="car" xtl="0.4" ytl="1" xbr="3" ybr="2.6"></box>`),
		lsExport(lsY(lsChoice("needs correction"), `{"type": "brushlabels", "original_width": 8, "original_height": 6, "value": {"format": "rle", "rle": [0, 0, 0, 192, 57, 27, 254], "brushlabels": ["person"]}}`)),
	} {
		for _, data := range files {
			f.Add([]byte(data))
		}
	}
	for _, seed := range []string{"", "[", "[]", "[{}]", `[{"data": 1}]`, "<annotations/>", `<annotations><image name="ds1/a.png" width="12" height="10"><mask rle="0, 99999999999999999999"/></image></annotations>`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range []struct {
			file string
			read func([]byte, string, *collector)
		}{{"annotations.xml", readCVAT}, {"export.json", readLS}} {
			c := newCollector(ix, r.file)
			r.read(data, r.file, c)
			results, err := c.results(s.items)
			if err != nil {
				if results != nil {
					t.Errorf("%s: results with error %v", r.file, err)
				}
				if !strings.Contains(err.Error(), r.file) {
					t.Errorf("%s: error does not name the file: %v", r.file, err)
				}
				continue
			}
			if len(results) != len(s.items) {
				t.Fatalf("%s: %d results for %d items", r.file, len(results), len(s.items))
			}
			for i, res := range results {
				it := &s.items[i]
				if _, ok := ParseVerdict(string(res.Verdict)); !ok || res.Name != it.Name {
					t.Errorf("%s: result %+v for %s", r.file, res, it.Name)
				}
				if (res.Verdict == NeedsCorrection) != (res.Objects != nil) {
					t.Errorf("%s: %s: verdict %s with objects %v", r.file, it.Name, res.Verdict, res.Objects)
				}
				for j := range res.Objects {
					o := &res.Objects[j]
					if err := ix.checkObject(o, it.Ann.Width, it.Ann.Height); err != nil {
						t.Errorf("%s: %s: object %d: %v", r.file, it.Name, j, err)
					}
					if _, err := dataset.EncodeAnnotation(&dataset.Annotation{Width: it.Ann.Width, Height: it.Ann.Height, Objects: []dataset.Object{*o}}); err != nil {
						t.Errorf("%s: %s: object %d does not encode: %v", r.file, it.Name, j, err)
					}
				}
			}
		}
	})
}
