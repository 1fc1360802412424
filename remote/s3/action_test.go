package s3

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"dsbuild/cache"
)

func testOutputs() []cache.RemoteOutput {
	return []cache.RemoteOutput{
		{Name: "model", Ref: cache.Ref{Digest: cache.Sum([]byte("m")), Size: 1 << 40}},
		{Name: "a name with spaces", Ref: cache.Ref{Digest: cache.Sum([]byte("s")), Size: 7}},
		{Name: "quote\" back\\slash\nnewline\ttab", Ref: cache.Ref{Digest: cache.Sum([]byte("q")), Size: 0}},
		{Name: "ünïcode/☃", Ref: cache.Ref{Digest: cache.Sum([]byte("u")), Size: 3}},
		{Name: "bad utf-8 \xff\xfe", Ref: cache.Ref{Digest: cache.Sum([]byte("b")), Size: 12}},
	}
}

func TestActionRoundTrip(t *testing.T) {
	key := cache.ActionKey(cache.Sum([]byte("step")))
	outs := testOutputs()
	data, err := encodeAction(key, outs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeAction(key, data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	want := append([]cache.RemoteOutput(nil), outs...)
	// sorted by name, byte order
	want[0], want[1], want[2], want[3], want[4] = outs[1], outs[4], outs[0], outs[2], outs[3]
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %v\nwant %v", got, want)
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) != 1+len(outs)+2 || lines[0] != "dsbuild-remote-action v1 "+cache.Digest(key).String() ||
		!strings.HasPrefix(lines[len(lines)-2], "check sha256:") || lines[len(lines)-1] != "" {
		t.Errorf("unexpected layout:\n%s", data)
	}
	if lines[1] != `out `+outs[1].Ref.Digest.String()+` 7 "a name with spaces"` {
		t.Errorf("first output line %q", lines[1])
	}

	empty, err := encodeAction(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decodeAction(key, empty); err != nil || len(got) != 0 {
		t.Errorf("empty entry decoded to %v, %v", got, err)
	}
}

func TestEncodeActionRejects(t *testing.T) {
	key := cache.ActionKey(cache.Sum([]byte("step")))
	d := cache.Ref{Digest: cache.Sum([]byte("x")), Size: 1}
	for _, tc := range []struct {
		outs []cache.RemoteOutput
		want string
	}{
		{[]cache.RemoteOutput{{Name: "", Ref: d}}, "empty name"},
		{[]cache.RemoteOutput{{Name: "a", Ref: d}, {Name: "a", Ref: d}}, `"a" appears twice`},
		{[]cache.RemoteOutput{{Name: "a", Ref: cache.Ref{Digest: d.Digest, Size: -1}}}, "negative size"},
	} {
		if _, err := encodeAction(key, tc.outs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("encodeAction(%v): %v, want an error containing %q", tc.outs, err, tc.want)
		}
	}
}

// TestDecodeActionStrict: every damage to an entry, and every entry that
// is well formed but not what encodeAction writes, is refused.
func TestDecodeActionStrict(t *testing.T) {
	key := cache.ActionKey(cache.Sum([]byte("step")))
	good, err := encodeAction(key, testOutputs())
	if err != nil {
		t.Fatal(err)
	}
	// resum rewrites the check line so that only the edit is wrong.
	resum := func(body string) []byte {
		return []byte(body + "check " + cache.Sum([]byte(body)).String() + "\n")
	}
	header := "dsbuild-remote-action v1 " + cache.Digest(key).String() + "\n"
	dg := cache.Sum([]byte("x")).String()

	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":                {nil, "truncated"},
		"no final newline":     {good[:len(good)-1], "truncated"},
		"cut in a line":        {good[:len(good)/2], "truncated"},
		"cut at a line end":    {good[:bytes.LastIndexByte(good[:len(good)/2], '\n')+1], "checksum line"},
		"one byte flipped":     {bytes.Replace(good, []byte("spaces"), []byte("spacez"), 1), "checksum line"},
		"only a check line":    {[]byte("check " + cache.Sum(nil).String() + "\n"), "fewer than two lines"},
		"other key":            {resum("dsbuild-remote-action v1 " + cache.Sum([]byte("other")).String() + "\n"), "not that of this key"},
		"other version":        {resum("dsbuild-remote-action v2 " + cache.Digest(key).String() + "\n"), "header"},
		"unquoted name":        {resum(header + "out " + dg + " 1 name\n"), "malformed name"},
		"raw-string name":      {resum(header + "out " + dg + " 1 `name`\n"), "malformed name"},
		"non-canonical escape": {resum(header + "out " + dg + ` 1 "\x61"` + "\n"), "malformed name"},
		"trailing text":        {resum(header + "out " + dg + ` 1 "a" x` + "\n"), "malformed name"},
		"empty name":           {resum(header + "out " + dg + ` 1 ""` + "\n"), "malformed name"},
		"leading zero size":    {resum(header + "out " + dg + ` 01 "a"` + "\n"), "malformed size"},
		"negative size":        {resum(header + "out " + dg + ` -1 "a"` + "\n"), "malformed size"},
		"huge size":            {resum(header + "out " + dg + ` 99999999999999999999 "a"` + "\n"), "malformed size"},
		"upper-case digest":    {resum(header + "out sha256:" + strings.ToUpper(dg[7:]) + ` 1 "a"` + "\n"), "malformed digest"},
		"bare digest":          {resum(header + "out " + dg[7:] + ` 1 "a"` + "\n"), "malformed digest"},
		"two spaces":           {resum(header + "out  " + dg + ` 1 "a"` + "\n"), "malformed digest"},
		"other verb":           {resum(header + "output " + dg + ` 1 "a"` + "\n"), "malformed output line"},
		"blank line":           {resum(header + "\n"), "malformed output line"},
		"unsorted":             {resum(header + "out " + dg + ` 1 "b"` + "\nout " + dg + ` 1 "a"` + "\n"), `"a" is out of order or repeated`},
		"repeated":             {resum(header + "out " + dg + ` 1 "a"` + "\nout " + dg + ` 2 "a"` + "\n"), "out of order or repeated"},
		"line after check":     {append(append([]byte(nil), good...), "out x\n"...), "checksum line"},
		"CRLF":                 {bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")), "checksum line"},
	}
	for name, tc := range cases {
		got, err := decodeAction(key, tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: decoded %v, %v; want an error containing %q", name, got, err, tc.want)
		}
	}
}
