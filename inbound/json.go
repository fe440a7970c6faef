// Package inbound is what every front-end's decoder shares to read outside
// input faithfully or refuse it: a JSON check that finds what
// encoding/json would silently change (invalid UTF-8 and lone surrogate
// escapes, both turned into U+FFFD; keys that differ only in case, of
// which it keeps the last) and says where (byte offset and JSON path such
// as declarations[1].customs); the JSON path of a byte offset, for the
// type errors of encoding/json; body charsets (UTF-8, or the GB family
// decoded exactly); content codings. It has no protocol in it: each
// front-end turns a Problem into its own error code and language.
package inbound

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Problem kinds.
const (
	KindSyntax    = "syntax"        // not JSON
	KindUTF8      = "utf8"          // bytes that are not UTF-8
	KindSurrogate = "surrogate"     // a \u escape of half a surrogate pair
	KindDuplicate = "duplicate_key" // a key twice in one object, in any case
	KindDepth     = "depth"         // nested deeper than MaxDepth
	KindCharset   = "charset"       // a declared charset that is not supported, or bytes not in it
	KindEncoding  = "encoding"      // a Content-Encoding other than identity
)

// Problem is what is wrong with an input, where: Offset is a byte offset
// into the input as received (-1 when it does not apply) and Path the JSON
// path of the value concerned ("" for the whole body). Message is written
// for the caller, in English, and names both.
type Problem struct {
	Kind    string
	Offset  int64
	Path    string
	Message string
	// Want and Got describe a type error (KindType): the JSON type the
	// field takes and encoding/json's description of what was sent.
	Want, Got string
	// GoType is the Go type the field decodes into ("int64", "time.Time"),
	// for a front-end whose message depends on it.
	GoType string
	// Err is a field decoder's own error (KindValue).
	Err error
}

func (p *Problem) Error() string { return p.Message }

// MaxDepth is how deeply JSON values may nest. No request of any protocol
// nests more than a few levels; the bound keeps the check's recursion
// small whatever it is given.
const MaxDepth = 64

// CheckJSON checks that data is exactly one JSON value (surrounding white
// space allowed) that encoding/json would decode without changing it:
// valid UTF-8 everywhere, no \u escape of a lone surrogate, no object
// with two keys equal under encoding/json's case-insensitive matching
// (which would take the last one silently), nesting within MaxDepth. It
// returns the first problem, or nil.
func CheckJSON(data []byte) *Problem {
	s := scanner{data: data}
	s.space()
	if s.i == len(data) {
		return &Problem{Kind: KindSyntax, Offset: 0, Message: "the body is empty"}
	}
	s.value(nil, 0)
	if s.p == nil {
		s.space()
		if s.i < len(data) {
			s.fail(KindSyntax, nil, "more than one JSON value (unexpected "+s.what()+")")
		}
	}
	return s.p
}

// CheckJSONElements is CheckJSON, and it also finds where the elements of
// one array are: when data is an object with a member named key (spelled
// exactly so) whose value is an array, arr is that array's bytes,
// data[arr[0]:arr[1]], spans each of its elements', in order, and ok is
// true. A caller decodes the elements apart (a batch upload's orders, on
// several processors) and, should one fail, decodes data whole for the
// problem a whole decode names.
func CheckJSONElements(data []byte, key string) (arr [2]int, spans [][2]int, ok bool, p *Problem) {
	s := scanner{data: data, spanKey: key}
	s.space()
	if s.i == len(data) {
		return arr, nil, false, &Problem{Kind: KindSyntax, Offset: 0, Message: "the body is empty"}
	}
	s.value(nil, 0)
	if s.p == nil {
		s.space()
		if s.i < len(data) {
			s.fail(KindSyntax, nil, "more than one JSON value (unexpected "+s.what()+")")
		}
	}
	if s.p != nil {
		return arr, nil, false, s.p
	}
	return s.arr, s.spans, s.spanned, nil
}

// PathAt returns the JSON path of the innermost value of data whose bytes
// include offset: "" for the top-level value, "amount", "orders[2]",
// "declarations[1].customs". A key's own bytes belong to its value. data
// should be valid JSON; for other input the path found up to the first
// error is returned.
func PathAt(data []byte, offset int64) string {
	s := scanner{data: data, find: offset, seek: true}
	s.space()
	s.value(nil, 0)
	return s.found
}

// scanner is a small recursive-descent JSON reader: it validates, tracks
// the path, and stops at the first problem.
type scanner struct {
	data []byte
	i    int
	p    *Problem
	// PathAt: find is the offset whose path is wanted; found the path of
	// the innermost value seen to contain it.
	seek  bool
	find  int64
	found string
	got   bool
	// visit, when set, sees every complete value: its path and bytes.
	visit func(path string, start, end int)
	// CheckJSONElements: spanKey is the top-level member whose array's
	// elements are spanned; spanNext is set while its value is read, for
	// the array it is.
	spanKey  string
	spanNext bool
	arr      [2]int
	spans    [][2]int
	spanned  bool
}

// smallObject is how many keys an object may have before the check
// compares them through a map.
const smallObject = 16

// pathLoc is where a value is, for the problems that name its JSON path:
// the member key of an object (index -1) or the element index of an
// array in the value up; nil is the top-level value. The path is only
// spelled out (String) when a problem or a caller needs it, so checking
// a large body builds no string per value.
type pathLoc struct {
	up    *pathLoc
	key   []byte
	index int
}

// String is the JSON path: "", "amount", "orders[2]",
// "declarations[1].customs".
func (l *pathLoc) String() string {
	if l == nil {
		return ""
	}
	up := l.up.String()
	switch {
	case l.index >= 0:
		return up + "[" + strconv.Itoa(l.index) + "]"
	case up == "":
		return string(l.key)
	default:
		return up + "." + string(l.key)
	}
}

func (s *scanner) fail(kind string, at *pathLoc, msg string) {
	if s.p != nil {
		return
	}
	path := at.String()
	where := "at byte " + strconv.Itoa(s.i)
	if path != "" {
		where += " (" + path + ")"
	}
	s.p = &Problem{Kind: kind, Offset: int64(s.i), Path: path, Message: msg + " " + where}
}

func (s *scanner) what() string {
	if s.i >= len(s.data) {
		return "end of input"
	}
	c := s.data[s.i]
	if c < 0x20 || c >= 0x7f {
		return "byte 0x" + strconv.FormatUint(uint64(c), 16)
	}
	return strconv.Quote(string(c))
}

func (s *scanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value reads one value at s.i, whose at is at.
func (s *scanner) value(at *pathLoc, depth int) {
	start := s.i
	if s.visit != nil {
		defer func() {
			if s.p == nil {
				s.visit(at.String(), start, s.i)
			}
		}()
	}
	if s.seek {
		defer func() {
			// Inner values finish first: the first one found to contain
			// the offset is the innermost.
			if !s.got && s.p == nil && int64(start) <= s.find && s.find < int64(s.i) {
				s.found, s.got = at.String(), true
			}
		}()
	}
	if depth > MaxDepth {
		s.fail(KindDepth, at, "JSON nested more than "+strconv.Itoa(MaxDepth)+" levels deep")
		return
	}
	if s.i >= len(s.data) {
		s.fail(KindSyntax, at, "unexpected end of JSON")
		return
	}
	switch c := s.data[s.i]; {
	case c == '{':
		s.object(at, depth)
	case c == '[':
		s.array(at, depth)
	case c == '"':
		s.str(at, false)
	case c == '-' || c >= '0' && c <= '9':
		s.number(at)
	case c == 't':
		s.literal(at, "true")
	case c == 'f':
		s.literal(at, "false")
	case c == 'n':
		s.literal(at, "null")
	default:
		s.fail(KindSyntax, at, "invalid character "+s.what()+" where a JSON value was expected")
	}
}

func (s *scanner) object(at *pathLoc, depth int) {
	s.i++ // {
	s.space()
	if s.i < len(s.data) && s.data[s.i] == '}' {
		s.i++
		return
	}
	// The keys seen so far, compared with strings.EqualFold (the
	// matching encoding/json uses) while they are few, by foldKey in a
	// map once there are many.
	var few [smallObject][]byte
	keys := few[:0]
	var seen map[string]string
	child := &pathLoc{up: at, index: -1}
	for s.p == nil {
		s.space()
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			s.fail(KindSyntax, at, "expected a quoted object key, found "+s.what())
			return
		}
		keyStart := s.i
		key := s.str(at, true)
		if s.p != nil {
			return
		}
		child.key = key
		prev, dup := "", false
		if seen == nil {
			for _, k := range keys {
				if bytes.EqualFold(k, key) {
					prev, dup = string(k), true
					break
				}
			}
			if !dup && len(keys) == smallObject {
				seen = make(map[string]string, 2*smallObject)
				for _, k := range keys {
					seen[foldKey(string(k))] = string(k)
				}
			}
		} else {
			prev, dup = seen[foldKey(string(key))]
		}
		if dup {
			s.i = keyStart
			if prev == string(key) {
				s.fail(KindDuplicate, child, "the key "+strconv.Quote(prev)+" appears twice in one object")
			} else {
				s.fail(KindDuplicate, child, "the keys "+strconv.Quote(prev)+" and "+strconv.Quote(string(key))+" differ only in case; send one of them")
			}
			return
		}
		if seen != nil {
			seen[foldKey(string(key))] = string(key)
		} else {
			keys = append(keys, key)
		}
		s.space()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			s.fail(KindSyntax, child, "expected ':' after an object key, found "+s.what())
			return
		}
		s.i++
		s.space()
		if s.seek && !s.got && int64(keyStart) <= s.find && s.find < int64(s.i) {
			s.found, s.got = child.String(), true
		}
		s.spanNext = at == nil && s.spanKey != "" && string(key) == s.spanKey
		s.value(child, depth+1)
		s.spanNext = false
		if s.p != nil {
			return
		}
		s.space()
		if s.i >= len(s.data) {
			s.fail(KindSyntax, at, "unexpected end of JSON in an object")
			return
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return
		default:
			s.fail(KindSyntax, at, "expected ',' or '}' in an object, found "+s.what())
			return
		}
	}
}

func (s *scanner) array(at *pathLoc, depth int) {
	spanned := s.spanNext
	s.spanNext = false
	if spanned {
		s.spanned, s.arr[0] = true, s.i
		defer func() { s.arr[1] = s.i }()
	}
	s.i++ // [
	s.space()
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		return
	}
	child := &pathLoc{up: at}
	for n := 0; s.p == nil; n++ {
		s.space()
		child.index = n
		start := s.i
		s.value(child, depth+1)
		if s.p != nil {
			return
		}
		if spanned {
			s.spans = append(s.spans, [2]int{start, s.i})
		}
		s.space()
		if s.i >= len(s.data) {
			s.fail(KindSyntax, at, "unexpected end of JSON in an array")
			return
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return
		default:
			s.fail(KindSyntax, at, "expected ',' or ']' in an array, found "+s.what())
			return
		}
	}
}

// str reads a string and, with keep, returns its value as encoding/json
// would decode it (keys are compared; values are only checked): the bytes
// of data themselves when they are the value; problems are reported at the
// offending byte.
func (s *scanner) str(at *pathLoc, keep bool) []byte {
	s.i++ // "
	var b strings.Builder
	// A fast way through the common string: printable ASCII to the quote.
	j := s.i
	for j < len(s.data) && s.data[j] >= 0x20 && s.data[j] < utf8.RuneSelf && s.data[j] != '"' && s.data[j] != '\\' {
		j++
	}
	if j < len(s.data) && s.data[j] == '"' {
		var v []byte
		if keep {
			v = s.data[s.i:j:j]
		}
		s.i = j + 1
		return v
	}
	for {
		if s.i >= len(s.data) {
			s.fail(KindSyntax, at, "unexpected end of JSON in a string")
			return nil
		}
		c := s.data[s.i]
		switch {
		case c == '"':
			s.i++
			return []byte(b.String())
		case c == '\\':
			r, ok := s.escape(at)
			if !ok {
				return nil
			}
			if keep {
				b.WriteRune(r)
			}
		case c < 0x20:
			s.fail(KindSyntax, at, "control character "+s.what()+" in a string (escape it)")
			return nil
		case c < utf8.RuneSelf:
			if keep {
				b.WriteByte(c)
			}
			s.i++
		default:
			r, n := utf8.DecodeRune(s.data[s.i:])
			if r == utf8.RuneError && n == 1 {
				s.fail(KindUTF8, at, "invalid UTF-8 (byte 0x"+strconv.FormatUint(uint64(c), 16)+"); send text in UTF-8 or declare its charset")
				return nil
			}
			if keep {
				b.WriteRune(r)
			}
			s.i += n
		}
	}
}

// escape reads the escape at s.i and returns the character it stands
// for; ok is false, with the problem set, when it is not one.
func (s *scanner) escape(at *pathLoc) (r rune, ok bool) {
	if s.i+1 >= len(s.data) {
		s.i++
		s.fail(KindSyntax, at, "unexpected end of JSON in a string escape")
		return 0, false
	}
	switch c := s.data[s.i+1]; c {
	case '"', '\\', '/':
		r = rune(c)
	case 'b':
		r = '\b'
	case 'f':
		r = '\f'
	case 'n':
		r = '\n'
	case 'r':
		r = '\r'
	case 't':
		r = '\t'
	case 'u':
		r, ok := s.hex4(s.i + 2)
		if !ok {
			s.fail(KindSyntax, at, "invalid \\u escape in a string")
			return 0, false
		}
		if utf16.IsSurrogate(r) {
			// Only a high surrogate followed by a low one is a character.
			if r < 0xdc00 && s.i+12 <= len(s.data) && s.data[s.i+6] == '\\' && s.data[s.i+7] == 'u' {
				if r2, ok := s.hex4(s.i + 8); ok {
					if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
						s.i += 12
						return dec, true
					}
				}
			}
			s.fail(KindSurrogate, at, "the escape \\u"+string(s.data[s.i+2:s.i+6])+" is half of a UTF-16 surrogate pair, not a character")
			return 0, false
		}
		s.i += 6
		return r, true
	default:
		s.fail(KindSyntax, at, "invalid escape \\"+string(rune(c))+" in a string")
		return 0, false
	}
	s.i += 2
	return r, true
}

func (s *scanner) hex4(at int) (rune, bool) {
	if at+4 > len(s.data) {
		return 0, false
	}
	var r rune
	for _, c := range s.data[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

func (s *scanner) number(at *pathLoc) {
	digits := func() int {
		n := 0
		for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.data[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.data) && s.data[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		s.fail(KindSyntax, at, "invalid number: expected a digit, found "+s.what())
		return
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if digits() == 0 {
			s.fail(KindSyntax, at, "invalid number: expected a digit after the decimal point, found "+s.what())
			return
		}
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			s.fail(KindSyntax, at, "invalid number: expected a digit in the exponent, found "+s.what())
			return
		}
	}
}

func (s *scanner) literal(at *pathLoc, word string) {
	if len(s.data)-s.i < len(word) || string(s.data[s.i:s.i+len(word)]) != word {
		s.fail(KindSyntax, at, "invalid literal (true, false or null expected)")
		return
	}
	s.i += len(word)
}

// foldKey maps a key to one representative of its case-folding class, so
// that two keys get the same foldKey exactly when strings.EqualFold (the
// matching encoding/json uses between keys and field names) holds: each
// rune becomes the smallest rune of its simple-folding orbit (K, k and
// the Kelvin sign are one class).
func foldKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}
