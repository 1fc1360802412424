package transform

import "dsbuild/engine"

func init() {
	register(opSpec{
		Name:  "multiply",
		Doc:   "Yields each item the given number of times: the item itself and copies named <stem>__<k>. Put it before random ops.",
		Attrs: []engine.AttrSpec{{Name: "times", Type: tNumber, Required: true, Doc: "number of items made of each, at least 1"}},
		Build: func(p params) (Op, error) {
			n, err := p.intAtLeast("times", 1)
			if err != nil {
				return nil, err
			}
			if n > geoMaxOutputs {
				return nil, badParam("times", "must be at most %d", geoMaxOutputs)
			}
			return multiplyOp{n}, nil
		},
	})
}

// multiply is DTL's multiply; its count is named times and is at most
// geoMaxOutputs.

type multiplyOp struct{ n int }

func (o multiplyOp) Apply(it *Item) ([]*Item, error) {
	out := make([]*Item, 0, o.n)
	out = append(out, it)
	for k := 1; k < o.n; k++ {
		out = append(out, it.Clone(it.Derived()))
	}
	return out, nil
}
