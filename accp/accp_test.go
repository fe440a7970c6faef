package accp_test

import (
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/accp"
	"github.com/baoguan/baoguan/core"
)

var zhang = baoguan.Payer{Name: "张三", IDType: baoguan.IDTypeIDCard, IDNumber: "110105199001011232", Phone: "13800138000"}

// TestSeedPush sends the document's apply-pushpay request, filled in and
// signed with a key made here, and follows the push to its notification
// and query, comparing each with its golden file.
func TestSeedPush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	o := e.paidOrder("ORD20261123001", 13580, zhang)

	tmpl, err := os.ReadFile(filepath.Join("testdata", "apply-pushpay.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.ReplaceAll(tmpl, []byte("{{notify_url}}"), []byte(e.notify.url()))
	r := e.call(e.http.URL+"/accp/v1/cbpayment/apply-pushpay", body, nil, nil)
	if r.status != http.StatusOK || r.reply["ret_code"] != accp.CodeOK {
		t.Fatalf("apply: %d %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != accp.ContentType {
		t.Errorf("Content-Type %q, want %q", ct, accp.ContentType)
	}
	accpTxno := r.reply["accp_txno"]
	if accpTxno == "" || r.reply["pay_transaction_id"] != o.Payment.No || o.Payment.No == "" {
		t.Errorf("accp_txno %q, pay_transaction_id %q (payment no %q)", accpTxno, r.reply["pay_transaction_id"], o.Payment.No)
	}
	subst := map[string]string{accpTxno: "{{accp_txno}}", o.Payment.No: "{{payment_no}}"}
	golden(t, "apply-pushpay.response.json", r.body, subst)

	// The same bytes again are a repeat: the first reply, byte for byte.
	if again := e.call(e.http.URL+"/accp/v1/cbpayment/apply-pushpay", body, nil, nil); !bytes.Equal(again.body, r.body) {
		t.Errorf("repeat answered\n%s\nfirst was\n%s", again.body, r.body)
	}

	e.eventually("the push notification", func() bool { return len(e.notify.forTxn("PUSH20261123001")) > 0 })
	n := e.notify.forTxn("PUSH20261123001")[0]
	if n.sigErr != nil {
		t.Errorf("notification signature: %v", n.sigErr)
	}
	if n.header.Get(accp.HeaderSignatureType) != accp.SignatureTypeRSA || n.header.Get("Content-Type") != accp.ContentType {
		t.Errorf("notification headers %v", n.header)
	}
	golden(t, "notify.json", n.body, subst)

	q, err := os.ReadFile(filepath.Join("testdata", "query-pushpay.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	q = bytes.ReplaceAll(q, []byte("{{timestamp}}"), []byte(e.timestamp(0)))
	qr := e.call(e.http.URL+"/accp/v1/cbpayment/query-pushpay", q, nil, nil)
	golden(t, "query-pushpay.response.json", qr.body, subst)

	// The push is the order's declaration, visible as such in the core.
	v, err := e.svc.OrderDetail(e.ctx, e.m, "ORD20261123001")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Declarations) != 1 {
		t.Fatalf("%d declarations, want 1", len(v.Declarations))
	}
	d := v.Declarations[0]
	if d.Customs != "HG018" || d.OrderFee != 13580 || d.TransportFee != 1000 || d.ProductFee != 12580 || d.Duty != 1080 ||
		d.Extras.AreaCode != "5141" || d.Extras.JyOrg != "443400" || d.MerchantCustomsNo != "3301964J31" ||
		d.State != baoguan.DeclSuccess || d.SubOrderID != accpTxno {
		t.Errorf("declaration %+v", d)
	}
	if v.Order.Protocol != accp.Protocol || v.Order.Extra["accp.adopted_from"] != "native" {
		t.Errorf("order protocol %q extra %v: the push should adopt the order's notifications", v.Order.Protocol, v.Order.Extra)
	}
}

// TestErrors causes each failure through the real router.
func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.paidOrder("O1", 100000, zhang)
	// An order whose payment failed (sandbox rule: order number ending PAYFAIL).
	if _, _, err := e.svc.CreateOrder(e.ctx, e.m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "UNPAIDPAYFAIL", Amount: 100,
		Subject: "x", Channel: baoguan.ChannelMock, Payer: zhang}}); err != nil {
		t.Fatal(err)
	}
	e.eventually("UNPAID failed", func() bool {
		o, err := e.svc.Order(e.ctx, e.m, "UNPAIDPAYFAIL")
		return err == nil && o.PayStatus == baoguan.PayFailed
	})
	// A merchant with no key, and one in arrears.
	if _, _, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{No: "NOKEY", Name: "nokey"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{No: "ARREARS", Name: "arrears"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateMerchant(e.ctx, "ARREARS", func(m *baoguan.Merchant) error {
		m.Status = baoguan.MerchantArrears
		m.Settings[accp.SettingPublicKey] = publicPEM(merchantKey())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	split := func(txn string, yuan float64, more map[string]any) map[string]any {
		f := map[string]any{"txn_seqno": txn, "sub_order_flag": "Y", "total_amount": yuan, "pay_gds_amt": yuan}
		for k, v := range more {
			f[k] = v
		}
		return f
	}
	cases := []struct {
		name   string
		fields map[string]any
		raw    []byte // sent instead of the fields when set
		key    *rsa.PrivateKey
		header map[string]string
		code   string
		msg    string // a part of ret_msg
	}{
		{name: "accepted", fields: split("S-OK", 1, nil), code: accp.CodeOK},
		{name: "timestamp 29 minutes old", fields: split("S-OLD", 1, map[string]any{"timestamp": e.timestamp(-29 * time.Minute)}), code: accp.CodeOK},
		{name: "timestamp 29 minutes ahead", fields: split("S-NEW", 1, map[string]any{"timestamp": e.timestamp(29 * time.Minute)}), code: accp.CodeOK},
		{name: "amounts as strings", fields: split("S-STR", 1, map[string]any{"total_amount": "1.00", "pay_gds_amt": "1"}), code: accp.CodeOK},
		{name: "extend_info as an object", fields: split("S-OBJ", 1, map[string]any{"custom_code": "HG012",
			"extend_info": map[string]string{"customsAreaCode": "5141", "customsJyOrg": "443400"}}), code: accp.CodeOK},

		{name: "bad signature", fields: split("E1", 1, nil), key: strangerKey(), code: accp.CodeBadSignature, msg: "does not verify"},
		{name: "no signature", fields: split("E2", 1, nil), header: map[string]string{accp.HeaderSignatureData: ""}, code: accp.CodeBadSignature, msg: "missing"},
		{name: "signature type", fields: split("E3", 1, nil), header: map[string]string{accp.HeaderSignatureType: "MD5"}, code: accp.CodeBadSignature, msg: "RSA"},
		{name: "stale timestamp", fields: split("E4", 1, map[string]any{"timestamp": e.timestamp(-31 * time.Minute)}), code: accp.CodeBadTimestamp, msg: "30 minutes"},
		{name: "future timestamp", fields: split("E5", 1, map[string]any{"timestamp": e.timestamp(31 * time.Minute)}), code: accp.CodeBadTimestamp, msg: "30 minutes"},
		{name: "malformed timestamp", fields: split("E6", 1, map[string]any{"timestamp": "2026-11-23 10:00"}), code: accp.CodeBadTimestamp, msg: "yyyyMMddHHmmss"},
		{name: "missing timestamp", fields: split("E7", 1, map[string]any{"timestamp": nil}), code: accp.CodeMissingField, msg: "timestamp"},
		{name: "unknown merchant", fields: split("E8", 1, map[string]any{"mch_id": "999"}), code: accp.CodeUnknownMerchant, msg: "999"},
		{name: "merchant without key", fields: split("E9", 1, map[string]any{"mch_id": "NOKEY"}), code: accp.CodeUnknownMerchant, msg: "public key"},
		{name: "merchant in arrears", fields: split("E10", 1, map[string]any{"mch_id": "ARREARS"}), code: accp.CodeMerchantStatus, msg: "arrears"},
		{name: "missing mch_id", fields: split("E11", 1, map[string]any{"mch_id": nil}), code: accp.CodeMissingField, msg: "mch_id"},
		{name: "not JSON", raw: []byte("mch_id=" + mchID), code: accp.CodeBadRequest, msg: "JSON"},
		{name: "JSON content type but not JSON", raw: []byte("mch_id=" + mchID), header: map[string]string{"Content-Type": "application/json"}, code: accp.CodeBadRequest, msg: "JSON"},
		{name: "two JSON objects", raw: []byte(`{"mch_id":"` + mchID + `"}{}`), code: accp.CodeBadRequest, msg: "JSON"},
		{name: "a JSON array", raw: []byte(`[{"mch_id":"` + mchID + `"}]`), code: accp.CodeBadRequest, msg: "JSON"},
		{name: "missing user_name", fields: split("E13", 1, map[string]any{"user_name": nil}), code: accp.CodeMissingField, msg: "user_name"},
		{name: "missing total_amount", fields: split("E14", 1, map[string]any{"total_amount": nil}), code: accp.CodeMissingField, msg: "total_amount"},
		{name: "missing pay_gds_amt", fields: split("E15", 1, map[string]any{"pay_gds_amt": nil}), code: accp.CodeMissingField, msg: "pay_gds_amt"},
		{name: "fraction of a fen", fields: split("E16", 1, map[string]any{"total_amount": 1.234}), code: accp.CodeBadField, msg: "total_amount"},
		{name: "negative fee", fields: split("E17", 1, map[string]any{"pay_fee_amount": -1}), code: accp.CodeBadField, msg: "pay_fee_amount"},
		{name: "unknown field", fields: split("E18", 1, map[string]any{"pay_gds_amount": 1}), code: accp.CodeBadField, msg: "pay_gds_amount"},
		{name: "id_type", fields: split("E19", 1, map[string]any{"id_type": "PASSPORT"}), code: accp.CodeBadField, msg: "id_type"},
		{name: "operate_type", fields: split("E20", 1, map[string]any{"operate_type": "DEL"}), code: accp.CodeBadField, msg: "operate_type"},
		{name: "txn_time", fields: split("E21", 1, map[string]any{"txn_time": "20261123"}), code: accp.CodeBadField, msg: "txn_time"},
		{name: "sub_order_flag", fields: split("E22", 1, map[string]any{"sub_order_flag": "YES"}), code: accp.CodeBadField, msg: "sub_order_flag"},
		{name: "strategy", fields: split("E23", 1, map[string]any{"auth_check_strategy": "DIFF_IGNORE"}), code: accp.CodeBadField, msg: "auth_check_strategy"},
		{name: "id_no format", fields: split("E24", 1, map[string]any{"id_no": "12345"}), code: accp.CodeBadField, msg: "id_no"},
		{name: "phone format", fields: split("E25", 1, map[string]any{"phone": "call me"}), code: accp.CodeBadField, msg: "phone"},
		{name: "notify_url", fields: split("E26", 1, map[string]any{"notify_url": "ftp://example.com/n"}), code: accp.CodeBadField, msg: "notify_url"},
		{name: "string field sent as a number", fields: split("E27", 1, map[string]any{"phone": 13800138000}), code: accp.CodeBadField, msg: "phone"},
		{name: "amount sent as a boolean", fields: split("E40", 1, map[string]any{"total_amount": true}), code: accp.CodeBadField, msg: "total_amount must be a JSON number"},
		{name: "extend_info unreadable", fields: split("E28", 1, map[string]any{"extend_info": "area=5141"}), code: accp.CodeBadExtendInfo, msg: "extend_info"},
		{name: "port extra missing", fields: split("E29", 1, map[string]any{"custom_code": "HG018"}), code: accp.CodeBadExtendInfo, msg: "customs_area_code"},
		{name: "unknown customs code", fields: split("E30", 1, map[string]any{"custom_code": "HG999"}), code: accp.CodeBadCustoms, msg: "HG999"},
		{name: "customs code of two records", fields: split("E31", 1, map[string]any{"custom_code": "HENAN"}), code: accp.CodeBadCustoms, msg: "HENAN"},
		{name: "unknown org_txn_seqno", fields: split("E32", 1, map[string]any{"org_txn_seqno": "NOSUCH"}), code: accp.CodeUnknownOrder, msg: "NOSUCH"},
		{name: "order not paid", fields: split("E33", 1, map[string]any{"org_txn_seqno": "UNPAIDPAYFAIL"}), code: accp.CodeNotPaid, msg: "PAY_FAILED"},
		{name: "amount above paid", fields: split("E34", 1000.01, nil), code: accp.CodeAbovePaid, msg: "1000.00"},
		{name: "total is not fee+goods+tax", fields: split("E35", 10, map[string]any{"pay_gds_amt": 8, "pay_fee_amount": 1}), code: accp.CodeAmountMismatch, msg: "pay_tax_amt"},
		{name: "MOD of an unknown push", fields: split("E36", 1, map[string]any{"operate_type": "MOD"}), code: accp.CodeUnknownPush, msg: "E36"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := c.raw
			if body == nil {
				body = e.body(c.fields)
			}
			r := e.call(e.http.URL+"/accp/v1/cbpayment/apply-pushpay", body, c.key, c.header)
			if r.status != http.StatusOK || r.reply["ret_code"] != c.code || !strings.Contains(r.reply["ret_msg"], c.msg) {
				t.Fatalf("got %d %s\nwant ret_code %s with %q", r.status, r.body, c.code, c.msg)
			}
			for _, f := range []string{"ret_code", "ret_msg", "mch_id", "txn_seqno", "accp_txno", "org_txn_seqno", "push_status",
				"pay_company_code", "pay_company_name", "pay_transaction_id", "push_date", "push_failReason", "result_info"} {
				if _, ok := r.reply[f]; !ok {
					t.Errorf("reply lacks %s: %s", f, r.body)
				}
			}
			if c.code != accp.CodeOK {
				if txn, _ := c.fields["txn_seqno"].(string); txn != "" {
					// A refused request is not a push: nothing to query.
					if q := e.query(txn); q.reply["ret_code"] != accp.CodeUnknownPush {
						t.Errorf("query after a refusal: %s", q.body)
					}
				}
			}
		})
	}
}

// TestDuplicate: a txn_seqno is one push. The same content replays the
// first reply; other content is 9901 (一码多义).
func TestDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Hour) // customs never answers: the push stays as it was
	e.paidOrder("O1", 10000, zhang)
	first := e.apply(nil)
	if first.reply["ret_code"] != accp.CodeOK || first.reply["push_status"] != accp.PushWait {
		t.Fatalf("first push: %s", first.body)
	}
	e.clock.Add(time.Minute)
	again := e.apply(nil) // new timestamp, same content
	if !bytes.Equal(again.body, first.body) {
		t.Errorf("repeat answered\n%s\nfirst was\n%s", again.body, first.body)
	}
	for _, f := range []map[string]any{
		{"total_amount": 99, "pay_gds_amt": 99},
		{"user_name": "李四"},
		{"notify_url": "https://example.com/other"},
	} {
		r := e.apply(f)
		if r.reply["ret_code"] != accp.CodeDuplicate || r.reply["txn_seqno"] != "T1" {
			t.Errorf("reuse with %v: %s", f, r.body)
		}
	}
	// The amounts are compared in fen: 100 and "100.00" are the same push.
	if r := e.apply(map[string]any{"total_amount": "100.00"}); !bytes.Equal(r.body, first.body) {
		t.Errorf("100.00 is not 100: %s", r.body)
	}
	v, err := e.svc.OrderDetail(e.ctx, e.m, "O1")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Declarations) != 1 || v.Declarations[0].OrderFee != 10000 {
		t.Errorf("declarations %+v", v.Declarations)
	}
	// Another number for the same order and customs is not a second record.
	if r := e.apply(map[string]any{"txn_seqno": "T2"}); r.reply["ret_code"] != accp.CodePushTaken {
		t.Errorf("second number for the same record: %s", r.body)
	}
}

// TestPayerCheck: DIFF_REJECT refuses a push whose payer is not the one who
// paid; DIFF_PUSH declares it and says DIFF.
func TestPayerCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.paidOrder("O1", 10000, zhang)
	li := map[string]any{"user_name": "李四", "id_no": "110105198505051233"}
	reject := map[string]any{"auth_check_strategy": "DIFF_REJECT"}
	for k, v := range li {
		reject[k] = v
	}
	r := e.apply(reject)
	if r.reply["ret_code"] != accp.CodePayerDiffers || !strings.Contains(r.reply["ret_msg"], "DIFF_REJECT") {
		t.Fatalf("DIFF_REJECT: %s", r.body)
	}
	if d, _ := e.svc.Declarations(e.ctx, e.m, "O1"); len(d) != 0 {
		t.Errorf("a refused push declared %+v", d)
	}
	// Nothing was recorded: the same number may be pushed again.
	r = e.apply(li)
	if r.reply["ret_code"] != accp.CodeOK || r.reply["result_info"] != `{"user_check_result":"DIFF"}` {
		t.Fatalf("DIFF_PUSH: %s", r.body)
	}
	e.eventually("the DIFF push notified", func() bool { return len(e.notify.forTxn("T1")) > 0 })
	if n := e.notify.forTxn("T1")[0]; n.fields["push_status"] != accp.PushSuccess || n.fields["result_info"] != `{"user_check_result":"DIFF"}` {
		t.Errorf("notification %s", n.body)
	}
	// The payer who paid, with DIFF_REJECT, is SAME and accepted.
	e.paidOrder("O2", 10000, zhang)
	r = e.apply(map[string]any{"txn_seqno": "T2", "org_txn_seqno": "O2", "auth_check_strategy": "DIFF_REJECT"})
	if r.reply["ret_code"] != accp.CodeOK || r.reply["result_info"] != `{"user_check_result":"SAME"}` {
		t.Errorf("SAME with DIFF_REJECT: %s", r.body)
	}
}

// TestSplitPushes: parts of one payment get their own pay_transaction_id,
// the hash of the payment number and txn_seqno, and together may not
// exceed what was paid.
func TestSplitPushes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	o := e.paidOrder("O1", 10000, zhang)
	ids := map[string]string{}
	for _, p := range []struct {
		txn  string
		yuan float64
	}{{"S1", 60}, {"S2", 40}} {
		r := e.apply(map[string]any{"txn_seqno": p.txn, "sub_order_flag": "Y", "total_amount": p.yuan, "pay_gds_amt": p.yuan})
		if r.reply["ret_code"] != accp.CodeOK {
			t.Fatalf("split %s: %s", p.txn, r.body)
		}
		id := r.reply["pay_transaction_id"]
		if id != accp.PayTransactionID(o.Payment.No, p.txn, true) || len(id) != 32 || id == o.Payment.No {
			t.Errorf("split %s pay_transaction_id %q", p.txn, id)
		}
		ids[p.txn] = id
	}
	if ids["S1"] == ids["S2"] {
		t.Errorf("split pushes share pay_transaction_id %s", ids["S1"])
	}
	if r := e.apply(map[string]any{"txn_seqno": "S3", "sub_order_flag": "Y", "total_amount": 0.01, "pay_gds_amt": 0.01}); r.reply["ret_code"] != accp.CodeAbovePaid {
		t.Errorf("a third part above the payment: %s", r.body)
	}
	for txn, id := range ids {
		e.eventually(txn+" notified", func() bool { return len(e.notify.forTxn(txn)) > 0 })
		if n := e.notify.forTxn(txn)[0]; n.fields["pay_transaction_id"] != id || n.fields["push_status"] != accp.PushSuccess {
			t.Errorf("notification of %s: %s", txn, n.body)
		}
		if q := e.query(txn); q.reply["pay_transaction_id"] != id || q.reply["push_status"] != accp.PushSuccess {
			t.Errorf("query of %s: %s", txn, q.body)
		}
	}
}

// TestModify: MOD changes an existing push through the core: a failed push
// is declared again with the corrected payer; a push with customs cannot
// change; a MOD may not move the push to another record.
func TestModify(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	mismatch := baoguan.Payer{Name: "王五", IDType: baoguan.IDTypeIDCard, IDNumber: "110105199001019998", Phone: "13800138000"}
	e.paidOrder("O1", 10000, mismatch)
	bad := map[string]any{"user_name": "王五", "id_no": "110105199001019998"}
	if r := e.apply(bad); r.reply["ret_code"] != accp.CodeOK {
		t.Fatalf("ADD: %s", r.body)
	}
	e.eventually("the failure notified", func() bool { return len(e.notify.forTxn("T1")) > 0 })
	n := e.notify.forTxn("T1")[0]
	if n.fields["push_status"] != accp.PushFail || !strings.Contains(n.fields["push_failReason"], "不匹配") {
		t.Fatalf("failure notification: %s", n.body)
	}
	if q := e.query("T1"); q.reply["push_status"] != accp.PushFail || q.reply["push_failReason"] == "" {
		t.Errorf("query after failure: %s", q.body)
	}

	for _, c := range []struct {
		name   string
		fields map[string]any
		code   string
	}{
		{"MOD to another customs code", map[string]any{"operate_type": "MOD", "custom_code": "HG022"}, accp.CodeImmutable},
		{"MOD to another order", map[string]any{"operate_type": "MOD", "org_txn_seqno": "O2"}, accp.CodeImmutable},
		{"MOD into a split push", map[string]any{"operate_type": "MOD", "sub_order_flag": "Y"}, accp.CodeImmutable},
	} {
		if r := e.apply(c.fields); r.reply["ret_code"] != c.code {
			t.Errorf("%s: %s", c.name, r.body)
		}
	}

	// The corrected payer (who is not the one who paid: DIFF, pushed anyway).
	r := e.apply(map[string]any{"operate_type": "MOD"})
	if r.reply["ret_code"] != accp.CodeOK || r.reply["push_status"] != accp.PushWait {
		t.Fatalf("MOD: %s", r.body)
	}
	e.eventually("the success notified", func() bool { return len(e.notify.forTxn("T1")) > 1 })
	if n := e.notify.forTxn("T1")[1]; n.fields["push_status"] != accp.PushSuccess || n.fields["accp_txno"] != r.reply["accp_txno"] {
		t.Errorf("second notification: %s", n.body)
	}
	// The MOD repeated is answered as the MOD was; the ADD repeated as the ADD.
	if again := e.apply(map[string]any{"operate_type": "MOD"}); !bytes.Equal(again.body, r.body) {
		t.Errorf("repeated MOD: %s", again.body)
	}
	if again := e.apply(bad); again.reply["ret_code"] != accp.CodeOK || again.reply["push_status"] != accp.PushWait {
		t.Errorf("repeated ADD: %s", again.body)
	}
	if d, _ := e.svc.Declarations(e.ctx, e.m, "O1"); len(d) != 1 || d[0].Payer.IDNumber != "110105199001011232" || d[0].Attempts != 2 {
		t.Errorf("declarations after MOD: %+v", d)
	}
}

// TestModifyInFlight: a push with customs cannot be modified until customs
// answers.
func TestModifyInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Hour) // the receipt takes an hour of the frozen clock
	e.paidOrder("O1", 10000, zhang)
	if r := e.apply(nil); r.reply["ret_code"] != accp.CodeOK {
		t.Fatalf("ADD: %s", r.body)
	}
	e.eventually("the push with customs", func() bool {
		q := e.query("T1")
		return q.reply["push_status"] == accp.PushProcessing
	})
	if r := e.apply(map[string]any{"operate_type": "MOD", "phone": "13900139000"}); r.reply["ret_code"] != accp.CodeInFlight {
		t.Errorf("MOD in flight: %s", r.body)
	}
}

// TestNotificationRetries: the notification is sent again on its schedule
// until the merchant acknowledges it, each attempt signed.
func TestNotificationRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.notify.answer = func(n int) (int, string) {
		switch n {
		case 1:
			return http.StatusInternalServerError, "busy"
		case 2:
			return http.StatusOK, "FAIL"
		}
		return http.StatusOK, `{"ret_code":"0000","ret_msg":"Success"}`
	}
	e.paidOrder("O1", 10000, zhang)
	if r := e.apply(nil); r.reply["ret_code"] != accp.CodeOK {
		t.Fatalf("ADD: %s", r.body)
	}
	var ev *baoguan.Event
	e.eventually("the notification acknowledged", func() bool {
		e.clock.Add(5 * time.Second) // cross the 15 s and 1 min waits
		evs, err := e.svc.Events(e.ctx, e.m, baoguan.EventFilter{Page: baoguan.Page{Limit: 10}})
		if err != nil || len(evs) == 0 {
			return false
		}
		ev = &evs[0]
		return ev.Status == baoguan.EventDelivered
	})
	got := e.notify.deliveries()
	if len(got) != 3 || ev.Attempts != 3 || ev.Protocol != accp.Protocol || ev.URL != e.notify.url() {
		t.Fatalf("%d deliveries; event %s attempts %d protocol %s url %s", len(got), ev.Status, ev.Attempts, ev.Protocol, ev.URL)
	}
	for i, d := range got {
		if d.sigErr != nil || !bytes.Equal(d.body, got[0].body) {
			t.Errorf("delivery %d: signature %v, body %s", i+1, d.sigErr, d.body)
		}
	}
	// Nothing more is sent once acknowledged: a day later no job is due
	// and no delivery was made.
	e.clock.Add(24 * time.Hour)
	e.settle()
	if n := len(e.notify.deliveries()); n != 3 {
		t.Errorf("%d deliveries after the acknowledgement", n)
	}
}

// TestRoutes: both roots, the prefix and the dedicated listener's root,
// the query, and the ACCP-shaped 404.
func TestRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.paidOrder("O1", 10000, zhang)
	e.paidOrder("O2", 10000, zhang)
	if r := e.call(e.http.URL+"/accp/mch/v1/cbpayment/apply-pushpay", e.body(nil), nil, nil); r.reply["ret_code"] != accp.CodeOK {
		t.Errorf("/accp/mch/v1: %s", r.body)
	}
	if r := e.call(e.root.URL+"/v1/cbpayment/apply-pushpay", e.body(map[string]any{"txn_seqno": "T2", "org_txn_seqno": "O2"}), nil, nil); r.reply["ret_code"] != accp.CodeOK {
		t.Errorf("root /v1: %s", r.body)
	}
	qb, _ := json.Marshal(map[string]string{"timestamp": e.timestamp(0), "mch_id": mchID, "txn_seqno": "T2"})
	if r := e.call(e.root.URL+"/mch/v1/cbpayment/query-pushpay", qb, nil, nil); r.reply["ret_code"] != accp.CodeOK || r.reply["org_txn_seqno"] != "O2" {
		t.Errorf("root /mch/v1 query: %s", r.body)
	}
	if r := e.query("NOSUCH"); r.reply["ret_code"] != accp.CodeUnknownPush {
		t.Errorf("query of an unknown push: %s", r.body)
	}
	for _, u := range []string{e.http.URL + "/accp/v1/cbpayment/apply-refund", e.root.URL + "/v2/other"} {
		if r := e.call(u, e.body(nil), nil, nil); r.status != http.StatusNotFound || r.reply["ret_code"] != accp.CodeNoSuchAPI {
			t.Errorf("%s: %d %s", u, r.status, r.body)
		}
	}
}

// TestSignatureFormat pins the signature to LianLian's construction:
// MD5withRSA over the lower-case hex MD5 of the body, checked here with a
// signature made step by step.
func TestSignatureFormat(t *testing.T) {
	t.Parallel()
	body := []byte(`{"mch_id":"402103190000000001"}`)
	sig, err := accp.Sign(merchantKey(), body)
	if err != nil {
		t.Fatal(err)
	}
	inner := md5.Sum(body)
	hexed := hex.EncodeToString(inner[:]) // lower case, as the SDKs write it
	outer := md5.Sum([]byte(hexed))
	want, err := rsa.SignPKCS1v15(nil, merchantKey(), crypto.MD5, outer[:])
	if err != nil {
		t.Fatal(err)
	}
	if sig != base64.StdEncoding.EncodeToString(want) {
		t.Errorf("Sign is not MD5withRSA over the hex MD5 of the body")
	}
	if err := accp.Verify(&merchantKey().PublicKey, body, sig); err != nil {
		t.Fatal(err)
	}
	if err := accp.Verify(&merchantKey().PublicKey, append(body, ' '), sig); err == nil {
		t.Error("a changed body verified")
	}
	if err := accp.Verify(&strangerKey().PublicKey, body, sig); err == nil {
		t.Error("another key verified")
	}
	// The bare base64 form of the key, as LianLian's portal shows it, reads
	// as the PEM form does.
	p := publicPEM(merchantKey())
	bare := strings.Join(strings.Split(strings.TrimSpace(p), "\n")[1:len(strings.Split(strings.TrimSpace(p), "\n"))-1], "")
	for _, s := range []string{p, bare} {
		k, err := accp.ParsePublicKey(s)
		if err != nil || !k.Equal(&merchantKey().PublicKey) {
			t.Errorf("ParsePublicKey: %v", err)
		}
	}
}

// TestPayTransactionIDExample keeps the example in docs/protocols/accp.md true.
func TestPayTransactionIDExample(t *testing.T) {
	t.Parallel()
	if got := accp.PayTransactionID("55365885253633933566", "PUSH20261123002", true); got != "ae6401a4ad63ec38373f032f59c2aa2b" {
		t.Errorf("split: %s", got)
	}
	if got := accp.PayTransactionID("55365885253633933566", "PUSH20261123002", false); got != "55365885253633933566" {
		t.Errorf("not split: %s", got)
	}
}

// TestClientVariants: real clients sign either over the hex MD5 of the body
// or over the raw body, and send the JSON body as application/json,
// text/plain, application/text or with no Content-Type. Every combination
// is accepted through the real router; a wrong signature in either form is
// refused; and every reply still verifies under the hex-MD5 rule (call
// checks that on each response).
func TestClientVariants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.paidOrder("O1", 100000, zhang)
	forms := []struct {
		name string
		form accp.SignatureForm
	}{{"hex MD5", accp.FormHexMD5}, {"raw body", accp.FormRawBody}}
	types := []string{accp.ContentType, "application/json", "text/plain", "application/text;charset=UTF-8", ""}
	url := e.http.URL + "/accp/v1/cbpayment/apply-pushpay"
	n := 0
	for _, f := range forms {
		for _, ct := range types {
			n++
			txn := fmt.Sprintf("V%d", n)
			body := e.body(map[string]any{"txn_seqno": txn, "sub_order_flag": "Y", "total_amount": 1, "pay_gds_amt": 1})
			r := e.callForm(url, body, nil, f.form, map[string]string{"Content-Type": ct})
			if r.reply["ret_code"] != accp.CodeOK {
				t.Errorf("%s signature, Content-Type %q: %s", f.name, ct, r.body)
			}
			// A forged signature in the same form, and a signature of other
			// bytes, are refused whatever the content type.
			txn += "X"
			body = e.body(map[string]any{"txn_seqno": txn, "sub_order_flag": "Y", "total_amount": 1, "pay_gds_amt": 1})
			if r := e.callForm(url, body, strangerKey(), f.form, map[string]string{"Content-Type": ct}); r.reply["ret_code"] != accp.CodeBadSignature {
				t.Errorf("%s signature by another key, Content-Type %q: %s", f.name, ct, r.body)
			}
			sig, err := accp.SignForm(merchantKey(), append(body, ' '), f.form)
			if err != nil {
				t.Fatal(err)
			}
			if r := e.callForm(url, body, nil, f.form, map[string]string{"Content-Type": ct, accp.HeaderSignatureData: sig}); r.reply["ret_code"] != accp.CodeBadSignature {
				t.Errorf("%s signature of other bytes, Content-Type %q: %s", f.name, ct, r.body)
			}
			if q := e.query(txn); q.reply["ret_code"] != accp.CodeUnknownPush {
				t.Errorf("a refused push was recorded: %s", q.body)
			}
		}
	}
	// A body that is not JSON keeps 1004 whatever the content type says.
	for _, ct := range types {
		if r := e.call(url, []byte("mch_id="+mchID), nil, map[string]string{"Content-Type": ct}); r.reply["ret_code"] != accp.CodeBadRequest {
			t.Errorf("form body as %q: %s", ct, r.body)
		}
	}
}

// TestSignatureVectors keeps the two test vectors of docs/protocols/accp.md
// true: the published key signs the published body into the published
// signature in each form, each verifies, and neither verifies as the other
// form alone.
func TestSignatureVectors(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/signature-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		PrivateKey string `json:"private_key"`
		PublicKey  string `json:"public_key"`
		Body       string `json:"body"`
		HexMD5     string `json:"signature_hex_md5"`
		RawBody    string `json:"signature_raw_body"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(v.PrivateKey))
	if blk == nil {
		t.Fatal("private_key is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv := key.(*rsa.PrivateKey)
	pub, err := accp.ParsePublicKey(v.PublicKey)
	if err != nil || !pub.Equal(&priv.PublicKey) {
		t.Fatalf("public_key: %v", err)
	}
	doc, err := os.ReadFile("../docs/protocols/accp.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		form       accp.SignatureForm
		sig, other string
	}{{accp.FormHexMD5, v.HexMD5, v.RawBody}, {accp.FormRawBody, v.RawBody, v.HexMD5}} {
		got, err := accp.SignForm(priv, []byte(v.Body), c.form)
		if err != nil || got != c.sig {
			t.Errorf("form %d: signed %s, the vector says %s", c.form, got, c.sig)
		}
		if err := accp.Verify(pub, []byte(v.Body), c.sig); err != nil {
			t.Errorf("form %d: %v", c.form, err)
		}
		if err := accp.VerifyForm(pub, []byte(v.Body), c.other, c.form); err == nil {
			t.Errorf("form %d verified the other form's signature", c.form)
		}
		if !bytes.Contains(doc, []byte(c.sig)) {
			t.Errorf("docs/protocols/accp.md does not show the form %d signature %s", c.form, c.sig)
		}
	}
	if !bytes.Contains(doc, []byte(v.Body)) || !bytes.Contains(doc, []byte(strings.TrimSpace(v.PublicKey))) {
		t.Error("docs/protocols/accp.md does not show the vector's body and public key")
	}
}

// TestKeyRotationGrace: an operator registers a merchant's new public key
// with a grace period; pushes signed with the old key are accepted until
// the period ends, with the new key at once, and a rotation without grace
// refuses the replaced key at once.
func TestKeyRotationGrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.paidOrder("O1", 10000, zhang)
	if r := e.apply(map[string]any{"txn_seqno": "T1"}); r.reply["ret_code"] != accp.CodeOK {
		t.Fatalf("push with the first key: %s", r.body)
	}
	query := func(key *rsa.PrivateKey) string {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"timestamp": e.timestamp(0), "mch_id": mchID, "txn_seqno": "T1"})
		return e.call(e.http.URL+"/accp/v1/cbpayment/query-pushpay", b, key, nil).reply["ret_code"]
	}
	next, third := genKey(), genKey()
	if err := e.svc.RotateSetting(e.ctx, mchID, accp.SettingPublicKey, publicPEM(next), time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		key  *rsa.PrivateKey
		want string
	}{{"old key in grace", merchantKey(), accp.CodeOK}, {"new key", next, accp.CodeOK}, {"stranger", strangerKey(), accp.CodeBadSignature}} {
		if got := query(c.key); got != c.want {
			t.Errorf("%s: ret_code %s, want %s", c.name, got, c.want)
		}
	}
	// A push with the old key during the grace period is a push like any.
	if r := e.call(e.http.URL+"/accp/v1/cbpayment/apply-pushpay", e.body(map[string]any{"txn_seqno": "T1"}), merchantKey(), nil); r.reply["ret_code"] != accp.CodeOK {
		t.Errorf("repeat push with the old key in grace: %s", r.body)
	}

	e.clock.Add(time.Hour + time.Second)
	if got := query(merchantKey()); got != accp.CodeBadSignature {
		t.Errorf("old key after its grace period: ret_code %s, want %s", got, accp.CodeBadSignature)
	}
	if got := query(next); got != accp.CodeOK {
		t.Errorf("new key after the grace period: ret_code %s", got)
	}
	if err := e.svc.RotateSetting(e.ctx, mchID, accp.SettingPublicKey, publicPEM(third), 0); err != nil {
		t.Fatal(err)
	}
	if got := query(next); got != accp.CodeBadSignature {
		t.Errorf("key replaced without grace: ret_code %s, want %s", got, accp.CodeBadSignature)
	}
	if got := query(third); got != accp.CodeOK {
		t.Errorf("third key: ret_code %s", got)
	}
}
