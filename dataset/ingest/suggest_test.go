package ingest

import (
	"context"
	"strings"
	"testing"

	"dsbuild/engine"
)

// A class mapping that names a class the source lacks, but nearly spells
// one it has, gets a did-you-mean, like recipe attributes.
func TestClassMappingSuggests(t *testing.T) {
	t.Parallel()
	set := Settings{Format: "fake", Classes: map[string]string{"humna": "person"}}
	_, err := importWith(context.Background(), engine.BareRun(newStore(t), 0, nil), nil, &fakeFormat{testMeta, nil}, set)
	if err == nil || !strings.Contains(err.Error(), `classes maps "humna", which the source does not have. Did you mean "human"? Its classes are: car, human, rider`) {
		t.Errorf("mapping a misspelt class: %v", err)
	}
}
