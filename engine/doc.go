// Package engine loads recipes and runs them as content-addressed DAGs.
//
// The stages, each with its own type:
//
//   - [Load] parses every *.hcl file of a recipe directory into a [Recipe]:
//     variables, locals and typed [Step]s with their source ranges. Every
//     mistake is an hcl.Diagnostic pointing at the recipe line.
//   - [Preimage] writes a step's key preimage: readable, versioned, one fact
//     a line; inputs enter as the digests of upstream outputs, so a step
//     whose upstream re-ran but produced identical bytes stays cached. Its
//     hash is a [StepKey] ([StepKeyOf]); an item's is an [ItemKey]. Keys
//     name computations and digests (cache.Digest) name bytes: each is its
//     own type, and none can be passed for another.
//   - [Build] schedules steps over a bounded set of workers, consults the
//     action cache, runs what is missing and commits results only on
//     success; steps with equal keys run once per build (the others
//     wait for it and take its result). [Build] with DryRun is the
//     planner.
//   - [Lockfile] records, per step, the key, the output digests and the
//     preimage; [Verify] rebuilds every locked step into a fresh store and
//     compares. Commands read a step output through it ([OutputRef],
//     [ResolveOutput]) only after [ResolveLocked] has checked the entry
//     against the recipe and the store.
//   - [HashSource] is the source contract of kinds that read a directory
//     of the recipe ([Sourced]): hashed through the store's stat cache,
//     stored unless planning, entering the key as a tree digest; the
//     link attribute ([LinkAttr]) says how files enter the store.
//   - [OutputRules] is the one check of every path outside the store that a
//     step or a command writes: inside the recipe directory (or where the
//     user said), never the recipe directory, an ancestor of it, a directory
//     a step reads or the store, never through a symbolic link or onto a
//     device; [ReplaceDir] replaces only a directory that dsbuild made.
//
// The engine knows nothing of images or datasets: step kinds ([Kind]) bring
// that knowledge and are passed to [Load] by the caller.
package engine
