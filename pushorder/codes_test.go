package pushorder_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/pushorder"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
)

// TestPushReturnCodes causes every PushOrder return code of the appendix in
// its situation, through the real router, and checks that a refused push
// wrote nothing. 9906, 9910 and the access refusals of 9912 have their own
// tests below.
func TestPushReturnCodes(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	a := "Merchant A"
	type pushCase struct {
		name  string
		acct  *account // default h.A
		path  string   // default /PushTestOrder
		no    string   // order number checked afterwards
		body  string
		setup func(t *testing.T)
		code  string
		msg   string // a part of ReturnMsg
		wrote bool
	}
	long := strings.Repeat("9", 61)
	cases := []pushCase{
		{name: "sample shape", no: "C-OK", body: sampleOrder("C-OK", a).body(), code: "0000", msg: "订单创建成功", wrote: true},
		{name: "lower-case a", no: "C-OK-a", body: sampleOrder("C-OK-a", a).with("OperationType", "a").body(), code: "0000", wrote: true},
		{name: "no OperationType means A", no: "C-OK-none", body: sampleOrder("C-OK-none", a).with("OperationType", nil).body(), code: "0000", wrote: true},
		{name: "OrderTotal as string", no: "C-OK-str", body: sampleOrder("C-OK-str", a).with("OrderTotal", "35.02").body(), code: "0000", wrote: true},
		{name: "Guangzhou with its extras", no: "C-OK-gz", body: sampleOrder("C-OK-gz", a).with("CustomsCode", "HG018",
			"CustomsAreaCode", "5141", "CustomsJyOrg", "443400").body(), code: "0000", wrote: true},
		{name: "production endpoint of a sandbox merchant", path: "/PushOrder", no: "C-OK-prod", body: sampleOrder("C-OK-prod", a).body(), code: "0000", wrote: true},

		{name: "9901 empty ID", no: "C-9901", body: sampleOrder("C-9901", a).with("ReceiverCardNo", "").body(), code: "9901", msg: "报关人身份证不能为空"},
		{name: "9901 absent ID", no: "C-9901b", body: sampleOrder("C-9901b", a).with("ReceiverCardNo", nil).body(), code: "9901"},
		{name: "9901 null ID", no: "C-9901c", body: `data={"OrderNo":"C-9901c","MerchantName":"Merchant A","ReceiverCardNo":null,"ReceiverName":"张三","ReceiverMobile":"13817494910"}`, code: "9901"},
		{name: "9902 empty name", no: "C-9902", body: sampleOrder("C-9902", a).with("ReceiverName", "  ").body(), code: "9902", msg: "报关人姓名不能为空"},
		{name: "9903 absent mobile", no: "C-9903", body: sampleOrder("C-9903", a).with("ReceiverMobile", nil).body(), code: "9903", msg: "报关人手机号码不能为空"},

		{name: "9904 not JSON", body: "data=not json", code: "9904", msg: "订单解析报错"},
		{name: "9904 no data field", body: "order=1", code: "9904"},
		{name: "9904 empty body", body: "", code: "9904"},
		{name: "9904 array", body: "data=[1,2]", code: "9904"},
		{name: "9904 key twice", no: "C-9904d", body: `data={"OrderNo":"C-9904d"," orderno ":"X","MerchantName":"Merchant A"}`, code: "9904", msg: "twice"},
		{name: "9904 wrong type", no: "C-9904t", body: sampleOrder("C-9904t", a).with("OrderTotal", true).body(), code: "9904", msg: "OrderTotal"},
		{name: "9904 body too large", body: "data=" + strings.Repeat(" ", 2<<20), code: "9904"},

		{name: "9905 other content", no: "C-9905", code: "9905", msg: "该商户订单已存在",
			setup: func(t *testing.T) { mustOK(t, h.push(t, h.A, sampleOrder("C-9905", a))) },
			body:  sampleOrder("C-9905", a).with("OrderTotal", json.Number("200.00")).body(), wrote: true},
		{name: "same content again is not a duplicate", no: "C-9905s", code: "0000", msg: "订单创建成功",
			setup: func(t *testing.T) { mustOK(t, h.push(t, h.A, sampleOrder("C-9905s", a))) },
			body:  sampleOrder("C-9905s", a).body(), wrote: true},

		{name: "9907 D", no: "C-9907", body: sampleOrder("C-9907", a).with("OperationType", "D").body(), code: "9907", msg: "操作类型有误"},

		{name: "9909 three decimals", no: "C-9909a", body: sampleOrder("C-9909a", a).with("OrderTotal", json.Number("100.001")).body(), code: "9909", msg: "OrderTotal"},
		{name: "9909 zero amount", no: "C-9909b", body: sampleOrder("C-9909b", a).with("OrderTotal", json.Number("0.00")).body(), code: "9909", msg: "OrderTotal"},
		{name: "9909 exponent", no: "C-9909c", body: sampleOrder("C-9909c", a).with("OrderTotal", json.Number("1e2")).body(), code: "9909", msg: "OrderTotal"},
		{name: "9909 unknown customs", no: "C-9909d", body: sampleOrder("C-9909d", a).with("CustomsCode", "HG999").body(), code: "9909", msg: "CustomsCode"},
		{name: "9909 not an HG code", no: "C-9909e", body: sampleOrder("C-9909e", a).with("CustomsCode", "NINGBO").body(), code: "9909", msg: "CustomsCode"},
		{name: "9909 Guangzhou without extras", no: "C-9909f", body: sampleOrder("C-9909f", a).with("CustomsCode", "HG018").body(), code: "9909", msg: "CustomsAreaCode"},
		{name: "9909 ShopPayTime format", no: "C-9909g", body: sampleOrder("C-9909g", a).with("ShopPayTime", "2018/07/01 21:22:34").body(), code: "9909", msg: "ShopPayTime"},
		{name: "9909 no ShopPayTime", no: "C-9909h", body: sampleOrder("C-9909h", a).with("ShopPayTime", nil).body(), code: "9909", msg: "ShopPayTime"},
		{name: "9909 fractional TotalNum", no: "C-9909i", body: sampleOrder("C-9909i", a).with("TotalNum", json.Number("1.5")).body(), code: "9909", msg: "TotalNum"},
		{name: "9909 PaymentNo without PaymentCompany", no: "C-9909p", body: sampleOrder("C-9909p", a).with("PaymentNo", "4200000001").body(), code: "9909", msg: "PaymentCompany"},
		{name: "paid elsewhere", no: "C-ext", body: sampleOrder("C-ext", a).with("PaymentNo", "4200000002").with("PaymentCompany", "wechat").body(), code: "0000", msg: "订单创建成功", wrote: true},
		{name: "9909 no ItemNames", no: "C-9909j", body: sampleOrder("C-9909j", a).with("ItemNames", "").body(), code: "9909", msg: "ItemNames"},
		{name: "9909 bad mobile", no: "C-9909k", body: sampleOrder("C-9909k", a).with("ReceiverMobile", "138-abc").body(), code: "9909", msg: "ReceiverMobile"},
		{name: "9909 bad ID format", no: "C-9909l", body: sampleOrder("C-9909l", a).with("ReceiverCardNo", "12345").body(), code: "9909", msg: "ReceiverCardNo"},
		{name: "9909 live merchant without live adapters", acct: &h.Live, path: "/PushOrder", no: "C-9909m",
			body: sampleOrder("C-9909m", "Live").body(), code: "9909", msg: "sandbox"},

		{name: "9911 arrears", acct: &h.Arrears, no: "C-9911", body: sampleOrder("C-9911", "Arrears").body(), code: "9911", msg: "您已欠费"},
		{name: "9911 before field errors", acct: &h.Arrears, no: "C-9911b", body: sampleOrder("C-9911b", "Arrears").with("OrderTotal", json.Number("1.001")).body(), code: "9911"},
		{name: "9912 unsigned", acct: &h.Unsign, no: "C-9912", body: sampleOrder("C-9912", "Unsigned").body(), code: "9912", msg: "您未签约"},

		{name: "9916 empty OrderNo", no: "", body: sampleOrder("", a).body(), code: "9916", msg: "订单号异常"},
		{name: "9916 space in OrderNo", no: "C 9916", body: sampleOrder("C 9916", a).body(), code: "9916"},
		{name: "9916 too long", no: long, body: sampleOrder(long, a).body(), code: "9916"},
		{name: "9916 U of an unknown order", no: "C-9916u", body: sampleOrder("C-9916u", a).with("OperationType", "U").body(), code: "9916", msg: "订单不存在"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			acct := h.A
			if c.acct != nil {
				acct = *c.acct
			}
			path := c.path
			if path == "" {
				path = "/PushTestOrder"
			}
			if c.setup != nil {
				c.setup(t)
			}
			before := len(h.orders(t, acct))
			r := h.call(t, acct.base()+path, c.body)
			t.Logf("%s %s", r.ReturnCode, r.ReturnMsg)
			if r.ReturnCode != c.code || !strings.Contains(r.ReturnMsg, c.msg) {
				t.Fatalf("got %s %q, want %s containing %q", r.ReturnCode, r.ReturnMsg, c.code, c.msg)
			}
			if r.OrderNo != c.no && c.code != "9904" {
				t.Errorf("OrderNo %q, want %q", r.OrderNo, c.no)
			}
			after := len(h.orders(t, acct))
			_, err := h.svc.Order(context.Background(), acct.M, c.no)
			exists := err == nil
			switch {
			case c.wrote && !exists:
				t.Errorf("order %s was not stored", c.no)
			case !c.wrote && (exists || after != before):
				t.Errorf("a refused push wrote: order exists=%v, orders %d → %d", exists, before, after)
			case c.setup != nil && after != before:
				t.Errorf("a repeat created another order: %d → %d", before, after)
			}
		})
	}
}

func mustOK(t *testing.T, r reply) {
	t.Helper()
	if r.ReturnCode != pushorder.CodeOK {
		t.Fatalf("push: %s %s", r.ReturnCode, r.ReturnMsg)
	}
}

// TestInternalError answers 9910 (and GetOrder 9999) when the store fails,
// here because the database is closed under the server.
func TestInternalError(t *testing.T) {
	ctx := context.Background()
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "closed.db"), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	svc := core.New(&core.Service{Store: store,
		Sandbox: core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)}})
	if _, _, err := svc.CreateMerchant(ctx, core.MerchantInput{No: "M1", Name: "Merchant A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateMerchant(ctx, "M1", func(m *baoguan.Merchant) error {
		m.Settings[pushorder.SettingAccessToken] = "tokA"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	po, err := pushorder.New(pushorder.Options{Svc: svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(po.Handler())
	defer srv.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	h := &harness{srv: srv}
	if r := h.call(t, "/tokA/PushOrder", sampleOrder("I-1", "Merchant A").body()); r.ReturnCode != "9910" || r.ReturnMsg != "程序异常,请联系资方操作人" {
		t.Errorf("PushOrder on a closed store: %+v", r)
	}
	if r := h.call(t, "/tokA/GetOrder", `data={"OrderNo":"I-1","MerchantName":"Merchant A"}`); r.ReturnCode != "9999" || r.ReturnMsg != "程序异常,请联系资方操作人" {
		t.Errorf("GetOrder on a closed store: %+v", r)
	}
	// An internal error's details never reach the caller.
	_, b := h.post(t, "/tokA/PushOrder", sampleOrder("I-1", "Merchant A").body())
	if strings.Contains(string(b), "closed") || strings.Contains(string(b), "sql") {
		t.Errorf("reply leaks the error: %s", b)
	}
}
