package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// WaitingError is returned by a step that waits for an input that does not
// exist yet (a review's results). The build finishes what it can and exits
// with code 2.
type WaitingError struct {
	Msg string
}

func (e *WaitingError) Error() string { return e.Msg }

// StepError wraps a failure with the step it happened in. Its text names
// the step and one recipe location: the failure's own (a SourceError in
// its chain) where it has one, else the step's block.
type StepError struct {
	Step *Step
	Err  error
}

func (e *StepError) Error() string {
	var se *SourceError
	if errors.As(e.Err, &se) {
		return fmt.Sprintf("%s: %v", e.Step.Addr, e.Err)
	}
	return fmt.Sprintf("%s (%s): %v", e.Step.Addr, rangeString(e.Step.DeclRange), e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// SourceError is a run-time failure that comes down to a place in the
// recipe (an attribute's value, a block). The place stays data, so that
// the CLI can show the recipe's lines with it underlined, as it shows
// load-time diagnostics (see SourceDiagnostic). Its text, for logs and
// --json, is "main.hcl:12: " and Err's.
type SourceError struct {
	Range hcl.Range
	Err   error
}

func (e *SourceError) Error() string { return rangeString(e.Range) + ": " + e.Err.Error() }

func (e *SourceError) Unwrap() error { return e.Err }

// Errorf returns a *SourceError at r whose Err is fmt.Errorf(format,
// args...) (so %w wraps). Steps use it for bad data that comes down to a
// line of the recipe.
func Errorf(r hcl.Range, format string, args ...any) error {
	return &SourceError{Range: r, Err: fmt.Errorf(format, args...)}
}

// SourceDiagnostic returns err as an error diagnostic on the range of the
// first SourceError in its chain, or nil when the chain holds none. The
// summary is err's text without that range (the diagnostic shows it) and,
// for a StepError, without the step's address (whoever prints the step
// says it), so the location is said once.
func SourceDiagnostic(err error) *hcl.Diagnostic {
	var se *SourceError
	if !errors.As(err, &se) {
		return nil
	}
	var ste *StepError
	if errors.As(err, &ste) && errors.As(ste.Err, &se) {
		err = ste.Err
	}
	msg := strings.Replace(err.Error(), se.Error(), se.Err.Error(), 1)
	rng := se.Range
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: msg, Subject: &rng}
}

func rangeString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line)
}
