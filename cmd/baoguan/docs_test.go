package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// Docs that run: every `sh` block of the API and protocol pages is a
// copy-paste example, and this test runs them, page by page and in order,
// with bash against the real binary — `baoguan serve` started in a fresh
// directory with its defaults, as a reader would, and the `baoguan` on the
// PATH being the binary built from this tree. A page's blocks share one
// shell, so a variable set in one block is there in the next.
//
// After a block, lines `<!-- expect: TEXT -->` (invisible on the rendered
// page) name text the block's output must contain. A ```json block that
// follows a runnable block (after its expectations, if any) is the reply
// the page shows: the last JSON object the block printed must have the
// same keys. The pages write the server's address as the default,
// http://127.0.0.1:8080; the test puts its server's address there, and
// sets KEY to the demo merchant's API key serve prints, as the README's
// quickstart does.

// docPages are the pages whose examples must run, with the least number of
// runnable blocks each must have: its main calls.
var docPages = []struct {
	path      string
	minBlocks int
}{
	{"docs/api.md", 8},
	{"docs/protocols/pushorder.md", 4},
	{"docs/protocols/accp.md", 4},
	{"docs/protocols/wechatv3.md", 4},
	{"docs/protocols/payzero.md", 5},
	{"docs/protocols/wisecashier.md", 6},
}

// docBlock is one runnable example of a page.
type docBlock struct {
	line   int      // of the opening fence
	script string   // the commands
	expect []string // text the output must contain
	reply  string   // the reply the page shows after it, if any
}

var expectLine = regexp.MustCompile(`^<!-- expect: (.*) -->$`)

// docBlocks extracts a page's runnable blocks.
func docBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out []docBlock
	fence := func(i int) (string, bool) {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "```") {
			return "", false
		}
		return strings.Fields(l + " ")[0][3:], true
	}
	for i := 0; i < len(lines); i++ {
		lang, ok := fence(i)
		if !ok {
			continue
		}
		start := i
		var body []string
		for i++; i < len(lines); i++ {
			if l, ok := fence(i); ok && l == "" {
				break
			}
			body = append(body, lines[i])
		}
		if lang != "sh" {
			continue
		}
		b := docBlock{line: start + 1, script: strings.Join(body, "\n")}
		j := i + 1
		for ; j < len(lines); j++ {
			l := strings.TrimSpace(lines[j])
			if m := expectLine.FindStringSubmatch(l); m != nil {
				b.expect = append(b.expect, m[1])
				continue
			}
			if l != "" {
				break
			}
		}
		if j < len(lines) {
			if l, ok := fence(j); ok && l == "json" {
				var reply []string
				for j++; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
					reply = append(reply, lines[j])
				}
				b.reply = strings.Join(reply, "\n")
			}
		}
		out = append(out, b)
	}
	return out
}

// jsonKeys returns the sorted top-level keys of a JSON object.
func jsonKeys(s string) ([]string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// lastJSON is the last line of out that is a JSON object.
func lastJSON(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "{") && json.Valid([]byte(l)) {
			return l
		}
	}
	return ""
}

func TestDocExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the documentation's examples against the real binary")
	}
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; the documentation's examples use it", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	bin := baoguanBinary(t)
	dir := t.TempDir()

	// The server, started as the README says: defaults, in its directory.
	serve := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--allow-private-notify")
	serve.Dir = dir
	serve.Env = append(os.Environ(), "BAOGUAN_DATA_KEY=", "BAOGUAN_DB=")
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	serve.Stderr = logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	type started struct{ base, key string }
	ready := make(chan started, 1)
	go func() {
		var s started
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) >= 2 && f[0] == "api_key:":
				s.key = f[1]
			case len(f) == 3 && f[0] == "listening" && f[1] == "on":
				s.base = f[2]
				ready <- s
			}
		}
	}()
	var srv started
	select {
	case srv = <-ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start; logs:\n%s", logs)
	}
	if srv.key == "" {
		t.Fatal("serve printed no api_key for the demo merchant")
	}

	for _, page := range docPages {
		t.Run(filepath.Base(page.path), func(t *testing.T) {
			blocks := docBlocks(t, filepath.Join("..", "..", page.path))
			if len(blocks) < page.minBlocks {
				t.Fatalf("%s has %d runnable examples, want at least %d", page.path, len(blocks), page.minBlocks)
			}
			// One shell for the page; a marker line before each block
			// splits the output.
			var script strings.Builder
			script.WriteString("set -euo pipefail\n")
			for i, b := range blocks {
				fmt.Fprintf(&script, "printf '\\n@@block %d\\n'\n", i)
				script.WriteString(strings.ReplaceAll(b.script, "http://127.0.0.1:8080", srv.base) + "\n")
			}
			fmt.Fprintf(&script, "printf '\\n@@block %d\\n'\n", len(blocks))
			work := t.TempDir()
			sh := exec.Command("bash", "-c", script.String())
			sh.Dir = dir // beside the server's database, as a reader's shell would be
			sh.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
				"KEY="+srv.key, "BAOGUAN_DATA_KEY=", "BAOGUAN_DB=", "HOME="+work, "TMPDIR="+work)
			var out, errOut bytes.Buffer
			sh.Stdout, sh.Stderr = &out, &errOut
			runErr := sh.Run()
			parts := regexp.MustCompile(`\n@@block (\d+)\n`).Split("\n"+out.String(), -1)[1:]
			for i, b := range blocks {
				where := fmt.Sprintf("%s:%d", page.path, b.line)
				if i >= len(parts)-1 {
					got := ""
					if i < len(parts) {
						got = parts[i]
					}
					t.Fatalf("%s: the example failed (%v)\n--- script\n%s\n--- output\n%s\n--- stderr\n%s", where, runErr, b.script, got, errOut.String())
				}
				got := parts[i]
				for _, want := range b.expect {
					if !strings.Contains(got, want) {
						t.Errorf("%s: output does not contain %q\n--- script\n%s\n--- output\n%s", where, want, b.script, got)
					}
				}
				if b.reply != "" {
					want, err := jsonKeys(b.reply)
					if err != nil {
						t.Errorf("%s: the reply shown after the example is not a JSON object: %v", where, err)
						continue
					}
					have, err := jsonKeys(lastJSON(got))
					if err != nil {
						t.Errorf("%s: the example printed no JSON object to compare with the reply shown\n%s", where, got)
						continue
					}
					if strings.Join(have, ",") != strings.Join(want, ",") {
						t.Errorf("%s: the reply shown has the keys\n%v\nthe server answered with\n%v", where, want, have)
					}
				}
			}
			if runErr != nil {
				t.Fatalf("%s: %v\n%s", page.path, runErr, errOut.String())
			}
		})
	}
	if t.Failed() {
		t.Logf("server log:\n%s", logs)
	}
}
