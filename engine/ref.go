package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"dsbuild/cache"
)

// OutputRef is a reference to a step's output as commands take it
// (checkout, show, diff, stats, tag): kind.name names the step's only or
// default output, kind.name.output names one.
type OutputRef struct {
	Step   string // the step's address, kind.name
	Output string // the output's name; "" when the reference names none
}

// ParseOutputRef splits ref into a step address and an output name. A
// reference that is the address of one of r's steps names that step (and
// no output); otherwise, when what precedes its last dot is a step's
// address, the rest is the output. Any other reference is returned whole
// as a step address, for the caller to report as an unknown step.
func (r *Recipe) ParseOutputRef(ref string) OutputRef {
	if r.Step(ref) == nil {
		if i := strings.LastIndex(ref, "."); i > 0 && r.Step(ref[:i]) != nil {
			return OutputRef{Step: ref[:i], Output: ref[i+1:]}
		}
	}
	return OutputRef{Step: ref}
}

// OutputName checks the output name of a reference to s: "" means s's only
// output, else its kind's default output, else def (a command's preference,
// like "dataset"); with none of them the error lists s's outputs. A name s
// does not have is an error with a did-you-mean.
func (s *Step) OutputName(output, def string) (string, error) {
	if output == "" {
		switch {
		case len(s.Outputs) == 1:
			output = s.Outputs[0]
		case s.Kind.Schema().DefaultOutput != "":
			output = s.Kind.Schema().DefaultOutput
		case def != "":
			output = def
		default:
			return "", fmt.Errorf("%s has outputs %s: name one, as in %s.%s", s.Addr, strings.Join(s.Outputs, ", "), s.Addr, s.Outputs[0])
		}
	}
	if !slices.Contains(s.Outputs, output) {
		if sug := Suggest(output, s.Outputs); sug != "" {
			return "", fmt.Errorf("%s has no output %q.%s Its outputs are %s", s.Addr, output, sug, strings.Join(s.Outputs, ", "))
		}
		return "", fmt.Errorf("%s has no output %q; its outputs are %s", s.Addr, output, strings.Join(s.Outputs, ", "))
	}
	return output, nil
}

// ResolveOutput returns the tree digest of output (chosen as OutputName
// does, with def) of step s as the lockfile lf records it, after
// ResolveLocked has checked the record against the recipe and the store: a
// stale or edited entry is an error, never a digest. dir is the recipe as
// the user named it, for messages.
func ResolveOutput(ctx context.Context, r *Recipe, lf *Lockfile, store *cache.Store, s *Step, output, def, dir string) (cache.Digest, error) {
	output, err := s.OutputName(output, def)
	if err != nil {
		return cache.Digest{}, err
	}
	outs, err := ResolveLocked(ctx, r, lf, store, s, dir)
	if err != nil {
		return cache.Digest{}, err
	}
	return outs[output], nil
}
