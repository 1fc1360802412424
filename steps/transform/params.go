package transform

import (
	"slices"

	"dsbuild/dataset"
)

// Parameter checks that several ops share. Each keeps the wording its ops
// have always reported, which the tests pin.

// probability reads the optional attribute name, a probability in [0, 1];
// def when it is absent.
func (p params) probability(name string, def float64) (float64, error) {
	if !p.has(name) {
		return def, nil
	}
	f := p.num(name)
	if f < 0 || f > 1 {
		return 0, badParam(name, "must be between 0 and 1")
	}
	return f, nil
}

// intAtLeast reads the whole-number attribute name (0 when absent) and
// checks that it is at least lo.
func (p params) intAtLeast(name string, lo int) (int, error) {
	n, err := p.integer(name)
	if err != nil {
		return 0, err
	}
	if n < lo {
		return 0, badParam(name, "must be at least %d", lo)
	}
	return n, nil
}

// noEmptyName reports, as badParam(attr, msg), a list attribute that holds
// an empty name.
func noEmptyName(attr string, names []string, msg string) error {
	if slices.Contains(names, "") {
		return badParam(attr, "%s", msg)
	}
	return nil
}

// metaWithClasses is the Meta of an op that keeps the meta as it is but
// needs the classes it names to be in it.
func metaWithClasses(in *dataset.Meta, classes []string) (*dataset.Meta, error) {
	if err := mustHaveClasses(in, classes); err != nil {
		return nil, err
	}
	return in, nil
}
