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
//	  batch      = 48
//	  merge      = true          # false: the ablation (see below)
//	  ablation   = false         # true: also the merge = false twin, N_nomerge
//	  train        { input_size = 96  epochs = 30 }
//	  preannotate  { threshold = 0.5 }
//	  review       { simulate { truth = import.unlabeled } }
//	  crop_prepare { instances_crop { classes = ["person"]  pad = "10%" }  resize { … } }
//	  crop_train   { input_size = 96  crop_padding = 0.1 }
//	}
//
// expands, for a bootstrap named N and R = 1 … rounds, into
//
//	train.N_round0          data = seed_data
//	take.N_roundR           pool ranks (R−1)·batch … R·batch−1
//	preannotate.N_roundR    model = train.N_round(R−1), images = take.N_roundR
//	review.N_roundR         from = preannotate.N_roundR
//	transform.N_roundR      from = [review.N_roundR.accepted]   (with a prepare block)
//	merge.N_roundR          from = [training data of round R−1, the accepted items]
//	train.N_roundR          data = merge.N_roundR, from = train.N_round(R−1)
//
// The train, preannotate and review blocks hold those kinds' parameters
// (and review's simulate block), copied into every round; validation goes
// to every train step. A package or results directory set in the review
// block is the loop's base: round R uses <dir>/roundR. An optional prepare
// block holds transform ops that make the accepted images like the seed
// data (crop each person, resize) before they join it. The final model is
// train.N_round<rounds>.
//
// # Epochs per round
//
// epochs in the train (or crop_train) block may be a list instead of a
// number: train.N_roundR trains for its element R, the last element
// standing for every later round, so [120, 30] trains round 0 for 120
// epochs and every other round for 30. A list longer than the rounds'
// trainings (rounds + 1) is an error. Each round's train step gets its
// number alone, so its key is the key a plain number gives.
//
// # Two models
//
// With crop_train and crop_prepare blocks (one needs the other), the loop
// also trains and carries a crop model, the model that segments each
// padded box in preannotate's mode "boxes". For R = 0 … rounds:
//
//	transform.N_crops_val    from = [validation], crop_prepare's ops     (once, with validation)
//	transform.N_crops_roundR from = [training data of round R], crop_prepare's ops
//	train.N_crop_roundR      data = transform.N_crops_roundR, validation = transform.N_crops_val,
//	                         from = train.N_crop_round(R−1) (R ≥ 1), crop_train's parameters
//
// and preannotate.N_roundR gets crop_model = train.N_crop_round(R−1),
// with mode = "boxes" unless its block sets a mode ("scene" is then a
// diagnostic: a scene model alone needs no crop model). The training data
// of round R is seed_data in round 0 and merge.N_roundR after.
//
// # The ablation: merge = false
//
// With merge = false, round R takes, pre-annotates and reviews the next
// batch exactly as with merging, but the reviewed images are not merged
// back: there is no transform.N_roundR nor merge.N_roundR (a prepare block
// is ignored), train.N_roundR trains from train.N_round(R−1) on seed_data
// alone for the same epochs, and train.N_crop_roundR on
// transform.N_crops_round0. A merged and an unmerged bootstrap over the
// same pool in one recipe review the same batches, so the difference
// between their review tables is what merging the reviewed images back
// causes; the rest of the rise is more training on the seed data. (Equal
// epochs, not equal steps: the merged loop's growing training set gives
// its rounds more optimizer steps.)
//
// ablation = true writes both in one block: the loop as given, and its
// merge = false twin named N_nomerge (with review directories
// <dir>/nomerge_roundR), from the same nested blocks.
//
// Every step name starts with the bootstrap's name, so two bootstraps in
// one recipe never share a step. Steps of equal keys, such as their take
// steps and their round-0 training, run once per build (the engine makes
// the twin wait and take the result).
// The expansion checks the block's own shape; each expanded step's
// parameters are checked by its kind, with diagnostics at the user's lines.
package bootstrap

import (
	"fmt"
	"math/big"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Macro expands bootstrap blocks.
type Macro struct{}

// MaxRounds bounds the expansion.
const MaxRounds = 50

var (
	attrs = map[string]bool{"rounds": true, "seed_data": true, "validation": true, "pool": true, "batch": true, "seed": true, "merge": true, "ablation": true}
	// the attributes each nested block may not set: the expansion does.
	// preannotate.crop_model is reserved too when there is a crop_train
	// block (without one, a crop model from outside the loop may be given).
	reserved = map[string][]string{
		"train":        {"data", "validation", "from"},
		"preannotate":  {"model", "images"},
		"review":       {"from"},
		"prepare":      {"from"},
		"crop_train":   {"data", "validation", "from"},
		"crop_prepare": {"from"},
	}
)

const shape = "it takes rounds, seed_data, validation, pool, batch, seed, merge and ablation, and train, preannotate, review, prepare, crop_train and crop_prepare blocks"

func diag(summary, detail string, r hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

// Expand implements engine.Macro.
func (Macro) Expand(b *hclsyntax.Block, eval func(hcl.Expression, cty.Type) (cty.Value, hcl.Diagnostics)) ([]*hclsyntax.Block, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	name := b.Labels[0]
	names := make([]string, 0, len(b.Body.Attributes))
	for n := range b.Body.Attributes {
		names = append(names, n)
	}
	sort.Strings(names) // diagnostics in a stable order
	for _, n := range names {
		if !attrs[n] {
			diags = append(diags, diag("Unsupported argument", fmt.Sprintf("bootstrap has no argument %q; %s.", n, shape), b.Body.Attributes[n].NameRange))
		}
	}
	nested := map[string]*hclsyntax.Block{}
	for _, nb := range b.Body.Blocks {
		res, ok := reserved[nb.Type]
		switch {
		case !ok:
			diags = append(diags, diag("Unsupported block", fmt.Sprintf("bootstrap has no %q block; %s.", nb.Type, shape), nb.TypeRange))
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
	crops := nested["crop_train"] != nil && nested["crop_prepare"] != nil
	if p := nested["preannotate"]; p != nil && nested["crop_train"] != nil {
		if a, ok := p.Body.Attributes["crop_model"]; ok {
			diags = append(diags, diag("Argument set by the bootstrap", fmt.Sprintf("In a bootstrap with a crop_train block, preannotate.crop_model is set for every round by the loop itself (train.%s_crop_round<R−1>); remove it, or remove crop_train to give a crop model of your own.", name), a.NameRange))
		}
	}
	switch {
	case nested["crop_train"] != nil && nested["crop_prepare"] == nil:
		diags = append(diags, diag("Missing crop_prepare block", `bootstrap has a crop_train block but no crop_prepare block. The crop model trains on crops that crop_prepare's transform ops make of each round's training data (instances_crop with pad = "10%" for crop_train's crop_padding = 0.1, then resize to its input_size); add a crop_prepare block, or remove crop_train.`, nested["crop_train"].TypeRange))
	case nested["crop_prepare"] != nil && nested["crop_train"] == nil:
		diags = append(diags, diag("Missing crop_train block", "bootstrap has a crop_prepare block but no crop_train block, so its crops would train nothing. Add crop_train { … } with the crop model's train parameters (crop_padding among them), or remove crop_prepare.", nested["crop_prepare"].TypeRange))
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
	value := func(attr string, typ cty.Type, want string) (cty.Value, bool) {
		a := b.Body.Attributes[attr]
		v, d := eval(a.Expr, typ)
		diags = append(diags, d...)
		if d.HasErrors() {
			return cty.NilVal, false
		}
		if v.IsNull() || !v.IsKnown() {
			diags = append(diags, diag("Invalid "+attr, fmt.Sprintf("%s is null; it must be %s.", attr, want), a.Expr.Range()))
			return cty.NilVal, false
		}
		return v, true
	}
	num := func(attr string, lo, hi int) int {
		want := fmt.Sprintf("a whole number from %d to %d", lo, hi)
		v, ok := value(attr, cty.Number, want)
		if !ok {
			return 0
		}
		bf := v.AsBigFloat()
		n, acc := bf.Int64()
		if acc != 0 || n < int64(lo) || n > int64(hi) {
			diags = append(diags, diag("Invalid "+attr, fmt.Sprintf("%s is %s; it must be %s.", attr, bf.String(), want), b.Body.Attributes[attr].Expr.Range()))
			return 0
		}
		return int(n)
	}
	rounds := num("rounds", 0, MaxRounds)
	batch := num("batch", 1, 1<<30)
	merge := true
	if _, ok := b.Body.Attributes["merge"]; ok {
		if v, ok := value("merge", cty.Bool, "true or false"); ok {
			merge = v.True()
		}
	}
	ablation := false
	if _, ok := b.Body.Attributes["ablation"]; ok {
		if v, ok := value("ablation", cty.Bool, "true or false"); ok {
			ablation = v.True()
		}
	}
	if ablation && !merge {
		diags = append(diags, diag("Invalid ablation", "ablation = true adds this loop's merge = false twin, and this loop already has merge = false. Remove one of them.", b.Body.Attributes["ablation"].Expr.Range()))
	}
	if p := nested["preannotate"]; crops && p != nil {
		if a, ok := p.Body.Attributes["mode"]; ok {
			// Only a value that evaluates is checked here; the
			// preannotate kind reports any other mistake in it.
			if v, d := eval(a.Expr, cty.String); !d.HasErrors() && v.IsKnown() && !v.IsNull() && v.AsString() == "scene" {
				diags = append(diags, diag("Crop model without its mode", `preannotate's mode "scene" segments whole images with the scene model alone, so the crop model that crop_train trains would go unused. Set mode = "boxes" (or leave mode out), or remove crop_train and crop_prepare.`, a.Expr.Range()))
			}
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	epochs := map[string]epochList{}
	for _, kind := range []string{"train", "crop_train"} {
		if l, d := perRoundEpochs(nested[kind], rounds, eval); d != nil {
			diags = append(diags, d...)
		} else if l.values != nil {
			epochs[kind] = l
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	x := &expander{b: b, rng: b.DefRange(), roundDir: "round", epochs: epochs}
	out := x.expand(name, rounds, batch, merge, crops, nested)
	if ablation {
		// The twin: the same loop without merging, under N_nomerge; its
		// review directories are <dir>/nomerge_roundR.
		twin := &expander{b: b, rng: b.DefRange(), roundDir: "nomerge_round", epochs: epochs}
		out = append(out, twin.expand(name+"_nomerge", rounds, batch, false, crops, nested)...)
	}
	return out, diags
}

// epochList is a train block's epochs given as a list: values[R] for
// round R, the last value for every later round.
type epochList struct {
	values []int64
	rng    hcl.Range // the user's expression, for the train kind's diagnostics
}

// at is round r's epochs.
func (l epochList) at(r int) int64 {
	return l.values[min(r, len(l.values)-1)]
}

// perRoundEpochs reads nb's epochs when it is a list (a tuple or list of
// whole numbers); a number, an absent attribute or a value that does not
// evaluate gives the zero epochList, and the train kind checks them.
func perRoundEpochs(nb *hclsyntax.Block, rounds int, eval func(hcl.Expression, cty.Type) (cty.Value, hcl.Diagnostics)) (epochList, hcl.Diagnostics) {
	if nb == nil {
		return epochList{}, nil
	}
	a, ok := nb.Body.Attributes["epochs"]
	if !ok {
		return epochList{}, nil
	}
	v, d := eval(a.Expr, cty.DynamicPseudoType)
	if d.HasErrors() || v.IsNull() || !v.IsWhollyKnown() {
		return epochList{}, nil
	}
	if t := v.Type(); !t.IsTupleType() && !t.IsListType() {
		return epochList{}, nil
	}
	rng := a.Expr.Range()
	n := v.LengthInt()
	if n == 0 || n > rounds+1 {
		return epochList{}, hcl.Diagnostics{diag("Invalid epochs", fmt.Sprintf("%s.epochs is a list of %d, and this bootstrap trains %d times (rounds 0 to %d); give one to %d numbers: element R is round R's epochs, the last one standing for every later round.", nb.Type, n, rounds+1, rounds, rounds+1), rng)}
	}
	out := make([]int64, 0, n)
	for i, e := range v.AsValueSlice() {
		var ok bool
		var k int64
		if num, err := convert.Convert(e, cty.Number); err == nil && !num.IsNull() {
			var acc big.Accuracy
			k, acc = num.AsBigFloat().Int64()
			ok = acc == big.Exact && k >= 0
		}
		if !ok {
			return epochList{}, hcl.Diagnostics{diag("Invalid epochs", fmt.Sprintf("%s.epochs[%d] is %s; every element must be a whole number of epochs (0 or more: the train kind then wants steps).", nb.Type, i, e.GoString()), rng)}
		}
		out = append(out, k)
	}
	return epochList{values: out, rng: rng}, nil
}

// expander builds the step blocks of one bootstrap block.
type expander struct {
	b   *hclsyntax.Block
	rng hcl.Range
	// roundDir names round R's subdirectory of a review package or
	// results directory: <dir>/<roundDir>R.
	roundDir string
	// epochs holds the train and crop_train blocks' epochs lists.
	epochs map[string]epochList
}

// trainSet adds round r's epochs to a train step's set when its block
// (kind: train or crop_train) gives them as a list.
func (x *expander) trainSet(kind string, r int, set map[string]hclsyntax.Expression) map[string]hclsyntax.Expression {
	if l, ok := x.epochs[kind]; ok {
		set["epochs"] = &hclsyntax.LiteralValueExpr{Val: cty.NumberIntVal(l.at(r)), SrcRange: l.rng}
	}
	return set
}

// ref is a synthetic reference such as train.N_round0.model.
func (x *expander) ref(parts ...string) hclsyntax.Expression {
	t := hcl.Traversal{hcl.TraverseRoot{Name: parts[0], SrcRange: x.rng}}
	for _, p := range parts[1:] {
		t = append(t, hcl.TraverseAttr{Name: p, SrcRange: x.rng})
	}
	return &hclsyntax.ScopeTraversalExpr{Traversal: t, SrcRange: x.rng}
}

// list is the tuple [e…].
func (x *expander) list(e ...hclsyntax.Expression) hclsyntax.Expression {
	return &hclsyntax.TupleConsExpr{Exprs: e, OpenRange: x.rng, SrcRange: x.rng}
}

func (x *expander) number(n int) hclsyntax.Expression {
	return &hclsyntax.LiteralValueExpr{Val: cty.NumberIntVal(int64(n)), SrcRange: x.rng}
}

// user is the bootstrap's own attribute, or nil when it is not set.
func (x *expander) user(attr string) hclsyntax.Expression {
	if a, ok := x.b.Body.Attributes[attr]; ok {
		return a.Expr
	}
	return nil
}

// block is a step block of kind and label: the nested block from's
// attributes and blocks (when there is one) and then set's attributes.
func (x *expander) block(kind, label string, set map[string]hclsyntax.Expression, from *hclsyntax.Block) *hclsyntax.Block {
	body := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}, SrcRange: x.rng, EndRange: x.rng}
	if from != nil {
		for n, a := range from.Body.Attributes {
			body.Attributes[n] = a
		}
		body.Blocks = from.Body.Blocks
		body.SrcRange, body.EndRange = from.Body.SrcRange, from.Body.EndRange
	}
	for n, e := range set {
		if e == nil {
			continue
		}
		body.Attributes[n] = &hclsyntax.Attribute{Name: n, Expr: e, SrcRange: e.Range(), NameRange: e.Range(), EqualsRange: e.Range()}
	}
	b := x.b
	return &hclsyntax.Block{Type: kind, Labels: []string{label}, Body: body,
		TypeRange: b.TypeRange, LabelRanges: []hcl.Range{b.LabelRanges[0]}, OpenBraceRange: b.OpenBraceRange, CloseBraceRange: b.CloseBraceRange}
}

func (x *expander) expand(name string, rounds, batch int, merge, crops bool, nested map[string]*hclsyntax.Block) []*hclsyntax.Block {
	round := func(r int) string { return fmt.Sprintf("%s_round%d", name, r) }
	cropRound := func(r int) string { return fmt.Sprintf("%s_crop_round%d", name, r) }
	cropsRound := func(r int) string { return fmt.Sprintf("%s_crops_round%d", name, r) }
	validation := x.user("validation") // nil when unset: block leaves nil out
	seedData := x.user("seed_data")

	out := []*hclsyntax.Block{x.block("train", round(0), x.trainSet("train", 0, map[string]hclsyntax.Expression{"data": seedData, "validation": validation}), nested["train"])}
	var cropVal hclsyntax.Expression
	// cropModel adds round r's crop model: the crops of data (or,
	// with data nil, the crops of round 0) train it.
	cropModel := func(r int, data hclsyntax.Expression) {
		ds := x.ref("transform", cropsRound(0), "dataset")
		if data != nil {
			out = append(out, x.block("transform", cropsRound(r), map[string]hclsyntax.Expression{"from": x.list(data)}, nested["crop_prepare"]))
			ds = x.ref("transform", cropsRound(r), "dataset")
		}
		set := map[string]hclsyntax.Expression{"data": ds, "validation": cropVal}
		if r > 0 {
			set["from"] = x.ref("train", cropRound(r-1), "model")
		}
		out = append(out, x.block("train", cropRound(r), x.trainSet("crop_train", r, set), nested["crop_train"]))
	}
	if crops {
		if validation != nil {
			out = append(out, x.block("transform", name+"_crops_val", map[string]hclsyntax.Expression{"from": x.list(validation)}, nested["crop_prepare"]))
			cropVal = x.ref("transform", name+"_crops_val", "dataset")
		}
		cropModel(0, seedData)
	}
	data := seedData
	for r := 1; r <= rounds; r++ {
		take := map[string]hclsyntax.Expression{"from": x.user("pool"), "count": x.number(batch), "skip": x.number((r - 1) * batch), "seed": x.user("seed")}
		pre := map[string]hclsyntax.Expression{"model": x.ref("train", round(r-1), "model"), "images": x.ref("take", round(r), "dataset")}
		if crops {
			pre["crop_model"] = x.ref("train", cropRound(r-1), "model")
			if p := nested["preannotate"]; p == nil || p.Body.Attributes["mode"] == nil {
				pre["mode"] = &hclsyntax.LiteralValueExpr{Val: cty.StringVal("boxes"), SrcRange: x.rng}
			}
		}
		review := map[string]hclsyntax.Expression{"from": x.ref("preannotate", round(r), "dataset")}
		for _, dir := range []string{"package", "results"} {
			// A directory given once names the loop's base: each round
			// gets its own subdirectory, so no two rounds share one.
			if a, ok := nested["review"].Body.Attributes[dir]; ok {
				review[dir] = perRound(a.Expr, x.roundDir, r)
			}
		}
		out = append(out,
			x.block("take", round(r), take, nil),
			x.block("preannotate", round(r), pre, nested["preannotate"]),
			x.block("review", round(r), review, nested["review"]),
		)
		if merge {
			accepted := x.ref("review", round(r), "accepted")
			if nested["prepare"] != nil {
				out = append(out, x.block("transform", round(r), map[string]hclsyntax.Expression{"from": x.list(accepted)}, nested["prepare"]))
				accepted = x.ref("transform", round(r), "dataset")
			}
			out = append(out, x.block("merge", round(r), map[string]hclsyntax.Expression{"from": x.list(data, accepted)}, nil))
			data = x.ref("merge", round(r), "dataset")
		}
		out = append(out, x.block("train", round(r), x.trainSet("train", r, map[string]hclsyntax.Expression{"data": data, "from": x.ref("train", round(r-1), "model"), "validation": validation}), nested["train"]))
		if crops {
			if merge {
				cropModel(r, data)
			} else {
				cropModel(r, nil)
			}
		}
	}
	return out
}

// perRound is the user's directory expression followed by "/<sub><r>".
func perRound(e hclsyntax.Expression, sub string, r int) hclsyntax.Expression {
	rng := e.Range()
	return &hclsyntax.TemplateExpr{SrcRange: rng, Parts: []hclsyntax.Expression{
		e,
		&hclsyntax.LiteralValueExpr{Val: cty.StringVal(fmt.Sprintf("/%s%d", sub, r)), SrcRange: rng},
	}}
}
