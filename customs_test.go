package baoguan

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The code tables of the seed documents, typed from the documents.
var (
	// pushorder (000_02fe3477f5d217a8.txt), 海关编码.
	seedPushOrderCodes = []string{
		"HG002", "HG012", "HG013", "HG014", "HG016", "HG017", "HG018", "HG019", "HG020",
		"HG021", "HG022", "HG023", "HG024", "HG025", "HG026", "HG027", "HG028", "HG029",
	}
	// payzero (003_ceef0662365b1fb8.txt), A.6 海关及电子口岸代码.
	seedPayzeroCodes = []string{
		"HG013", "HG014", "HG016", "HG018", "HG019", "HG021", "HG022", "HG026", "HG044", "HG055",
	}
	// WiseCashier (002_a1869d9c97a45282.txt), 11.4 微信海关编码.
	seedWiseWeChatCodes = []string{
		"GUANGZHOU_ZS", "GUANGZHOU_HP_GJ", "GUANGZHOU_NS_GJ", "HANGZHOU_ZS", "NINGBO", "ZHENGZHOU_BS",
		"CHONGQING", "XIAN", "SHANGHAI_ZS", "SHENZHEN", "ZHENGZHOU_ZH_ZS", "TIANJIN", "BEIJING",
	}
	// WiseCashier, 11.5 支付宝海关编码 (last column, each code once).
	seedWiseAlipayCodes = []string{
		"HANGZHOU_ZONGSHU", "ZONGSHU", "ZHENGZHOU", "HENAN", "NINGBO", "SHENZHEN_ZS",
		"SHANGHAI_CBT", "NANSHAGJ", "GUANGZHOU_HUANGPU",
	}
	// WeChat Pay v3 customs query (004_0ded8097a1edc578.txt): its examples.
	seedWeChatV3Codes = []string{"SHANGHAI_ZS"}
)

func TestCustomsSeedTables(t *testing.T) {
	tables := []struct {
		source string
		scheme CustomsScheme
		codes  []string
	}{
		{"pushorder", SchemeHG, seedPushOrderCodes},
		{"payzero", SchemeHG, seedPayzeroCodes},
		{"wisecashier-wechat", SchemeWeChat, seedWiseWeChatCodes},
		{"wisecashier-alipay", SchemeAlipay, seedWiseAlipayCodes},
		{"wechatv3", SchemeWeChat, seedWeChatV3Codes},
	}
	listedBy := map[string][]string{} // code -> sources whose table lists it
	for _, tb := range tables {
		for _, code := range tb.codes {
			listedBy[code] = append(listedBy[code], tb.source)
			e, err := LookupCustoms(code)
			if err != nil {
				t.Errorf("%s code %s: %v", tb.source, code, err)
				continue
			}
			if e.Code != code {
				t.Errorf("LookupCustoms(%s).Code = %s", code, e.Code)
			}
			if !e.In(tb.scheme) {
				t.Errorf("%s code %s: schemes %v, want %s among them", tb.source, code, e.Schemes, tb.scheme)
			}
		}
	}
	// Sources say exactly which tables list a code, and nothing is
	// catalogued that no table lists.
	cat := CustomsCatalogue()
	for _, e := range cat {
		want := listedBy[e.Code]
		got := slices.Clone(e.Sources)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: Sources %v, the seed tables listing it are %v", e.Code, e.Sources, want)
		}
	}
	if len(cat) != len(listedBy) {
		t.Errorf("catalogue has %d codes, the seed tables %d", len(cat), len(listedBy))
	}
}

func TestCustomsNamesAndPorts(t *testing.T) {
	tests := []struct {
		code, name, port string
		schemes          []CustomsScheme
	}{
		{"HG014", "宁波海关(总署版)", "NINGBO", []CustomsScheme{SchemeHG}},
		{"NINGBO", "宁波海关", "NINGBO", []CustomsScheme{SchemeWeChat, SchemeAlipay}},
		{"HG012", "广州电子口岸1.0(总署版)", "GUANGZHOU", []CustomsScheme{SchemeHG}},
		{"HG018", "广州电子口岸3.0(总署版)", "GUANGZHOU", []CustomsScheme{SchemeHG}},
		{"GUANGZHOU_ZS", "广州(总署版)", "GUANGZHOU", []CustomsScheme{SchemeWeChat}},
		{"GUANGZHOU_HP_GJ", "广州黄埔国检", "GUANGZHOU_HUANGPU", []CustomsScheme{SchemeWeChat}},
		{"GUANGZHOU_HUANGPU", "广州黄埔海关", "GUANGZHOU_HUANGPU", []CustomsScheme{SchemeAlipay}},
		{"GUANGZHOU_NS_GJ", "广州南沙国检", "GUANGZHOU_NANSHA", []CustomsScheme{SchemeWeChat}},
		{"NANSHAGJ", "南沙国检", "GUANGZHOU_NANSHA", []CustomsScheme{SchemeAlipay}},
		{"HG026", "天津电子口岸(总署版)", "TIANJIN", []CustomsScheme{SchemeHG}},
		{"HG044", "山东海关", "SHANDONG", []CustomsScheme{SchemeHG}},
		{"HG055", "福州海关(总署版)", "FUZHOU", []CustomsScheme{SchemeHG}},
		{"ZONGSHU", "海关总署统一版(广州、重庆、西安、天津、合肥、苏州海关)", "ZONGSHU", []CustomsScheme{SchemeAlipay}},
	}
	for _, tt := range tests {
		e, err := LookupCustoms(tt.code)
		if err != nil {
			t.Fatalf("LookupCustoms(%s): %v", tt.code, err)
		}
		if e.Name != tt.name || e.Port != tt.port || !slices.Equal(e.Schemes, tt.schemes) {
			t.Errorf("%s = {Name %s, Port %s, Schemes %v}, want {%s, %s, %v}",
				tt.code, e.Name, e.Port, e.Schemes, tt.name, tt.port, tt.schemes)
		}
	}
	hg014 := mustCustoms(t, "HG014")
	for _, s := range []CustomsScheme{SchemeHG, SchemeWeChat, SchemeAlipay} {
		if got := hg014.In(s); got != (s == SchemeHG) {
			t.Errorf("HG014.In(%s) = %v", s, got)
		}
	}
}

func TestCustomsCatalogueInvariants(t *testing.T) {
	cat := CustomsCatalogue()
	codes := map[string]CustomsEntry{}
	for i, e := range cat {
		if i > 0 && cat[i-1].Code >= e.Code {
			t.Errorf("catalogue not sorted or duplicated at %s, %s", cat[i-1].Code, e.Code)
		}
		codes[e.Code] = e
		if e.Code != strings.ToUpper(strings.TrimSpace(e.Code)) || strings.ContainsAny(e.Code, " ,") {
			t.Errorf("code %q is not a bare upper-case code", e.Code)
		}
		if e.Name == "" || e.Port == "" || len(e.Schemes) == 0 || len(e.Sources) == 0 {
			t.Errorf("%s is incomplete: %+v", e.Code, e)
		}
		if !slices.Contains(e.Plan, e.Code) {
			t.Errorf("%s: plan %v does not include the code itself", e.Code, e.Plan)
		}
	}
	for _, e := range cat {
		for _, p := range e.Plan {
			pe, ok := codes[p]
			if !ok {
				t.Errorf("%s: plan element %s is not a catalogue code", e.Code, p)
				continue
			}
			// A plan stays within the protocol family of the entry.
			shared := false
			for _, s := range e.Schemes {
				shared = shared || pe.In(s)
			}
			if !shared {
				t.Errorf("%s (%v): plan element %s has schemes %v", e.Code, e.Schemes, p, pe.Schemes)
			}
		}
	}
}

func TestCustomsCatalogueIsACopy(t *testing.T) {
	cat := CustomsCatalogue()
	for i := range cat {
		cat[i].Name = "changed"
		cat[i].Plan[0] = "changed"
		if len(cat[i].Extras) > 0 {
			cat[i].Extras[0].Required = false
			if len(cat[i].Extras[0].Allowed) > 0 {
				cat[i].Extras[0].Allowed[0] = "9"
			}
		}
	}
	e, _ := LookupCustoms("HG026")
	e.Extras[0].Allowed[0] = "9"
	for _, code := range []string{"HG018", "HG026"} {
		e, err := LookupCustoms(code)
		if err != nil {
			t.Fatal(err)
		}
		if e.Name == "changed" || e.Plan[0] != code || !e.Extras[0].Required {
			t.Errorf("%s was changed through a copy: %+v", code, e)
		}
	}
	if err := mustCustoms(t, "HG026").CheckExtras(CustomsExtras{InType: "1"}); err != nil {
		t.Errorf("HG026 allowed values were changed through a copy: %v", err)
	}
}

func mustCustoms(t *testing.T, code string) CustomsEntry {
	t.Helper()
	e, err := LookupCustoms(code)
	if err != nil {
		t.Fatalf("LookupCustoms(%q): %v", code, err)
	}
	return e
}

func TestLookupCustoms(t *testing.T) {
	if e := mustCustoms(t, "  HG014\t"); e.Code != "HG014" {
		t.Errorf("padded HG014 gave %s", e.Code)
	}
	if e := mustCustoms(t, "\u3000ZONGSHU "); e.Code != "ZONGSHU" {
		t.Errorf("padded ZONGSHU gave %s", e.Code)
	}
	for _, code := range []string{"", "   ", "HG999", "hg014", "Ningbo", "HENAN,ZONGSHU", "HG01"} {
		_, err := LookupCustoms(code)
		if err == nil {
			t.Errorf("LookupCustoms(%q) succeeded", code)
			continue
		}
		if ErrorCode(err) != EINVALID || ErrorField(err) != "customs" || ErrorReason(err) != "unknown_customs_code" {
			t.Errorf("LookupCustoms(%q) = code %s field %s reason %s", code,
				ErrorCode(err), ErrorField(err), ErrorReason(err))
		}
		if c := strings.TrimSpace(code); c != "" && !strings.Contains(ErrorMessage(err), c) {
			t.Errorf("LookupCustoms(%q) message %q does not name the code", code, ErrorMessage(err))
		}
	}
}

func TestCustomsCheckExtras(t *testing.T) {
	gz := CustomsExtras{AreaCode: "5130", JyOrg: "440009"}
	tests := []struct {
		code   string
		x      CustomsExtras
		field  string // "" = no error
		reason string
	}{
		{"HG018", CustomsExtras{}, "customs_area_code", "missing_customs_extra"},
		{"HG018", CustomsExtras{AreaCode: "5130"}, "customs_jy_org", "missing_customs_extra"},
		{"HG018", CustomsExtras{AreaCode: " ", JyOrg: "440009"}, "customs_area_code", "missing_customs_extra"},
		{"HG018", gz, "", ""},
		{"HG012", CustomsExtras{JyOrg: "440009"}, "customs_area_code", "missing_customs_extra"},
		{"HG012", gz, "", ""},
		{"HG026", CustomsExtras{}, "customs_in_type", "missing_customs_extra"},
		{"HG026", CustomsExtras{InType: "3"}, "customs_in_type", "bad_customs_extra"},
		{"HG026", CustomsExtras{InType: "保税进口"}, "customs_in_type", "bad_customs_extra"},
		{"HG026", CustomsExtras{InType: "1"}, "", ""},
		{"HG026", CustomsExtras{InType: " 2 "}, "", ""},
		// Tianjin does not need the Guangzhou extras, nor the reverse.
		{"HG026", CustomsExtras{InType: "2", AreaCode: "x"}, "", ""},
		{"HG018", CustomsExtras{AreaCode: "5130", JyOrg: "440009", InType: "9"}, "", ""},
		// payzero's samples send all three extras to HG022.
		{"HG022", CustomsExtras{AreaCode: "5130", JyOrg: "440009", InType: "2"}, "", ""},
		{"HG014", CustomsExtras{}, "", ""},
		// The extras rules are payzero's, for HG codes only.
		{"GUANGZHOU_ZS", CustomsExtras{}, "", ""},
		{"TIANJIN", CustomsExtras{}, "", ""},
	}
	for _, tt := range tests {
		err := mustCustoms(t, tt.code).CheckExtras(tt.x)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s.CheckExtras(%+v) = %v", tt.code, tt.x, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s.CheckExtras(%+v) = nil, want %s on %s", tt.code, tt.x, tt.reason, tt.field)
			continue
		}
		if ErrorCode(err) != EINVALID || ErrorField(err) != tt.field || ErrorReason(err) != tt.reason {
			t.Errorf("%s.CheckExtras(%+v) = field %s reason %s, want %s %s", tt.code, tt.x,
				ErrorField(err), ErrorReason(err), tt.field, tt.reason)
		}
		if !strings.Contains(ErrorMessage(err), tt.code) {
			t.Errorf("%s.CheckExtras message %q does not name the customs code", tt.code, ErrorMessage(err))
		}
	}
}

func TestCustomsPlans(t *testing.T) {
	tests := []struct {
		code string
		plan []string
	}{
		{"HG014", []string{"HG014"}},
		{"HG018", []string{"HG018"}},
		{"GUANGZHOU_ZS", []string{"GUANGZHOU_ZS"}},
		{"GUANGZHOU_HP_GJ", []string{"GUANGZHOU_ZS", "GUANGZHOU_HP_GJ"}},
		{"GUANGZHOU_NS_GJ", []string{"GUANGZHOU_ZS", "GUANGZHOU_NS_GJ"}},
		{"HENAN", []string{"HENAN", "ZONGSHU"}},
		{"SHENZHEN_ZS", []string{"SHENZHEN_ZS", "ZONGSHU"}},
		{"ZONGSHU", []string{"ZONGSHU"}},
		{"SHENZHEN", []string{"SHENZHEN"}},
		{"NINGBO", []string{"NINGBO"}},
	}
	for _, tt := range tests {
		if got := mustCustoms(t, tt.code).Plan; !slices.Equal(got, tt.plan) {
			t.Errorf("%s plan = %v, want %v", tt.code, got, tt.plan)
		}
	}
	// Every other code is declared on its own.
	for _, e := range CustomsCatalogue() {
		switch e.Code {
		case "GUANGZHOU_HP_GJ", "GUANGZHOU_NS_GJ", "HENAN", "SHENZHEN_ZS":
			continue
		}
		if !slices.Equal(e.Plan, []string{e.Code}) {
			t.Errorf("%s plan = %v, want just itself", e.Code, e.Plan)
		}
	}
}

// TestPortOfCustoms: PortOfCustoms answers as LookupCustoms does, port and
// error, for every code of the catalogue, padded or not, and for codes
// that are not in it.
func TestPortOfCustoms(t *testing.T) {
	codes := []string{"", " ", "NOPE", " HG014 ", "hg014"}
	for _, e := range customsSorted {
		codes = append(codes, e.Code, " "+e.Code+"\t")
	}
	for _, code := range codes {
		e, err := LookupCustoms(code)
		port, perr := PortOfCustoms(code)
		if port != e.Port || (err == nil) != (perr == nil) || err != nil && err.Error() != perr.Error() {
			t.Errorf("PortOfCustoms(%q) = %q, %v; LookupCustoms: %q, %v", code, port, perr, e.Port, err)
		}
	}
}

// TestValidateSharedAsValidate: ValidateShared gives every spec Validate's
// entry, error and spec changes; Validate's entry stays a copy the caller
// may change without changing the catalogue.
func TestValidateSharedAsValidate(t *testing.T) {
	var specs []DeclarationSpec
	for _, e := range CustomsCatalogue() {
		specs = append(specs, DeclarationSpec{Customs: e.Code, OrderFee: 100, ProductFee: 100},
			DeclarationSpec{Customs: " " + e.Code + " ", OrderFee: 100, ProductFee: 100, Strategy: StrategyDiffReject},
			DeclarationSpec{Customs: e.Code, OrderFee: 100, ProductFee: 50})
	}
	specs = append(specs, DeclarationSpec{}, DeclarationSpec{Customs: "XX999", OrderFee: 1, ProductFee: 1},
		DeclarationSpec{Customs: "HG014", OrderFee: 1, ProductFee: 1, Strategy: "NOPE"})
	for _, s := range specs {
		a, b := s, s
		ea, erra := a.Validate()
		eb, errb := b.ValidateShared()
		if !reflect.DeepEqual(ea, eb) || fmt.Sprint(erra) != fmt.Sprint(errb) || !reflect.DeepEqual(a, b) {
			t.Errorf("%+v: Validate %+v, %v; ValidateShared %+v, %v", s, ea, erra, eb, errb)
		}
		if erra == nil && len(ea.Plan) > 0 {
			ea.Plan[0] = "changed"
			if again, _ := s.ValidateShared(); again.Plan[0] == "changed" {
				t.Fatalf("%s: Validate's entry shares the catalogue's plan", s.Customs)
			}
		}
	}
}
