package wisecashier_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// seedShape checks an answer against the seed document's example of the
// same interface (testdata/seed/name): every member the example shows is
// in the answer with the same JSON type. See testdata/seed/README.md.
func seedShape(t *testing.T, name string, got []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seed", name))
	if err != nil {
		t.Fatal(err)
	}
	var want, have any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := json.Unmarshal(got, &have); err != nil {
		t.Fatalf("answer is not JSON: %s", got)
	}
	var diffs []string
	compareShape("", want, have, &diffs)
	for _, d := range diffs {
		t.Errorf("%s: %s\nanswer: %s", name, d, got)
	}
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func compareShape(path string, want, got any, diffs *[]string) {
	if kind(want) != kind(got) {
		*diffs = append(*diffs, fmt.Sprintf("%s: %s, the document shows %s", pathOr(path), kind(got), kind(want)))
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				*diffs = append(*diffs, fmt.Sprintf("%s.%s: missing", pathOr(path), k))
				continue
			}
			compareShape(path+"."+k, w[k], gv, diffs)
		}
	case []any:
		g := got.([]any)
		if len(w) > 0 && len(g) == 0 {
			*diffs = append(*diffs, fmt.Sprintf("%s: empty, the document shows elements", pathOr(path)))
		}
		if len(w) > 0 {
			for i := range g {
				compareShape(fmt.Sprintf("%s[%d]", path, i), w[0], g[i], diffs)
			}
		}
	}
}

func pathOr(p string) string {
	if p == "" {
		return "(top)"
	}
	return p
}

// volatile members differ on every run; golden files hold placeholders.
var volatile = regexp.MustCompile(`"(nonceStr|paySign|sign|timeStamp|sandbox_url|code_url|url|qrcode|prepay_string|modify_time)":"(?:[^"\\]|\\.)*"`)

// golden compares an answer with testdata/golden/name, volatile members
// replaced, members in the order baoguan writes them.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = volatile.ReplaceAll(got, []byte(`"$1":"<$1>"`))
	var b bytes.Buffer
	if err := json.Indent(&b, got, "", "  "); err != nil {
		t.Fatalf("not JSON: %s", got)
	}
	b.WriteByte('\n')
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(want, b.Bytes()) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", name, want, b.Bytes())
	}
}
