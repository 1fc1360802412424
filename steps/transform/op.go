package transform

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/dataset"
	"dsbuild/engine"
)

// Op is one operation of a transform, built from its block when the recipe
// loads (so that bad parameters are diagnostics at the attribute).
type Op interface {
	// Apply maps one item to what it becomes: nothing (the item is
	// skipped), itself, or several items (crops of instances, windows).
	Apply(it *Item) ([]*Item, error)
}

// MetaOp is an Op that changes the classes or tags. Like DTL's
// make_output_meta, the output meta is computed before any item runs.
type MetaOp interface {
	Meta(in *dataset.Meta) (*dataset.Meta, error)
}

// opSpec declares an op: its block type, its parameters and its builder.
type opSpec struct {
	Name  string
	Doc   string
	Attrs []engine.AttrSpec
	Build func(p params) (Op, error)
}

var opSpecs = map[string]opSpec{}

// register adds an op; each op family's file registers its ops in init.
func register(s opSpec) {
	if _, dup := opSpecs[s.Name]; dup {
		panic("transform: op " + s.Name + " registered twice")
	}
	opSpecs[s.Name] = s
}

func opNames() []string {
	var out []string
	for n := range opSpecs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// paramError is a bad parameter, reported at its attribute (or at the
// block when attr is ""). msg continues a sentence that starts with the
// attribute's name: badParam("width", "must be positive").
type paramError struct {
	attr string
	msg  string
}

func (e *paramError) Error() string { return e.attr + " " + e.msg }

func badParam(attr, format string, args ...any) error {
	return &paramError{attr: attr, msg: fmt.Sprintf(format, args...)}
}

// params reads an op block's evaluated parameters.
type params struct {
	engine.BlockConfig
}

func (p params) has(name string) bool {
	v, ok := p.Params[name]
	return ok && !v.IsNull()
}

func (p params) str(name string) string {
	if !p.has(name) {
		return ""
	}
	return p.Params[name].AsString()
}

func (p params) num(name string) float64 {
	if !p.has(name) {
		return 0
	}
	f, _ := p.Params[name].AsBigFloat().Float64()
	return f
}

func (p params) integer(name string) (int, error) {
	if !p.has(name) {
		return 0, nil
	}
	bf := p.Params[name].AsBigFloat()
	if !bf.IsInt() {
		return 0, badParam(name, "must be a whole number, not %s", bf.Text('g', -1))
	}
	i, _ := bf.Int64()
	if i > 1<<30 || i < -(1<<30) {
		return 0, badParam(name, "%d is out of range", i)
	}
	return int(i), nil
}

func (p params) boolean(name string) bool {
	return p.has(name) && p.Params[name].True()
}

func (p params) strs(name string) []string {
	if !p.has(name) {
		return nil
	}
	var out []string
	for it := p.Params[name].ElementIterator(); it.Next(); {
		_, v := it.Element()
		out = append(out, v.AsString())
	}
	return out
}

func (p params) strMap(name string) map[string]string {
	if !p.has(name) {
		return nil
	}
	out := map[string]string{}
	for it := p.Params[name].ElementIterator(); it.Next(); {
		k, v := it.Element()
		out[k.AsString()] = v.AsString()
	}
	return out
}

// blockSpecs lists the op blocks for the transform kind's schema.
func blockSpecs() []engine.BlockSpec {
	var out []engine.BlockSpec
	for _, n := range opNames() {
		s := opSpecs[n]
		out = append(out, engine.BlockSpec{Type: s.Name, Attrs: s.Attrs, Doc: s.Doc})
	}
	return out
}

// buildOps builds every op of a step, with diagnostics at the attributes.
func buildOps(cfg *engine.Config) ([]builtOp, hcl.Diagnostics) {
	var ops []builtOp
	var diags hcl.Diagnostics
	for _, bc := range cfg.Blocks {
		spec, ok := opSpecs[bc.Type]
		if !ok {
			continue // the engine reported it
		}
		p := params{bc}
		op, err := spec.Build(p)
		if err != nil {
			rng := bc.Range
			if pe, ok := err.(*paramError); ok {
				if r, ok := bc.Ranges[pe.attr]; ok {
					rng = r
				}
				if pe.attr != "" {
					err = fmt.Errorf("%s %s", pe.attr, pe.msg)
				} else {
					err = fmt.Errorf("%s", pe.msg)
				}
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + bc.Type + " op",
				Detail: strings.TrimSuffix(err.Error(), ".") + ".", Subject: &rng})
			continue
		}
		ops = append(ops, builtOp{op: op, typ: bc.Type, at: bc.Range})
	}
	return ops, diags
}

type builtOp struct {
	op  Op
	typ string    // the block type: "resize"
	at  hcl.Range // the block header
}

// fail is err, which op o met, as an error at its block: the CLI shows the
// recipe's op block with it (engine.SourceError).
func (o builtOp) fail(err error) error {
	return engine.Errorf(o.at, "op %s: %w", o.typ, err)
}

// Shared attribute types.
var (
	tString     = cty.String
	tNumber     = cty.Number
	tBool       = cty.Bool
	tStringList = cty.List(cty.String)
	tStringMap  = cty.Map(cty.String)
)
