package s3

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"dsbuild/cache"
)

// An action entry is a small text object:
//
//	dsbuild-remote-action v1 sha256:<the step key>
//	out sha256:<digest> <size> "<name>"
//	…
//	check sha256:<SHA-256 of every byte before this line>
//
// one out line per output, sorted by name, names quoted as Go string
// literals (strconv.Quote: spaces, quotes, newlines and any byte are safe).
// Decoding is strict: every line must be exactly what encodeAction writes
// for some entry of this key, so a damaged object never decodes to
// something else.

const actionHeader = "dsbuild-remote-action v1 "

func encodeAction(key cache.ActionKey, outs []cache.RemoteOutput) ([]byte, error) {
	sorted := slices.Clone(outs)
	slices.SortFunc(sorted, func(a, b cache.RemoteOutput) int { return strings.Compare(a.Name, b.Name) })
	var b bytes.Buffer
	b.WriteString(actionHeader + cache.Digest(key).String() + "\n")
	for i, o := range sorted {
		if o.Name == "" {
			return nil, errors.New("an output has an empty name")
		}
		if i > 0 && sorted[i-1].Name == o.Name {
			return nil, fmt.Errorf("output %q appears twice", o.Name)
		}
		if o.Ref.Size < 0 {
			return nil, fmt.Errorf("output %q: negative size %d", o.Name, o.Ref.Size)
		}
		fmt.Fprintf(&b, "out %s %d %s\n", o.Ref.Digest, o.Ref.Size, strconv.Quote(o.Name))
	}
	fmt.Fprintf(&b, "check %s\n", cache.Sum(b.Bytes()))
	return b.Bytes(), nil
}

func decodeAction(key cache.ActionKey, data []byte) ([]cache.RemoteOutput, error) {
	if !bytes.HasSuffix(data, []byte("\n")) {
		return nil, errors.New("truncated: no final newline")
	}
	body := data[:len(data)-1]
	i := bytes.LastIndexByte(body, '\n')
	if i < 0 {
		return nil, errors.New("truncated: fewer than two lines")
	}
	body, check := body[:i+1], string(body[i+1:])
	if check != "check "+cache.Sum(body).String() {
		return nil, fmt.Errorf("checksum line %.80q does not match the entry", check)
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if lines[0] != actionHeader+cache.Digest(key).String() {
		return nil, fmt.Errorf("header %.100q is not that of this key's entry", lines[0])
	}
	outs := []cache.RemoteOutput{}
	for n, l := range lines[1:] {
		o, err := decodeOutput(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n+2, err)
		}
		if len(outs) > 0 && outs[len(outs)-1].Name >= o.Name {
			return nil, fmt.Errorf("line %d: output %q is out of order or repeated", n+2, o.Name)
		}
		outs = append(outs, o)
	}
	return outs, nil
}

// decodeOutput parses `out sha256:<hex> <size> "<name>"`, accepting only
// the canonical spelling of each field.
func decodeOutput(l string) (cache.RemoteOutput, error) {
	var o cache.RemoteOutput
	f := strings.SplitN(l, " ", 4)
	if len(f) != 4 || f[0] != "out" {
		return o, fmt.Errorf("malformed output line %.100q", l)
	}
	d, err := cache.ParseDigest(f[1])
	if err != nil || d.String() != f[1] {
		return o, fmt.Errorf("malformed digest %.80q", f[1])
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != f[2] {
		return o, fmt.Errorf("malformed size %.30q", f[2])
	}
	name, err := strconv.Unquote(f[3])
	if err != nil || name == "" || strconv.Quote(name) != f[3] {
		return o, fmt.Errorf("malformed name %.100s", f[3])
	}
	return cache.RemoteOutput{Name: name, Ref: cache.Ref{Digest: d, Size: size}}, nil
}
