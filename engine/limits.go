package engine

import (
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Limits on recipe sources. The HCL parser and evaluator recurse once per
// level of nesting and need memory in proportion to the size of a file: a
// recipe beyond these limits is refused with a diagnostic before it is
// parsed, so that a hostile or generated recipe can neither overflow the
// stack nor exhaust memory. Hand-written recipes are a few kilobytes deep
// and a few levels deep.
const (
	// MaxRecipeFileBytes bounds one *.hcl file (and one -var-file).
	MaxRecipeFileBytes = 1 << 20
	// MaxRecipeBytes bounds the *.hcl files of one recipe together.
	MaxRecipeBytes = 4 << 20
	// MaxNesting bounds the nesting of one expression: each open bracket,
	// brace, parenthesis, string or heredoc, template interpolation or
	// directive (${, %{, and the body of %{if} and %{for}) is one level,
	// and so is each operator (unary, binary or ?:) of one element (the
	// parser and evaluator recurse once per operator of a chain such as
	// 1+1+…). A comma, or a newline where a newline ends an expression
	// (at the top of a body or inside braces), ends an element.
	MaxNesting = 256
)

// readRecipeFile reads the regular file at path, shown as name: at most
// limit bytes and one more, so that a larger file is refused without
// reading all of it. Anything else (a FIFO, whose open would block, a
// device, a directory) is refused before it is opened.
func readRecipeFile(path, name string, limit int64) ([]byte, hcl.Diagnostics) {
	fail := func(detail string) ([]byte, hcl.Diagnostics) {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read recipe file", Detail: detail, Subject: fileStart(name)}}
	}
	if fi, err := os.Stat(path); err != nil {
		return fail(err.Error())
	} else if !fi.Mode().IsRegular() {
		return fail(fmt.Sprintf("%s is not a regular file (%s).", name, fi.Mode().Type()))
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(err.Error())
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return fail(fmt.Sprintf("%s: %v", name, err))
	}
	return src, nil
}

// recipeTooLarge is the error for the file that brings a recipe past
// MaxRecipeBytes, given the bytes of it that were left.
func recipeTooLarge(src []byte, name string, left int64) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Recipe too large",
		Detail: fmt.Sprintf("With %s, the recipe's *.hcl files hold more than %d bytes together, the most dsbuild reads. Split the data it lists into files that steps read, or into several recipes.",
			name, MaxRecipeBytes),
		Subject: posAt(src, name, int(left)).Ptr()}}
}

// CheckSource checks a recipe file's bytes against MaxRecipeFileBytes and
// MaxNesting before they are parsed. The diagnostic names the file and the
// line where the limit is passed. Brackets inside strings, heredocs and
// comments are text, not nesting: src is split into tokens by the HCL
// lexer (which does not recurse), as the parser would see them.
func CheckSource(src []byte, filename string) hcl.Diagnostics {
	if len(src) > MaxRecipeFileBytes {
		return tooLarge(src, filename)
	}
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	return checkNesting(toks)
}

// checkExprSource is CheckSource for a lone expression (a -var value).
func checkExprSource(src []byte, filename string) hcl.Diagnostics {
	if len(src) > MaxRecipeFileBytes {
		return tooLarge(src, filename)
	}
	toks, _ := hclsyntax.LexExpression(src, filename, hcl.InitialPos)
	return checkNesting(toks)
}

func tooLarge(src []byte, name string) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Recipe file too large",
		Detail: fmt.Sprintf("%s is larger than %d bytes, the most dsbuild reads from one recipe file. Split the data it lists into files that steps read.",
			name, MaxRecipeFileBytes),
		Subject: posAt(src, name, MaxRecipeFileBytes).Ptr()}}
}

// fileStart is the range of a file's first character.
func fileStart(name string) *hcl.Range {
	return &hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.Pos{Line: 1, Column: 1, Byte: 0}}
}

// posAt is the range of the character at byte offset off of src (its line
// and column counted in runes), where a limit was passed.
func posAt(src []byte, name string, off int) hcl.Range {
	off = min(off, len(src))
	p := hcl.InitialPos
	for i := 0; i < off; {
		r, n := utf8.DecodeRune(src[i:])
		i += n
		if r == '\n' {
			p.Line, p.Column = p.Line+1, 1
		} else {
			p.Column++
		}
		p.Byte = i
	}
	end := p
	if off < len(src) {
		_, n := utf8.DecodeRune(src[off:])
		end.Byte, end.Column = off+n, p.Column+1
	}
	return hcl.Range{Filename: name, Start: p, End: end}
}

// nestFrame is one open bracket, brace, parenthesis, string, heredoc or
// template sequence.
type nestFrame struct {
	open  hclsyntax.TokenType
	close hclsyntax.TokenType
	ops   int // operators and template directives counted in this frame's current element
}

var closers = map[hclsyntax.TokenType]hclsyntax.TokenType{
	hclsyntax.TokenOBrack:          hclsyntax.TokenCBrack,
	hclsyntax.TokenOBrace:          hclsyntax.TokenCBrace,
	hclsyntax.TokenOParen:          hclsyntax.TokenCParen,
	hclsyntax.TokenOQuote:          hclsyntax.TokenCQuote,
	hclsyntax.TokenOHeredoc:        hclsyntax.TokenCHeredoc,
	hclsyntax.TokenTemplateInterp:  hclsyntax.TokenTemplateSeqEnd,
	hclsyntax.TokenTemplateControl: hclsyntax.TokenTemplateSeqEnd,
}

// nestOps are the tokens that nest an expression once more: unary and
// binary operators, the conditional's ?, and * (a splat or a product).
var nestOps = map[hclsyntax.TokenType]bool{
	hclsyntax.TokenPlus: true, hclsyntax.TokenMinus: true, hclsyntax.TokenStar: true,
	hclsyntax.TokenSlash: true, hclsyntax.TokenPercent: true, hclsyntax.TokenBang: true,
	hclsyntax.TokenAnd: true, hclsyntax.TokenOr: true,
	hclsyntax.TokenEqualOp: true, hclsyntax.TokenNotEqual: true,
	hclsyntax.TokenLessThan: true, hclsyntax.TokenLessThanEq: true,
	hclsyntax.TokenGreaterThan: true, hclsyntax.TokenGreaterThanEq: true,
	hclsyntax.TokenQuestion: true,
}

// checkNesting walks toks keeping the nesting depth as the parser would
// recurse, and reports the first token that passes MaxNesting. A closing
// token that does not match the innermost open one is not counted as a
// close (the parser reports it): the count only ever overestimates.
func checkNesting(toks hclsyntax.Tokens) hcl.Diagnostics {
	var stack []nestFrame
	depth := 0
	for i, t := range toks {
		deeper := false
		switch {
		case closers[t.Type] != hclsyntax.TokenNil:
			stack = append(stack, nestFrame{open: t.Type, close: closers[t.Type]})
			depth++
			deeper = true
		case nestOps[t.Type]:
			if len(stack) > 0 {
				stack[len(stack)-1].ops++
			}
			depth++
			deeper = true
		case t.Type == hclsyntax.TokenIdent && i > 0 && toks[i-1].Type == hclsyntax.TokenTemplateControl && len(stack) >= 2:
			// The body of %{if} and %{for} is a level of the template
			// around the directive, up to its %{endif} or %{endfor}.
			outer := &stack[len(stack)-2]
			switch string(t.Bytes) {
			case "if", "for":
				outer.ops++
				depth++
				deeper = true
			case "endif", "endfor":
				if outer.ops > 0 {
					outer.ops--
					depth--
				}
			}
		case t.Type == hclsyntax.TokenComma,
			t.Type == hclsyntax.TokenNewline && (len(stack) == 0 || stack[len(stack)-1].open == hclsyntax.TokenOBrace):
			// The end of an element, or of an attribute: its operators
			// are done with. At the top level they are not kept.
			if len(stack) > 0 {
				f := &stack[len(stack)-1]
				depth -= f.ops
				f.ops = 0
			} else {
				depth = 0
			}
		case len(stack) > 0 && t.Type == stack[len(stack)-1].close:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			depth -= 1 + f.ops
		}
		if deeper && depth > MaxNesting {
			return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Recipe nested too deeply",
				Detail: fmt.Sprintf("This %q is level %d of nesting in one expression; at most %d are allowed. Each open bracket, brace, parenthesis, string, template sequence or directive, and each operator of one element, is a level. dsbuild refuses such a recipe before parsing it rather than run out of stack.",
					t.Bytes, depth, MaxNesting),
				Subject: t.Range.Ptr()}}
		}
	}
	return nil
}
