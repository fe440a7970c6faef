package wechatpay

import (
	"maps"
	"testing"
)

// Answers as WeChat writes them (shapes from WeChat's documents and
// answers merchants have posted), seeds for FuzzParseV2.
var v2Seeds = []string{
	`<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[成功]]></return_msg><sign><![CDATA[C380BEC2BFD727A4B6845133519F3AD6]]></sign><appid><![CDATA[wxd678efh567hg6787]]></appid><mch_id><![CDATA[1230000109]]></mch_id><result_code><![CDATA[SUCCESS]]></result_code><err_code><![CDATA[0]]></err_code><err_code_des><![CDATA[OK]]></err_code_des><state><![CDATA[UNDECLARED]]></state><transaction_id><![CDATA[4200000466201912209106856859]]></transaction_id><out_trade_no><![CDATA[20191220161655556703]]></out_trade_no><modify_time><![CDATA[20191224180009]]></modify_time><cert_check_result><![CDATA[UNCHECKED]]></cert_check_result><verify_department><![CDATA[OTHERS]]></verify_department><verify_department_trade_id><![CDATA[4200000466201912209106856859]]></verify_department_trade_id></xml>`,
	`<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[xml参数格式错误]]></return_msg></xml>`,
	`<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[成功]]></return_msg><sign><![CDATA[7AE26CC420226115BB55AF90FC9E7367]]></sign><result_code><![CDATA[SUCCESS]]></result_code><err_code><![CDATA[0]]></err_code><transaction_id><![CDATA[]]></transaction_id><count>0</count></xml>`,
	"<xml>\n<count>2</count>\n<state_0>SUCCESS</state_0><sub_order_no_0>A</sub_order_no_0><order_fee_0>888</order_fee_0>\n<state_1>FAIL</state_1><explanation_1>支付单已存在并且为非退单状态</explanation_1></xml>",
	`<?xml version="1.0" encoding="UTF-8"?><xml><a>1 &amp; 2 &lt;3&gt;</a><b>&#x4E2D;</b></xml>`,
	`<xml><a><b>nested</b></a></xml>`,
	`<xml><a>1</a><a>2</a></xml>`,
	`<!DOCTYPE xml [<!ENTITY x "y">]><xml><a>&x;</a></xml>`,
	`<xml><a>1</a></xml><xml/>`,
	``,
}

// FuzzParseV2 feeds arbitrary bytes to the v2 answer parser: it must never
// panic, and whatever it accepts must survive being written out and read
// again unchanged, and sign and verify with itself.
func FuzzParseV2(f *testing.F) {
	for _, s := range v2Seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseV2(body)
		if err != nil {
			return
		}
		if len(m) > maxV2Fields {
			t.Fatalf("%d fields accepted", len(m))
		}
		nonEmpty := map[string]string{}
		for k, v := range m {
			if v != "" {
				nonEmpty[k] = v
			}
		}
		again, err := ParseV2(v2Encode(nonEmpty))
		if err != nil {
			t.Fatalf("re-reading what was read: %v", err)
		}
		if !maps.Equal(again, nonEmpty) {
			t.Fatalf("round trip changed the fields:\n%q\n%q", nonEmpty, again)
		}
		for _, st := range []string{SignMD5, SignHMACSHA256} {
			signed := maps.Clone(m)
			delete(signed, "sign_type")
			s, err := v2Sign(signed, st, "key")
			if err != nil {
				t.Fatal(err)
			}
			signed["sign"] = s
			if !v2Verify(signed, st, "key") || v2Verify(signed, st, "other") {
				t.Fatalf("sign/verify disagree for %q", signed)
			}
			r := recordV2(m, "_0")
			_ = r.DeclState()
		}
	})
}
