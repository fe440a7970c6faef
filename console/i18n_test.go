package console

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestEveryPhraseTranslated: each phrase the templates and the Go code
// pass to the translator has a Chinese translation.
func TestEveryPhraseTranslated(t *testing.T) {
	phrase := regexp.MustCompile(`\.T "((?:[^"\\]|\\.)*)"|\bl\.T\("((?:[^"\\]|\\.)*)"\)`)
	files, _ := filepath.Glob("templates/*.html")
	gofiles, _ := filepath.Glob("*.go")
	seen := map[string]bool{}
	for _, f := range append(files, gofiles...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range phrase.FindAllStringSubmatch(string(b), -1) {
			seen[m[1]+m[2]] = true
		}
	}
	if len(seen) < 100 {
		t.Fatalf("found %d phrases; is the test running in console/?", len(seen))
	}
	var missing []string
	for p := range seen {
		if _, ok := zh[p]; !ok {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d phrases without a Chinese translation:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}
