package baoguan

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityFuzzingListsEveryTarget keeps the Fuzzing section of
// docs/security.md true: every fuzz target of the module has a row
// (| package | FuzzX |), and every row names a target that exists.
func TestSecurityFuzzingListsEveryTarget(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## Fuzzing")
	if start < 0 {
		t.Fatal("docs/security.md has no Fuzzing section")
	}
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| ([a-z0-9]+) \| (Fuzz[A-Za-z0-9_]+) \|`).FindAllStringSubmatch(doc[start:], -1) {
		rows[m[1]+"."+m[2]] = true
	}
	targets := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)`)
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pkg := filepath.Base(filepath.Dir(path))
		if filepath.Dir(path) == "." {
			pkg = "baoguan"
		}
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			targets[pkg+"."+m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) < 30 {
		t.Fatalf("found only %d fuzz targets; run the test from the module root", len(targets))
	}
	for k := range targets {
		if !rows[k] {
			t.Errorf("fuzz target %s has no row in the Fuzzing section of docs/security.md", k)
		}
	}
	for k := range rows {
		if !targets[k] {
			t.Errorf("docs/security.md lists %s, which is not a fuzz target", k)
		}
	}
}
