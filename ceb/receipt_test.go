package ceb_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/ceb"
)

const testGUID = "00CF3622-70CE-8F39-A52C-4E17D436395D" // ceb411_plain.xml's

// receipt412 writes a CEB412 the way the E-Port does: default namespace,
// no prefix.
func receipt412(entries ...string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<CEB412Message xmlns="http://www.chinaport.gov.cn/ceb" guid="A1B2C3D4-0000-4000-8000-000000000001" version="1.0">
` + strings.Join(entries, "\n") + `
</CEB412Message>
`)
}

func entry(guid string, status, info string) string {
	return fmt.Sprintf(`    <PaymentReturn>
        <guid>%s</guid>
        <payCode>1101110323</payCode>
        <payTransactionId>P2026031500012345</payTransactionId>
        <returnStatus>%s</returnStatus>
        <returnTime>20260315153705017</returnTime>
        <returnInfo>%s</returnInfo>
    </PaymentReturn>`, guid, status, info)
}

func TestParseOfficialCEB412(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "ceb412_official.xml"))
	if err != nil {
		t.Fatal(err)
	}
	xmllintValidate(t, data)
	rs, err := ceb.ParseCEB412(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 10 {
		t.Fatalf("%d receipts, want 10", len(rs))
	}
	want := ceb.PaymentReturn{GUID: "4CDE1CFD-EDED-46B1-946C-B8022E42FC94", PayCode: "1105910159", PayTransactionID: "P0321000433",
		Status: 120, Time: time.Date(2016, 3, 11, 21, 3, 0, 0, cst), TimeRaw: "20160311210300000", Info: "a", Kind: ceb.KindPaymentReturn}
	for i, r := range rs {
		if r.GUID != want.GUID || r.PayCode != want.PayCode || r.PayTransactionID != want.PayTransactionID || r.Status != want.Status ||
			!r.Time.Equal(want.Time) || r.TimeRaw != want.TimeRaw || r.Info != want.Info || r.Kind != want.Kind {
			t.Errorf("receipt %d = %+v, want %+v", i, r, want)
		}
	}
}

// The parser goes by namespace: the same receipt with a ceb: prefix, or with
// another prefix bound to the customs namespace, reads the same; a receipt
// with the right names in another namespace does not.
func TestParseReceiptNamespaces(t *testing.T) {
	prefixed := strings.NewReplacer("<CEB412Message xmlns=", "<x:CEB412Message xmlns:x=", "</CEB412Message>", "</x:CEB412Message>",
		"<PaymentReturn>", "<x:PaymentReturn>", "</PaymentReturn>", "</x:PaymentReturn>",
		"<guid>", "<x:guid>", "</guid>", "</x:guid>", "<returnStatus>", "<x:returnStatus>", "</returnStatus>", "</x:returnStatus>",
		"<returnTime>", "<x:returnTime>", "</returnTime>", "</x:returnTime>", "<returnInfo>", "<x:returnInfo>", "</returnInfo>", "</x:returnInfo>",
		"<payCode>", "<x:payCode>", "</payCode>", "</x:payCode>", "<payTransactionId>", "<x:payTransactionId>", "</payTransactionId>", "</x:payTransactionId>").
		Replace(string(receipt412(entry(testGUID, "120", "入库成功"))))
	rs, err := ceb.ParseCEB412([]byte(prefixed))
	if err != nil {
		t.Fatalf("prefixed receipt: %v\n%s", err, prefixed)
	}
	if len(rs) != 1 || rs[0].GUID != testGUID || rs[0].Status != 120 || rs[0].Info != "入库成功" || rs[0].PayTransactionID != "P2026031500012345" {
		t.Errorf("prefixed receipt read as %+v", rs)
	}
	other := strings.Replace(string(receipt412(entry(testGUID, "120", "x"))), "http://www.chinaport.gov.cn/ceb", "http://example.com/ceb", 1)
	if _, err := ceb.ParseCEB412([]byte(other)); err == nil {
		t.Error("a receipt in another namespace was read")
	}
	// An element of the right name in another namespace inside a good
	// receipt is ignored, not taken as the status.
	mixed := strings.Replace(string(receipt412(entry(testGUID, "2", "x"))), "<returnStatus>2</returnStatus>",
		`<returnStatus>2</returnStatus><returnStatus xmlns="urn:other">120</returnStatus>`, 1)
	if rs, err := ceb.ParseCEB412([]byte(mixed)); err != nil || rs[0].Status != 2 {
		t.Errorf("foreign element changed the status: %+v, %v", rs, err)
	}
}

// One test per returnStatus: what the declaration becomes and what the
// merchant is told.
func TestReturnStatusMapping(t *testing.T) {
	for _, c := range []struct {
		status, info string
		state        baoguan.DeclState
		explanation  string
	}{
		{"1", "", baoguan.DeclProcessing, "电子口岸已暂存"},
		{"2", "电子口岸申报中", baoguan.DeclProcessing, "电子口岸申报中"},
		{"3", "发送海关成功", baoguan.DeclProcessing, "发送海关成功"},
		{"4", "发送海关失败：连接超时", baoguan.DeclExcept, "发送海关失败：连接超时"},
		{"100", "支付人姓名与身份证号不一致", baoguan.DeclFail, "支付人姓名与身份证号不一致"},
		{"100", "", baoguan.DeclFail, "海关退单"},
		{"120", "海关入库", baoguan.DeclSuccess, "海关入库"},
		{"399", "", baoguan.DeclSuccess, "海关审结"},
		{"-1", "报文签名无效", baoguan.DeclFail, "报文签名无效"},
		{"-401009", "参数校验不通过，[paymentHead,payment]", baoguan.DeclFail, "参数校验不通过，[paymentHead,payment]"},
		{"-401007", "", baoguan.DeclFail, "电子口岸处理异常（-401007）"},
	} {
		rs, err := ceb.ParseCEB412(receipt412(entry(testGUID, c.status, c.info)))
		if err != nil {
			t.Fatalf("status %s: %v", c.status, err)
		}
		r, err := rs[0].Receipt()
		if err != nil {
			t.Fatalf("status %s: %v", c.status, err)
		}
		if r.State != c.state || r.Explanation != c.explanation || r.ReceiptCode != c.status || r.Ref != testGUID {
			t.Errorf("status %s → %+v, want %s %q", c.status, r, c.state, c.explanation)
		}
	}
	// Values customs does not define move nothing.
	for _, s := range []string{"0", "5", "99", "101", "121", "400"} {
		rs, err := ceb.ParseCEB412(receipt412(entry(testGUID, s, "?")))
		if err != nil {
			t.Fatalf("status %s: %v", s, err)
		}
		if _, err := rs[0].Receipt(); baoguan.ErrorReason(err) != "unknown_return_status" {
			t.Errorf("status %s: %v, want unknown_return_status", s, err)
		}
	}
}

func TestParseReceiptRefusals(t *testing.T) {
	many := make([]string, 101)
	for i := range many {
		many[i] = entry(testGUID, "2", "x")
	}
	for name, data := range map[string][]byte{
		"empty":         nil,
		"not XML":       []byte("OK"),
		"truncated":     receipt412(entry(testGUID, "120", "x"))[:200],
		"other message": []byte(`<CEB312Message xmlns="http://www.chinaport.gov.cn/ceb" guid="x" version="1.0"><OrderReturn/></CEB312Message>`),
		"no namespace":  []byte(`<CEB412Message guid="x" version="1.0">` + entry(testGUID, "120", "x") + `</CEB412Message>`),
		"no entries":    receipt412(),
		"101 entries":   receipt412(many...),
		"short guid":    receipt412(entry("4CDE1CFD", "120", "x")),
		"status text":   receipt412(entry(testGUID, "ok", "x")),
		"status plus":   receipt412(entry(testGUID, "+120", "x")),
		"status empty":  receipt412(entry(testGUID, "", "x")),
		"status long":   receipt412(entry(testGUID, "12345678901", "x")),
		"GBK":           []byte(`<?xml version="1.0" encoding="GBK"?>` + string(receipt412(entry(testGUID, "120", "x"))[55:])),
		"too large":     append(receipt412(entry(testGUID, "120", "x")), make([]byte, ceb.MaxReceiptSize)...),
		"mismatched":    []byte(`<CEB412Message xmlns="http://www.chinaport.gov.cn/ceb"><PaymentReturn></CEB412Message>`),
	} {
		if rs, err := ceb.ParseReceipt(data); err == nil {
			t.Errorf("%s: read %+v", name, rs)
		} else if baoguan.ErrorCode(err) != baoguan.EINVALID {
			t.Errorf("%s: %v is not EINVALID", name, err)
		}
	}
	// A malformed returnTime does not lose the receipt: it is applied by
	// status, without a time.
	rs, err := ceb.ParseCEB412(receipt412(strings.Replace(entry(testGUID, "120", "x"), "20260315153705017", "2026-03-15", 1)))
	if err != nil || !rs[0].Time.IsZero() || rs[0].TimeRaw != "2026-03-15" {
		t.Errorf("malformed time: %+v %v", rs, err)
	}
}

// A CEB900 format-check receipt about one of our CEB411 messages is mapped
// onto the payment it quotes.
func TestParseFormatReceipt(t *testing.T) {
	plain, err := os.ReadFile(filepath.Join("testdata", "ceb411_plain.xml"))
	if err != nil {
		t.Fatal(err)
	}
	ceb900 := func(ori string) []byte {
		return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<CEB900Message xmlns="http://www.chinaport.gov.cn/ceb" guid="` + testGUID + `" version="1.0">
<MessageReturn>
<guid>` + testGUID + `</guid>
<returnStatus>-1</returnStatus>
<returnInfo>报文格式校验失败：amountPaid</returnInfo>
<returnTime>20260315153703001</returnTime>
<oriCopMsgId>CEB_CEB411_DXPENT0000011951_EPORT_202603151536021230001</oriCopMsgId>
<oriMessageType>CEB411Message</oriMessageType>
<oriBizMessage><![CDATA[` + ori + `]]></oriBizMessage>
</MessageReturn>
</CEB900Message>`)
	}
	f, err := ceb.ParseReceipt(ceb900(string(plain)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != ceb.KindFormatReturn || len(f.Returns) != 1 {
		t.Fatalf("read %+v", f)
	}
	r := f.Returns[0]
	if r.GUID != testGUID || r.PayTransactionID != "P2026031500012345" || r.Status != -1 || r.Info != "报文格式校验失败：amountPaid" {
		t.Errorf("CEB900 read as %+v", r)
	}
	if rec, err := r.Receipt(); err != nil || rec.State != baoguan.DeclFail {
		t.Errorf("CEB900 → %+v %v, want FAIL", rec, err)
	}
	// Without a readable original, the receipt's guid (our message guid,
	// which is the payment guid) is used.
	f, err = ceb.ParseReceipt(ceb900("Unknown"))
	if err != nil || len(f.Returns) != 1 || f.Returns[0].GUID != testGUID {
		t.Errorf("CEB900 without original: %+v %v", f, err)
	}
	// A format receipt about another message type is not ours to read.
	other := strings.Replace(string(ceb900("")), "<oriMessageType>CEB411Message", "<oriMessageType>CEB311Message", 1)
	if _, err := ceb.ParseReceipt([]byte(other)); err == nil {
		t.Error("a CEB900 about a CEB311 was read")
	}
}

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 3, 15, 15, 37, 5, 17e6, cst)
	ret := func(status int, at time.Time) ceb.PaymentReturn {
		return ceb.PaymentReturn{GUID: testGUID, Status: status, Time: at, Kind: ceb.KindPaymentReturn}
	}
	cur := func(state baoguan.DeclState, status int, at time.Time) ceb.Current {
		return ceb.Current{State: state, GUID: testGUID, Status: status, Time: at}
	}
	for _, c := range []struct {
		name string
		cur  ceb.Current
		r    ceb.PaymentReturn
		want ceb.Verdict
		to   baoguan.DeclState
	}{
		{"first receipt", cur(baoguan.DeclSubmitted, 0, time.Time{}), ret(2, t0), ceb.Apply, baoguan.DeclProcessing},
		{"2 then 3", cur(baoguan.DeclProcessing, 2, t0), ret(3, t0.Add(time.Second)), ceb.Apply, baoguan.DeclProcessing},
		{"3 then late 2", cur(baoguan.DeclProcessing, 3, t0.Add(time.Second)), ret(2, t0), ceb.Stale, baoguan.DeclProcessing},
		{"same 2 twice", cur(baoguan.DeclProcessing, 2, t0), ret(2, t0), ceb.Duplicate, baoguan.DeclProcessing},
		{"2 then 4", cur(baoguan.DeclProcessing, 2, t0), ret(4, t0.Add(time.Second)), ceb.Apply, baoguan.DeclExcept},
		{"4 then newer 3 (E-Port resent)", cur(baoguan.DeclExcept, 4, t0), ret(3, t0.Add(time.Minute)), ceb.Apply, baoguan.DeclProcessing},
		{"3 then 4 at the same ms", cur(baoguan.DeclProcessing, 3, t0), ret(4, t0), ceb.Stale, baoguan.DeclExcept},
		{"2 without time after 3", cur(baoguan.DeclProcessing, 3, t0), ret(2, time.Time{}), ceb.Stale, baoguan.DeclProcessing},
		{"3 without time after 2", cur(baoguan.DeclProcessing, 2, t0), ret(3, time.Time{}), ceb.Apply, baoguan.DeclProcessing},
		{"120 before any", cur(baoguan.DeclSubmitted, 0, time.Time{}), ret(120, t0), ceb.Apply, baoguan.DeclSuccess},
		{"120 older than 3", cur(baoguan.DeclProcessing, 3, t0.Add(time.Hour)), ret(120, t0), ceb.Apply, baoguan.DeclSuccess},
		{"100 after 2", cur(baoguan.DeclProcessing, 2, t0), ret(100, t0.Add(time.Second)), ceb.Apply, baoguan.DeclFail},
		{"negative first", cur(baoguan.DeclSubmitted, 0, time.Time{}), ret(-401009, t0), ceb.Apply, baoguan.DeclFail},
		{"2 after 120", cur(baoguan.DeclSuccess, 120, t0), ret(2, t0.Add(time.Hour)), ceb.Final, baoguan.DeclProcessing},
		{"100 after 120", cur(baoguan.DeclSuccess, 120, t0), ret(100, t0.Add(time.Hour)), ceb.Final, baoguan.DeclFail},
		{"120 after 100", cur(baoguan.DeclFail, 100, t0), ret(120, t0.Add(time.Hour)), ceb.Final, baoguan.DeclSuccess},
		{"120 twice", cur(baoguan.DeclSuccess, 120, t0), ret(120, t0.Add(time.Hour)), ceb.Duplicate, baoguan.DeclSuccess},
		{"399 after 120", cur(baoguan.DeclSuccess, 120, t0), ret(399, t0.Add(time.Hour)), ceb.Apply, baoguan.DeclSuccess},
		{"120 after 399", cur(baoguan.DeclSuccess, 399, t0.Add(time.Hour)), ret(120, t0), ceb.Final, baoguan.DeclSuccess},
		{"4 after -1", cur(baoguan.DeclFail, -1, t0), ret(4, t0.Add(time.Second)), ceb.Final, baoguan.DeclExcept},
		{"final state without a receipt", cur(baoguan.DeclFail, 0, time.Time{}), ret(2, t0), ceb.Final, baoguan.DeclProcessing},
		{"unknown status", cur(baoguan.DeclProcessing, 2, t0), ret(7, t0.Add(time.Second)), ceb.Unknown, ""},
	} {
		d := ceb.Decide(c.cur, c.r)
		if d.Verdict != c.want || d.To != c.to {
			t.Errorf("%s: %s → %s, want %s → %s", c.name, d.Verdict, d.To, c.want, c.to)
		}
	}
	other := ret(120, t0)
	other.GUID = "8ACCDF31-E27A-804D-B6C5-A5440572F5E1"
	if d := ceb.Decide(cur(baoguan.DeclProcessing, 2, t0), other); d.Verdict != ceb.OtherAttempt {
		t.Errorf("receipt of another attempt: %s", d.Verdict)
	}
}

// Applying every receipt of a sequence, in every order and with
// duplicates, ends in the state the sequence's final receipt gives.
func TestDecideOrderIndependent(t *testing.T) {
	t0 := time.Date(2026, 3, 15, 15, 37, 0, 0, cst)
	seqs := map[string]struct {
		statuses []int
		want     baoguan.DeclState
	}{
		"2 → 120":     {[]int{2, 3, 120}, baoguan.DeclSuccess},
		"2 → 100":     {[]int{2, 3, 100}, baoguan.DeclFail},
		"-1":          {[]int{-1}, baoguan.DeclFail},
		"2 → 4":       {[]int{2, 4}, baoguan.DeclExcept},
		"2 → 120 399": {[]int{2, 3, 120, 399}, baoguan.DeclSuccess},
	}
	for name, s := range seqs {
		var rs []ceb.PaymentReturn
		for i, st := range s.statuses {
			rs = append(rs, ceb.PaymentReturn{GUID: testGUID, Status: st, Time: t0.Add(time.Duration(i) * time.Second)})
		}
		for _, order := range permutations(len(rs)) {
			c := ceb.Current{State: baoguan.DeclSubmitted, GUID: testGUID}
			for _, i := range append(order, order...) { // every receipt twice
				d := ceb.Decide(c, rs[i])
				if d.Verdict == ceb.Apply {
					c.State, c.Status, c.Time = d.To, rs[i].Status, rs[i].Time
				}
			}
			if c.State != s.want {
				t.Errorf("%s in order %v ends %s, want %s", name, order, c.State, s.want)
			}
		}
	}
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}
