package engine

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

var variableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "default"}, {Name: "type"}, {Name: "description"},
}}

// functions are the functions recipes may call. All are pure.
var functions = map[string]function.Function{
	"concat":     stdlib.ConcatFunc,
	"format":     stdlib.FormatFunc,
	"join":       stdlib.JoinFunc,
	"length":     stdlib.LengthFunc,
	"lower":      stdlib.LowerFunc,
	"upper":      stdlib.UpperFunc,
	"max":        stdlib.MaxFunc,
	"min":        stdlib.MinFunc,
	"range":      stdlib.RangeFunc,
	"merge":      stdlib.MergeFunc,
	"keys":       stdlib.KeysFunc,
	"values":     stdlib.ValuesFunc,
	"jsonencode": stdlib.JSONEncodeFunc,
	"split":      stdlib.SplitFunc,
	"replace":    stdlib.ReplaceFunc,
	"tostring":   stdlib.MakeToFunc(cty.String),
	"tonumber":   stdlib.MakeToFunc(cty.Number),
}

func (l *loader) evalContext() *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(l.vars),
			"local": cty.ObjectVal(l.locals),
		},
		Functions: functions,
	}
}

func convertTo(v cty.Value, typ cty.Type, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	if typ == cty.NilType || typ == cty.DynamicPseudoType {
		return v, nil
	}
	out, err := convert.Convert(v, typ)
	if err != nil {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incorrect value type",
			Detail:  fmt.Sprintf("A value of type %s is required here: %s.", typ.FriendlyName(), err),
			Subject: rng.Ptr()}}
	}
	var bad cty.Path
	cty.Walk(out, func(p cty.Path, v cty.Value) (bool, error) {
		if bad == nil && len(p) > 0 && v.IsNull() {
			if _, idx := p[len(p)-1].(cty.IndexStep); idx {
				bad = p.Copy()
			}
		}
		return bad == nil, nil
	})
	if bad != nil {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incorrect value type",
			Detail:  fmt.Sprintf("A value of type %s is required here: an element is null.", typ.FriendlyName()),
			Subject: rng.Ptr()}}
	}
	return out, nil
}

// loadVariables decides each variable's value: -var, then -var-file, then
// the default. A variable with none of them is an error.
func (l *loader) loadVariables(blocks []*hclsyntax.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	type decl struct {
		block *hclsyntax.Block
		typ   cty.Type
		def   cty.Value
	}
	decls := map[string]*decl{}
	for _, b := range blocks {
		name := b.Labels[0]
		if prev, dup := decls[name]; dup {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate variable",
				Detail:  fmt.Sprintf("Variable %q was already declared at %s.", name, rangeString(prev.block.DefRange())),
				Subject: b.LabelRanges[0].Ptr()})
			continue
		}
		content, d := b.Body.Content(variableSchema)
		diags = append(diags, d...)
		dc := &decl{block: b, typ: cty.DynamicPseudoType}
		if a, ok := content.Attributes["type"]; ok {
			t, d := typeexpr.TypeConstraint(a.Expr)
			diags = append(diags, d...)
			if !d.HasErrors() {
				dc.typ = t
			}
		}
		if a, ok := content.Attributes["default"]; ok {
			dc.def = cty.DynamicVal // present, even if invalid
			v, d := a.Expr.Value(nil)
			diags = append(diags, d...)
			if !d.HasErrors() {
				v, d = convertTo(v, dc.typ, a.Expr.Range())
				diags = append(diags, d...)
				if !d.HasErrors() {
					dc.def = v
				}
			}
		}
		decls[name] = dc
	}
	given := map[string]cty.Value{}
	for _, f := range l.opt.VarFiles {
		src, err := os.ReadFile(f)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read variable file", Detail: err.Error()})
			continue
		}
		if d := CheckSource(src, f); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		file, d := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		l.r.Files[f] = file
		attrs, d := file.Body.JustAttributes()
		diags = append(diags, d...)
		for _, a := range sortedHCLAttrs(attrs) {
			dc, ok := decls[a.Name]
			if !ok {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undeclared variable",
					Detail:  fmt.Sprintf("The recipe declares no variable %q.%s", a.Name, Suggest(a.Name, keys(decls))),
					Subject: a.NameRange.Ptr()})
				continue
			}
			v, d := a.Expr.Value(nil)
			diags = append(diags, d...)
			if !d.HasErrors() {
				v, d = convertTo(v, dc.typ, a.Expr.Range())
				diags = append(diags, d...)
				given[a.Name] = v
			}
		}
	}
	for _, kv := range l.opt.Vars {
		name, raw, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -var option",
				Detail: fmt.Sprintf("%q: write -var NAME=VALUE.", kv)})
			continue
		}
		dc, known := decls[name]
		if !known {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undeclared variable",
				Detail: fmt.Sprintf("-var %s: the recipe declares no variable %q.%s", kv, name, Suggest(name, keys(decls)))})
			continue
		}
		v, err := parseVarValue(raw, dc.typ)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -var value",
				Detail: fmt.Sprintf("-var %s: %v.", kv, err)})
			continue
		}
		given[name] = v
	}
	for _, name := range keys(l.opt.Recorded) {
		dc, ok := decls[name]
		if _, set := given[name]; !ok || set {
			continue
		}
		v, err := convert.Convert(l.opt.Recorded[name], dc.typ)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Recorded variable value ignored",
				Detail:  fmt.Sprintf("The value of %q recorded in %s is not a %s now; using the default.", name, LockfileName, dc.typ.FriendlyName()),
				Subject: dc.block.LabelRanges[0].Ptr()})
			continue
		}
		given[name] = v
		l.r.RecordedVars = append(l.r.RecordedVars, name)
	}
	l.r.Vars = given
	for _, name := range keys(decls) {
		dc := decls[name]
		switch v, ok := given[name]; {
		case ok:
			l.vars[name] = v
		case dc.def != cty.NilVal:
			l.vars[name] = dc.def
		default:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No value for required variable",
				Detail:  fmt.Sprintf("Variable %q has no default. Give it one, or pass -var %s=VALUE.", name, name),
				Subject: dc.block.LabelRanges[0].Ptr()})
			l.vars[name] = cty.DynamicVal
		}
	}
	return diags
}

// parseVarValue reads a -var value: as the declared primitive type, or else
// as an HCL literal (numbers, lists, quoted strings), falling back to the
// raw string.
func parseVarValue(raw string, typ cty.Type) (cty.Value, error) {
	if typ.IsPrimitiveType() {
		v, err := convert.Convert(cty.StringVal(raw), typ)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%q is not a %s", raw, typ.FriendlyName())
		}
		return v, nil
	}
	if d := checkExprSource([]byte(raw), "-var"); d.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s: %s", d[0].Summary, d[0].Detail)
	}
	expr, d := hclsyntax.ParseExpression([]byte(raw), "-var", hcl.InitialPos)
	v := cty.StringVal(raw)
	if !d.HasErrors() {
		if ev, d := expr.Value(nil); !d.HasErrors() {
			v = ev
		}
	}
	out, err := convert.Convert(v, typ)
	if err != nil {
		return cty.NilVal, fmt.Errorf("%q is not a %s", raw, typ.FriendlyName())
	}
	return out, nil
}

func sortedHCLAttrs(m hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Range.Start.Byte < out[j].Range.Start.Byte })
	return out
}

// loadLocals evaluates locals in dependency order.
func (l *loader) loadLocals(attrs []*hclsyntax.Attribute) hcl.Diagnostics {
	var diags hcl.Diagnostics
	pending := map[string]*hclsyntax.Attribute{}
	for _, a := range attrs {
		if prev, dup := pending[a.Name]; dup {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate local value",
				Detail:  fmt.Sprintf("Local %q was already defined at %s.", a.Name, rangeString(prev.SrcRange)),
				Subject: a.NameRange.Ptr()})
			continue
		}
		pending[a.Name] = a
	}
	for len(pending) > 0 {
		progress := false
		for _, name := range keys(pending) {
			a := pending[name]
			ready := true
			for _, t := range a.Expr.Variables() {
				if t.RootName() != "local" || len(t) < 2 {
					continue
				}
				if ta, ok := t[1].(hcl.TraverseAttr); ok {
					if _, waiting := pending[ta.Name]; waiting {
						ready = false
					}
				}
			}
			if !ready {
				continue
			}
			delete(pending, name)
			progress = true
			if d := l.noStepRefs(a.Expr); d.HasErrors() {
				diags = append(diags, d...)
				l.locals[name] = cty.DynamicVal
				continue
			}
			v, d := l.evalParam(a.Expr, cty.DynamicPseudoType)
			diags = append(diags, d...)
			if d.HasErrors() {
				v = cty.DynamicVal
			}
			l.locals[name] = v
		}
		if !progress {
			deps := func(name string) []string {
				var out []string
				for _, t := range pending[name].Expr.Variables() {
					if t.RootName() == "local" && len(t) >= 2 {
						if ta, ok := t[1].(hcl.TraverseAttr); ok {
							if _, waiting := pending[ta.Name]; waiting {
								out = append(out, ta.Name)
							}
						}
					}
				}
				return out
			}
			onCycle := func(start string) bool {
				seen := map[string]bool{}
				stack := deps(start)
				for len(stack) > 0 {
					n := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					if n == start {
						return true
					}
					if !seen[n] {
						seen[n] = true
						stack = append(stack, deps(n)...)
					}
				}
				return false
			}
			var names []string
			for _, name := range keys(pending) {
				if onCycle(name) {
					names = append(names, name)
				}
			}
			for _, name := range names {
				a := pending[name]
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cycle in local values",
					Detail:  fmt.Sprintf("Local values %s refer to each other in a cycle.", joinNames(names)),
					Subject: a.NameRange.Ptr()})
			}
			break
		}
	}
	return diags
}
