package train

import (
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"dsbuild/model"
)

// network is the training graph for one micro-batch shape: inputs, the
// loss and the learnable nodes in Config.Tensors order.
type network struct {
	cfg     *model.Config
	g       *G.ExprGraph
	x, y, w *G.Node // (m,3,S,S), (m,1,S,S), (m,1,S,S)
	invM    *G.Node // 1 / Σ weights over the whole batch
	invB    *G.Node // 1 / batch
	loss    *G.Node
	learn   []*G.Node
	names   []string // tensor names of learn
	bn      map[string]*G.BatchNormOp
	bnOrder []string

	lossV, bceV, diceV G.Value
}

// buildNetwork builds the graph for micro-batches of m samples, with
// learnable values taken from w (which it shares: the solver updates
// them in place).
func buildNetwork(cfg *model.Config, m int, w model.Weights, wBCE, wDice float64) (*network, error) {
	s := cfg.InputSize
	g := G.NewGraph()
	n := &network{cfg: cfg, g: g, bn: map[string]*G.BatchNormOp{}}
	n.x = G.NewTensor(g, tensor.Float32, 4, G.WithShape(m, 3, s, s), G.WithName("x"))
	n.y = G.NewTensor(g, tensor.Float32, 4, G.WithShape(m, 1, s, s), G.WithName("y"))
	n.w = G.NewTensor(g, tensor.Float32, 4, G.WithShape(m, 1, s, s), G.WithName("w"))
	n.invM = G.NewScalar(g, tensor.Float32, G.WithName("invM"))
	n.invB = G.NewScalar(g, tensor.Float32, G.WithName("invB"))

	param := func(name string, shape ...int) *G.Node {
		t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(w[name]))
		nd := G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
		n.learn = append(n.learn, nd)
		n.names = append(n.names, name)
		return nd
	}
	var err error
	must := func(nd *G.Node, e error) *G.Node {
		if e != nil && err == nil {
			err = e
		}
		return nd
	}
	layers := cfg.Convs()
	li := 0
	conv := func(h *G.Node) *G.Node {
		if err != nil {
			return h
		}
		l := layers[li]
		li++
		k := l.Kernel
		wt := param(l.Name+".weight", l.Out, l.In, k, k)
		h = must(G.Conv2d(h, wt, tensor.Shape{k, k}, []int{k / 2, k / 2}, []int{1, 1}, []int{1, 1}))
		if err != nil {
			return h
		}
		if l.BN {
			gamma := param(l.Name+".bn.weight", 1, l.Out, 1, 1)
			beta := param(l.Name+".bn.bias", 1, l.Out, 1, 1)
			eps := cfg.BNEpsilon
			if eps == 0 {
				eps = model.DefaultBNEpsilon
			}
			var op *G.BatchNormOp
			var e error
			h, _, _, op, e = G.BatchNorm(h, gamma, beta, 0.1, eps)
			if e != nil {
				err = e
				return h
			}
			n.bn[l.Name] = op
			n.bnOrder = append(n.bnOrder, l.Name)
		} else {
			b := param(l.Name+".bias", 1, l.Out, 1, 1)
			h = must(G.BroadcastAdd(h, b, nil, []byte{0, 2, 3}))
		}
		if l.ReLU {
			h = must(G.Rectify(h))
		}
		return h
	}
	h := n.x
	skips := make([]*G.Node, cfg.Depth)
	for l := 0; l < cfg.Depth && err == nil; l++ {
		h = conv(conv(h))
		skips[l] = h
		h = must(G.MaxPool2D(h, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
	}
	h = conv(conv(h))
	for l := cfg.Depth - 1; l >= 0 && err == nil; l-- {
		up := must(G.Upsample2D(h, 2))
		h = must(G.Concat(1, up, skips[l]))
		h = conv(conv(h))
	}
	z := conv(h)
	if err != nil {
		return nil, fmt.Errorf("building the network: %w", err)
	}

	// BCE with logits, weighted: Σ w·(softplus(z) − y·z) · invM.
	one := G.NewConstant(float32(1))
	bce := must(G.Mul(must(G.Sum(must(G.HadamardProd(n.w, must(G.Sub(must(G.Softplus(z)), must(G.HadamardProd(n.y, z)))))))), n.invM))
	// Per-sample soft dice: (2·Σ w·p·y + 1) / (Σ w·p + Σ w·y + 1).
	p := must(G.Sigmoid(z))
	wp := must(G.HadamardProd(n.w, p))
	inter := must(G.Sum(must(G.HadamardProd(wp, n.y)), 1, 2, 3))
	psum := must(G.Sum(wp, 1, 2, 3))
	ysum := must(G.Sum(must(G.HadamardProd(n.w, n.y)), 1, 2, 3))
	num := must(G.Add(must(G.Mul(inter, G.NewConstant(float32(2)))), one))
	den := must(G.Add(must(G.Add(psum, ysum)), one))
	dice := must(G.Mul(must(G.Sum(must(G.Sub(one, must(G.HadamardDiv(num, den)))))), n.invB))
	total := must(G.Add(must(G.Mul(bce, G.NewConstant(float32(wBCE)))), must(G.Mul(dice, G.NewConstant(float32(wDice))))))
	n.loss = must(G.Div(total, G.NewConstant(float32(wBCE+wDice))))
	if err != nil {
		return nil, fmt.Errorf("building the loss: %w", err)
	}
	G.Read(n.loss, &n.lossV)
	G.Read(bce, &n.bceV)
	G.Read(dice, &n.diceV)
	if _, err := G.Grad(n.loss, n.learn...); err != nil {
		return nil, fmt.Errorf("differentiating the loss: %w", err)
	}
	return n, nil
}

// isStat says whether a tensor is a BatchNorm running statistic, which is
// not learned by gradient.
func isStat(name string) bool {
	return strings.HasSuffix(name, ".running_mean") || strings.HasSuffix(name, ".running_var")
}
