// Package steps gathers every step kind dsbuild knows. Each family lives in
// its own subpackage and declares its schema, version and Run; this package
// only lists them for the engine.
package steps

import (
	"dsbuild/engine"
	"dsbuild/steps/bootstrap"
	"dsbuild/steps/exec"
	"dsbuild/steps/export"
	"dsbuild/steps/files"
	"dsbuild/steps/imports"
	"dsbuild/steps/merge"
	"dsbuild/steps/preannotate"
	"dsbuild/steps/review"
	"dsbuild/steps/split"
	"dsbuild/steps/stats"
	"dsbuild/steps/take"
	"dsbuild/steps/train"
	"dsbuild/steps/transform"
)

// Kinds returns every step kind, by name.
func Kinds() engine.Kinds {
	return engine.NewKinds(
		files.Kind{},
		exec.Kind{},
		imports.Kind{},
		export.Kind{},
		transform.Kind{},
		split.Kind{},
		merge.Kind{},
		train.Kind{},
		take.Kind{},
		preannotate.Kind{},
		review.Kind{},
		stats.Kind{},
	)
}

// Macros returns the blocks that expand into steps, by block type.
func Macros() map[string]engine.Macro {
	return map[string]engine.Macro{"bootstrap": bootstrap.Macro{}}
}
