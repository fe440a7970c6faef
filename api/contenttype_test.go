package api

import "testing"

// TestCheckContentTypeAsParsed: the Content-Types checkContentType accepts
// without parsing get the answer parsing gives them, and near misses are
// still parsed (and refused or accepted as parsing decides).
func TestCheckContentTypeAsParsed(t *testing.T) {
	for _, ct := range []string{"", "application/json", "application/json; charset=utf-8",
		"application/json;charset=utf-8", "Application/JSON", "application/json; charset=UTF-8",
		"application/json; charset=gbk", "application/json; charset=latin1", "application/jsonx",
		"application/json; charset=utf-8x", "application/json ", "text/json", "application/json; charset=",
		"application/json; charset=\"utf-8\"", "application/json;", "application/json; foo", "text/plain"} {
		got, want := checkContentType(ct), parseContentType(ct)
		if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
			t.Errorf("checkContentType(%q) = %v, parsed: %v", ct, got, want)
		}
	}
	for ct, ok := range map[string]bool{"application/json": true, "application/json; charset=utf-8": true, "application/json; charset=gbk": false, "text/plain": false} {
		if got := checkContentType(ct) == nil; got != ok {
			t.Errorf("checkContentType(%q) accepted = %v, want %v", ct, got, ok)
		}
	}
}
