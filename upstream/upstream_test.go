package upstream_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan/upstream"
)

func TestScrub(t *testing.T) {
	s := upstream.NewScrubber("s3cr3t-api-key", "张三", "", "x")
	cases := []struct{ in, want string }{
		{"sign with s3cr3t-api-key failed", "sign with *** failed"},
		{"订购人张三不匹配", "订购人***不匹配"},
		{"证件号码 110105199001011232 格式错误", "证件号码 110*************32 格式错误"},
		{"id 11010519900101123X.", "id 110*************3X."},
		{"old card 110105900101123", "old card 110**********23"},
		{"phone 13800138000 then", "phone 138******00 then"},
		// Longer runs of digits are transaction numbers, kept whole.
		{"transaction 4200000466201912209106856859", "transaction 4200000466201912209106856859"},
		{"x is one letter: x", "x is one letter: x"},
	}
	for _, c := range cases {
		if got := s.Scrub(c.in); got != c.want {
			t.Errorf("Scrub(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	var none *upstream.Scrubber
	if got := none.Scrub("110105199001011232"); strings.Contains(got, "199001011") {
		t.Errorf("a nil scrubber still masks ID numbers: %q", got)
	}
}

func TestClip(t *testing.T) {
	if got := upstream.Clip("报关失败", 4); got != "报…" {
		t.Fatalf("Clip on a rune boundary: %q", got)
	}
	if got := upstream.Clip("short", 10); got != "short" {
		t.Fatalf("%q", got)
	}
}

func TestTransportClassification(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	c := upstream.HTTPClient(time.Second, 100*time.Millisecond)
	_, err := c.Get(hang.URL + "/?key=secret")
	e := upstream.Transport("svc", "op", err)
	if e.Kind != upstream.Retry || e.Code != "TIMEOUT" || e.RetryAfter != upstream.WaitTransient || strings.Contains(e.Message, "secret") {
		t.Fatalf("timeout: %+v", e)
	}
	// A refused connection: a port nothing listens on.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	_, err = c.Get("http://" + addr + "/")
	if e := upstream.Transport("svc", "op", err); e.Kind != upstream.Retry || e.Code != "NETWORK" {
		t.Fatalf("refused: %+v", e)
	}
	// Redirects are not followed: a signed request goes nowhere else.
	redir := httptest.NewServer(http.RedirectHandler("http://127.0.0.1:1/elsewhere", http.StatusFound))
	defer redir.Close()
	resp, err := c.Get(redir.URL)
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("redirect followed: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestOutcome(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, upstream.OutcomeOK},
		{&upstream.Error{Kind: upstream.Retry}, upstream.OutcomeRetry},
		{&upstream.Error{Kind: upstream.Untrusted}, upstream.OutcomeRetry},
		{&upstream.Error{Kind: upstream.Fail}, upstream.OutcomeFail},
		{&upstream.Error{Kind: upstream.NotFound}, upstream.OutcomeFail},
		{errors.New("other"), upstream.OutcomeFail},
	} {
		if got := upstream.Outcome(c.err); got != c.want {
			t.Errorf("Outcome(%v) = %s, want %s", c.err, got, c.want)
		}
	}
	e := &upstream.Error{Service: "wechatpay.v2", Operation: "declare", Kind: upstream.Fail, HTTPStatus: 200, Code: "PARAM_ERROR", Message: "bad"}
	if e.Error() != "wechatpay.v2 declare: PARAM_ERROR (HTTP 200): bad" || upstream.KindOf(e) != upstream.Fail {
		t.Fatalf("%q", e.Error())
	}
}
