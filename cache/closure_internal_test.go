package cache

import (
	"slices"
	"strings"
	"testing"
)

// A closure manifest is read in both versions, and a v2 line that names a
// pack must name one the manifest lists as a blob of its own, and lie
// within it after its header.
func TestDecodeClosure(t *testing.T) {
	a, b, p := Sum([]byte("a")), Sum([]byte("b")), Sum([]byte("pack"))
	line := func(d Digest, rest string) string { return d.Hex() + " " + rest + "\n" }

	refs, locs, err := decodeClosure([]byte(closureHeaderV1 + line(a, "10") + line(b, "20")))
	if err != nil || len(refs) != 2 || refs[1] != (Ref{b, 20}) || len(locs) != 0 {
		t.Fatalf("v1: %v %v %v", refs, locs, err)
	}

	ok := closureHeader + line(a, "10 "+p.Hex()+" 16") + line(b, "20") + line(p, "26")
	refs, locs, err = decodeClosure([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 3 || len(locs) != 1 || locs[a] != (packLoc{Pack: Ref{p, 26}, Off: 16}) {
		t.Fatalf("v2: %v %v", refs, locs)
	}
	// Encoding it again gives the same bytes (lines sorted by digest).
	if got := string(encodeClosure([]Ref{{p, 26}, {b, 20}, {a, 10}}, locs)); got != sortedLines(ok) {
		t.Errorf("encode:\n%s\nwant\n%s", got, sortedLines(ok))
	}

	for _, c := range []struct{ name, manifest, want string }{
		{"pack not listed", closureHeader + line(a, "10 "+p.Hex()+" 16"), "is not listed as a blob of its own"},
		{"pack itself packed", closureHeader + line(a, "10 "+p.Hex()+" 16") + line(p, "26 "+b.Hex()+" 16") + line(b, "100"), "is not listed as a blob of its own"},
		{"past the pack's end", closureHeader + line(a, "11 "+p.Hex()+" 16") + line(p, "26"), "do not fit in pack"},
		{"inside the header", closureHeader + line(a, "10 "+p.Hex()+" 15") + line(p, "26"), "bad pack offset"},
		{"three fields", closureHeader + line(a, "10 "+p.Hex()), "want <digest> <size> [<pack digest> <offset>]"},
		{"a pack in v1", closureHeaderV1 + line(a, "10 "+p.Hex()+" 16") + line(p, "26"), "want <digest> <size>"},
	} {
		if _, _, err := decodeClosure([]byte(c.manifest)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

func sortedLines(m string) string {
	head, body, _ := strings.Cut(m, "\n")
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	slices.Sort(lines)
	return head + "\n" + strings.Join(lines, "\n") + "\n"
}
