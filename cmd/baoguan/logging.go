package main

import (
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/baoguan/baoguan"
)

// newLogger returns the process logger: JSON lines on w, with personal
// data masked and secrets redacted (see maskAttr).
func newLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	out := &lineWriter{w: w}
	return slog.New(&procHandler{slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level, ReplaceAttr: maskAttr}), out})
}

// procHandler is the process's handler: slog's JSON handler, which the
// request log line bypasses when it can (writeRequest). Handlers derived
// from it (With, WithGroup) are slog's own.
type procHandler struct {
	*slog.JSONHandler
	out *lineWriter
}

// lineWriter writes each line whole, whether slog's handler or
// writeRequest writes it.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// maskAttr masks the value of any attribute whose key names personal data
// and redacts any whose key names a secret, wherever it is logged from and
// in whatever group, so that a careless log.Info("…", "phone", o.PayerPhone)
// in any package cannot put a payer's number or a key in the logs. Keys are
// compared without case, '_', '-', '.' or ' ', so payer_id_number,
// payerIdNumber and PAYER-ID-NUMBER are all masked. Attributes that hold a
// URL or an error text (url, path, query, err, …) keep their text but lose
// the values of secret query parameters (?token=…, &sign=…) and any
// user:password@ in a URL.
//
// It runs for every attribute of every log line, so it allocates nothing
// for keys that carry nothing to hide: the key is normalised into a stack
// buffer and matched by suffix in one pass (BenchmarkMaskAttr).
func maskAttr(_ []string, a slog.Attr) slog.Attr {
	kind := classify(a.Key)
	if kind == maskNone {
		return a
	}
	v := a.Value.Resolve()
	if kind == maskURL {
		if v.Kind() != slog.KindString && v.Kind() != slog.KindAny {
			return a
		}
		s := v.String()
		if r := redactURLSecrets(s); r != s {
			return slog.String(a.Key, r)
		}
		return a
	}
	if v.Kind() == slog.KindString && v.String() == "" {
		return a // nothing to hide; an empty string says the field was missing
	}
	return slog.String(a.Key, kind.mask(v.String()))
}

// maskKind is what maskAttr does to an attribute.
type maskKind uint8

const (
	maskNone   maskKind = iota
	maskPhone           // baoguan.MaskPhone
	maskCard            // baoguan.MaskCard
	maskID              // baoguan.MaskID
	maskName            // baoguan.MaskName
	maskSecret          // "[redacted]"
	maskURL             // secret query values and user info removed
)

func (k maskKind) mask(s string) string {
	switch k {
	case maskPhone:
		return baoguan.MaskPhone(s)
	case maskCard:
		return baoguan.MaskCard(s)
	case maskID:
		return baoguan.MaskID(s)
	case maskName:
		return baoguan.MaskName(s)
	case maskSecret:
		return redacted
	}
	return s
}

// redacted replaces a secret entirely: unlike an ID number, no part of a
// key helps an operator and every part helps an attacker.
const redacted = "[redacted]"

// Suffixes of normalised keys, by kind. Matching is by suffix, so that
// prefixes (payer_, buyer_, order_) need no listing, but never by
// substring, which would catch innocent keys ("paid_notify" holds "idno").
var (
	phoneSuffixes  = []string{"phone", "mobile", "phoneno", "phonenumber", "mobileno", "mobilenumber", "telno"}
	cardSuffixes   = []string{"cardno", "cardnumber", "bankcard", "bankaccount", "accountno", "acctno"}
	idSuffixes     = []string{"idnumber", "idno", "idcard", "idcardno", "payerid", "certno", "certnumber", "certificateno", "certificatenumber", "identityno", "identitynumber", "certificateid"}
	secretSuffixes = []string{"apikey", "appkey", "privatekey", "secretkey", "accesskey", "signkey", "datakey", "apiv3key",
		"secret", "token", "password", "passwd", "authorization", "cookie", "credential", "credentials",
		"signature", "signaturedata", "signdata", "cvv", "cvv2", "cvn", "smscode", "verifycode", "otp"}
	nameKeys = []string{"payername", "realname", "buyername", "holdername", "cardholder", "certificatename", "acctname"}
	urlKeys  = []string{"url", "uri", "path", "query", "rawquery", "location", "referer", "err", "error", "notifyurl", "callbackurl"}
)

// maskRule is one word of the lists above with the mask it means: a key
// ends with it (suffix) or is it.
type maskRule struct {
	word   string
	kind   maskKind
	suffix bool
}

// maskRules holds the rules by the last byte of their word, each byte's in
// the order classify tries the lists (phone, card, ID, secret, name, URL),
// so that the first rule that matches is the one the lists' order picks: a
// key can only end with, or be, a word that ends with its own last byte.
// Most keys (request_id, status, route) are thus settled by two or three
// comparisons instead of sixty, for every attribute of every log line.
var maskRules = func() (t [256][]maskRule) {
	add := func(words []string, kind maskKind, suffix bool) {
		for _, w := range words {
			t[w[len(w)-1]] = append(t[w[len(w)-1]], maskRule{w, kind, suffix})
		}
	}
	add(phoneSuffixes, maskPhone, true)
	add(cardSuffixes, maskCard, true)
	add(idSuffixes, maskID, true)
	add(secretSuffixes, maskSecret, true)
	add([]string{"sign", "sig"}, maskSecret, false)
	add(nameKeys, maskName, false)
	add(urlKeys, maskURL, false)
	return t
}()

// classify picks the mask for a log key without allocating for keys of up
// to 64 bytes (longer ones are normalised on the heap).
func classify(key string) maskKind {
	var buf [64]byte
	k := buf[:0]
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '_' || c == '-' || c == '.' || c == ' ':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		k = append(k, c)
	}
	if len(k) == 0 {
		return maskNone
	}
	for _, r := range maskRules[k[len(k)-1]] {
		if r.suffix && len(k) >= len(r.word) && string(k[len(k)-len(r.word):]) == r.word || string(k) == r.word {
			return r.kind
		}
	}
	return maskNone
}

// redactURLSecrets removes from a text that may hold URLs (a URL, a path
// with a query, an error message quoting a URL) the values of query
// parameters whose names classify as secret or personal, and the user
// info of scheme://user:password@host. It returns s itself when there is
// nothing to remove, which is the common case and allocates nothing.
func redactURLSecrets(s string) string {
	if !strings.ContainsAny(s, "?&@") {
		return s
	}
	var b strings.Builder
	last := 0 // s[:last] is in b (or unchanged if b is empty)
	flush := func(upto int, repl string) {
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:upto])
		b.WriteString(repl)
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '?', '&', ';':
			// name=value after the separator
			j := i + 1
			for j < len(s) && s[j] != '=' && !queryEnd(s[j]) {
				j++
			}
			if j >= len(s) || s[j] != '=' || j == i+1 {
				continue
			}
			end := j + 1
			for end < len(s) && !queryEnd(s[end]) {
				end++
			}
			if end == j+1 || classify(s[i+1:j]) == maskNone || classify(s[i+1:j]) == maskURL {
				continue
			}
			flush(j+1, redacted)
			last = end
			i = end - 1
		case '@':
			// scheme://user:password@host: the user info is between "://"
			// and '@' without a '/' in between.
			k := strings.LastIndex(s[:i], "://")
			if k < 0 || k+3 < last || strings.ContainsAny(s[k+3:i], "/ \"'") {
				continue
			}
			flush(k+3, redacted)
			last = i
		}
	}
	if b.Len() == 0 && last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// queryEnd reports whether c ends a query value: the next parameter, a
// fragment, or the end of a URL quoted in a message.
func queryEnd(c byte) bool {
	switch c {
	case '&', ';', '#', ' ', '"', '\'', '\n', '\t', '>', ')', ',':
		return true
	}
	return false
}

// redactPath hides the values of a route's secret path wildcards in path:
// for the pattern "POST /pushorder/{token}/PushOrder" the logged path is
// /pushorder/[redacted]/PushOrder. A wildcard is secret when its name
// classifies as a secret ({token}, {key}, {secret}, …); order numbers and
// ids are kept. Paths that do not line up with the pattern segment by
// segment are returned unchanged only when the pattern has no secret
// wildcard; otherwise everything after the first secret position is
// redacted, erring on the side of hiding.
func redactPath(pattern, path string) string {
	if pattern == "" || !strings.Contains(pattern, "{") {
		return path
	}
	// Drop the method and host parts: "POST host/a/{b}" → "/a/{b}".
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = pattern[i+1:]
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	ps := strings.Split(pattern, "/")
	secret := -1
	for i, seg := range ps {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.TrimSuffix(strings.Trim(seg, "{}"), "...")
			if classify(name) == maskSecret {
				secret = i
				break
			}
		}
	}
	if secret < 0 {
		return path
	}
	segs := strings.Split(path, "/")
	if len(segs) < len(ps) && !strings.HasSuffix(ps[len(ps)-1], "...}") {
		// Cannot line up: hide from the secret position on.
		if secret < len(segs) {
			return strings.Join(segs[:secret], "/") + "/" + redacted
		}
		return path
	}
	for i, seg := range ps {
		if i >= len(segs) {
			break
		}
		if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") {
			continue
		}
		name := strings.Trim(seg, "{}")
		rest := strings.HasSuffix(name, "...")
		if classify(strings.TrimSuffix(name, "...")) != maskSecret {
			continue
		}
		if rest {
			return strings.Join(segs[:i], "/") + "/" + redacted
		}
		segs[i] = redacted
	}
	return strings.Join(segs, "/")
}

// redactUnmatched hides what may be a secret in the path of a request no
// route matched (404, 405), where there is no pattern to say which segment
// is a token: every segment of more than 12 characters holding anything
// but letters and dots is replaced. Endpoint names (PushOrdr, cbpayment)
// stay readable; random tokens, keys and long numbers do not.
func redactUnmatched(path string) string {
	segs := strings.Split(path, "/")
	changed := false
	for i, seg := range segs {
		if len(seg) <= 12 {
			continue
		}
		for j := 0; j < len(seg); j++ {
			c := seg[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.') {
				segs[i], changed = redacted, true
				break
			}
		}
	}
	if !changed {
		return path
	}
	return strings.Join(segs, "/")
}
