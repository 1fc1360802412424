package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// findCycles reports every dependency cycle among steps, once each, naming
// every member. Each cycle is rotated to start at its smallest address, so
// the message is the same whatever order the files are read in.
func findCycles(steps []*Step) hcl.Diagnostics {
	index := map[*Step]int{}
	low := map[*Step]int{}
	onStack := map[*Step]bool{}
	var stack []*Step
	var sccs [][]*Step
	n := 0
	var strong func(s *Step)
	strong = func(s *Step) {
		index[s], low[s] = n, n
		n++
		stack = append(stack, s)
		onStack[s] = true
		for _, d := range s.Deps {
			if _, seen := index[d]; !seen {
				strong(d)
				low[s] = min(low[s], low[d])
			} else if onStack[d] {
				low[s] = min(low[s], index[d])
			}
		}
		if low[s] == index[s] {
			var scc []*Step
			for {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[top] = false
				scc = append(scc, top)
				if top == s {
					break
				}
			}
			if len(scc) > 1 || dependsOn(s, s) {
				sccs = append(sccs, scc)
			}
		}
	}
	for _, s := range steps {
		if _, seen := index[s]; !seen {
			strong(s)
		}
	}
	var diags hcl.Diagnostics
	for _, scc := range sccs {
		sort.Slice(scc, func(i, j int) bool { return scc[i].Addr < scc[j].Addr })
		members := map[*Step]bool{}
		for _, s := range scc {
			members[s] = true
		}
		path := cyclePath(scc[0], members)
		names := make([]string, len(path))
		for i, s := range path {
			names[i] = s.Addr
		}
		first := scc[0]
		subject := first.DeclRange
		for _, in := range first.Config.Inputs {
			if in.From == path[1%len(path)] {
				subject = in.Range
				break
			}
		}
		var all []string
		for _, s := range scc {
			all = append(all, s.Addr)
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Dependency cycle",
			Detail:  fmt.Sprintf("These steps depend on each other in a cycle: %s → %s. Members: %s.", strings.Join(names, " → "), names[0], joinNames(all)),
			Subject: subject.Ptr()})
	}
	return diags
}

func dependsOn(s, d *Step) bool {
	for _, x := range s.Deps {
		if x == d {
			return true
		}
	}
	return false
}

// cyclePath returns a shortest cycle through start among members,
// breadth first over dependencies sorted by address.
func cyclePath(start *Step, members map[*Step]bool) []*Step {
	parent := map[*Step]*Step{}
	queue := []*Step{start}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, d := range cur.Deps {
			if !members[d] {
				continue
			}
			if d == start {
				var path []*Step
				for s := cur; s != start; s = parent[s] {
					path = append([]*Step{s}, path...)
				}
				return append([]*Step{start}, path...)
			}
			if _, seen := parent[d]; !seen && d != start {
				parent[d] = cur
				queue = append(queue, d)
			}
		}
	}
	return []*Step{start}
}
