package transform

import (
	"testing"

	"dsbuild/dataset"
)

// keep_classes and the other ops that name classes suggest the nearest
// class of the input for a misspelt one.
func TestClassNamesSuggest(t *testing.T) {
	t.Parallel()
	m := &dataset.Meta{}
	m.AddClass(dataset.Class{Title: "person"})
	m.AddClass(dataset.Class{Title: "car"})
	err := mustHaveClasses(m, []string{"persn"})
	if want := `class "persn" is not in the input. Did you mean "person"? Its classes are: person, car`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	err = mustHaveClasses(m, []string{"pedestrian"})
	if want := `class "pedestrian" is not in the input; its classes are: person, car`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
