package ceb_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/ceb"
)

// paymentHead reads a built message back, by namespace.
type paymentHead struct {
	GUID             string `xml:"http://www.chinaport.gov.cn/ceb guid"`
	AppType          string `xml:"http://www.chinaport.gov.cn/ceb appType"`
	AppTime          string `xml:"http://www.chinaport.gov.cn/ceb appTime"`
	PayTransactionID string `xml:"http://www.chinaport.gov.cn/ceb payTransactionId"`
	OrderNo          string `xml:"http://www.chinaport.gov.cn/ceb orderNo"`
	PayerIDNumber    string `xml:"http://www.chinaport.gov.cn/ceb payerIdNumber"`
	PayerName        string `xml:"http://www.chinaport.gov.cn/ceb payerName"`
	AmountPaid       string `xml:"http://www.chinaport.gov.cn/ceb amountPaid"`
	PayTime          string `xml:"http://www.chinaport.gov.cn/ceb payTime"`
}

type message411 struct {
	XMLName xml.Name      `xml:"http://www.chinaport.gov.cn/ceb CEB411Message"`
	GUID    string        `xml:"guid,attr"`
	Heads   []paymentHead `xml:"http://www.chinaport.gov.cn/ceb Payment>PaymentHead"`
}

func read411(t *testing.T, b []byte) message411 {
	t.Helper()
	var m message411
	if err := xml.Unmarshal(b, &m); err != nil {
		t.Fatalf("built message does not parse: %v", err)
	}
	if len(m.Heads) != 1 {
		t.Fatalf("message has %d payments, want 1", len(m.Heads))
	}
	return m
}

func TestCEB411Plain(t *testing.T) {
	c := testConfig()
	msg, err := c.Message(plainDeclaration())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "ceb411_plain.xml", msg.XML)
	xmllintValidate(t, msg.XML)
	m := read411(t, msg.XML)
	h := m.Heads[0]
	if m.GUID != msg.GUID || h.GUID != msg.GUID {
		t.Errorf("guids: message %s, payment %s, returned %s", m.GUID, h.GUID, msg.GUID)
	}
	if h.AmountPaid != "190.50" || h.AppType != "1" || h.OrderNo != "ORD20260315001" || h.PayTransactionID != "P2026031500012345" {
		t.Errorf("payment head %+v", h)
	}
	// 15:36:02 China time whatever the zone the caller's time is in.
	if h.AppTime != "20260315153602" || h.PayTime != "20260315153555" {
		t.Errorf("appTime %s payTime %s", h.AppTime, h.PayTime)
	}
	d := plainDeclaration()
	d.AppTime, d.PaidAt = d.AppTime.UTC(), d.PaidAt.In(time.FixedZone("PST", -8*3600))
	again, err := c.Message(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.XML, msg.XML) {
		t.Error("the same attempt with times in other zones builds different bytes")
	}
}

// A split order is one CEB411 per sub-order: orderNo is the sub-order
// number, amountPaid the sub-order's fee, payTransactionId the part's own
// number.
func TestCEB411Split(t *testing.T) {
	c := testConfig()
	o := &baoguan.Order{MerchantOrderNo: "ORD20260315002", Amount: 19050, PayStatus: baoguan.PaySucceed,
		Payment: baoguan.Payment{No: "P2026031500012346", PaidAt: time.Date(2026, 3, 15, 16, 2, 0, 0, cst)}}
	m := &baoguan.Merchant{EBPCode: "46016602EV", EBPName: "海南省荣誉进出口贸易有限公司"}
	payer := baoguan.Payer{Name: "张三", IDType: baoguan.IDTypeIDCard, IDNumber: "110105199001011232", Phone: "13800138000"}
	submitted := time.Date(2026, 3, 15, 16, 2, 30, 0, cst)
	parts := []*baoguan.Declaration{
		{ID: 42, SubOrderNo: "ORD20260315002-1", OrderFee: 12000, ProductFee: 11000, TransportFee: 1000, Payer: payer, SubmittedAt: submitted},
		{ID: 43, SubOrderNo: "ORD20260315002-2", OrderFee: 7050, ProductFee: 7050, Payer: payer, SubmittedAt: submitted.Add(5 * time.Millisecond)},
	}
	var ids []string
	for i, d := range parts {
		msg, err := c.Message(ceb.FromDeclaration(d, o, m, 1, ceb.AppNew))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "ceb411_split_"+string(rune('1'+i))+".xml", msg.XML)
		xmllintValidate(t, msg.XML)
		h := read411(t, msg.XML).Heads[0]
		if h.OrderNo != d.SubOrderNo {
			t.Errorf("orderNo %s, want the sub-order number %s", h.OrderNo, d.SubOrderNo)
		}
		if want := baoguan.FormatYuan(d.OrderFee); h.AmountPaid != want {
			t.Errorf("amountPaid %s, want %s", h.AmountPaid, want)
		}
		if want := baoguan.PartTransactionID(o.Payment.No, d.SubOrderNo); h.PayTransactionID != want {
			t.Errorf("payTransactionId %s, want %s", h.PayTransactionID, want)
		}
		ids = append(ids, h.PayTransactionID, h.GUID)
	}
	if ids[0] == ids[2] || ids[1] == ids[3] {
		t.Errorf("the two parts share a transaction number or guid: %v", ids)
	}
}

// A change (a re-declaration with a corrected payer) is appType 2 under a
// new guid.
func TestCEB411Change(t *testing.T) {
	c := testConfig()
	first, err := c.Message(plainDeclaration())
	if err != nil {
		t.Fatal(err)
	}
	d := plainDeclaration()
	d.Attempt = 2
	d.AppType = ceb.NextAppType([]int{100}) // customs returned the first attempt
	d.AppTime = time.Date(2026, 3, 16, 9, 0, 0, 0, cst)
	d.Payer = baoguan.Payer{Name: "李四", IDType: baoguan.IDTypeIDCard, IDNumber: "11010519491231002x", Phone: "13900139000"}
	msg, err := c.Message(d)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "ceb411_change.xml", msg.XML)
	xmllintValidate(t, msg.XML)
	h := read411(t, msg.XML).Heads[0]
	if h.AppType != "2" || h.GUID == first.GUID || h.PayerName != "李四" || h.PayerIDNumber != "11010519491231002X" {
		t.Errorf("change: %+v (first guid %s)", h, first.GUID)
	}
}

func TestNextAppType(t *testing.T) {
	for _, c := range []struct {
		earlier []int
		want    ceb.AppType
	}{
		{nil, ceb.AppNew},
		{[]int{-401009}, ceb.AppNew},            // the E-Port refused it: no record there
		{[]int{-401009, -1}, ceb.AppNew},        // refused twice
		{[]int{0}, ceb.AppChange},               // handed over, no receipt yet
		{[]int{4}, ceb.AppChange},               // retry after "sending to customs failed"
		{[]int{120}, ceb.AppChange},             // modification of a stored record
		{[]int{-401009, 100}, ceb.AppChange},    // returned by customs
		{[]int{100, -401006}, ceb.AppChange},    // the record survives a refused change
		{[]int{2, 3}, ceb.AppChange},            // in progress
		{[]int{-2, -3, -4, 399}, ceb.AppChange}, // concluded
	} {
		if got := ceb.NextAppType(c.earlier); got != c.want {
			t.Errorf("NextAppType(%v) = %s, want %s", c.earlier, got, c.want)
		}
	}
}

// The bytes Build writes are the W3C canonical form of the message (after
// the XML declaration), as xmllint computes it: a signature's digest over
// them is what any verifier computes.
func TestCEB411IsCanonical(t *testing.T) {
	xmllint := tool(t, "xmllint", "libxml2-utils")
	c := testConfig()
	d := plainDeclaration()
	d.Note = `A&B <"quoted"> 'single' 退款后金额`
	d.EBPName = `荣誉 & "进出口" <贸易>`
	msg, err := c.Message(d)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "m.xml")
	if err := os.WriteFile(f, msg.XML, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--c14n", f).Output()
	if err != nil {
		t.Fatalf("xmllint --c14n: %v", err)
	}
	_, body, _ := strings.Cut(string(msg.XML), "?>\n")
	if want := strings.TrimSuffix(body, "\n"); string(out) != want {
		t.Errorf("not canonical:\n--- xmllint --c14n\n%s\n--- built\n%s", out, want)
	}
	xmllintValidate(t, msg.XML)
}

// Bad input is refused with an error naming the customs field, and nothing
// is built.
func TestCEB411Refusals(t *testing.T) {
	c := testConfig()
	for _, tc := range []struct {
		field  string
		change func(*ceb.Declaration)
	}{
		{"orderNo", func(d *ceb.Declaration) { d.OrderNo = "" }},
		{"orderNo", func(d *ceb.Declaration) { d.OrderNo = strings.Repeat("1", 61) }},
		{"orderNo", func(d *ceb.Declaration) { d.OrderNo = "ORD 1" }},
		{"payTransactionId", func(d *ceb.Declaration) { d.PayTransactionID = "" }},
		{"payTransactionId", func(d *ceb.Declaration) { d.PayTransactionID = strings.Repeat("9", 61) }},
		{"ebpCode", func(d *ceb.Declaration) { d.EBPCode = "" }},
		{"ebpCode", func(d *ceb.Declaration) { d.EBPCode = "4601660-2EV" }},
		{"ebpCode", func(d *ceb.Declaration) { d.EBPCode = strings.Repeat("A", 19) }},
		{"ebpName", func(d *ceb.Declaration) { d.EBPName = strings.Repeat("荣", 101) }},
		{"ebpName", func(d *ceb.Declaration) { d.EBPName = "" }},
		{"payCode", func(d *ceb.Declaration) { d.PayCode, d.PayName = "11011103231101110323", "某支付" }},
		{"payName", func(d *ceb.Declaration) { d.PayCode, d.PayName = "1101110324", "" }},
		{"payerIdType", func(d *ceb.Declaration) { d.Payer.IDType = baoguan.IDTypeOther }},
		{"payerIdNumber", func(d *ceb.Declaration) { d.Payer.IDNumber = "" }},
		{"payerIdNumber", func(d *ceb.Declaration) { d.Payer.IDNumber = "11010519900101123A" }},
		{"payerName", func(d *ceb.Declaration) { d.Payer.Name = "" }},
		{"payerName", func(d *ceb.Declaration) { d.Payer.Name = strings.Repeat("张", 61) }},
		{"payerName", func(d *ceb.Declaration) { d.Payer.Name = "张\x00三" }},
		{"payerName", func(d *ceb.Declaration) { d.Payer.Name = " 张三" }},
		{"payerName", func(d *ceb.Declaration) { d.Payer.Name = "张\xff三" }},
		{"telephone", func(d *ceb.Declaration) { d.Payer.Phone = strings.Repeat("1", 61) }},
		{"amountPaid", func(d *ceb.Declaration) { d.Amount = 0 }},
		{"amountPaid", func(d *ceb.Declaration) { d.Amount = -1 }},
		{"payTime", func(d *ceb.Declaration) { d.PaidAt = time.Time{} }},
		{"appTime", func(d *ceb.Declaration) { d.AppTime = time.Time{} }},
		{"appType", func(d *ceb.Declaration) { d.AppType = "4" }},
		{"appType", func(d *ceb.Declaration) { d.AppType = "" }},
		{"note", func(d *ceb.Declaration) { d.Note = strings.Repeat("注", 1001) }},
		{"note", func(d *ceb.Declaration) { d.Note = "line\nbreak" }},
		{"attempt", func(d *ceb.Declaration) { d.Attempt = 0 }},
	} {
		d := plainDeclaration()
		tc.change(&d)
		msg, err := c.Message(d)
		if err == nil {
			t.Errorf("%s: built %s", tc.field, msg.XML)
			continue
		}
		if baoguan.ErrorCode(err) != baoguan.EINVALID || baoguan.ErrorField(err) != tc.field {
			t.Errorf("want EINVALID on %s, got %v", tc.field, err)
		}
	}
	// The installation's settings are checked the same way.
	for _, tc := range []struct {
		field  string
		change func(*ceb.Config)
	}{
		{"copCode", func(c *ceb.Config) { c.Transfer.CopCode = "" }},
		{"copName", func(c *ceb.Config) { c.Transfer.CopName = "" }},
		{"dxpId", func(c *ceb.Config) { c.Transfer.DxpID = strings.Repeat("D", 31) }},
		{"secret", func(c *ceb.Config) { c.Secret = []byte("short") }},
		{"payCode", func(c *ceb.Config) { c.PayCode = "" }},
	} {
		c := testConfig()
		tc.change(&c)
		if err := c.Validate(); baoguan.ErrorField(err) != tc.field {
			t.Errorf("config: want an error on %s, got %v", tc.field, err)
		}
	}
	good := testConfig()
	if err := good.Validate(); err != nil {
		t.Errorf("good config refused: %v", err)
	}
}

func TestGUID(t *testing.T) {
	s := []byte("test-installation-secret-0001")
	g := ceb.GUID(s, 41, 1)
	if err := ceb.CheckGUID("guid", g); err != nil {
		t.Fatalf("%s: %v", g, err)
	}
	if g != ceb.GUID(s, 41, 1) {
		t.Error("the same attempt has two guids")
	}
	seen := map[string]bool{}
	for _, k := range []struct {
		secret  string
		id      int64
		attempt int
	}{{"test-installation-secret-0001", 41, 1}, {"test-installation-secret-0001", 41, 2}, {"test-installation-secret-0001", 4, 11},
		{"test-installation-secret-0001", 411, 1}, {"test-installation-secret-0002", 41, 1}} {
		g := ceb.GUID([]byte(k.secret), k.id, k.attempt)
		if seen[g] {
			t.Errorf("guid %s repeats for %+v", g, k)
		}
		seen[g] = true
	}
}

// The schema copy in testdata accepts the official CEB411 sample (several
// payments, an SM2 signature as the E-Port client adds it): the schema
// check of baoguan's messages is the one customs documents.
func TestOfficialCEB411Validates(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "ceb411_official.xml"))
	if err != nil {
		t.Fatal(err)
	}
	xmllintValidate(t, data)
	bad := bytes.Replace(data, []byte("<ceb:currency>142</ceb:currency>"), []byte("<ceb:currency>CNY</ceb:currency>"), 1)
	xmllint := tool(t, "xmllint", "libxml2-utils")
	f := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(f, bad, 0o644)
	if exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join("testdata", "xsd", "import-202205.xsd"), f).Run() == nil {
		t.Error("the schema accepts currency CNY: the schema check cannot fail")
	}
}
