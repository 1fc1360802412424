package engine

import (
	"fmt"
	"strings"
)

// edge is one input of a step, drawn from its upstream step.
type edge struct {
	from, to *Step
	label    string
}

func edges(r *Recipe) []edge {
	var out []edge
	for _, s := range Order(r, nil) {
		for _, in := range s.Config.Inputs {
			label := in.Name
			if len(in.From.Outputs) > 1 {
				label = in.Output + " → " + in.Name
			}
			out = append(out, edge{in.From, s, label})
		}
	}
	return out
}

// DOT renders the recipe's graph in Graphviz's language.
func DOT(r *Recipe) string {
	var b strings.Builder
	b.WriteString("digraph dsbuild {\n  rankdir=LR;\n  node [shape=box];\n")
	for _, s := range Order(r, nil) {
		fmt.Fprintf(&b, "  %q;\n", s.Addr)
	}
	for _, e := range edges(r) {
		fmt.Fprintf(&b, "  %q -> %q [label=%q];\n", e.from.Addr, e.to.Addr, e.label)
	}
	b.WriteString("}\n")
	return b.String()
}

// Mermaid renders the recipe's graph as a Mermaid flowchart.
func Mermaid(r *Recipe) string {
	id := func(s *Step) string { return strings.NewReplacer(".", "_", "-", "_").Replace(s.Addr) }
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, s := range Order(r, nil) {
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", id(s), s.Addr)
	}
	for _, e := range edges(r) {
		fmt.Fprintf(&b, "  %s -->|%s| %s\n", id(e.from), strings.ReplaceAll(e.label, "|", "/"), id(e.to))
	}
	return b.String()
}
