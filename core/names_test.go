package core_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// Core is organised by capability, named for what the gateway does. A
// vendor's name may appear in an exported identifier only where the rule
// truly is that vendor's, and then the identifier's doc comment says why,
// in a paragraph starting "Vendor rule:". File names carry no vendor name.

// vendorWords are the protocol and vendor names, as whole words of an
// identifier (camel case split) or of a file name.
var vendorWords = []string{"payzero", "pushorder", "accp", "lianlian", "wechat", "wechatv3", "wechatpay", "weixin", "wx",
	"alipay", "wisecashier", "unionpay", "netsunion", "ceb", "eport", "allinpay", "easypay", "lycheepay"}

func TestNoVendorNames(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, file := range files {
		if v := vendorIn(strings.TrimSuffix(strings.TrimSuffix(file, ".go"), "_test")); v != "" {
			t.Errorf("file %s is named for %s: name it for the capability", file, v)
		}
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		for _, e := range exported(t, file) {
			n++
			v := vendorIn(e.name)
			if v != "" && !strings.Contains(e.doc, "Vendor rule:") {
				t.Errorf("%s: exported %s carries the vendor name %q without a \"Vendor rule:\" paragraph saying why", e.pos, e.name, v)
			}
		}
	}
	if n < 50 {
		t.Fatalf("checked %d exported identifiers; is the test running in core/?", n)
	}
}

// TestVendorWordsFound shows the check recognises vendor names in the
// shapes identifiers give them.
func TestVendorWordsFound(t *testing.T) {
	for name, want := range map[string]string{
		"PayzeroCreateQR": "payzero", "SetPayzeroCards": "payzero", "WeChatNonce": "wechat", "DeclareACCPPush": "accp",
		"wechatv3_customs": "wechatv3", "accp_push": "accp", "AlipayCustoms": "alipay",
		"CreateOrder": "", "CollectByQR": "", "Accept": "", "ConfirmCard": "", "Receive": "",
	} {
		if got := vendorIn(name); got != want {
			t.Errorf("vendorIn(%s) = %q, want %q", name, got, want)
		}
	}
	src := `package core
// PayzeroThing does a thing.
func PayzeroThing() {}
type T struct {
	// WechatField is a field.
	WechatField int
}
`
	path := filepath.Join(t.TempDir(), "x.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range exported(t, path) {
		if vendorIn(e.name) != "" {
			names = append(names, e.name)
		}
	}
	if strings.Join(names, ",") != "PayzeroThing,WechatField" {
		t.Errorf("vendor names found in a sample file: %v", names)
	}
}

// vendorIn returns the vendor word name carries, or "".
func vendorIn(name string) string {
	var words []string
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		words = append(words, camelWords(part)...)
	}
	for i := range words {
		for j := i + 1; j <= len(words) && j <= i+2; j++ {
			w := strings.ToLower(strings.Join(words[i:j], ""))
			for _, v := range vendorWords {
				if w == v {
					return v
				}
			}
		}
	}
	return ""
}

// camelWords splits "SetPayzeroCards" into Set, Payzero, Cards and
// "DeclareACCPPush" into Declare, ACCP, Push; digits stay with their word.
func camelWords(s string) []string {
	rs := []rune(s)
	var out []string
	start := 0
	for i := 1; i < len(rs); i++ {
		lowerToUpper := unicode.IsUpper(rs[i]) && !unicode.IsUpper(rs[i-1])
		acronymEnd := unicode.IsUpper(rs[i]) && i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])
		if lowerToUpper || acronymEnd {
			out = append(out, string(rs[start:i]))
			start = i
		}
	}
	return append(out, string(rs[start:]))
}

type ident struct {
	name, doc string
	pos       token.Position
}

// exported lists the exported identifiers a file declares: functions,
// methods, types, constants, variables, struct fields and interface
// methods, each with its doc comment (a group's comment counts for its
// members).
func exported(t *testing.T, path string) []ident {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []ident
	add := func(id *ast.Ident, docs ...*ast.CommentGroup) {
		if !id.IsExported() {
			return
		}
		var b strings.Builder
		for _, d := range docs {
			if d != nil {
				b.WriteString(d.Text())
			}
		}
		out = append(out, ident{id.Name, b.String(), fset.Position(id.Pos())})
	}
	fields := func(fl *ast.FieldList) {
		if fl == nil {
			return
		}
		for _, fd := range fl.List {
			for _, n := range fd.Names {
				add(n, fd.Doc, fd.Comment)
			}
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			add(d.Name, d.Doc)
		case *ast.GenDecl:
			for _, sp := range d.Specs {
				switch sp := sp.(type) {
				case *ast.TypeSpec:
					add(sp.Name, d.Doc, sp.Doc)
					switch ty := sp.Type.(type) {
					case *ast.StructType:
						fields(ty.Fields)
					case *ast.InterfaceType:
						fields(ty.Methods)
					}
				case *ast.ValueSpec:
					for _, n := range sp.Names {
						add(n, d.Doc, sp.Doc, sp.Comment)
					}
				}
			}
		}
	}
	return out
}
