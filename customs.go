package baoguan

import (
	"fmt"
	"slices"
	"strings"
)

// CustomsScheme says which family of codes an entry belongs to. The same
// port is reached through different names depending on the protocol: the
// pushorder and payzero documents use HGxxx electronic-port codes, WeChat Pay
// and Alipay each have their own customs names.
type CustomsScheme string

const (
	SchemeHG     CustomsScheme = "hg"     // HGxxx codes of the pushorder and payzero documents
	SchemeWeChat CustomsScheme = "wechat" // WeChat Pay customs names (WiseCashier 11.4, WeChat v3)
	SchemeAlipay CustomsScheme = "alipay" // Alipay customs names (WiseCashier 11.5)
)

// ExtraField names a port-specific field a declaration may have to carry.
// The values are the canonical (native API) field names, so that an error
// from CheckExtras names a field an integrator can find.
type ExtraField string

const (
	ExtraAreaCode ExtraField = "customs_area_code" // 海关关区代码
	ExtraJyOrg    ExtraField = "customs_jy_org"    // 检验检疫机构代码
	ExtraInType   ExtraField = "customs_in_type"   // 进口类型 1 保税进口 2 直邮进口
)

// ExtraRule is one port's rule for one extra field.
type ExtraRule struct {
	Field    ExtraField
	Required bool
	Allowed  []string // empty = any non-empty value
}

// CustomsExtras are the port-specific extra fields a declaration may carry.
// Fields a port has no rule for are ignored: payzero's own samples send all
// three to HG022 (Shanghai).
type CustomsExtras struct {
	AreaCode, JyOrg, InType string
}

// field returns the value of f, without surrounding spaces.
func (x CustomsExtras) field(f ExtraField) string {
	switch f {
	case ExtraAreaCode:
		return strings.TrimSpace(x.AreaCode)
	case ExtraJyOrg:
		return strings.TrimSpace(x.JyOrg)
	case ExtraInType:
		return strings.TrimSpace(x.InType)
	}
	return ""
}

// CustomsEntry is one code of the customs catalogue: a name a protocol sends
// for a customs port, where baoguan routes it, and what must accompany it.
type CustomsEntry struct {
	Code    string          // as protocols send it: "HG014", "GUANGZHOU_ZS", "ZONGSHU"
	Name    string          // Chinese name from the seed
	Schemes []CustomsScheme // a code such as NINGBO is both a WeChat and an Alipay code: one entry, both schemes
	// Port is the canonical port baoguan routes to. Several codes share a
	// port: HG018, GUANGZHOU_ZS (and HG012) all reach GUANGZHOU.
	Port string
	// Plan lists, in order, the codes to declare when a merchant declares
	// to Code, Code included. Most plans are just [Code]; ports reached
	// through a local inspection system need two declarations.
	Plan    []string
	Extras  []ExtraRule
	Sources []string // which seeds list it: "pushorder", "payzero", "wisecashier-wechat", "wisecashier-alipay", "wechatv3"
	Note    string
}

// In reports whether the entry belongs to scheme s.
func (e CustomsEntry) In(s CustomsScheme) bool {
	return slices.Contains(e.Schemes, s)
}

// CheckExtras checks the port-specific extras of a declaration to e. It
// returns an EINVALID error naming the extra field, with reason
// "missing_customs_extra" when a required value is empty and
// "bad_customs_extra" when a value is not one of the allowed ones. Extras a
// port has no rule for are ignored.
func (e CustomsEntry) CheckExtras(x CustomsExtras) error {
	for _, r := range e.Extras {
		v := x.field(r.Field)
		if v == "" {
			if r.Required {
				return FieldError(string(r.Field), "%s is required when declaring to %s (%s)", r.Field, e.Code, e.Name).
					WithReason("missing_customs_extra")
			}
			continue
		}
		if len(r.Allowed) > 0 && !slices.Contains(r.Allowed, v) {
			return FieldError(string(r.Field), "%s %q is not allowed for %s (%s): use one of %s",
				r.Field, v, e.Code, e.Name, strings.Join(r.Allowed, ", ")).
				WithReason("bad_customs_extra")
		}
	}
	return nil
}

// clone returns a deep copy, so that callers cannot change the catalogue.
func (e CustomsEntry) clone() CustomsEntry {
	c := e
	c.Schemes = slices.Clone(e.Schemes)
	c.Plan = slices.Clone(e.Plan)
	c.Sources = slices.Clone(e.Sources)
	if e.Extras != nil {
		c.Extras = make([]ExtraRule, len(e.Extras))
		for i, r := range e.Extras {
			r.Allowed = slices.Clone(r.Allowed)
			c.Extras[i] = r
		}
	}
	return c
}

// CustomsCatalogue returns a copy of the whole catalogue, sorted by Code.
func CustomsCatalogue() []CustomsEntry {
	out := make([]CustomsEntry, len(customsSorted))
	for i, e := range customsSorted {
		out[i] = e.clone()
	}
	return out
}

// LookupCustoms returns the catalogue entry for code. Surrounding spaces are
// ignored; codes are case-sensitive (every catalogue code is upper-case, as
// the documents spell them). An empty or unknown code is an EINVALID error
// on field "customs" with reason "unknown_customs_code".
func LookupCustoms(code string) (CustomsEntry, error) {
	e, err := lookupCustoms(code)
	return e.clone(), err
}

// lookupCustoms is LookupCustoms without the copy.
func lookupCustoms(code string) (CustomsEntry, error) {
	c := strings.TrimSpace(code)
	if i, ok := customsIndex[c]; ok && c != "" {
		return customsSorted[i], nil
	}
	if c == "" {
		return CustomsEntry{}, &Error{Code: EINVALID, Field: "customs", Reason: "unknown_customs_code",
			Message: "customs code is empty: give a code of the customs catalogue, e.g. HG014"}
	}
	return CustomsEntry{}, &Error{Code: EINVALID, Field: "customs", Reason: "unknown_customs_code",
		Message: fmt.Sprintf("unknown customs code %q", c)}
}

// PortOfCustoms is LookupCustoms(code).Port, with LookupCustoms's errors,
// without copying the entry: planning a pushed order's declarations, in
// the store's transaction, needs only the port.
func PortOfCustoms(code string) (string, error) {
	c := strings.TrimSpace(code)
	if i, ok := customsIndex[c]; ok && c != "" {
		return customsSorted[i].Port, nil
	}
	_, err := LookupCustoms(code)
	return "", err
}

// Seed names, as used in CustomsEntry.Sources.
const (
	customsSrcPushOrder   = "pushorder"
	customsSrcPayzero     = "payzero"
	customsSrcWiseWeChat  = "wisecashier-wechat"
	customsSrcWiseAlipay  = "wisecashier-alipay"
	customsSrcWeChatV3    = "wechatv3"
	customsZongshuPortals = "广州、重庆、西安、天津、合肥、苏州海关"
)

// Guangzhou (payzero: 若需申报且申报海关为广州海关时必填) needs the customs
// district code and the inspection authority code.
var customsGuangzhouExtras = []ExtraRule{
	{Field: ExtraAreaCode, Required: true},
	{Field: ExtraJyOrg, Required: true},
}

// Tianjin (payzero: 若需申报且申报天津电子口岸时为必填) needs the import type.
var customsTianjinExtras = []ExtraRule{
	{Field: ExtraInType, Required: true, Allowed: []string{"1", "2"}},
}

// customsHG builds an HGxxx entry, declared on its own.
func customsHG(code, name, port string, extras []ExtraRule, note string, sources ...string) CustomsEntry {
	return CustomsEntry{Code: code, Name: name, Schemes: []CustomsScheme{SchemeHG}, Port: port,
		Plan: []string{code}, Extras: extras, Sources: sources, Note: note}
}

// customsTable is the catalogue as written from the seed documents, grouped
// by scheme; customsSorted is the same sorted by code.
var customsTable = []CustomsEntry{
	// HGxxx: pushorder 海关编码 and payzero A.6. Where both list a code the
	// pushorder name is kept (it is the longer list).
	customsHG("HG002", "郑州海关", "ZHENGZHOU", nil, "", customsSrcPushOrder),
	customsHG("HG012", "广州电子口岸1.0(总署版)", "GUANGZHOU", customsGuangzhouExtras,
		"payzero's 广州海关 extras (customsAreaCode, customsJyOrg) apply to both Guangzhou electronic-port codes",
		customsSrcPushOrder),
	customsHG("HG013", "郑州电子口岸", "ZHENGZHOU", nil,
		"pushorder names HG013 郑州电子口岸 (and HG002 郑州海关); payzero A.6 names HG013 郑州海关",
		customsSrcPushOrder, customsSrcPayzero),
	customsHG("HG014", "宁波海关(总署版)", "NINGBO", nil,
		"pushorder's default when CustomsCode is absent or empty", customsSrcPushOrder, customsSrcPayzero),
	customsHG("HG016", "重庆电子口岸(总署版)", "CHONGQING", nil,
		"payzero: a 总署版 port that is not in the list may be declared with HG016", customsSrcPushOrder, customsSrcPayzero),
	customsHG("HG017", "义乌电子口岸(总署版)", "YIWU", nil, "", customsSrcPushOrder),
	customsHG("HG018", "广州电子口岸3.0(总署版)", "GUANGZHOU", customsGuangzhouExtras, "", customsSrcPushOrder, customsSrcPayzero),
	customsHG("HG019", "深圳电子口岸(总署版)", "SHENZHEN", nil, "", customsSrcPushOrder, customsSrcPayzero),
	customsHG("HG020", "大连电子口岸(总署版)", "DALIAN", nil, "", customsSrcPushOrder),
	customsHG("HG021", "杭州电子口岸(总署版)", "HANGZHOU", nil, "", customsSrcPushOrder, customsSrcPayzero),
	customsHG("HG022", "上海电子口岸(总署版)", "SHANGHAI", nil, "", customsSrcPushOrder, customsSrcPayzero),
	customsHG("HG023", "青岛电子口岸(总署版)", "QINGDAO", nil, "", customsSrcPushOrder),
	customsHG("HG024", "盐城电子口岸(总署版)", "YANCHENG", nil, "", customsSrcPushOrder),
	customsHG("HG025", "武汉电子口岸(总署版)", "WUHAN", nil, "", customsSrcPushOrder),
	customsHG("HG026", "天津电子口岸(总署版)", "TIANJIN", customsTianjinExtras, "", customsSrcPushOrder, customsSrcPayzero),
	customsHG("HG027", "济南电子口岸(总署版)", "JINAN", nil, "", customsSrcPushOrder),
	customsHG("HG028", "珠海电子口岸(总署版)", "ZHUHAI", nil, "", customsSrcPushOrder),
	customsHG("HG029", "青岛跨境电商(总署版)", "QINGDAO", nil, "", customsSrcPushOrder),
	customsHG("HG044", "山东海关", "SHANDONG", nil, "", customsSrcPayzero),
	customsHG("HG055", "福州海关(总署版)", "FUZHOU", nil,
		"payzero: Fuzhou also clears declarations made with another 总署版 code such as HG016", customsSrcPayzero),

	// WeChat Pay: WiseCashier 11.4 (and the WeChat v3 document's example).
	{Code: "GUANGZHOU_ZS", Name: "广州(总署版)", Schemes: []CustomsScheme{SchemeWeChat}, Port: "GUANGZHOU",
		Plan: []string{"GUANGZHOU_ZS"}, Sources: []string{customsSrcWiseWeChat}},
	{Code: "GUANGZHOU_HP_GJ", Name: "广州黄埔国检", Schemes: []CustomsScheme{SchemeWeChat}, Port: "GUANGZHOU_HUANGPU",
		Plan: []string{"GUANGZHOU_ZS", "GUANGZHOU_HP_GJ"}, Sources: []string{customsSrcWiseWeChat},
		Note: "declared twice: to 广州(总署版) GUANGZHOU_ZS and to 广州黄埔国检"},
	{Code: "GUANGZHOU_NS_GJ", Name: "广州南沙国检", Schemes: []CustomsScheme{SchemeWeChat}, Port: "GUANGZHOU_NANSHA",
		Plan: []string{"GUANGZHOU_ZS", "GUANGZHOU_NS_GJ"}, Sources: []string{customsSrcWiseWeChat},
		Note: "declared twice: to 广州(总署版) GUANGZHOU_ZS and to 广州南沙国检"},
	{Code: "HANGZHOU_ZS", Name: "杭州(总署版)", Schemes: []CustomsScheme{SchemeWeChat}, Port: "HANGZHOU",
		Plan: []string{"HANGZHOU_ZS"}, Sources: []string{customsSrcWiseWeChat}},
	{Code: "NINGBO", Name: "宁波海关", Schemes: []CustomsScheme{SchemeWeChat, SchemeAlipay}, Port: "NINGBO",
		Plan: []string{"NINGBO"}, Sources: []string{customsSrcWiseWeChat, customsSrcWiseAlipay},
		Note: "the same name in WeChat's (宁波) and Alipay's (宁波海关) lists"},
	{Code: "ZHENGZHOU_BS", Name: "郑州(保税物流中心)", Schemes: []CustomsScheme{SchemeWeChat}, Port: "ZHENGZHOU_BS",
		Plan: []string{"ZHENGZHOU_BS"}, Sources: []string{customsSrcWiseWeChat}},
	{Code: "CHONGQING", Name: "重庆", Schemes: []CustomsScheme{SchemeWeChat}, Port: "CHONGQING",
		Plan: []string{"CHONGQING"}, Sources: []string{customsSrcWiseWeChat}},
	{Code: "XIAN", Name: "西安", Schemes: []CustomsScheme{SchemeWeChat}, Port: "XIAN",
		Plan: []string{"XIAN"}, Sources: []string{customsSrcWiseWeChat}},
	{Code: "SHANGHAI_ZS", Name: "上海(总署版)", Schemes: []CustomsScheme{SchemeWeChat}, Port: "SHANGHAI",
		Plan: []string{"SHANGHAI_ZS"}, Sources: []string{customsSrcWiseWeChat, customsSrcWeChatV3}},
	{Code: "SHENZHEN", Name: "深圳", Schemes: []CustomsScheme{SchemeWeChat}, Port: "SHENZHEN",
		Plan: []string{"SHENZHEN"}, Sources: []string{customsSrcWiseWeChat},
		Note: "WiseCashier's Alipay declaration (9.4, 9.5) also shows SHENZHEN as its example, but Alipay's list (11.5) reaches Shenzhen through SHENZHEN_ZS then ZONGSHU; SHENZHEN is catalogued as a WeChat code only"},
	{Code: "ZHENGZHOU_ZH_ZS", Name: "郑州综保(总署版)", Schemes: []CustomsScheme{SchemeWeChat}, Port: "ZHENGZHOU_ZH",
		Plan: []string{"ZHENGZHOU_ZH_ZS"}, Sources: []string{customsSrcWiseWeChat}},
	{Code: "TIANJIN", Name: "天津", Schemes: []CustomsScheme{SchemeWeChat}, Port: "TIANJIN",
		Plan: []string{"TIANJIN"}, Sources: []string{customsSrcWiseWeChat}},
	{Code: "BEIJING", Name: "北京", Schemes: []CustomsScheme{SchemeWeChat}, Port: "BEIJING",
		Plan: []string{"BEIJING"}, Sources: []string{customsSrcWiseWeChat}},

	// Alipay: WiseCashier 11.5 统一版各属地报关方案 (NINGBO is above).
	{Code: "HANGZHOU_ZONGSHU", Name: "杭州海关", Schemes: []CustomsScheme{SchemeAlipay}, Port: "HANGZHOU",
		Plan: []string{"HANGZHOU_ZONGSHU"}, Sources: []string{customsSrcWiseAlipay}},
	{Code: "ZONGSHU", Name: "海关总署统一版(" + customsZongshuPortals + ")", Schemes: []CustomsScheme{SchemeAlipay}, Port: "ZONGSHU",
		Plan: []string{"ZONGSHU"}, Sources: []string{customsSrcWiseAlipay},
		Note: "Alipay reaches " + customsZongshuPortals + " through ZONGSHU; it is also the second push for HENAN and SHENZHEN_ZS"},
	{Code: "ZHENGZHOU", Name: "河南保税物流中心", Schemes: []CustomsScheme{SchemeAlipay}, Port: "ZHENGZHOU_BS",
		Plan: []string{"ZHENGZHOU"}, Sources: []string{customsSrcWiseAlipay}},
	{Code: "HENAN", Name: "新郑综合保税区(空港)", Schemes: []CustomsScheme{SchemeAlipay}, Port: "ZHENGZHOU_ZH",
		Plan: []string{"HENAN", "ZONGSHU"}, Sources: []string{customsSrcWiseAlipay},
		Note: "declared twice: HENAN to the local inspection system, then ZONGSHU"},
	{Code: "SHENZHEN_ZS", Name: "深圳海关", Schemes: []CustomsScheme{SchemeAlipay}, Port: "SHENZHEN",
		Plan: []string{"SHENZHEN_ZS", "ZONGSHU"}, Sources: []string{customsSrcWiseAlipay},
		Note: "declared twice: SHENZHEN_ZS to the local inspection system, then ZONGSHU"},
	{Code: "SHANGHAI_CBT", Name: "上海海关", Schemes: []CustomsScheme{SchemeAlipay}, Port: "SHANGHAI",
		Plan: []string{"SHANGHAI_CBT"}, Sources: []string{customsSrcWiseAlipay}},
	{Code: "NANSHAGJ", Name: "南沙国检", Schemes: []CustomsScheme{SchemeAlipay}, Port: "GUANGZHOU_NANSHA",
		Plan: []string{"NANSHAGJ"}, Sources: []string{customsSrcWiseAlipay}},
	{Code: "GUANGZHOU_HUANGPU", Name: "广州黄埔海关", Schemes: []CustomsScheme{SchemeAlipay}, Port: "GUANGZHOU_HUANGPU",
		Plan: []string{"GUANGZHOU_HUANGPU"}, Sources: []string{customsSrcWiseAlipay}},
}

var customsSorted = func() []CustomsEntry {
	s := slices.Clone(customsTable)
	slices.SortFunc(s, func(a, b CustomsEntry) int { return strings.Compare(a.Code, b.Code) })
	return s
}()

var customsIndex = func() map[string]int {
	m := make(map[string]int, len(customsSorted))
	for i, e := range customsSorted {
		m[e.Code] = i
	}
	return m
}()
