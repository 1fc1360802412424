// Package bootstrap is the bootstrap block: the seed's loop of training,
// pre-annotating a batch of unlabeled images, reviewing the predictions
// and merging the accepted ones back, written once and expanded when the
// recipe loads into explicit steps per round, which plan, graph and the
// lockfile show like any others.
//
//	bootstrap "person" {
//	  rounds     = 3
//	  seed_data  = split.people.train
//	  validation = split.people.val
//	  pool       = import.unlabeled
//	  batch      = 40
//	  train       { input_size = 64  epochs = 6 }
//	  preannotate { threshold = 0.5 }
//	  review      { simulate { truth = import.unlabeled } }
//	}
//
// expands, for a bootstrap named N, into
//
//	train.N_round0          data = seed_data
//	take.N_roundR           pool ranks (R−1)·batch … R·batch−1          (R = 1 … rounds)
//	preannotate.N_roundR    model = train.N_round(R−1), images = take.N_roundR
//	review.N_roundR         from = preannotate.N_roundR
//	transform.N_roundR      from = [review.N_roundR.accepted]   (with a prepare block)
//	merge.N_roundR          [training data of round R−1, the accepted items]
//	train.N_roundR          data = merge.N_roundR, from = train.N_round(R−1)
//
// The train, preannotate and review blocks hold those kinds' parameters
// (and review's simulate block), copied into every round; validation goes
// to every train step. A package or results directory set in the review
// block is the loop's base: round R uses <dir>/roundR. An optional prepare block holds transform ops that
// make the accepted images like the seed data (crop each person, resize)
// before they join it. The final model is train.N_round<rounds>.
package bootstrap

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Macro expands bootstrap blocks.
type Macro struct{}

// MaxRounds bounds the expansion.
const MaxRounds = 50

var (
	attrs = map[string]bool{"rounds": true, "seed_data": true, "validation": true, "pool": true, "batch": true, "seed": true}
	// the attributes each nested block may not set: the expansion does.
	reserved = map[string][]string{
		"train":       {"data", "validation", "from"},
		"preannotate": {"model", "images"},
		"review":      {"from"},
		"prepare":     {"from"},
	}
)

func diag(summary, detail string, r hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

// Expand implements engine.Macro.
func (Macro) Expand(b *hclsyntax.Block, eval func(hcl.Expression, cty.Type) (cty.Value, hcl.Diagnostics)) ([]*hclsyntax.Block, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	name := b.Labels[0]
	rng := b.DefRange()
	names := make([]string, 0, len(b.Body.Attributes))
	for n := range b.Body.Attributes {
		names = append(names, n)
	}
	sort.Strings(names) // diagnostics in a stable order
	for _, n := range names {
		if !attrs[n] {
			diags = append(diags, diag("Unsupported argument", fmt.Sprintf("bootstrap has no argument %q; it takes rounds, seed_data, validation, pool, batch and seed, and train, preannotate, review and prepare blocks.", n), b.Body.Attributes[n].NameRange))
		}
	}
	nested := map[string]*hclsyntax.Block{}
	for _, nb := range b.Body.Blocks {
		res, ok := reserved[nb.Type]
		switch {
		case !ok:
			diags = append(diags, diag("Unsupported block", fmt.Sprintf("bootstrap holds train, preannotate, review and prepare blocks, not %q.", nb.Type), nb.TypeRange))
			continue
		case nested[nb.Type] != nil:
			diags = append(diags, diag("Duplicate block", fmt.Sprintf("bootstrap has a second %s block; merge them.", nb.Type), nb.TypeRange))
			continue
		}
		nested[nb.Type] = nb
		for _, r := range res {
			if a, ok := nb.Body.Attributes[r]; ok {
				diags = append(diags, diag("Argument set by the bootstrap", fmt.Sprintf("In a bootstrap, %s.%s is set for every round by the loop itself; remove it.", nb.Type, r), a.NameRange))
			}
		}
	}
	for _, req := range []string{"rounds", "seed_data", "pool", "batch"} {
		if _, ok := b.Body.Attributes[req]; !ok {
			diags = append(diags, diag("Missing required argument", fmt.Sprintf("bootstrap needs %q.", req), b.Body.SrcRange))
		}
	}
	if nested["review"] == nil {
		diags = append(diags, diag("Missing review block", "bootstrap needs a review block: results = \"<dir>\" for people's reviews (round R reads <dir>/roundR), or simulate { truth = … } to review from ground truth.", b.Body.SrcRange))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	num := func(attr string, lo, hi int) int {
		a := b.Body.Attributes[attr]
		v, d := eval(a.Expr, cty.Number)
		diags = append(diags, d...)
		if d.HasErrors() {
			return 0
		}
		bf := v.AsBigFloat()
		n, acc := bf.Int64()
		if acc != 0 || n < int64(lo) || n > int64(hi) {
			diags = append(diags, diag("Invalid "+attr, fmt.Sprintf("%s is %s; it must be a whole number from %d to %d.", attr, bf.String(), lo, hi), a.Expr.Range()))
			return 0
		}
		return int(n)
	}
	rounds := num("rounds", 0, MaxRounds)
	batch := num("batch", 1, 1<<30)
	if diags.HasErrors() {
		return nil, diags
	}

	step := func(_ string, r int) string { return fmt.Sprintf("%s_round%d", name, r) }
	ref := func(parts ...string) hclsyntax.Expression {
		t := hcl.Traversal{hcl.TraverseRoot{Name: parts[0], SrcRange: rng}}
		for _, p := range parts[1:] {
			t = append(t, hcl.TraverseAttr{Name: p, SrcRange: rng})
		}
		return &hclsyntax.ScopeTraversalExpr{Traversal: t, SrcRange: rng}
	}
	user := func(attr string) hclsyntax.Expression { return b.Body.Attributes[attr].Expr }
	block := func(kind string, r int, set map[string]hclsyntax.Expression, from *hclsyntax.Block) *hclsyntax.Block {
		body := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}, SrcRange: rng, EndRange: rng}
		if from != nil {
			for n, a := range from.Body.Attributes {
				body.Attributes[n] = a
			}
			body.Blocks = from.Body.Blocks
			body.SrcRange, body.EndRange = from.Body.SrcRange, from.Body.EndRange
		}
		for n, e := range set {
			body.Attributes[n] = &hclsyntax.Attribute{Name: n, Expr: e, SrcRange: e.Range(), NameRange: e.Range(), EqualsRange: e.Range()}
		}
		return &hclsyntax.Block{Type: kind, Labels: []string{step(kind, r)}, Body: body,
			TypeRange: b.TypeRange, LabelRanges: []hcl.Range{b.LabelRanges[0]}, OpenBraceRange: b.OpenBraceRange, CloseBraceRange: b.CloseBraceRange}
	}
	withVal := func(m map[string]hclsyntax.Expression) map[string]hclsyntax.Expression {
		if _, ok := b.Body.Attributes["validation"]; ok {
			m["validation"] = user("validation")
		}
		return m
	}
	out := []*hclsyntax.Block{block("train", 0, withVal(map[string]hclsyntax.Expression{"data": user("seed_data")}), nested["train"])}
	data := user("seed_data")
	for r := 1; r <= rounds; r++ {
		prev := step("train", r-1)
		take := map[string]hclsyntax.Expression{
			"from":  user("pool"),
			"count": &hclsyntax.LiteralValueExpr{Val: cty.NumberIntVal(int64(batch)), SrcRange: rng},
			"skip":  &hclsyntax.LiteralValueExpr{Val: cty.NumberIntVal(int64((r - 1) * batch)), SrcRange: rng},
		}
		if _, ok := b.Body.Attributes["seed"]; ok {
			take["seed"] = user("seed")
		}
		accepted := ref("review", step("review", r), "accepted")
		review := map[string]hclsyntax.Expression{"from": ref("preannotate", step("preannotate", r), "dataset")}
		for _, dir := range []string{"package", "results"} {
			// A directory given once names the loop's base: each round
			// gets its own subdirectory, so no two rounds share one.
			if a, ok := nested["review"].Body.Attributes[dir]; ok {
				review[dir] = perRound(a.Expr, r)
			}
		}
		out = append(out,
			block("take", r, take, nil),
			block("preannotate", r, map[string]hclsyntax.Expression{"model": ref("train", prev, "model"), "images": ref("take", step("take", r), "dataset")}, nested["preannotate"]),
			block("review", r, review, nested["review"]),
		)
		if nested["prepare"] != nil {
			out = append(out, block("transform", r, map[string]hclsyntax.Expression{"from": &hclsyntax.TupleConsExpr{
				Exprs: []hclsyntax.Expression{accepted}, OpenRange: rng, SrcRange: rng}}, nested["prepare"]))
			accepted = ref("transform", step("transform", r), "dataset")
		}
		out = append(out,
			block("merge", r, map[string]hclsyntax.Expression{"from": &hclsyntax.TupleConsExpr{
				Exprs: []hclsyntax.Expression{data, accepted}, OpenRange: rng, SrcRange: rng}}, nil),
			block("train", r, withVal(map[string]hclsyntax.Expression{"data": ref("merge", step("merge", r), "dataset"), "from": ref("train", prev, "model")}), nested["train"]),
		)
		data = ref("merge", step("merge", r), "dataset")
	}
	return out, diags
}

// perRound is the user's directory expression followed by "/round<r>".
func perRound(e hclsyntax.Expression, r int) hclsyntax.Expression {
	rng := e.Range()
	return &hclsyntax.TemplateExpr{SrcRange: rng, Parts: []hclsyntax.Expression{
		e,
		&hclsyntax.LiteralValueExpr{Val: cty.StringVal(fmt.Sprintf("/round%d", r)), SrcRange: rng},
	}}
}
