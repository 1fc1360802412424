package dataset

import "testing"

// Done names the first unknown option, suggests the nearest option the
// format reads (as recipe attributes get), and lists them.
func TestOptionsDoneSuggests(t *testing.T) {
	for _, tc := range []struct {
		opt  Options
		want string
	}{
		{Options{"annotation": "a/*.json"}, `format coco has no option "annotation". Did you mean "annotations"? Its options are annotations, images`},
		{Options{"zzz": "1"}, `format coco has no option "zzz"; its options are annotations, images`},
		{Options{"annotations": "x"}, ""},
		{nil, ""},
	} {
		tc.opt.Take("annotations", "")
		tc.opt.Take("images", "")
		err := tc.opt.Done("coco")
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("Done(%v) = %q, want %q", tc.opt, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("Done(%v) = nil, want %q", tc.opt, tc.want)
		}
	}
	var none Options = Options{"x": "1"}
	if err := none.Done("supervisely"); err == nil || err.Error() != `format supervisely has no option "x"; it has no options` {
		t.Errorf("Done without options = %v", err)
	}
}
