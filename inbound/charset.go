package inbound

import (
	"bytes"
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Charsets a front-end may accept besides UTF-8.
const (
	// UTF8Only accepts UTF-8 alone: JSON is UTF-8 by its standard
	// (RFC 8259 §8.1), so a JSON API refuses any other declared charset.
	UTF8Only = false
	// GBFamily also decodes GBK, GB2312 and GB18030 (one decoder: GB18030
	// is a superset of the other two), which Chinese form clients send.
	GBFamily = true
)

// Charset returns the charset a Content-Type declares, lower-cased, or ""
// when it declares none (or cannot be parsed: the content type is the
// front-end's to check).
func Charset(contentType string) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return CharsetParam(params)
}

// CharsetParam is Charset for a Content-Type already parsed into its
// parameters (mime.ParseMediaType's).
func CharsetParam(params map[string]string) string {
	return strings.ToLower(strings.TrimSpace(params["charset"]))
}

// ToUTF8 returns b as UTF-8 text according to charset (as Charset returns
// it): "" and UTF-8 must already be valid UTF-8 (a leading byte-order mark
// is dropped); with gb, GBK, GB2312 and GB18030 are decoded, and only
// when b is exactly a GB18030 text (it re-encodes to the same bytes), so a
// byte that is not GB is refused, never turned into U+FFFD. Any other
// charset is a Problem of kind KindCharset; bytes that are not in the
// declared charset are KindUTF8 (for UTF-8) or KindCharset, with the
// offset of the first bad byte.
func ToUTF8(b []byte, charset string, gb bool) ([]byte, *Problem) {
	switch charset {
	case "", "utf-8", "utf8":
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		if i := invalidUTF8(b); i >= 0 {
			return nil, &Problem{Kind: KindUTF8, Offset: int64(i),
				Message: "the body is not valid UTF-8 (byte 0x" + strconv.FormatUint(uint64(b[i]), 16) + " at byte " + strconv.Itoa(i) + "); send UTF-8 or declare the charset in Content-Type"}
		}
		return b, nil
	case "gbk", "gb2312", "gb18030", "cp936", "x-gbk", "euc-cn":
		if !gb {
			break
		}
		out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
		if err == nil {
			back, err2 := simplifiedchinese.GB18030.NewEncoder().Bytes(out)
			if err2 == nil && bytes.Equal(back, b) {
				return out, nil
			}
			err = err2
		}
		at := firstDifference(b)
		return nil, &Problem{Kind: KindCharset, Offset: int64(at),
			Message: "the body is not valid " + strings.ToUpper(charset) + " text (at byte " + strconv.Itoa(at) + ")"}
	}
	accepted := "UTF-8"
	if gb {
		accepted = "UTF-8 or GBK/GB18030"
	}
	return nil, &Problem{Kind: KindCharset, Offset: -1,
		Message: "charset " + strconv.Quote(charset) + " is not supported; send " + accepted}
}

// invalidUTF8 returns the offset of the first byte of b that is not part
// of valid UTF-8, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// firstDifference finds where a GB18030 text stops round-tripping: the
// longest prefix that decodes and re-encodes to itself.
func firstDifference(b []byte) int {
	lo, hi := 0, len(b)
	ok := func(n int) bool {
		out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b[:n])
		if err != nil {
			return false
		}
		back, err := simplifiedchinese.GB18030.NewEncoder().Bytes(out)
		return err == nil && bytes.Equal(back, b[:n])
	}
	// A prefix may end inside a character and fail although the text up
	// to that character is fine; the search still lands within a
	// character of the first bad byte, which is what a caller needs.
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// CheckContentEncoding checks the Content-Encoding header values of a
// request: only the identity coding (no header, or "identity") is read.
// Compressed bodies are refused rather than taken as they are, since
// their bytes would reach the JSON or form decoder as garbage. With
// charsetNames, a value that names a charset ("UTF-8": LianLian's Java
// SDK sends Content-Encoding: UTF-8 for every request) is read as
// identity, because that client never compresses.
func CheckContentEncoding(values []string, charsetNames bool) *Problem {
	for _, v := range values {
		for _, c := range strings.Split(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			switch {
			case c == "" || c == "identity":
			case charsetNames && (c == "utf-8" || c == "utf8"):
			default:
				return &Problem{Kind: KindEncoding, Offset: -1,
					Message: "Content-Encoding " + strconv.Quote(c) + " is not supported; send the body uncompressed"}
			}
		}
	}
	return nil
}
