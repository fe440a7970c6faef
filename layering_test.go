package baoguan

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The layering rule (docs/architecture.md): a front-end translates. It may
// import the root package, core, its own sub-packages, the shared helpers
// below, the standard library and third-party libraries — never a store,
// an adapter (sandbox, a customs port, a wallet client), the command, or
// another front-end. And it never opens a store transaction: it names
// neither baoguan.Store nor baoguan.Tx, so every read and write goes
// through core.

const module = "github.com/baoguan/baoguan"

// frontEnds are the protocol front-ends; those not built yet are skipped.
var frontEnds = []string{"api", "pushorder", "accp", "wechatv3", "payzero", "wisecashier", "console"}

// helpers are the packages of the module a front-end may import besides
// root and core: libraries that touch no store, adapter or front-end
// themselves (checked below), so importing them cannot reach past core. A
// helper may import core (sheet maps spreadsheet rows to core's order
// input and runs an import through core's batch services) but, like a
// front-end, then never names baoguan.Store or baoguan.Tx.
var helpers = []string{"webhook", "platform", "netguard", "docs", "sheet", "inbound"}

func TestFrontEndLayering(t *testing.T) {
	seen := 0
	for _, fe := range frontEnds {
		if _, err := os.Stat(fe); err != nil {
			continue
		}
		seen++
		for _, v := range layeringViolations(t, fe, fe) {
			t.Error(v)
		}
	}
	if seen < 5 {
		t.Fatalf("found %d front-end packages; run the test from the module root", seen)
	}
	for _, h := range helpers {
		if _, err := os.Stat(h); err != nil {
			continue
		}
		for _, v := range layeringViolations(t, h, "") {
			t.Error(v)
		}
	}
}

// TestLayeringCheckFails shows the check catches each kind of violation.
func TestLayeringCheckFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "api")
	if err := os.MkdirAll(filepath.Join(dir, "internal"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"a.go": `package api
import (
	"net/http"
	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/payzero"
	"github.com/baoguan/baoguan/api/internal"
)
func f(s baoguan.Store) { _ = s.View(nil, func(tx baoguan.Tx) error { return nil }) }
`,
		"a_test.go":          "package api\nimport _ \"github.com/baoguan/baoguan/sqlite\"\n",
		"internal/helper.go": "package internal\nimport _ \"github.com/baoguan/baoguan/postgres\"\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(layeringViolations(t, dir, "api"), "\n")
	for _, want := range []string{"imports " + module + "/sqlite", "imports " + module + "/sandbox", "imports " + module + "/payzero",
		"imports " + module + "/postgres", "names baoguan.Store", "names baoguan.Tx"} {
		if !strings.Contains(got, want) {
			t.Errorf("violation %q not reported; got:\n%s", want, got)
		}
	}
	for _, allowed := range []string{"/core", "/api/internal", "net/http", "a_test.go"} {
		if strings.Contains(got, allowed+"\n") || strings.HasSuffix(got, allowed) {
			t.Errorf("allowed import %s reported:\n%s", allowed, got)
		}
	}
}

// layeringViolations checks the non-test Go files under dir: own is the
// front-end's import path below the module ("" for a helper, which may
// import no other package of the module than root, core and the helpers).
func layeringViolations(t *testing.T, dir, own string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rootName, importsCore := "", false
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			importsCore = importsCore || p == module+"/core"
			if p == module {
				rootName = "baoguan"
				if imp.Name != nil {
					rootName = imp.Name.Name
				}
			}
			if !importAllowed(p, own) {
				out = append(out, path+" imports "+p)
			}
		}
		// Front-ends, and helpers that call core, reach the store only
		// through core. (platform, which core itself uses, keeps its
		// key in a transaction core hands it.)
		if (own != "" || importsCore) && rootName != "" {
			out = append(out, storeUses(t, path, rootName)...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func importAllowed(p, own string) bool {
	if p != module && !strings.HasPrefix(p, module+"/") {
		return true // standard library or third-party
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
	switch {
	case rel == "":
		return true
	case rel == "core":
		return true
	case own != "" && (rel == own || strings.HasPrefix(rel, own+"/")):
		return true
	}
	return slices.Contains(helpers, rel)
}

// storeUses reports the file's mentions of baoguan.Store and baoguan.Tx.
func storeUses(t *testing.T, path, rootName string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == rootName && (sel.Sel.Name == "Store" || sel.Sel.Name == "Tx") {
				out = append(out, path+" names baoguan."+sel.Sel.Name+": front-ends reach the store through core")
			}
		}
		return true
	})
	return out
}
