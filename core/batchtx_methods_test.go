package core_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// TestBatchTxWrapsOrderReads guards the deferred writes of a batch
// (batchTx): every statement of the store's Tx that reads or changes
// orders, declarations or events (and their attempts) must see the rows
// the batch wrote in its cache only, so batchTx must define it (and flush
// first). Methods are found by name (those naming orders, declarations,
// events or attempts, and the others listed); the
// few of them that need no flush say why below. A new such method fails
// this test until batchTx wraps it or it is listed.
func TestBatchTxWrapsOrderReads(t *testing.T) {
	noFlush := map[string]string{
		"CreateOrder":         "inserts a new order",
		"CreateOrders":        "inserts new orders",
		"CreateDeclarations":  "inserts new declarations",
		"AddDeclarationRef":   "writes declaration_refs only",
		"DeclarationReceipts": "reads customs_receipts only",
	}
	// Statements that read orders or declarations without naming them.
	others := []string{"BatchSummary", "EnqueuePayJobs"}

	fset := token.NewFileSet()
	store, err := parser.ParseFile(fset, "../store.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	ast.Inspect(store, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Tx" {
			return true
		}
		for _, f := range ts.Type.(*ast.InterfaceType).Methods.List {
			for _, name := range f.Names {
				methods = append(methods, name.Name)
			}
		}
		return false
	})
	if len(methods) < 50 {
		t.Fatalf("found %d methods of baoguan.Tx in store.go", len(methods))
	}
	btx, err := parser.ParseFile(fset, "batchtx.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := map[string]bool{}
	for _, d := range btx.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil {
			wrapped[fn.Name.Name] = true
		}
	}
	for _, m := range methods {
		named := strings.Contains(m, "Order") || strings.Contains(m, "Declaration") ||
			strings.Contains(m, "Event") || strings.Contains(m, "Attempt")
		for _, o := range others {
			named = named || m == o
		}
		if named && !wrapped[m] && noFlush[m] == "" {
			t.Errorf("baoguan.Tx.%s reads or changes orders or declarations, and batchTx does not wrap it", m)
		}
	}
}
