package ingest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
	"dsbuild/engine"
)

// TestReportWarnings: what a format settles by a documented rule instead of
// failing an item (here the VOC fixture of real-world trees: XML/mask
// class disagreements, an XML whose boxes have no PNGs) is listed in the
// report, each warning naming its item and file, and the items are kept.
func TestReportWarnings(t *testing.T) {
	t.Parallel()
	s, err := cache.Open(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "testdata", "fixtures", "pascal_voc_wild")
	res, err := ImportDir(context.Background(), engine.BareRun(s, 0, nil), dir, Settings{Format: "pascal_voc", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Items != 5 || len(res.Report.Skipped) != 0 {
		t.Fatalf("report %+v; want 5 items, none skipped", res.Report)
	}
	want := []struct{ item, file, msg string }{
		{"VOC2012/2099_000011.jpg", "Annotations/2099_000011.xml", `instance 1 is "cat" in the XML but "person" (15)`},
		{"VOC2012/2099_000012.jpg", "Annotations/2099_000012.xml", `instance 2 has no <object> in the XML`},
		{"VOC2012/2099_000023.jpg", "Annotations/2099_000023.xml", "are not imported"},
	}
	if len(res.Report.Warnings) != len(want) {
		t.Fatalf("warnings %+v, want %d", res.Report.Warnings, len(want))
	}
	for i, w := range want {
		g := res.Report.Warnings[i]
		if g.Item != w.item || g.File != w.file || !strings.Contains(g.Message, w.msg) {
			t.Errorf("warning %d = %+v, want item %s file %s saying %q", i, g, w.item, w.file, w.msg)
		}
	}
	if res.Report.Objects["person"] != 2 || res.Report.Objects["dog"] != 2 {
		t.Errorf("objects %v, want 2 persons and 2 dogs (the mask's classes)", res.Report.Objects)
	}
}
