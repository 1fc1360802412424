package engine

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Decoder is implemented by kinds that decode their configuration once,
// when the recipe loads, into a typed value (a struct of the kind's own):
// the parameters read, converted and checked in one place. Load calls
// Decode after the step's parameters are evaluated and its inputs resolved,
// and only when they have no errors; its diagnostics are the kind's checks
// (a Decoder needs no Validate), on the ranges of cfg. The value is kept in
// Config.Value, and the kind's KeyLines, Sources, Paths and Run read it
// with Decoded instead of parsing the parameters again. The value is shared
// by everything that reads the step: Run must not change it.
type Decoder interface {
	Decode(cfg *Config) (any, hcl.Diagnostics)
}

// Decoded returns the value that the step's kind decoded cfg into when the
// recipe loaded (Decoder). A Config that holds no T (a kind asking for
// another type than its Decode returns, or a Config that Load did not
// decode) is a programming error: Decoded panics naming both types.
func Decoded[T any](cfg *Config) T {
	v, ok := cfg.Value.(T)
	if !ok {
		panic(fmt.Sprintf("engine: the step's decoded configuration is %T, not %T", cfg.Value, *new(T)))
	}
	return v
}

// checkStep runs a kind's load-time checks on the evaluated cfg: Decode,
// whose value cfg keeps when it reports no error, then Validate.
func checkStep(k Kind, cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if d, ok := k.(Decoder); ok {
		v, ds := d.Decode(cfg)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			return diags
		}
		cfg.Value = v
	}
	if v, ok := k.(Validator); ok {
		diags = append(diags, v.Validate(cfg)...)
	}
	return diags
}
