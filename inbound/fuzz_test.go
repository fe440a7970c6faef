package inbound

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCheckJSON compares CheckJSON with encoding/json: what encoding/json
// finds invalid, CheckJSON refuses (for the first problem it meets, which
// may be a duplicate key before the syntax error); what it accepts,
// CheckJSON refuses only for a reason other than syntax (invalid UTF-8, a
// lone surrogate, a key twice in any case, depth); and what CheckJSON
// accepts, encoding/json decodes without replacing a character: the
// decoded strings hold U+FFFD only where the input wrote one. Problems lie
// within the input and PathAt never fails.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{"amount":1}`, `{"amount":1,"AMOUNT":2}`, `{"a":[1,{"b":"\ud83d\ude00"}]}`, `{"k":"\ud800"}`,
		"{\"k\":\"\xd5\xc5\"}", `[1,2,3]`, `"x"`, `1e5`, `-0.5`, `null`, `{"a":{"A":1,"b":2},"B":[]}`,
		`{"\u212aelvin":1,"kelvin":2}`, `{"a":1}{`, ` `, `{"a":"\u0000"}`, "{\"k\":\"\xef\xbf\xbd\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := CheckJSON(data)
		valid := json.Valid(data)
		if p != nil {
			if p.Offset < 0 || p.Offset > int64(len(data)) {
				t.Fatalf("%q: offset %d outside the input", data, p.Offset)
			}
			if p.Message == "" {
				t.Fatalf("%q: a problem without a message", data)
			}
			if valid && p.Kind == KindSyntax {
				t.Fatalf("%q: encoding/json accepts it, CheckJSON finds a syntax error: %s", data, p.Message)
			}
		}
		if p == nil {
			if !valid {
				t.Fatalf("%q: CheckJSON accepts what encoding/json refuses", data)
			}
			var v any
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber() // numbers beyond float64 are JSON too
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%q: accepted but does not decode: %v", data, err)
			}
			written := bytes.Count(data, []byte("\xef\xbf\xbd")) + strings.Count(strings.ToLower(string(data)), `\ufffd`)
			if got := countReplacement(v); got > written {
				t.Fatalf("%q: decoding made %d U+FFFD, the input wrote %d", data, got, written)
			}
		}
		for _, at := range []int64{0, int64(len(data) / 2), int64(len(data)) - 1} {
			_ = PathAt(data, at)
		}
	})
}

func countReplacement(v any) int {
	n := 0
	switch x := v.(type) {
	case string:
		n += strings.Count(x, "\ufffd")
	case []any:
		for _, e := range x {
			n += countReplacement(e)
		}
	case map[string]any:
		for k, e := range x {
			n += strings.Count(k, "\ufffd") + countReplacement(e)
		}
	}
	return n
}

// FuzzToUTF8 checks that whatever ToUTF8 returns is valid UTF-8, that for
// UTF-8 input it is the input (less a byte-order mark), and that GB text
// is decoded only when it round-trips (never into U+FFFD it did not hold).
func FuzzToUTF8(f *testing.F) {
	for _, s := range []string{"张三", "\xd5\xc5\xc8\xfd", "\xef\xbb\xbfabc", "\x81\x30\x81\x30", "\xff", "data=%D5%C5"} {
		for _, cs := range []string{"", "utf-8", "gbk", "gb18030", "latin1"} {
			f.Add([]byte(s), cs)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, charset string) {
		out, p := ToUTF8(data, charset, GBFamily)
		if p != nil {
			if p.Offset > int64(len(data)) {
				t.Fatalf("offset %d beyond %d bytes", p.Offset, len(data))
			}
			return
		}
		if !utf8.Valid(out) {
			t.Fatalf("%q as %q: output %q is not UTF-8", data, charset, out)
		}
		switch charset {
		case "", "utf-8", "utf8":
			if !bytes.Equal(out, bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))) {
				t.Fatalf("%q: UTF-8 changed to %q", data, out)
			}
		default:
			if bytes.Contains(out, []byte("\ufffd")) && !bytes.Contains(data, []byte("\x84\x31\xa4\x37")) {
				t.Fatalf("%q as %q: decoded into U+FFFD: %q", data, charset, out)
			}
		}
	})
}
