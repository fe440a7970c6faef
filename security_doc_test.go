package baoguan

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityPromisesNameRealTests keeps docs/security.md true: every
// test its Promises section names (`pkg.TestName`, `cmd.` for cmd/baoguan,
// no package for this one) exists in that package.
func TestSecurityPromisesNameRealTests(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start, end := strings.Index(doc, "## Promises"), strings.Index(doc, "## Fuzzing")
	if start < 0 {
		t.Fatal("docs/security.md has no Promises section")
	}
	if end < start {
		end = len(doc)
	}
	names := regexp.MustCompile("`(?:([a-z0-9]+)\\.)?(Test[A-Za-z0-9_]+)`").FindAllStringSubmatch(doc[start:end], -1)
	if len(names) < 20 {
		t.Fatalf("only %d test names found in the Promises section", len(names))
	}
	for _, m := range names {
		dir := m[1]
		switch dir {
		case "":
			dir = "."
		case "cmd":
			dir = filepath.Join("cmd", "baoguan")
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		found := false
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(src), "func "+m[2]+"(") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("docs/security.md names %s, which is not a test in %s", m[0], dir)
		}
	}
}
