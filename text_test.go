package baoguan

import (
	"reflect"
	"strings"
	"testing"
)

// badRunes are one instance of every class CheckText refuses.
var badRunes = map[string]string{
	"NUL": "\x00", "tab": "\t", "newline": "\n", "CR": "\r", "ESC": "\x1b", "DEL": "\x7f",
	"C1 NEL": "\u0085", "C1 CSI": "\u009b",
	"LRE": "\u202a", "RLE": "\u202b", "PDF": "\u202c", "LRO": "\u202d", "RLO": "\u202e",
	"LRI": "\u2066", "RLI": "\u2067", "FSI": "\u2068", "PDI": "\u2069",
	"LRM": "\u200e", "RLM": "\u200f", "ALM": "\u061c",
	"LSEP": "\u2028", "PSEP": "\u2029", "invalid UTF-8": "\xff", "lone surrogate bytes": "\xed\xa0\x80",
}

func TestCheckText(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "口红 Lipstick №5", "阿卜杜·热合曼", "a-b_c.d/e?f=g&h", "emoji 💄", "ZWJ 👩\u200d👩", "Ａ全角"} {
		if err := CheckText("f", ok); err != nil {
			t.Errorf("CheckText(%q) = %v", ok, err)
		}
	}
	for name, r := range badRunes {
		for _, s := range []string{r, "ab" + r, r + "cd", "张" + r + "三"} {
			err := CheckText("f", s)
			if ErrorCode(err) != EINVALID || ErrorField(err) != "f" || ErrorReason(err) != "bad_text" {
				t.Errorf("%s in %q: %v, want EINVALID bad_text on f", name, s, err)
			}
		}
	}
}

// stringField is one stored text field of the domain: how to set it on a
// valid object and which field the error must name.
type stringField struct {
	path  string // Go path of the field, for the coverage check
	set   func(o *Order, spec *DeclarationSpec, v string)
	field string // the field the error names
}

// orderStringFields lists every string field an order push stores. The
// reflection check below fails when a string field is added to Order,
// Payer, Item, Payment or DeclarationSpec without being listed here or in
// notFromCaller.
var orderStringFields = []stringField{
	{"Order.MerchantOrderNo", func(o *Order, _ *DeclarationSpec, v string) { o.MerchantOrderNo = "O-" + v }, "merchant_order_no"},
	{"Order.Currency", func(o *Order, _ *DeclarationSpec, v string) { o.Currency = "CNY" + v }, "currency"},
	{"Order.Subject", func(o *Order, _ *DeclarationSpec, v string) { o.Subject = "口红" + v }, "subject"},
	{"Order.CapitalName", func(o *Order, _ *DeclarationSpec, v string) { o.CapitalName = "资方" + v }, "capital_name"},
	{"Order.Extra", func(o *Order, _ *DeclarationSpec, v string) { o.Extra = map[string]string{"memo": "x" + v} }, "extra.memo"},
	{"Order.Extra key", func(o *Order, _ *DeclarationSpec, v string) { o.Extra = map[string]string{"m" + v: "x"} }, "extra"},
	{"Payment.No", func(o *Order, _ *DeclarationSpec, v string) { o.Payment.No = "P" + v }, "payment_no"},
	{"Payment.PSP", func(o *Order, _ *DeclarationSpec, v string) { o.Payment.PSP = "PSP" + v }, "psp"},
	{"Payment.PSPName", func(o *Order, _ *DeclarationSpec, v string) { o.Payment.PSPName = "支付公司" + v }, "psp_name"},
	{"Payment.PSPCode", func(o *Order, _ *DeclarationSpec, v string) { o.Payment.PSPCode = "31" + v }, "psp_customs_code"},
	{"Payer.Name", func(o *Order, _ *DeclarationSpec, v string) { o.Payer.Name = "张" + v + "三" }, "payer.name"},
	{"Payer.IDType", func(o *Order, _ *DeclarationSpec, v string) { o.Payer.IDType = IDTypeIDCard + v }, "payer.id_type"},
	{"Payer.IDNumber", func(o *Order, _ *DeclarationSpec, v string) { o.Payer.IDNumber = "11010519900101123" + v }, "payer.id_number"},
	{"Payer.Phone", func(o *Order, _ *DeclarationSpec, v string) { o.Payer.Phone = "1380013" + v + "8000" }, "payer.phone"},
	{"Item.Subject", func(o *Order, _ *DeclarationSpec, v string) {
		o.Items = []Item{{Subject: "a"}, {Subject: "面霜" + v}}
	}, "items[1].subject"},
	{"Item.Link", func(o *Order, _ *DeclarationSpec, v string) { o.Items = []Item{{Subject: "a", Link: "https://x/" + v}} }, "items[0].link"},
	{"Item.ArticleNo", func(o *Order, _ *DeclarationSpec, v string) { o.Items = []Item{{Subject: "a", ArticleNo: "A" + v}} }, "items[0].article_no"},
	{"DeclarationSpec.Customs", func(_ *Order, s *DeclarationSpec, v string) { s.Customs = "HG014" + v }, "customs"},
	{"DeclarationSpec.SubOrderNo", func(_ *Order, s *DeclarationSpec, v string) { s.SubOrderNo = "S" + v }, "sub_order_no"},
	{"DeclarationSpec.MerchantCustomsNo", func(_ *Order, s *DeclarationSpec, v string) { s.MerchantCustomsNo = "3301" + v }, "merchant_customs_no"},
	{"DeclarationSpec.Strategy", func(_ *Order, s *DeclarationSpec, v string) { s.Strategy = StrategyDiffPush + v }, "auth_check_strategy"},
	{"CustomsExtras.AreaCode", func(_ *Order, s *DeclarationSpec, v string) { s.Extras.AreaCode = "3105" + v }, "customs_area_code"},
	{"CustomsExtras.JyOrg", func(_ *Order, s *DeclarationSpec, v string) { s.Extras.JyOrg = "3105" + v }, "customs_jy_org"},
	{"CustomsExtras.InType", func(_ *Order, s *DeclarationSpec, v string) { s.Extras.InType = "1" + v }, "customs_in_type"},
}

// notFromCaller are string fields no caller sets through a push: set by
// baoguan (an order's fingerprint, which core computes and sets whatever a
// front-end put there) or by the payment channel, or checked elsewhere (the
// notify URL by netguard.CheckURL, tested there).
var notFromCaller = map[string]bool{
	"Order.NotifyURL": true, "Order.Protocol": true, "Order.Channel": true, "Order.PayStatus": true, "Order.DeclareStatus": true,
	"Order.Fingerprint": true,
	"Payment.VerDept":   true, "Payment.PayType": true, "Payment.InitRequest": true, "Payment.InitResponse": true,
	"Payment.FailReason": true, "Payment.FailCode": true, "Payment.PayerName": true, "Payment.PayerID": true,
}

// TestStoredTextIsClean puts every bad character class into every stored
// string field of an order push and its declaration: each is EINVALID
// naming that field.
func TestStoredTextIsClean(t *testing.T) {
	t.Parallel()
	// Coverage: every string field of the pushed types is listed.
	listed := map[string]bool{}
	for _, f := range orderStringFields {
		listed[strings.TrimSuffix(f.path, " key")] = true
	}
	for _, typ := range []any{Order{}, Payer{}, Item{}, Payment{}, DeclarationSpec{}, CustomsExtras{}} {
		rt := reflect.TypeOf(typ)
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			k := f.Type.Kind()
			if k != reflect.String && !(k == reflect.Map && f.Type.Elem().Kind() == reflect.String) {
				continue
			}
			path := rt.Name() + "." + f.Name
			if !listed[path] && !notFromCaller[path] {
				t.Errorf("string field %s is neither checked by this test nor listed as not from the caller", path)
			}
		}
	}

	good := func() (Order, DeclarationSpec) {
		return Order{MerchantOrderNo: "O-1", Amount: 100, Subject: "口红", Channel: ChannelMock, NeedDeclare: true,
				Payer: Payer{Name: "张三", IDNumber: "110105199001011232", Phone: "13800138000"}},
			DeclarationSpec{Customs: "HG014"}
	}
	o, s := good()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, f := range orderStringFields {
		for name, r := range badRunes {
			o, s := good()
			f.set(&o, &s, r)
			var err error
			if strings.HasPrefix(f.path, "DeclarationSpec.") || strings.HasPrefix(f.path, "CustomsExtras.") {
				_, err = s.Validate()
				if f.path == "DeclarationSpec.Customs" && err == nil && s.Customs == "HG014" {
					// The code is looked up with surrounding white space
					// trimmed and stored as the catalogue spells it.
					continue
				}
			} else {
				err = o.Validate()
			}
			if ErrorCode(err) != EINVALID || ErrorField(err) != f.field {
				t.Errorf("%s with %s: %v (field %q), want EINVALID on %s", f.path, name, err, ErrorField(err), f.field)
			}
		}
	}
	// An order that is not declared still may not store a bad payer.
	for name, r := range badRunes {
		o, _ := good()
		o.NeedDeclare = false
		o.Payer = Payer{Name: "张" + r}
		if err := o.Validate(); ErrorField(err) != "payer.name" {
			t.Errorf("undeclared order, payer name with %s: %v", name, err)
		}
	}
}

// TestRefundRequestText covers the refund inputs.
func TestRefundRequestText(t *testing.T) {
	t.Parallel()
	if err := CheckRefundRequest("R-1", "O-1", 100, false, "顾客退货 return"); err != nil {
		t.Fatal(err)
	}
	for name, r := range badRunes {
		for _, c := range []struct {
			refundNo, orderNo, reason, field string
		}{
			{"R" + r, "O-1", "", "refund_no"},
			{"R-1", "O" + r, "", "order_no"},
			{"R-1", "O-1", "退货" + r, "reason"},
		} {
			err := CheckRefundRequest(c.refundNo, c.orderNo, 100, false, c.reason)
			if ErrorCode(err) != EINVALID || ErrorField(err) != c.field {
				t.Errorf("%s in %s: %v, want EINVALID on %s", name, c.field, err, c.field)
			}
		}
	}
	for _, amount := range extremes {
		err := CheckRefundRequest("R-1", "O-1", amount, false, "")
		if want := amount > 0 && amount <= MaxAmount; (err == nil) != want || err != nil && ErrorField(err) != "amount" {
			t.Errorf("refund amount %d: %v, want ok=%v", amount, err, want)
		}
		if err := CheckRefundRequest("R-1", "O-1", 0, true, ""); err != nil {
			t.Errorf("a refund of the rest: %v", err)
		}
	}
}

// TestOtherIDRefusesInvisibleText: an OTHER certificate number is free
// text, so it gets the same rule.
func TestOtherIDRefusesInvisibleText(t *testing.T) {
	t.Parallel()
	for name, r := range badRunes {
		err := CheckIDFormat("payer.id_number", IDTypeOther, "E123"+r+"456")
		if ErrorCode(err) != EINVALID || ErrorReason(err) != "bad_id_format" {
			t.Errorf("OTHER id with %s: %v", name, err)
		}
	}
}
