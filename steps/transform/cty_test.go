package transform

import (
	"sort"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// ctyParams converts Go values (string, float64, int, bool, []string,
// map[string]string) into block parameters.
func ctyParams(t *testing.T, attrs map[string]any) map[string]cty.Value {
	t.Helper()
	out := map[string]cty.Value{}
	for k, v := range attrs {
		switch v := v.(type) {
		case string:
			out[k] = cty.StringVal(v)
		case float64:
			out[k] = cty.NumberFloatVal(v)
		case int:
			out[k] = cty.NumberIntVal(int64(v))
		case bool:
			out[k] = cty.BoolVal(v)
		case []string:
			var l []cty.Value
			for _, s := range v {
				l = append(l, cty.StringVal(s))
			}
			if len(l) == 0 {
				out[k] = cty.ListValEmpty(cty.String)
			} else {
				out[k] = cty.ListVal(l)
			}
		case map[string]string:
			m := map[string]cty.Value{}
			keys := make([]string, 0, len(v))
			for mk := range v {
				keys = append(keys, mk)
			}
			sort.Strings(keys)
			for _, mk := range keys {
				m[mk] = cty.StringVal(v[mk])
			}
			if len(m) == 0 {
				out[k] = cty.MapValEmpty(cty.String)
			} else {
				out[k] = cty.MapVal(m)
			}
		default:
			t.Fatalf("ctyParams: unsupported %T for %s", v, k)
		}
	}
	return out
}
