package pushorder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/baoguan/baoguan"
)

// gbk encodes s in GBK (GB18030), as a Chinese .NET client's default
// encoding writes a form.
func gbk(t *testing.T, s string) string {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCharsetsAndCodings pushes one order in every shape a client may
// send its text: GBK declared in the Content-Type (raw, URL-encoded, in a
// multipart part), UTF-8 with and without a declaration; and what cannot
// be stored as sent: GBK bytes without a declaration, bytes that are not
// the declared charset, an unsupported charset, a lone surrogate escape,
// keys that differ only in case, a compressed body. The first are stored
// with the payer's name as written; the others are 9904 naming what is
// wrong, and store nothing (in particular no U+FFFD).
func TestCharsetsAndCodings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	doc := func(no, name string) string {
		return `{"OperationType":"A","OrderNo":"` + no + `","ReceiverName":"` + name + `","ReceiverCardNo":"` + idOK +
			`","TotalNum":1,"OrderTotal":10.5,"ItemNames":"测试商品","ShopPayTime":"2018-07-01 21:22:34","MerchantName":"` + h.A.M.Name +
			`","CapitalName":"资方","ReceiverMobile":"13817494910","CustomsCode":"HG014"}`
	}
	multi := func(no, name, partCharset string) (string, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		hdr := textproto.MIMEHeader{"Content-Disposition": {`form-data; name="data"`}}
		if partCharset != "" {
			hdr.Set("Content-Type", "text/plain; charset="+partCharset)
			name = gbk(t, name)
		}
		pw, _ := mw.CreatePart(hdr)
		pw.Write([]byte(doc(no, name)))
		mw.Close()
		return b.String(), mw.FormDataContentType()
	}

	good := []struct {
		name, body, ct string
	}{
		{"GBK raw, declared", "data=" + gbk(t, doc("CS-1", "张三")), "application/x-www-form-urlencoded; charset=GBK"},
		{"GBK URL-encoded, declared gb2312", url.Values{"data": {gbk(t, doc("CS-2", "李四"))}}.Encode(), "application/x-www-form-urlencoded; charset=gb2312"},
		{"GB18030 four-byte character", "data=" + gbk(t, doc("CS-3", "王𠀀")), "application/x-www-form-urlencoded;charset=GB18030"},
		{"UTF-8 declared", "data=" + doc("CS-4", "赵六"), "application/x-www-form-urlencoded; charset=utf-8"},
		{"UTF-8 undeclared", "data=" + doc("CS-5", "钱七"), "application/x-www-form-urlencoded"},
		{"bare JSON in GBK", gbk(t, doc("CS-6", "孙八")), "application/json; charset=GBK"},
	}
	want := map[string]string{"CS-1": "张三", "CS-2": "李四", "CS-3": "王𠀀", "CS-4": "赵六", "CS-5": "钱七", "CS-6": "孙八", "CS-7": "周九"}
	for _, c := range good {
		if r := h.call(t, h.A.base()+"/PushTestOrder", c.body, "Content-Type", c.ct); r.ReturnCode != "0000" {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
	body, ct := multi("CS-7", "周九", "GBK")
	if r := h.call(t, h.A.base()+"/PushTestOrder", body, "Content-Type", ct); r.ReturnCode != "0000" {
		t.Errorf("multipart part in GBK: %+v", r)
	}
	for no, name := range want {
		v, err := h.svc.OrderDetail(ctx, h.A.M, no)
		if err != nil || v.Order.Payer.Name != name {
			t.Errorf("%s: payer name %q (%v), want %q", no, v.Order.Payer.Name, err, name)
		}
	}

	bad := []struct {
		name, body, ct, encoding string
		msg                      string
	}{
		{"GBK undeclared", "data=" + gbk(t, doc("CB-1", "张三")), "application/x-www-form-urlencoded", "", "not valid UTF-8"},
		{"GBK URL-encoded, undeclared", url.Values{"data": {gbk(t, doc("CB-2", "张三"))}}.Encode(), "application/x-www-form-urlencoded", "", "not valid UTF-8"},
		{"GBK declared utf-8", "data=" + gbk(t, doc("CB-3", "张三")), "application/x-www-form-urlencoded; charset=utf-8", "", "not valid UTF-8"},
		{"not GBK though declared", "data=" + doc("CB-4", "张\xff\xff"), "application/x-www-form-urlencoded; charset=gbk", "", "not valid GBK"},
		{"Big5", "data=" + doc("CB-5", "張三"), "application/x-www-form-urlencoded; charset=big5", "", `charset "big5" is not supported`},
		{"lone surrogate", "data=" + doc("CB-6", `\ud800三`), "application/x-www-form-urlencoded", "", "surrogate"},
		{"keys differing in case", "data=" + strings.Replace(doc("CB-7", "张三"), `"OrderTotal":10.5`, `"OrderTotal":10.5,"ORDERTOTAL":0.01`, 1), "application/x-www-form-urlencoded", "", "ORDERTOTAL"},
		{"gzip", "data=" + doc("CB-8", "张三"), "application/x-www-form-urlencoded", "gzip", `Content-Encoding "gzip"`},
	}
	for _, c := range bad {
		hdr := []string{"Content-Type", c.ct}
		if c.encoding != "" {
			hdr = append(hdr, "Content-Encoding", c.encoding)
		}
		r := h.call(t, h.A.base()+"/PushTestOrder", c.body, hdr...)
		if r.ReturnCode != "9904" || !strings.Contains(r.ReturnMsg, c.msg) {
			t.Errorf("%s: %+v, want 9904 with %q", c.name, r, c.msg)
		}
	}
	body, ct = multi("CB-9", "张三", "")
	body = strings.Replace(body, "张三", gbk(t, "张三"), 1)
	if r := h.call(t, h.A.base()+"/PushTestOrder", body, "Content-Type", ct); r.ReturnCode != "9904" {
		t.Errorf("multipart part in GBK, undeclared: %+v", r)
	}
	os, err := h.svc.Orders(ctx, h.A.M, baoguan.OrderFilter{})
	if err != nil || len(os) != len(want) {
		t.Errorf("%d orders stored (%v), want the %d good ones", len(os), err, len(want))
	}
	for _, o := range os {
		if b, _ := json.Marshal(o); bytes.Contains(b, []byte("\ufffd")) || bytes.Contains(b, []byte(`\ufffd`)) {
			t.Errorf("order %s holds U+FFFD: %s", o.MerchantOrderNo, b)
		}
	}
}
