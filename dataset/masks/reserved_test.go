package masks

import (
	"strings"
	"testing"

	"dsbuild/dataset"
	"dsbuild/dataset/internal/importtest"
)

// A dataset named classes.json would make its masks' directory take the
// class listing's path: an error naming the item, before anything is
// written, not a failed write of classes.json at the end.
func TestExportReservedDatasetName(t *testing.T) {
	s := importtest.NewStore(t)
	meta := &dataset.Meta{}
	meta.AddClass(dataset.Class{Title: "person", Color: "#FF0000"})
	ds := makeDataset(t, s, meta, item{"classes.json/x.jpg", &dataset.Annotation{Width: 2, Height: 2}})
	_, err := export(t, s, ds, dataset.Options{})
	if err == nil || !strings.Contains(err.Error(), `item classes.json/x.jpg: dataset name "classes.json" is reserved`) {
		t.Errorf("Export = %v, want an error naming the item and the reserved name", err)
	}
}
