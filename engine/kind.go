package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
)

// Kind is a step kind: the block type users write, its schema, its version
// and how it runs. Bump Version whenever the kind's outputs for the same
// inputs and parameters change.
type Kind interface {
	Name() string
	Version() int
	Schema() *Schema
	// Run computes the step's outputs (tree digests by output name) from
	// its inputs, which rc names by digest. Run must be deterministic.
	Run(ctx context.Context, rc *RunContext) (map[string]cache.Digest, error)
}

// Sourced is implemented by kinds that read from outside the store (a
// directory on disk). Sources hashes them, and unless rc.DryRun also stores
// them; the digests it returns enter the step key as inputs.
type Sourced interface {
	Sources(ctx context.Context, rc *RunContext) (map[string]cache.Digest, error)
}

// Keyer is implemented by kinds whose output depends on facts outside their
// parameters and inputs (an environment variable, say). The lines are added
// to the preimage as they are.
type Keyer interface {
	KeyLines(cfg *Config) []string
}

// Validator is implemented by kinds with checks beyond types, reported as
// diagnostics on the recipe. A kind that decodes its configuration
// (Decoder) checks it there instead.
type Validator interface {
	Validate(cfg *Config) hcl.Diagnostics
}

// PlatformDependent is implemented by kinds whose float results depend on
// the CPU architecture and device; their keys carry a platform line.
type PlatformDependent interface {
	PlatformDependent() bool
}

// Macro is a block that expands into step blocks when a recipe loads: a
// bootstrap loop into its rounds' steps, which then are ordinary steps
// (in plan, graph and the lockfile). Expand may evaluate parameters (with
// variables and locals in scope) through eval; the blocks it returns may
// reuse the user's expressions, so diagnostics point at the user's source.
type Macro interface {
	Expand(b *hclsyntax.Block, eval func(hcl.Expression, cty.Type) (cty.Value, hcl.Diagnostics)) ([]*hclsyntax.Block, hcl.Diagnostics)
}

// AttrKind says how an attribute is read.
type AttrKind int

const (
	// Param is a value evaluated with variables and locals in scope.
	Param AttrKind = iota
	// InputOne is one step reference: files.src or exec.x.out.
	InputOne
	// InputList is one reference or a list of them: [import.a, import.b].
	InputList
	// InputMap is a map of names to references: { text = files.src }.
	InputMap
)

// AttrSpec describes one attribute of a step block.
type AttrSpec struct {
	Name     string
	Kind     AttrKind
	Type     cty.Type  // for Param
	Required bool      // absent → "Missing required argument"
	Default  cty.Value // for an absent optional Param; cty.NilVal for none
	NotInKey bool      // cannot change outputs (worker counts, log levels)
	// Int makes a number Param (or each number of a list or map of them)
	// a whole number that fits an int64: Load refuses 2.5 on the
	// attribute. Mark every attribute read with Config.Int.
	Int bool
	Doc string
}

// BlockSpec describes a kind of nested block a step body may hold, any
// number of times and in any order (a transform's op blocks: the order
// written is kept). Its attributes are parameters, or inputs, which the
// step sees as "<block>.<attr>".
type BlockSpec struct {
	Type  string
	Attrs []AttrSpec // Param or InputOne
	Doc   string
}

// BlockConfig is one nested block after evaluation.
type BlockConfig struct {
	Type   string
	Params map[string]cty.Value
	Ranges map[string]hcl.Range
	Range  hcl.Range // the block header
}

// Schema describes a step block.
type Schema struct {
	Doc    string
	Attrs  []AttrSpec
	Blocks []BlockSpec
	// Outputs are fixed output names; OutputsAttr instead names a Param
	// whose values (a list of strings) or keys (a map) are the output
	// names.
	Outputs     []string
	OutputsAttr string
	// DefaultOutput is the output a reference without an output name
	// means when there are several (import.voc means import.voc.dataset).
	DefaultOutput string
}

func (b *BlockSpec) attr(name string) *AttrSpec {
	for i := range b.Attrs {
		if b.Attrs[i].Name == name {
			return &b.Attrs[i]
		}
	}
	return nil
}

func (s *Schema) block(typ string) *BlockSpec {
	for i := range s.Blocks {
		if s.Blocks[i].Type == typ {
			return &s.Blocks[i]
		}
	}
	return nil
}

func (s *Schema) attr(name string) *AttrSpec {
	for i := range s.Attrs {
		if s.Attrs[i].Name == name {
			return &s.Attrs[i]
		}
	}
	return nil
}

// Input is one resolved reference from a step to an upstream output.
type Input struct {
	Name   string // the name it is materialized under: the map key, or attr / attr[i]
	Attr   string // the attribute it was written in
	From   *Step
	Output string
	Range  hcl.Range
}

// Config is a step block after evaluation: parameters converted to their
// declared types (defaults applied), and inputs resolved to steps.
type Config struct {
	Params map[string]cty.Value
	Blocks []BlockConfig // nested blocks, in the order written
	Inputs []Input       // sorted by Name
	// Ranges holds the range of each attribute written in the block
	// (defaults have none), the engine's deterministic included: a kind
	// tells a written attribute from a default by it.
	Ranges map[string]hcl.Range
	Block  hcl.Range // the block header, for errors about the whole step
	// Value is what the kind's Decode made of the configuration when the
	// recipe loaded (nil for a kind that is no Decoder); read it with
	// Decoded.
	Value any
}

// Has reports whether parameter name has a value.
func (c *Config) Has(name string) bool {
	v, ok := c.Params[name]
	return ok && !v.IsNull()
}

// String returns a string parameter, "" if absent.
func (c *Config) String(name string) string {
	if !c.Has(name) {
		return ""
	}
	return c.Params[name].AsString()
}

// Bool returns a bool parameter, false if absent.
func (c *Config) Bool(name string) bool {
	if !c.Has(name) {
		return false
	}
	return c.Params[name].True()
}

// Int returns a number parameter as an int64, 0 if absent. Mark the
// attribute Int in the schema, so that Load refuses a fraction rather
// than Int truncating it.
func (c *Config) Int(name string) int64 {
	if !c.Has(name) {
		return 0
	}
	i, _ := c.Params[name].AsBigFloat().Int64()
	return i
}

// Float returns a number parameter as a float64, 0 if absent.
func (c *Config) Float(name string) float64 {
	if !c.Has(name) {
		return 0
	}
	f, _ := c.Params[name].AsBigFloat().Float64()
	return f
}

// StringList returns a list(string) parameter, nil if absent.
func (c *Config) StringList(name string) []string {
	if !c.Has(name) {
		return nil
	}
	var out []string
	for it := c.Params[name].ElementIterator(); it.Next(); {
		_, v := it.Element()
		out = append(out, v.AsString())
	}
	return out
}

// Range returns the source range of attribute name, or of the block.
func (c *Config) Range(name string) hcl.Range {
	if r, ok := c.Ranges[name]; ok {
		return r
	}
	return c.Block
}

// RunContext is what a step's Run and Sources receive.
type RunContext struct {
	Step   *Step
	Config *Config
	Store  *cache.Store
	// RecipeDir is the absolute directory of the recipe; relative paths in
	// parameters are relative to it.
	RecipeDir string
	// Recipe is the recipe being built (for OutputDir's checks); may be nil.
	Recipe *Recipe
	// Inputs are the digests of the step's inputs by Input.Name, plus
	// those returned by Sources.
	Inputs map[string]cache.Digest
	Key    StepKey
	// Preimage is the key's preimage; ItemSalt derives per-item keys from
	// it.
	Preimage []string
	// DryRun is set while planning: Sources must not write to the store.
	DryRun bool
	// ScratchRecipe is set when RecipeDir is a scratch copy of the recipe
	// (BuildOptions.ScratchRecipe, on a worker): a step skips the files it
	// would write there for people, such as a review package.
	ScratchRecipe bool
	// Jobs is the build's -j: the default size of a step's item pool.
	Jobs int
	// Repairing is set when the step runs again because a blob it
	// produced went missing or was corrupt: Sources must not trust caches
	// that claim a blob is stored.
	Repairing bool
	// Progress reports item progress; it may be called concurrently.
	Progress func(done, total int64)
	// Status reports what a long step is doing (training: the epoch and
	// loss); fields carry the same facts for --json.
	Status func(msg string, fields map[string]any)
	// Logf reports a warning about this step.
	Logf func(format string, args ...any)

	items itemTally // the counts of Items and StreamItems
	// shard, when set, makes Items and StreamItems run only this shard's
	// items, memoize them, and stop the step (ErrShardDone).
	shard *ShardRun
}

// ForEach runs fn(i) for every item i in [0, n) on the engine's item pool
// (workers goroutines; rc.Jobs when workers ≤ 0, one per CPU when that is
// 0 too), reporting progress as items finish, without a memo and without
// counting them as the step's items. fn must put its results by index.
// After a failure no item after it starts; ForEach returns the failure of
// the lowest index, the same error whatever the scheduling, or ctx's
// error.
func (rc *RunContext) ForEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	_, err := runItems(ctx, rc, ItemWork[struct{}]{Workers: workers}, int64(n), -1, nil, func(emit func(Item[struct{}]) error) error {
		for i := range n {
			if err := emit(Item[struct{}]{Run: func() (struct{}, error) { return struct{}{}, fn(i) }}); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// ItemSalt is the part of a step's key that per-item memo keys build on:
// the preimage without its input lines, so that an item whose own inputs
// did not change keeps its memoized result when other items change.
func (rc *RunContext) ItemSalt() cache.Digest {
	var keep []string
	for _, l := range rc.Preimage {
		if !strings.HasPrefix(l, "input ") {
			keep = append(keep, l)
		}
	}
	return HashLines(keep)
}

// Kinds is a set of step kinds by name.
type Kinds map[string]Kind

// NewKinds indexes kinds by name; a duplicate name is a programming error.
func NewKinds(ks ...Kind) Kinds {
	m := Kinds{}
	for _, k := range ks {
		if _, dup := m[k.Name()]; dup {
			panic(fmt.Sprintf("engine: step kind %q registered twice", k.Name()))
		}
		m[k.Name()] = k
	}
	return m
}

// Names returns the kind names, sorted.
func (ks Kinds) Names() []string {
	var out []string
	for n := range ks {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// joinNames returns "a, b and c".
func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
