package accp_test

import (
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
