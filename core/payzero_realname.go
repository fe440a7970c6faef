package core

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/baoguan/baoguan"
)

// Real-name check: a payer's name and resident ID number checked against
// the public-security database (payzero §7.1). baoguan has no identity
// provider yet; sandbox merchants get the rules of payzero's test
// environment, keyed on the first digit of the ID number.

// Real-name results (payzero appendix A.7).
const (
	RealNamePass         = "PASS"
	RealNameNotPass      = "NOT_PASS"
	RealNameNameInvalid  = "NAME_INVALID"
	RealNameIDNoInvalid  = "IDNO_INVALID"
	RealNameCannotFindID = "CANNOT_FIND_ID"
)

// RealNameResult is one check. Birth, Sex and Addr are read from the ID
// number itself (birth date, sequence-code parity, region code) and are
// empty when the number has no readable date.
type RealNameResult struct {
	ID        string    `json:"id"` // a UUID, unique per check
	Name      string    `json:"name"`
	IDNo      string    `json:"id_no"`
	Birth     string    `json:"birth,omitempty"` // yyyyMMdd
	Sex       string    `json:"sex,omitempty"`   // 男 / 女
	Addr      string    `json:"addr,omitempty"`
	Result    string    `json:"result"`
	CheckedAt time.Time `json:"checked_at"`
}

// CheckRealName checks a name and resident ID number, and keeps the result
// (sealed, under the merchant) for the operator. Sandbox rules: an ID
// number beginning with 1 passes, 2 is not in the database, 3 has an
// invalid name, 4 is an invalid number, anything else does not pass. A
// number that is not shaped like a resident ID number at all is
// IDNO_INVALID whatever its first digit.
// Errors: EINVALID field name or idno when empty; ESTATE reason
// no_identity_provider for live merchants.
func (s *Service) CheckRealName(ctx context.Context, m *baoguan.Merchant, name, idno string) (*RealNameResult, error) {
	name, idno = strings.TrimSpace(name), strings.TrimSpace(idno)
	if idno == "" {
		return nil, baoguan.FieldError("idno", "idno is required")
	}
	if name == "" {
		return nil, baoguan.FieldError("name", "name is required")
	}
	if utf8.RuneCountInString(name) > 60 || utf8.RuneCountInString(idno) > 40 {
		return nil, baoguan.FieldError("name", "name or idno is too long")
	}
	if m.Mode != baoguan.ModeSandbox {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Reason: "no_identity_provider",
			Message: "本安装尚未接入实名认证渠道，请使用沙箱商户"}
	}
	r := &RealNameResult{ID: newUUID(), Name: name, IDNo: idno}
	if baoguan.CheckIDFormat("idno", baoguan.IDTypeIDCard, idno) != nil {
		r.Result = RealNameIDNoInvalid
	} else {
		r.Birth, r.Sex, r.Addr = readIDCard(idno)
		switch idno[0] {
		case '1':
			r.Result = RealNamePass
		case '2':
			r.Result = RealNameCannotFindID
		case '3':
			r.Result = RealNameNameInvalid
		case '4':
			r.Result = RealNameIDNoInvalid
		default:
			r.Result = RealNameNotPass
		}
	}
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		r.CheckedAt = tx.Now()
		return putJSON(tx, payzeroKey("realname", m.ID, r.ID), r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	h := []byte(randomHex(16))
	h[12] = '4'
	h[16] = "89ab"[h[16]%4]
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// readIDCard reads birth date, sex and region from a resident ID number:
// 18 characters (birth yyyyMMdd at 7-14, sex from character 17) or the
// old 15 digits (birth yyMMdd at 7-12 in the 1900s, sex from character 15).
func readIDCard(id string) (birth, sex, addr string) {
	var sexDigit byte
	switch len(id) {
	case 18:
		birth, sexDigit = id[6:14], id[16]
	case 15:
		birth, sexDigit = "19"+id[6:12], id[14]
	default:
		return "", "", ""
	}
	if t, err := time.Parse("20060102", birth); err != nil || t.Format("20060102") != birth {
		birth = ""
	}
	if sexDigit >= '0' && sexDigit <= '9' {
		sex = "女"
		if (sexDigit-'0')%2 == 1 {
			sex = "男"
		}
	}
	return birth, sex, idRegion(id[:6])
}

// idRegion names the region of an ID number's first six digits (GB/T
// 2260). baoguan carries the provinces and the districts of the ID numbers
// printed in the vendor documents; other numbers are named by province.
func idRegion(code string) string {
	if d, ok := idDistricts[code]; ok {
		return d
	}
	return idProvinces[code[:2]]
}

var idProvinces = map[string]string{
	"11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
	"21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
	"31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
	"41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
	"50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
	"61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
	"71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}

var idDistricts = map[string]string{
	"110105": "北京市朝阳区",
	"110113": "北京市顺义区",
	"230422": "黑龙江省鹤岗市绥滨县",
	"310113": "上海市宝山区",
	"360104": "江西省南昌市青云谱区",
	"330683": "浙江省绍兴市嵊州市",
	"610327": "陕西省宝鸡市陇县",
}
