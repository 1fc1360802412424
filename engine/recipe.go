package engine

import (
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Step is one step block of a recipe.
type Step struct {
	Kind     Kind
	KindName string
	Name     string
	Addr     string // "kind.name"
	Config   *Config
	Outputs  []string // output names, sorted
	Deps     []*Step  // upstream steps, sorted by address, no duplicates

	// Queue is the step's queue attribute ("" when not set): where a
	// distributed build runs it (cpu, gpu, a name of the user's). Where a
	// step runs never changes what it computes: the queue is not in the
	// key.
	Queue string
	// Nondeterministic is the step's deterministic = false (Commander
	// kinds only): its command may give other outputs from the same
	// inputs. Not in the key; the lockfile records it and verify reports
	// its differences apart.
	Nondeterministic bool
	// ShardSize is the step's shard_size attribute (0 when not set): how
	// many items a shard of a distributed build holds (Itemwise kinds
	// only). Like the queue, it is not in the key.
	ShardSize int

	DeclRange      hcl.Range // the block header
	NameRange      hcl.Range // the label
	body           *hclsyntax.Body
	outputsUnknown bool
}

// Recipe is a loaded recipe directory.
type Recipe struct {
	Dir   string  // absolute
	Steps []*Step // sorted by address
	// Files holds the parsed sources, for printing diagnostics with
	// snippets.
	Files map[string]*hcl.File
	// Sources are the recipe's *.hcl files, relative to Dir, sorted.
	Sources []string
	// Vars holds the values of the variables that -var, -var-file or
	// LoadOptions.Recorded set (not defaults): what a lockfile records.
	Vars map[string]cty.Value
	// RecordedVars names, sorted, the variables whose value came from
	// LoadOptions.Recorded.
	RecordedVars []string
	// Remote is the recipe's remote block, nil when it has none.
	Remote *RemoteConfig

	byAddr map[string]*Step
}

// Step returns the step with the given address, or nil.
func (r *Recipe) Step(addr string) *Step { return r.byAddr[addr] }

// LoadOptions are the inputs of Load besides the directory.
type LoadOptions struct {
	Kinds    Kinds
	Macros   map[string]Macro // blocks that expand into steps, by block type
	Vars     []string         // "name=value" from -var, in order
	VarFiles []string         // -var-file paths
	// Recorded are values recorded in a lockfile (Lockfile.VarValues):
	// they set the variables that Vars and VarFiles leave unset. Values of
	// variables the recipe no longer declares are ignored.
	Recorded map[string]cty.Value
}

// Load parses and checks the recipe in dir. It always returns a Recipe (with
// Files set, for printing diagnostics); the recipe is usable only if the
// diagnostics have no error.
func Load(dir string, opt LoadOptions) (*Recipe, hcl.Diagnostics) {
	r, files, diags := parseRecipe(dir)
	if diags.HasErrors() {
		return r, diags
	}
	l := &loader{r: r, opt: opt, vars: map[string]cty.Value{}, locals: map[string]cty.Value{}}
	diags = append(diags, l.load(files)...)
	return r, diags
}

// parseRecipe reads and parses the *.hcl files of the recipe in dir, in
// name order, within the size limits.
func parseRecipe(dir string) (*Recipe, []*hcl.File, hcl.Diagnostics) {
	r := &Recipe{Files: map[string]*hcl.File{}, byAddr: map[string]*Step{}}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return r, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read recipe", Detail: err.Error()}}
	}
	r.Dir = abs
	matches, err := filepath.Glob(filepath.Join(abs, "*.hcl"))
	if err != nil || len(matches) == 0 {
		if fi, serr := os.Stat(abs); serr != nil || !fi.IsDir() {
			return r, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No recipe here",
				Detail: fmt.Sprintf("%s is not a directory. A recipe is a directory of *.hcl files; pass its path, as in: dsbuild build recipes/hello", dir)}}
		}
		return r, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No recipe here",
			Detail: fmt.Sprintf("%s has no *.hcl files. A recipe is a directory of *.hcl files; pass its path, as in: dsbuild build recipes/hello", dir)}}
	}
	sort.Strings(matches)
	parser := hclparse.NewParser()
	var diags hcl.Diagnostics
	var files []*hcl.File
	budget := int64(MaxRecipeBytes)
	for _, m := range matches {
		name := displayPath(m)
		rel, _ := filepath.Rel(abs, m)
		r.Sources = append(r.Sources, rel)
		// Sizes and nesting are checked before the parser sees the
		// bytes (limits.go); a refused file is not parsed, nor shown.
		src, d := readRecipeFile(m, name, min(budget, MaxRecipeFileBytes))
		if d == nil && budget < MaxRecipeFileBytes && int64(len(src)) > budget {
			diags = append(diags, recipeTooLarge(src, name, budget)...)
			break
		}
		if d == nil {
			d = CheckSource(src, name)
		}
		if d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		budget -= int64(len(src))
		f, d := parser.ParseHCL(src, name)
		diags = append(diags, d...)
		if f != nil {
			r.Files[name] = f
			files = append(files, f)
		}
	}
	return r, files, diags
}

// displayPath shortens p relative to the working directory when it is below
// it, so diagnostics show "recipes/hello/main.hcl".
func displayPath(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}

type loader struct {
	r      *Recipe
	opt    LoadOptions
	vars   map[string]cty.Value
	locals map[string]cty.Value
}

type varDecl struct {
	name  string
	block *hclsyntax.Block
}

func (l *loader) load(files []*hcl.File) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var varBlocks []*hclsyntax.Block
	var localAttrs []*hclsyntax.Attribute
	var stepBlocks, macroBlocks, remoteBlocks []*hclsyntax.Block
	for _, f := range files {
		body := f.Body.(*hclsyntax.Body)
		for _, a := range sortedAttrs(body.Attributes) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unexpected attribute at top level",
				Detail:   fmt.Sprintf("A recipe holds blocks only: step blocks like `exec \"name\" { ... }`, `variable`, `locals` and `remote`. Move %q into a block.", a.Name),
				Subject:  a.NameRange.Ptr(),
			})
		}
		for _, b := range body.Blocks {
			switch b.Type {
			case "variable":
				if d := wantLabels(b, 1, "variable \"name\""); d != nil {
					diags = append(diags, d)
					continue
				}
				varBlocks = append(varBlocks, b)
			case "remote":
				remoteBlocks = append(remoteBlocks, b)
			case "locals":
				if d := wantLabels(b, 0, "locals"); d != nil {
					diags = append(diags, d)
					continue
				}
				if len(b.Body.Blocks) > 0 {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unexpected block in locals",
						Detail: "locals holds attributes only.", Subject: b.Body.Blocks[0].TypeRange.Ptr()})
				}
				localAttrs = append(localAttrs, sortedAttrs(b.Body.Attributes)...)
			default:
				if _, ok := l.opt.Macros[b.Type]; ok {
					if d := wantLabels(b, 1, b.Type+" \"name\""); d != nil {
						diags = append(diags, d)
						continue
					}
					macroBlocks = append(macroBlocks, b)
					continue
				}
				if _, ok := l.opt.Kinds[b.Type]; !ok {
					d := &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Unknown step kind",
						Detail:   fmt.Sprintf("There is no step kind %q.%s The kinds are: %s.", b.Type, Suggest(b.Type, append(l.opt.Kinds.Names(), append(keys(l.opt.Macros), "variable", "locals", "remote")...)), strings.Join(l.opt.Kinds.Names(), ", ")),
						Subject:  b.TypeRange.Ptr(),
					}
					diags = append(diags, d)
					continue
				}
				if d := wantLabels(b, 1, b.Type+" \"name\""); d != nil {
					diags = append(diags, d)
					continue
				}
				stepBlocks = append(stepBlocks, b)
			}
		}
	}
	var d hcl.Diagnostics
	l.r.Remote, d = decodeRemote(l.r.Dir, remoteBlocks)
	diags = append(diags, d...)
	diags = append(diags, l.loadVariables(varBlocks)...)
	diags = append(diags, l.loadLocals(localAttrs)...)
	if diags.HasErrors() {
		return diags
	}
	for _, b := range macroBlocks {
		blocks, d := l.opt.Macros[b.Type].Expand(b, l.evalParam)
		diags = append(diags, d...)
		for _, eb := range blocks {
			if _, ok := l.opt.Kinds[eb.Type]; !ok {
				panic(fmt.Sprintf("engine: macro %s expanded into unknown kind %q", b.Type, eb.Type))
			}
			stepBlocks = append(stepBlocks, eb)
		}
	}
	if diags.HasErrors() {
		return diags
	}
	diags = append(diags, l.declareSteps(stepBlocks)...)
	if diags.HasErrors() {
		return diags
	}
	for _, s := range l.r.Steps {
		diags = append(diags, l.decodeStep(s)...)
	}
	if diags.HasErrors() {
		return diags
	}
	diags = append(diags, checkPathUses(l.r)...)
	diags = append(diags, findCycles(l.r.Steps)...)
	return diags
}

func wantLabels(b *hclsyntax.Block, n int, form string) *hcl.Diagnostic {
	if len(b.Labels) == n {
		if n == 1 && !hclsyntax.ValidIdentifier(b.Labels[0]) {
			return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid name",
				Detail:  fmt.Sprintf("%q is not a valid name: names start with a letter and hold letters, digits, underscores and dashes.", b.Labels[0]),
				Subject: b.LabelRanges[0].Ptr()}
		}
		return nil
	}
	rng := b.TypeRange
	if len(b.LabelRanges) > 0 {
		rng = hcl.RangeBetween(b.LabelRanges[0], b.LabelRanges[len(b.LabelRanges)-1])
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Wrong number of labels",
		Detail:  fmt.Sprintf("A %s block is written `%s { ... }`.", b.Type, form),
		Subject: rng.Ptr()}
}

func sortedAttrs(m hclsyntax.Attributes) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].SrcRange, out[j].SrcRange
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return out
}

// Suggest returns " Did you mean "x"?" for the closest candidate within an
// edit distance of 3, or "". Step kinds use it in their diagnostics.
func Suggest(given string, candidates []string) string {
	best, bestD := "", 4
	for _, c := range candidates {
		if d := levenshtein.Distance(given, c, nil); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

// declareSteps creates the steps, checks for duplicates and works out each
// step's output names, so that references can be resolved.
func (l *loader) declareSteps(blocks []*hclsyntax.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range blocks {
		kind := l.opt.Kinds[b.Type]
		s := &Step{
			Kind: kind, KindName: b.Type, Name: b.Labels[0], Addr: b.Type + "." + b.Labels[0],
			DeclRange: hcl.RangeBetween(b.TypeRange, b.LabelRanges[0]), NameRange: b.LabelRanges[0], body: b.Body,
		}
		if prev, dup := l.r.byAddr[s.Addr]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate step name",
				Detail:   fmt.Sprintf("A %s step named %q was already declared at %s. Step names must be unique within a kind.", b.Type, s.Name, rangeString(prev.DeclRange)),
				Subject:  s.NameRange.Ptr(),
			})
			continue
		}
		l.r.byAddr[s.Addr] = s
		l.r.Steps = append(l.r.Steps, s)
		schema := kind.Schema()
		switch {
		case schema.OutputsAttr != "":
			attr, ok := b.Body.Attributes[schema.OutputsAttr]
			if !ok {
				s.outputsUnknown = true
				continue // reported as a missing required argument later
			}
			outs, d := l.evalOutputNames(attr)
			diags = append(diags, d...)
			s.Outputs = outs
		default:
			s.Outputs = append([]string(nil), schema.Outputs...)
		}
		sort.Strings(s.Outputs)
	}
	sort.Slice(l.r.Steps, func(i, j int) bool { return l.r.Steps[i].Addr < l.r.Steps[j].Addr })
	return diags
}

func (l *loader) evalOutputNames(attr *hclsyntax.Attribute) ([]string, hcl.Diagnostics) {
	if d := l.noStepRefs(attr.Expr); d.HasErrors() {
		return nil, d
	}
	// A list of names, or a map or object whose keys are the names (split's
	// parts = { train = 0.9, val = 0.1 }).
	v, diags := l.evalParam(attr.Expr, cty.DynamicPseudoType)
	if diags.HasErrors() || v.IsNull() {
		return nil, diags
	}
	if t := v.Type(); t.IsMapType() || t.IsObjectType() {
		var keys []cty.Value
		for it := v.ElementIterator(); it.Next(); {
			k, _ := it.Element()
			keys = append(keys, k)
		}
		if len(keys) == 0 {
			v = cty.ListValEmpty(cty.String)
		} else {
			v = cty.ListVal(keys)
		}
	}
	v, diags = convertTo(v, cty.List(cty.String), attr.Expr.Range())
	if diags.HasErrors() {
		return nil, diags
	}
	seen := map[string]bool{}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			continue
		}
		name := e.AsString()
		switch {
		case !hclsyntax.ValidIdentifier(name):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid output name",
				Detail:  fmt.Sprintf("Output %q must be a plain name (letters, digits, underscores, dashes), because it is referenced as kind.name.%s.", name, name),
				Subject: attr.Expr.Range().Ptr()})
		case seen[name]:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate output",
				Detail: fmt.Sprintf("Output %q is listed twice.", name), Subject: attr.Expr.Range().Ptr()})
		default:
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, diags
}

// decodeStep evaluates a step block against its kind's schema.
func (l *loader) decodeStep(s *Step) hcl.Diagnostics {
	schema := s.Kind.Schema()
	bs := &hcl.BodySchema{}
	for _, a := range schema.Attrs {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: a.Name, Required: a.Required})
	}
	for _, b := range schema.Blocks {
		bs.Blocks = append(bs.Blocks, hcl.BlockHeaderSchema{Type: b.Type})
	}
	ownQueue := false
	for _, a := range schema.Attrs {
		ownQueue = ownQueue || a.Name == QueueAttr
	}
	if !ownQueue {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: QueueAttr})
	}
	if _, ok := s.Kind.(Itemwise); ok {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: ShardSizeAttr})
	}
	if _, ok := s.Kind.(Commander); ok {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: DeterministicAttr})
	}
	content, diags := s.body.Content(bs)
	cfg := &Config{Params: map[string]cty.Value{}, Ranges: map[string]hcl.Range{}, Block: s.DeclRange}
	s.Config = cfg
	if attr, ok := content.Attributes[QueueAttr]; ok && !ownQueue {
		v, d := l.decodeParam(AttrSpec{Name: QueueAttr, Type: cty.String}, attr)
		diags = append(diags, d...)
		if !d.HasErrors() && !v.IsNull() {
			s.Queue = v.AsString()
			if !validQueue(s.Queue) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid queue",
					Detail:  fmt.Sprintf("queue %q: a queue name is lower-case letters, digits and dashes, like \"gpu\" or \"gpu-h100\".", s.Queue),
					Subject: attr.Expr.Range().Ptr()})
			}
		}
	}
	if attr, ok := content.Attributes[ShardSizeAttr]; ok {
		diags = append(diags, l.decodeShardSize(s, attr)...)
	}
	if attr, ok := content.Attributes[DeterministicAttr]; ok {
		// Its range is in cfg.Ranges, so that a kind's Decode can tell it
		// was written (train refuses it without a command).
		cfg.Ranges[DeterministicAttr] = attr.Expr.Range()
		v, d := l.decodeParam(AttrSpec{Name: DeterministicAttr, Type: cty.Bool}, attr)
		diags = append(diags, d...)
		if !d.HasErrors() && !v.IsNull() && v.False() {
			s.Nondeterministic = true
		}
	}
	deps := map[*Step]bool{}
	for _, b := range content.Blocks { // in the order written
		spec := schema.block(b.Type)
		bc, ins, d := l.decodeBlock(spec, b)
		diags = append(diags, d...)
		cfg.Blocks = append(cfg.Blocks, bc)
		for _, in := range ins {
			deps[in.From] = true
		}
		cfg.Inputs = append(cfg.Inputs, ins...)
	}
	for _, spec := range schema.Attrs {
		attr, ok := content.Attributes[spec.Name]
		if !ok {
			if spec.Kind == Param {
				unset(cfg.Params, spec)
			}
			continue
		}
		if spec.Kind == Param {
			diags = append(diags, l.decodeParamInto(cfg.Params, cfg.Ranges, spec, attr)...)
			continue
		}
		cfg.Ranges[spec.Name] = attr.Expr.Range()
		ins, d := l.decodeInputs(spec, attr)
		diags = append(diags, d...)
		for _, in := range ins {
			deps[in.From] = true
		}
		cfg.Inputs = append(cfg.Inputs, ins...)
	}
	sort.Slice(cfg.Inputs, func(i, j int) bool { return cfg.Inputs[i].Name < cfg.Inputs[j].Name })
	for i := 1; i < len(cfg.Inputs); i++ {
		if a, b := cfg.Inputs[i-1], cfg.Inputs[i]; a.Name == b.Name {
			detail := fmt.Sprintf("Input %q is given twice.", b.Name)
			if a.Attr != b.Attr {
				// A map entry that takes the name of an input attribute
				// (exec-like inputs = { data = … } beside data = …).
				m, own := a, b
				if a.Name == a.Attr {
					m, own = b, a
				}
				detail = fmt.Sprintf("%s has an entry named %q, the name of the step's own input %s, which is materialized as inputs/%s/; give the entry another name.", m.Attr, own.Name, own.Attr, own.Name)
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate input name",
				Detail: detail, Subject: b.Range.Ptr()})
		}
	}
	for d := range deps {
		s.Deps = append(s.Deps, d)
	}
	sort.Slice(s.Deps, func(i, j int) bool { return s.Deps[i].Addr < s.Deps[j].Addr })
	if !diags.HasErrors() {
		diags = append(diags, checkStep(s.Kind, cfg)...)
	}
	return diags
}

// decodeParam evaluates a parameter attribute against its spec.
func (l *loader) decodeParam(spec AttrSpec, attr *hcl.Attribute) (cty.Value, hcl.Diagnostics) {
	if d := l.noStepRefs(attr.Expr); d.HasErrors() {
		return cty.NilVal, d
	}
	v, diags := l.evalParam(attr.Expr, spec.Type)
	if !diags.HasErrors() && v.IsNull() && spec.Required {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing required argument",
			Detail: fmt.Sprintf("%q must not be null.", spec.Name), Subject: attr.Expr.Range().Ptr()})
	}
	if !diags.HasErrors() && spec.Int {
		diags = append(diags, wholeNumbers(spec.Name, v, attr.Expr)...)
	}
	return v, diags
}

// wholeNumbers checks that the numbers in v, the value of an Int
// attribute (a number, or a collection of them), are whole and fit an
// int64. The first that is not is an error on its element where the
// attribute is a list written out, else on the attribute.
func wholeNumbers(name string, v cty.Value, expr hcl.Expression) hcl.Diagnostics {
	var diags hcl.Diagnostics
	cty.Walk(v, func(p cty.Path, e cty.Value) (bool, error) {
		if len(diags) > 0 || e.IsNull() || !e.IsKnown() || e.Type() != cty.Number {
			return len(diags) == 0, nil
		}
		bf := e.AsBigFloat()
		want := "a whole number"
		if _, acc := bf.Int64(); bf.IsInt() && acc == big.Exact {
			return true, nil
		} else if bf.IsInt() {
			want = fmt.Sprintf("a whole number from %d to %d", int64(math.MinInt64), int64(math.MaxInt64))
		}
		where, rng := name, expr.Range()
		if len(p) == 1 {
			if ix, ok := p[0].(cty.IndexStep); ok && ix.Key.Type() == cty.Number {
				i, _ := ix.Key.AsBigFloat().Int64()
				where = fmt.Sprintf("%s[%d]", name, i)
				if elems, d := hcl.ExprList(expr); !d.HasErrors() && int(i) < len(elems) {
					rng = elems[i].Range()
				}
			} else if ok && ix.Key.Type() == cty.String {
				where = fmt.Sprintf("%s[%q]", name, ix.Key.AsString())
			}
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + name,
			Detail: fmt.Sprintf("%s is %s; it must be %s.", where, bf.Text('g', -1), want), Subject: rng.Ptr()})
		return false, nil
	})
	return diags
}

// decodeBlock evaluates a nested block (an op of a transform, say): its
// attributes are parameters, or inputs named "<block>.<attr>" (a review's
// simulate { truth = … }); blocks inside it are not allowed.
func (l *loader) decodeBlock(spec *BlockSpec, b *hcl.Block) (BlockConfig, []Input, hcl.Diagnostics) {
	var inputs []Input
	bc := BlockConfig{Type: b.Type, Params: map[string]cty.Value{}, Ranges: map[string]hcl.Range{}, Range: b.DefRange}
	bs := &hcl.BodySchema{}
	for _, a := range spec.Attrs {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: a.Name, Required: a.Required})
	}
	content, diags := b.Body.Content(bs)
	for _, a := range spec.Attrs {
		attr, ok := content.Attributes[a.Name]
		if !ok {
			unset(bc.Params, a)
			continue
		}
		if a.Kind != Param {
			bc.Ranges[a.Name] = attr.Expr.Range()
			ins, d := l.decodeInputs(a, attr)
			diags = append(diags, d...)
			for _, in := range ins {
				in.Name, in.Attr = b.Type+"."+in.Name, b.Type+"."+in.Attr
				inputs = append(inputs, in)
			}
			continue
		}
		diags = append(diags, l.decodeParamInto(bc.Params, bc.Ranges, a, attr)...)
	}
	return bc, inputs, diags
}

// decodeParamInto decodes a parameter's attribute into params, and its
// range into ranges. A null value is unset, as in Terraform: the
// parameter takes its default (unset), and has no range, as if absent. A
// value that does not decode keeps only its range, for the diagnostics.
func (l *loader) decodeParamInto(params map[string]cty.Value, ranges map[string]hcl.Range, spec AttrSpec, attr *hcl.Attribute) hcl.Diagnostics {
	v, d := l.decodeParam(spec, attr)
	switch {
	case d.HasErrors():
		ranges[spec.Name] = attr.Expr.Range()
	case v.IsNull():
		unset(params, spec)
	default:
		ranges[spec.Name] = attr.Expr.Range()
		params[spec.Name] = v
	}
	return d
}

// unset gives an absent (or null) parameter its default, if it has one.
func unset(params map[string]cty.Value, spec AttrSpec) {
	if spec.Default != cty.NilVal {
		params[spec.Name] = spec.Default
	}
}

// evalParam evaluates expr with variables and locals in scope and converts
// it to typ.
func (l *loader) evalParam(expr hcl.Expression, typ cty.Type) (cty.Value, hcl.Diagnostics) {
	if diags := l.checkRefs(expr, false); diags.HasErrors() {
		return cty.NilVal, diags
	}
	v, diags := expr.Value(l.evalContext())
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	return convertTo(v, typ, expr.Range())
}

// noStepRefs rejects step references outside input attributes.
func (l *loader) noStepRefs(expr hcl.Expression) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range expr.Variables() {
		if _, isKind := l.opt.Kinds[t.RootName()]; isKind {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Step reference in a parameter",
				Detail:  fmt.Sprintf("%s refers to a step, but this attribute is a parameter. Step outputs can only be used in input attributes (such as inputs or from), which create the edges of the build graph.", traversalString(t)),
				Subject: t.SourceRange().Ptr()})
		}
	}
	return diags
}

// decodeInputs reads an input attribute by its syntax: references are
// resolved to steps without evaluating anything.
func (l *loader) decodeInputs(spec AttrSpec, attr *hcl.Attribute) ([]Input, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var out []Input
	one := func(name string, expr hcl.Expression) {
		in, d := l.resolveRef(expr)
		diags = append(diags, d...)
		if in != nil {
			in.Name, in.Attr = name, spec.Name
			out = append(out, *in)
		}
	}
	switch spec.Kind {
	case InputOne:
		one(spec.Name, attr.Expr)
	case InputList:
		if exprs, d := hcl.ExprList(attr.Expr); !d.HasErrors() {
			for i, e := range exprs {
				one(fmt.Sprintf("%s[%d]", spec.Name, i), e)
			}
		} else {
			one(spec.Name, attr.Expr)
		}
	case InputMap:
		pairs, d := hcl.ExprMap(attr.Expr)
		if d.HasErrors() {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Inputs must be a map of references",
				Detail:  "Write inputs as a map from names to step outputs, like { text = files.src, model = exec.train.out }.",
				Subject: attr.Expr.Range().Ptr()}}
		}
		for _, p := range pairs {
			k, d := p.Key.Value(nil)
			if d.HasErrors() || k.Type() != cty.String || k.IsNull() {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid input name",
					Detail: "Input names must be literal names.", Subject: p.Key.Range().Ptr()})
				continue
			}
			name := k.AsString()
			if !hclsyntax.ValidIdentifier(name) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid input name",
					Detail:  fmt.Sprintf("Input %q must be a plain name: it becomes the directory inputs/%s.", name, name),
					Subject: p.Key.Range().Ptr()})
				continue
			}
			one(name, p.Value)
		}
	}
	return out, diags
}

// resolveRef turns kind.name or kind.name.output into an Input.
func (l *loader) resolveRef(expr hcl.Expression) (*Input, hcl.Diagnostics) {
	t, d := hcl.AbsTraversalForExpr(expr)
	if d.HasErrors() {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Not a step reference",
			Detail:  "An input must be a reference to a step's output, like files.src or exec.upper.out.",
			Subject: expr.Range().Ptr()}}
	}
	if diags := l.checkRefs(expr, true); diags.HasErrors() {
		return nil, diags
	}
	if _, isKind := l.opt.Kinds[t.RootName()]; !isKind || len(t) < 2 {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Not a step reference",
			Detail:  fmt.Sprintf("%s is not a step output. An input must be a reference like files.src or exec.upper.out.", traversalString(t)),
			Subject: expr.Range().Ptr()}}
	}
	step := l.r.byAddr[t.RootName()+"."+t[1].(hcl.TraverseAttr).Name]
	in := &Input{From: step, Range: expr.Range()}
	if len(t) == 3 {
		in.Output = t[2].(hcl.TraverseAttr).Name
		return in, nil
	}
	if step.outputsUnknown {
		return in, nil
	}
	if def := step.Kind.Schema().DefaultOutput; def != "" && len(step.Outputs) > 1 {
		in.Output = def
		return in, nil
	}
	if len(step.Outputs) != 1 {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Ambiguous step reference",
			Detail:  fmt.Sprintf("%s has %d outputs (%s); name one, as in %s.%s.", step.Addr, len(step.Outputs), joinNames(step.Outputs), step.Addr, firstOr(step.Outputs, "out")),
			Subject: expr.Range().Ptr()}}
	}
	in.Output = step.Outputs[0]
	return in, nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// checkRefs validates every reference in expr: var.x, local.x and, when
// steps is true, kind.name[.output]. Unknown names get a did-you-mean.
func (l *loader) checkRefs(expr hcl.Expression, steps bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range expr.Variables() {
		root := t.RootName()
		rng := t.SourceRange().Ptr()
		attrAt := func(i int) (string, bool) {
			if len(t) <= i {
				return "", false
			}
			a, ok := t[i].(hcl.TraverseAttr)
			return a.Name, ok
		}
		switch root {
		case "var":
			name, ok := attrAt(1)
			if _, known := l.vars[name]; !ok || !known {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown variable",
					Detail:  fmt.Sprintf("There is no variable named %q.%s Declare it with a variable block.", name, Suggest(name, keys(l.vars))),
					Subject: rng})
			}
			continue
		case "local":
			name, ok := attrAt(1)
			if _, known := l.locals[name]; !ok || !known {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown local value",
					Detail:  fmt.Sprintf("There is no local value named %q.%s", name, Suggest(name, keys(l.locals))),
					Subject: rng})
			}
			continue
		}
		if _, isKind := l.opt.Kinds[root]; !isKind || !steps {
			cands := []string{"var", "local"}
			if steps {
				for _, s := range l.r.Steps {
					cands = append(cands, s.Addr)
				}
			}
			given := root
			if n, ok := attrAt(1); ok && steps {
				given = root + "." + n
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown reference",
				Detail:  fmt.Sprintf("%s does not name anything in this recipe.%s", traversalString(t), Suggest(given, cands)),
				Subject: rng})
			continue
		}
		name, ok := attrAt(1)
		if !ok && len(t) > 1 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid step reference",
				Detail: fmt.Sprintf("Write kind.name or kind.name.output; %s uses index syntax.", traversalString(t)), Subject: rng})
			continue
		}
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Incomplete step reference",
				Detail: fmt.Sprintf("Name a step, as in %s.<name>.", root), Subject: rng})
			continue
		}
		step := l.r.byAddr[root+"."+name]
		if step == nil {
			var cands []string
			for _, s := range l.r.Steps {
				cands = append(cands, s.Addr)
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown step reference",
				Detail:  fmt.Sprintf("There is no step %s.%s", root+"."+name, Suggest(root+"."+name, cands)),
				Subject: rng})
			continue
		}
		if len(t) > 3 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid step reference",
				Detail: fmt.Sprintf("Write kind.name or kind.name.output; %s has too many parts.", traversalString(t)), Subject: rng})
			continue
		}
		if out, ok := attrAt(2); len(t) == 3 {
			if !ok {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid step reference",
					Detail: fmt.Sprintf("Write kind.name or kind.name.output; %s uses index syntax.", traversalString(t)), Subject: rng})
				continue
			}
			if !step.outputsUnknown && !contains(step.Outputs, out) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown step output",
					Detail:  fmt.Sprintf("%s has no output %q; its outputs are %s.%s", step.Addr, out, joinNames(step.Outputs), Suggest(out, step.Outputs)),
					Subject: rng})
			}
		}
	}
	return diags
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func traversalString(t hcl.Traversal) string {
	var b strings.Builder
	for _, step := range t {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			b.WriteString("[…]")
		default:
			b.WriteString("…")
		}
	}
	return b.String()
}

// QueueAttr is the attribute every step may have that names the task
// queue of distributed builds (Step.Queue).
const QueueAttr = "queue"

// Commander is implemented by the kinds that run a user's command (exec):
// their steps may declare deterministic = false (Step.Nondeterministic).
type Commander interface {
	Kind
	Commander()
}

// DeterministicAttr is the attribute of Commander steps that declares
// whether their command gives the same outputs from the same inputs.
const DeterministicAttr = "deterministic"

// ShardSizeAttr is the attribute of Itemwise steps that sets how many
// items a shard of a distributed build holds (Step.ShardSize).
const ShardSizeAttr = "shard_size"

// MaxShardSize bounds shard_size.
const MaxShardSize = 10_000_000

func (l *loader) decodeShardSize(s *Step, attr *hcl.Attribute) hcl.Diagnostics {
	v, diags := l.decodeParam(AttrSpec{Name: ShardSizeAttr, Type: cty.Number}, attr)
	if diags.HasErrors() || v.IsNull() {
		return diags
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || n < 1 || n > MaxShardSize {
		return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid shard_size",
			Detail:  fmt.Sprintf("shard_size = %s: the items a shard of a distributed build holds, a whole number from 1 to %d (without it, dsbuild chooses from the item count: docs/distributed.md).", bf.Text('g', -1), MaxShardSize),
			Subject: attr.Expr.Range().Ptr()})
	}
	s.ShardSize = int(n)
	return diags
}

func validQueue(q string) bool {
	if q == "" || len(q) > 64 {
		return false
	}
	for _, c := range q {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
