package baoguan

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSamePerson runs the one identity comparison over the cases on which
// the two comparisons it replaced disagreed (the declare job compared
// exactly, CheckPayer trimmed and upper-cased the number only), and over
// full-width input, which neither handled.
func TestSamePerson(t *testing.T) {
	const name, id = "张三", "11010519491231002X"
	cases := []struct {
		what       string
		nameA, idA string
		nameB, idB string
		same       bool
		// old is what the two replaced comparisons said: the declare job's
		// (exact) / CheckPayer's (number trimmed and upper-cased).
		old string
	}{
		{what: "identical", nameA: name, idA: id, nameB: name, idB: id, same: true},
		{what: "lower-case x check character", nameA: name, idA: "11010519491231002x", nameB: name, idB: id, same: true, old: "DIFFERENT/SAME"},
		{what: "spaces around the number", nameA: name, idA: " " + id + " ", nameB: name, idB: id, same: true, old: "DIFFERENT/SAME"},
		{what: "spaces around the name", nameA: " 张三 ", idA: id, nameB: name, idB: id, same: true, old: "DIFFERENT/SAME"},
		{what: "full-width digits and X", nameA: name, idA: "１１０１０５１９４９１２３１００２Ｘ", nameB: name, idB: id, same: true, old: "DIFFERENT/DIFFERENT"},
		{what: "full-width lower-case x", nameA: name, idA: "１１０１０５１９４９１２３１００２ｘ", nameB: name, idB: id, same: true, old: "DIFFERENT/DIFFERENT"},
		{what: "ideographic spaces around the name", nameA: "\u3000张三\u3000", idA: id, nameB: name, idB: id, same: true, old: "DIFFERENT/SAME"},
		{what: "full-width Latin name", nameA: "Ｌｉｓａ", idA: id, nameB: "Lisa", idB: id, same: true, old: "DIFFERENT/DIFFERENT"},
		{what: "Latin name in another case", nameA: "LISA", idA: id, nameB: "Lisa", idB: id, same: true},
		{what: "middle-dot look-alike", nameA: "阿卜杜・热合曼", idA: id, nameB: "阿卜杜·热合曼", idB: id, same: true},
		{what: "spaces inside the number", nameA: name, idA: "110105 19491231 002X", nameB: name, idB: id, same: true},
		{what: "another name", nameA: "李四", idA: id, nameB: name, idB: id, same: false},
		{what: "another number", nameA: name, idA: "110105194912310038", nameB: name, idB: id, same: false},
		{what: "a name that only differs by an inner space", nameA: "张 三", idA: id, nameB: name, idB: id, same: false},
		{what: "empty on both sides", same: false},
		{what: "empty number", nameA: name, nameB: name, same: false},
	}
	said := func(same bool) string {
		if same {
			return "SAME"
		}
		return "DIFFERENT"
	}
	for _, c := range cases {
		exact := c.nameA == c.nameB && c.idA == c.idB
		trimUpper := strings.TrimSpace(c.nameA) == strings.TrimSpace(c.nameB) &&
			strings.ToUpper(strings.TrimSpace(c.idA)) == strings.ToUpper(strings.TrimSpace(c.idB))
		if c.old != "" && c.old != said(exact)+"/"+said(trimUpper) {
			t.Errorf("%s: the old comparisons said %s/%s, the table says %s", c.what, said(exact), said(trimUpper), c.old)
		}
		if got := SamePerson(c.nameA, c.idA, c.nameB, c.idB); got != c.same {
			t.Errorf("%s: SamePerson(%q, %q, %q, %q) = %v, want %v", c.what, c.nameA, c.idA, c.nameB, c.idB, got, c.same)
		}
		if got := SamePerson(c.nameB, c.idB, c.nameA, c.idA); got != c.same {
			t.Errorf("%s: not symmetric", c.what)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"11010519491231002x": "11010519491231002X", " ｅ１２３４５６７８ ": "E12345678", "": ""} {
		if got := NormalizeID(in); got != want {
			t.Errorf("NormalizeID(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"  Ｍａｒｙ\u3000 Ｊａｎｅ ": "MARY JANE", "阿卜杜•热合曼": "阿卜杜·热合曼", "张三": "张三"} {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadIDCard(t *testing.T) {
	cases := []struct{ id, birth, sex, region string }{
		{"110113198010101234", "19801010", "男", "北京市顺义区"},
		{"31011319801010124x", "19801010", "女", "上海市宝山区"},
		{"440304900101123", "19900101", "男", "广东省"},
		{"110105199002301234", "", "男", "北京市朝阳区"}, // no 30 February
		{"12345", "", "", ""},
	}
	for _, c := range cases {
		b, s, r := ReadIDCard(c.id)
		if b != c.birth || s != c.sex || r != c.region {
			t.Errorf("ReadIDCard(%s) = %q %q %q, want %q %q %q", c.id, b, s, r, c.birth, c.sex, c.region)
		}
	}
}

// TestNormalFastPath: what normal lets through unchanged is what the full
// normalisation would leave as it is, and comparing an identity written
// as usual copies nothing.
func TestNormalFastPath(t *testing.T) {
	alphabet := []string{"1", "0", "X", "x", "张", "三", "A", "z", " ", "\t", "\u3000", "１", "ｘ", "•", "·", "\u00a0",
		"\x01", "\x7f", "\xff", "ß", "é", "É", "ǅ", "-", "'"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var sb strings.Builder
		for range rng.IntN(6) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := sb.String()
		if id, name := normalizeID(s), normalizeName(s); normal(s) && (id != s || name != s) {
			t.Errorf("normal(%q) but NormalizeID gives %q, NormalizeName %q", s, id, name)
		}
		if NormalizeID(s) != normalizeID(s) || NormalizeName(s) != normalizeName(s) {
			t.Errorf("%q: the fast path changed the result", s)
		}
	}
	for _, s := range []string{"110105199001011232", "11010519491231002X", "张三", "阿卜杜·热合曼", "E12345678"} {
		if !normal(s) {
			t.Errorf("normal(%q) = false", s)
		}
	}
	if n := testing.AllocsPerRun(100, func() { SamePerson("张三", "11010519491231002X", "张三", "11010519491231002X") }); n != 0 {
		t.Errorf("SamePerson of identities written as usual: %v allocations, want 0", n)
	}
}

// BenchmarkSamePerson compares an identity written as usual with itself
// (the declare job's identity check): go test -run '^$' -bench SamePerson .
func BenchmarkSamePerson(b *testing.B) {
	for b.Loop() {
		SamePerson("张三", "110105199001011232", "张三", "110105199001011232")
	}
}
