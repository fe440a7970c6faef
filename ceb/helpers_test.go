package ceb_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/ceb"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// golden compares got with testdata/name byte for byte (-update rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ceb -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// tool returns the path of an external program the test needs. Outside CI a
// missing program skips the test; in CI (CI=true, where .ci/run installs
// it) it fails, so that CI cannot pass without running the check.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (Debian package %s; .ci/run installs it)", name, pkg)
		}
		t.Skipf("%s is not installed (Debian package %s)", name, pkg)
	}
	return p
}

// xmllintValidate validates an XML file against the customs import schema
// copied into testdata/xsd.
func xmllintValidate(t *testing.T, data []byte) {
	t.Helper()
	xmllint := tool(t, "xmllint", "libxml2-utils")
	f := filepath.Join(t.TempDir(), "msg.xml")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join("testdata", "xsd", "import-202205.xsd"), f).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint rejects the message: %v\n%s\n%s", err, out, data)
	}
}

var cst = ceb.ChinaTime

// testConfig is the installation used by the golden files.
func testConfig() ceb.Config {
	return ceb.Config{
		PayCode: "1101110323",
		PayName: "荔枝支付有限公司",
		Transfer: ceb.Transfer{
			CopCode: "1101110323",
			CopName: "荔枝支付有限公司",
			DxpID:   "DXPENT0000011951",
		},
		Secret: []byte("test-installation-secret-0001"),
	}
}

// plainDeclaration is a whole-order declaration, first attempt.
func plainDeclaration() ceb.Declaration {
	return ceb.Declaration{
		ID:               41,
		Attempt:          1,
		AppType:          ceb.AppNew,
		AppTime:          time.Date(2026, 3, 15, 15, 36, 2, 123e6, cst),
		OrderNo:          "ORD20260315001",
		PayTransactionID: "P2026031500012345",
		EBPCode:          "46016602EV",
		EBPName:          "海南省荣誉进出口贸易有限公司",
		Payer:            baoguan.Payer{Name: "张三", IDType: baoguan.IDTypeIDCard, IDNumber: "110105199001011232", Phone: "13800138000"},
		Amount:           19050,
		PaidAt:           time.Date(2026, 3, 15, 15, 35, 55, 0, cst),
	}
}
