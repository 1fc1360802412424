package engine

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/zclconf/go-cty/cty"
)

// canonicalJSON encodes a parameter value for the key preimage: object and
// map keys sorted, numbers in their shortest exact decimal form, strings
// escaped as JSON requires and no more (no HTML escaping), no spaces. The
// same value always gives the same text.
func canonicalJSON(v cty.Value) (string, error) {
	var b bytes.Buffer
	if err := writeCanonical(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeCanonical(b *bytes.Buffer, v cty.Value) error {
	if v.IsNull() {
		b.WriteString("null")
		return nil
	}
	if !v.IsKnown() {
		return fmt.Errorf("value is not known")
	}
	t := v.Type()
	switch {
	case t == cty.String:
		var s bytes.Buffer
		enc := json.NewEncoder(&s)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v.AsString()); err != nil {
			return err
		}
		b.Write(bytes.TrimSuffix(s.Bytes(), []byte("\n")))
	case t == cty.Number:
		b.WriteString(v.AsBigFloat().Text('g', -1))
	case t == cty.Bool:
		if v.True() {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		b.WriteByte('[')
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			_, e := it.Element()
			if err := writeCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case t.IsMapType() || t.IsObjectType():
		// cty iterates maps and objects in lexical key order.
		b.WriteByte('{')
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			k, e := it.Element()
			if err := writeCanonical(b, k); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("cannot encode a value of type %s", t.FriendlyName())
	}
	return nil
}
