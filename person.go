package baoguan

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SamePerson is baoguan's one identity comparison: it reports whether two
// (name, certificate number) pairs name the same person, the way people
// write them. Every place that compares a declared payer with the payer on
// record uses it: the declare job's pre-check, CheckPayer, and the
// pre-check of a declaration push.
//
// Both sides are normalised first (NormalizeName, NormalizeID), so the
// comparison does not depend on how a front-end or a channel happened to
// spell the same identity: a lower-case check character x is X, spaces
// around a value do not count, and full-width digits, letters and spaces
// (an input method left in full-width mode) are their half-width
// counterparts. An empty number or name on either side is never the same
// person.
func SamePerson(nameA, idA, nameB, idB string) bool {
	na, nb := NormalizeName(nameA), NormalizeName(nameB)
	ia, ib := NormalizeID(idA), NormalizeID(idB)
	return na != "" && ia != "" && na == nb && ia == ib
}

// NormalizeID is a certificate number as SamePerson compares it: full-width
// characters folded to half-width, every space removed (no certificate
// number contains one) and letters upper-cased (the check character X, and
// the letters of passports and permits).
func NormalizeID(id string) string {
	if normal(id) {
		return id // the usual case, without a copy
	}
	return normalizeID(id)
}

func normalizeID(id string) string {
	var b strings.Builder
	for _, r := range foldWidth(id) {
		if unicode.IsSpace(r) {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// NormalizeName is a person's name as SamePerson compares it: full-width
// characters folded to half-width, surrounding spaces dropped and inner runs
// of spaces made one, the look-alikes of the middle dot of transliterated
// names (•, ・, ･, ‧) made "·", and Latin letters upper-cased.
func NormalizeName(name string) string {
	if normal(name) {
		return name
	}
	return normalizeName(name)
}

func normalizeName(name string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.TrimSpace(foldWidth(name)) {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case r == '•' || r == '・' || r == '･' || r == '‧':
			r = '·'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// normal reports whether NormalizeID and NormalizeName both leave s as it
// is: valid UTF-8 without a space, a full-width character, a look-alike of
// the middle dot or a letter upper-casing changes. A resident ID number and
// a Chinese name as usually written are.
func normal(s string) bool {
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if r <= ' ' || 'a' <= r && r <= 'z' || r == 0x7F {
				return false
			}
		case r == utf8.RuneError, r >= 0xFF01 && r <= 0xFF5E, r == '•' || r == '・' || r == '･' || r == '‧',
			unicode.IsSpace(r), unicode.ToUpper(r) != r:
			return false
		}
	}
	return true
}

// foldWidth turns full-width ASCII (U+FF01–U+FF5E) and the ideographic
// space (U+3000) into their half-width forms.
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000:
			return ' '
		}
		return r
	}, s)
}

// ReadIDCard reads what a resident ID number itself says about its holder:
// the birth date (yyyyMMdd), the sex (男 / 女, from the parity of the
// sequence code) and the region of its first six digits (GB/T 2260). It
// reads 18-character numbers (birth at characters 7-14, sex from character
// 17) and the old 15-digit ones (birth yyMMdd at 7-12 in the 1900s, sex
// from character 15); anything else gives empty strings, as does a birth
// date that is not a real date.
func ReadIDCard(id string) (birth, sex, region string) {
	id = NormalizeID(id)
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

// idRegion names the region of an ID number's first six digits. baoguan
// carries the provinces and the districts of the ID numbers printed in the
// vendor documents; other numbers are named by province.
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
