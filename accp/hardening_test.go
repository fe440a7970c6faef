package accp_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan/accp"
)

// TestExtremeTimestampsAndAmounts: correctly signed pushes with timestamps
// far from the gateway's clock, and with amounts beyond what baoguan
// accepts, are refused with ACCP's own code naming the field; the 30-minute
// window still holds on both sides.
func TestExtremeTimestampsAndAmounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	o := e.paidOrder("XT-1", 100000, zhang)
	cases := []struct {
		name   string
		fields map[string]any
		code   string
		msg    string
	}{
		{"year 1", map[string]any{"timestamp": "00010101000000"}, accp.CodeBadTimestamp, "30 minutes"},
		{"year 0", map[string]any{"timestamp": "00000101000000"}, accp.CodeBadTimestamp, ""},
		{"year 9999", map[string]any{"timestamp": "99991231235959"}, accp.CodeBadTimestamp, "30 minutes"},
		{"unix epoch", map[string]any{"timestamp": "19700101080000"}, accp.CodeBadTimestamp, "30 minutes"},
		{"292 years ahead", map[string]any{"timestamp": e.clock.Now().AddDate(292, 0, 0).In(cst).Format("20060102150405")}, accp.CodeBadTimestamp, "30 minutes"},
		{"293 years ago", map[string]any{"timestamp": e.clock.Now().AddDate(-293, 0, 0).In(cst).Format("20060102150405")}, accp.CodeBadTimestamp, "30 minutes"},
		{"30 minutes and a second old", map[string]any{"timestamp": e.timestamp(-30*time.Minute - time.Second)}, accp.CodeBadTimestamp, "30 minutes"},
		{"30 minutes and a second ahead", map[string]any{"timestamp": e.timestamp(30*time.Minute + time.Second)}, accp.CodeBadTimestamp, "30 minutes"},
		{"15 digits", map[string]any{"timestamp": "202611230930000"}, accp.CodeBadTimestamp, "yyyyMMddHHmmss"},
		{"total above the maximum", map[string]any{"total_amount": 1000000000000.01, "pay_gds_amt": 1000000000000.01}, accp.CodeBadField, "total_amount"},
		{"total far above the maximum", map[string]any{"total_amount": 92233720368547758.07, "pay_gds_amt": 1}, accp.CodeBadField, "total_amount"},
		{"goods far above the maximum", map[string]any{"pay_gds_amt": 99999999999999999999.0}, accp.CodeBadField, "pay_gds_amt"},
		{"tax above the maximum", map[string]any{"pay_tax_amt": 1000000000000.01}, accp.CodeBadField, "pay_tax_amt"},
		{"goods + tax above the maximum", map[string]any{"total_amount": 1000, "pay_gds_amt": 1000000000000, "pay_tax_amt": 1000000000000}, accp.CodeBadField, "pay_gds_amt"},
	}
	for i, c := range cases {
		f := map[string]any{"txn_seqno": "XT" + string(rune('A'+i)), "org_txn_seqno": o.MerchantOrderNo, "sub_order_flag": "Y"}
		for k, v := range c.fields {
			f[k] = v
		}
		r := e.call(e.http.URL+"/accp/v1/cbpayment/apply-pushpay", e.body(f), nil, nil)
		if r.status != http.StatusOK || r.reply["ret_code"] != c.code || !strings.Contains(r.reply["ret_msg"], c.msg) {
			t.Errorf("%s: %d %s; want ret_code %s with %q", c.name, r.status, r.body, c.code, c.msg)
		}
	}
	for _, off := range []time.Duration{-30 * time.Minute, 30 * time.Minute} {
		r := e.apply(map[string]any{"txn_seqno": "XT-OK" + off.String(), "org_txn_seqno": o.MerchantOrderNo, "sub_order_flag": "Y",
			"timestamp": e.timestamp(off), "total_amount": 1, "pay_gds_amt": 1})
		if r.reply["ret_code"] != accp.CodeOK {
			t.Errorf("timestamp %s off: %s", off, r.body)
		}
	}
}

// TestBodyStrictness: signed pushes whose text could not be stored as it
// was sent (GBK bytes, a lone surrogate escape, a key twice in any case),
// or whose body is declared in another charset or compressed, are refused
// with 1004 naming what is wrong; LianLian's SDK's "Content-Encoding:
// UTF-8" keeps working; type errors are 2002 naming the field. Nothing is
// stored for a refused push.
func TestBodyStrictness(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	o := e.paidOrder("BS-1", 100000, zhang)
	url := e.http.URL + "/accp/v1/cbpayment/apply-pushpay"
	base := func(txn string) map[string]any {
		return map[string]any{"txn_seqno": txn, "org_txn_seqno": o.MerchantOrderNo, "sub_order_flag": "Y", "total_amount": 1, "pay_gds_amt": 1}
	}
	raw := func(txn, member string) []byte {
		b := e.body(base(txn))
		return append(b[:len(b)-1], []byte(","+member+"}")...)
	}
	cases := []struct {
		name   string
		body   []byte
		header map[string]string
		code   string
		msg    string
	}{
		{"GBK bytes, raw", []byte(strings.Replace(string(e.body(base("BS-B"))), "张三", "\xd5\xc5\xc8\xfd", 1)), nil, accp.CodeBadRequest, "invalid UTF-8"},
		{"lone surrogate", []byte(strings.Replace(string(e.body(base("BS-C"))), "张三", `\ud800`, 1)), nil, accp.CodeBadRequest, "surrogate"},
		{"keys differing in case", raw("BS-D", `"TOTAL_AMOUNT":99`), nil, accp.CodeBadRequest, `"total_amount" and "TOTAL_AMOUNT" differ only in case`},
		{"a key twice", raw("BS-E", `"user_name":"李四"`), nil, accp.CodeBadRequest, "appears twice"},
		{"GBK charset", e.body(base("BS-F")), map[string]string{"Content-Type": "application/json;charset=GBK"}, accp.CodeBadRequest, `charset "gbk"`},
		{"gzip", e.body(base("BS-G")), map[string]string{"Content-Encoding": "gzip"}, accp.CodeBadRequest, `Content-Encoding "gzip"`},
		{"amount of the wrong type", e.body(map[string]any{"txn_seqno": "BS-H", "org_txn_seqno": o.MerchantOrderNo, "sub_order_flag": "Y",
			"total_amount": 1, "pay_gds_amt": map[string]any{"v": 1}}), nil, accp.CodeBadField, "pay_gds_amt must be a JSON number"},
		{"text of the wrong type", e.body(map[string]any{"txn_seqno": "BS-I", "org_txn_seqno": o.MerchantOrderNo, "sub_order_flag": "Y",
			"total_amount": 1, "pay_gds_amt": 1, "user_name": []string{"张三"}}), nil, accp.CodeBadField, "user_name must be a JSON string, not an array"},
		{"unknown field", raw("BS-J", `"memo":"x"`), nil, accp.CodeBadField, "unknown field memo"},
	}
	for _, c := range cases {
		r := e.call(url, c.body, nil, c.header)
		if r.reply["ret_code"] != c.code || !strings.Contains(r.reply["ret_msg"], c.msg) {
			t.Errorf("%s: %s; want ret_code %s with %q", c.name, r.body, c.code, c.msg)
		}
		if strings.Contains(r.reply["ret_msg"], "json:") {
			t.Errorf("%s: encoding/json's own text reaches the caller: %s", c.name, r.reply["ret_msg"])
		}
	}
	for _, enc := range []string{"UTF-8", "utf-8", "identity", ""} {
		txn := "BS-OK-" + enc
		r := e.call(url, e.body(base(txn)), nil, map[string]string{"Content-Encoding": enc})
		if r.reply["ret_code"] != accp.CodeOK {
			t.Errorf("Content-Encoding %q: %s", enc, r.body)
		}
	}
	for _, c := range cases {
		var f map[string]any
		_ = json.Unmarshal(c.body, &f)
		txn, _ := f["txn_seqno"].(string)
		if r := e.query(txn); r.reply["ret_code"] != accp.CodeUnknownPush {
			t.Errorf("%s: the refused push %s is stored: %s", c.name, txn, r.body)
		}
	}
}
