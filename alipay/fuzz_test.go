package alipay

import "testing"

// Answers as Alipay writes them (the shapes of its documents' samples),
// seeds for FuzzParseAnswer.
var answerSeeds = []string{
	`<?xml version="1.0" encoding="utf-8"?><alipay><is_success>T</is_success><request><param name="service">alipay.acquire.customs</param><param name="out_request_no">9193457120563834</param></request><response><alipay><alipay_declare_no>2015060811001003230012345678</alipay_declare_no><identity_check>T</identity_check><result_code>SUCCESS</result_code><trade_no>2015051446800462000100020003</trade_no></alipay></response><sign>2118ac8fad6bc1d9e88a6cd017c18d37</sign><sign_type>MD5</sign_type></alipay>`,
	`<?xml version="1.0" encoding="utf-8"?><alipay><is_success>F</is_success><error>ILLEGAL_SIGN</error></alipay>`,
	`<alipay><is_success>T</is_success><response><alipay><result_code>FAIL</result_code><detail_error_code>INVALID_PARAMETER</detail_error_code><detail_error_des>参数不合法</detail_error_des></alipay></response><sign>x</sign><sign_type>RSA2</sign_type></alipay>`,
	`<alipay><is_success>T</is_success><response><alipay><not_found>201506010003</not_found><records><customs_declare><alipay_declare_no>2015</alipay_declare_no><amount>2.00</amount><customs_place>ZONGSHU</customs_place><customs_result_code>2</customs_result_code><out_request_no>201506010001</out_request_no><status>succ</status></customs_declare><customs_declare><out_request_no>201506010002</out_request_no><status>ws</status></customs_declare></records><result_code>SUCCESS</result_code></alipay></response><sign>s</sign><sign_type>MD5</sign_type></alipay>`,
	`<?xml version="1.0" encoding="GBK"?><alipay><is_success>T</is_success></alipay>`,
	`<alipay><response><alipay><records><customs_declare><a><b/></a></customs_declare></records></alipay></response></alipay>`,
	`<alipay><response><other/></response></alipay>`,
	`<alipay/><alipay/>`,
	`<!DOCTYPE alipay><alipay/>`,
	``,
}

// FuzzParseAnswer feeds arbitrary bytes to the MAPI answer parser: it must
// never panic or exceed its limits, and what it accepts must sign and
// verify with itself.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add([]byte(s))
	}
	sg := &signer{typ: SignMD5, md5Key: "key"}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := ParseAnswer(body)
		if err != nil {
			return
		}
		if len(doc.Records) > maxRecords || len(doc.Params) > maxParams {
			t.Fatalf("limits exceeded: %d records, %d params", len(doc.Records), len(doc.Params))
		}
		if raw, ok := doc.Params["records"]; ok && len(raw) > len(body) {
			t.Fatalf("records larger than the answer")
		}
		c := signContent(doc.Params)
		s, err := sg.sign(c)
		if err != nil {
			t.Fatal(err)
		}
		if !sg.verify(c, SignMD5, s) || sg.verify(c+"x", SignMD5, s) || sg.verify(c, SignRSA2, s) {
			t.Fatal("sign/verify disagree")
		}
		for _, r := range doc.Records {
			rec := Record{Status: r["status"], CustomsResultCode: r["customs_result_code"], CustomsResultInfo: r["customs_result_info"]}
			_ = rec.DeclState()
			_ = rec.Explanation()
		}
	})
}
