package keyring

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// testKey returns a deterministic 32-byte key distinct per seed.
func testKey(seed byte) []byte {
	return bytes.Repeat([]byte{seed}, KeySize)
}

func mustRing(t *testing.T, keys ...[]byte) *Ring {
	t.Helper()
	r, err := New(keys...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	r := mustRing(t, testKey(1))
	tests := []struct {
		name  string
		plain string
	}{
		{"id number", "110101199003074514"},
		{"phone", "+86 138 0013 8000"},
		{"card", "6222 0202 0000 0000 123"},
		{"chinese name", "张三"},
		{"dots and spaces", "a.b.c k1.deadbeef.xyz"},
		{"one byte", "x"},
		{"long", strings.Repeat("0123456789", 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sealed, err := r.Seal(tt.plain)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			wantPrefix := "k1." + r.PrimaryID() + "."
			if !strings.HasPrefix(sealed, wantPrefix) {
				t.Errorf("sealed = %q, want prefix %q", sealed, wantPrefix)
			}
			if len(tt.plain) >= 4 && strings.Contains(sealed, tt.plain) {
				t.Errorf("sealed value contains the plaintext: %q", sealed)
			}
			got, err := r.Open(sealed)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got != tt.plain {
				t.Errorf("Open = %q, want %q", got, tt.plain)
			}
		})
	}
}

func TestEmptyStaysEmpty(t *testing.T) {
	t.Parallel()
	r := mustRing(t, testKey(1))
	sealed, err := r.Seal("")
	if err != nil || sealed != "" {
		t.Fatalf(`Seal("") = %q, %v; want "", nil`, sealed, err)
	}
	plain, err := r.Open("")
	if err != nil || plain != "" {
		t.Fatalf(`Open("") = %q, %v; want "", nil`, plain, err)
	}
}

func TestKeyIDFormat(t *testing.T) {
	t.Parallel()
	// sha256 of 32 zero bytes is 66687aadf862bd77...; the id is its first
	// 8 hex characters. Computed independently so a change in keyID that
	// still "looks right" is caught.
	r := mustRing(t, make([]byte, KeySize))
	if got, want := r.PrimaryID(), "66687aad"; got != want {
		t.Errorf("PrimaryID = %q, want %q", got, want)
	}
}

func TestNoncesDiffer(t *testing.T) {
	t.Parallel()
	r := mustRing(t, testKey(1))
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		s, err := r.Seal("110101199003074514")
		if err != nil {
			t.Fatal(err)
		}
		if seen[s] {
			t.Fatalf("same plaintext sealed to the same text twice: %q", s)
		}
		seen[s] = true
	}
}

func TestTamperDetected(t *testing.T) {
	t.Parallel()
	r := mustRing(t, testKey(1), testKey(2))
	sealed, err := r.Seal("6222020200000000123")
	if err != nil {
		t.Fatal(err)
	}
	prefix := sealed[:strings.LastIndexByte(sealed, '.')+1]
	raw, err := base64.RawURLEncoding.DecodeString(sealed[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}

	// Every single-bit flip anywhere in nonce, ciphertext or tag must fail.
	for i := range raw {
		for bit := 0; bit < 8; bit++ {
			mod := bytes.Clone(raw)
			mod[i] ^= 1 << bit
			s := prefix + base64.RawURLEncoding.EncodeToString(mod)
			if got, err := r.Open(s); err == nil {
				t.Fatalf("byte %d bit %d flipped: Open = %q, nil; want error", i, bit, got)
			}
		}
	}

	other := mustRing(t, testKey(2)).PrimaryID()
	payload := sealed[len(prefix):]
	tests := []struct {
		name   string
		sealed string
		want   string // substring of the error
	}{
		{"truncated tag", sealed[:len(sealed)-4], ""},
		{"appended data", prefix + base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0)), "authentication"},
		// The other key is in the ring, so only the GCM check stands
		// between a swapped id and a wrong answer.
		{"id swapped to other ring key", "k1." + other + "." + payload, "authentication"},
		{"unknown id", "k1.00000000." + payload, "unknown key"},
		{"wrong version", "k2" + sealed[2:], "not a sealed value"},
		{"plaintext", "110101199003074514", "not a sealed value"},
		{"no payload separator", "k1." + r.PrimaryID(), "missing key id"},
		{"too short", prefix + "AAAA", "too short"},
		{"bad base64", prefix + "!!!!", "bad base64"},
		{"padded base64", sealed + "==", "bad base64"},
		{"empty payload", prefix, "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.Open(tt.sealed)
			if err == nil {
				t.Fatalf("Open(%q) = %q, nil; want error", tt.sealed, got)
			}
			if got != "" {
				t.Errorf("Open returned %q alongside error", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestNonCanonicalBase64Rejected checks that changing only the unused low
// bits of the last base64 character, which a lenient decoder maps to the
// same bytes, is still refused.
func TestNonCanonicalBase64Rejected(t *testing.T) {
	t.Parallel()
	r := mustRing(t, testKey(1))
	for i := 0; i < 50; i++ {
		sealed, err := r.Seal("x")
		if err != nil {
			t.Fatal(err)
		}
		// 1 + 28 bytes = 29 bytes: 29 mod 3 = 2, so the last character
		// carries 2 unused bits.
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		last := strings.IndexByte(alphabet, sealed[len(sealed)-1])
		if last%4 != 0 {
			t.Fatalf("canonical encoding has unused bits set: %q", sealed)
		}
		mod := sealed[:len(sealed)-1] + string(alphabet[last+1])
		if _, err := r.Open(mod); err == nil {
			t.Fatalf("Open accepted non-canonical encoding %q", mod)
		}
	}
}

func TestUnknownKeyFromOtherRing(t *testing.T) {
	t.Parallel()
	a := mustRing(t, testKey(1))
	b := mustRing(t, testKey(2))
	sealed, err := a.Seal("secret")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Open(sealed); err == nil {
		t.Fatalf("other ring opened it: %q", got)
	}
}

func TestOldKeysOpen(t *testing.T) {
	t.Parallel()
	old := mustRing(t, testKey(1))
	sealed, err := old.Seal("13800138000")
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustRing(t, testKey(2), testKey(1))
	if rotated.PrimaryID() == old.PrimaryID() {
		t.Fatal("primary id did not change")
	}
	got, err := rotated.Open(sealed)
	if err != nil || got != "13800138000" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	fresh, _ := rotated.Seal("13800138000")
	if !strings.HasPrefix(fresh, "k1."+rotated.PrimaryID()+".") {
		t.Errorf("new seal %q does not use the new primary %s", fresh, rotated.PrimaryID())
	}
	if _, err := old.Open(fresh); err == nil {
		t.Error("old ring opened data sealed with a key it does not have")
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys [][]byte
		want string
	}{
		{"no keys", nil, "no keys"},
		{"short", [][]byte{make([]byte, 16)}, "key 1: key is 16 bytes, want 32"},
		{"long", [][]byte{testKey(1), make([]byte, 33)}, "key 2: key is 33 bytes"},
		{"duplicate", [][]byte{testKey(1), testKey(2), testKey(1)}, "key 3: duplicate key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.keys...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	k1, k2 := testKey(1), testKey(2)
	id1 := mustRing(t, k1).PrimaryID()
	id2 := mustRing(t, k2).PrimaryID()

	tests := []struct {
		name    string
		env     string
		primary string
		opens   []string // ids whose seals must open
	}{
		{"one key", b64(k1), id1, []string{id1}},
		{"two keys primary first", b64(k2) + "," + b64(k1), id2, []string{id1, id2}},
		{"spaces around entries", " " + b64(k1) + " , " + b64(k2) + "\n", id1, []string{id1, id2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "data.key")
			r, err := Load(path, tt.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("Load with %s touched the key file (stat err %v)", EnvVar, err)
			}
			if got := r.PrimaryID(); got != tt.primary {
				t.Errorf("PrimaryID = %s, want %s", got, tt.primary)
			}
			for _, id := range tt.opens {
				k := map[string][]byte{id1: k1, id2: k2}[id]
				s, _ := mustRing(t, k).Seal("v")
				if got, err := r.Open(s); err != nil || got != "v" {
					t.Errorf("Open of value sealed with %s = %q, %v", id, got, err)
				}
			}
		})
	}
}

func TestLoadEnvErrors(t *testing.T) {
	t.Parallel()
	good := b64(testKey(1))
	tests := []struct {
		name string
		env  string
		want string
	}{
		{"short key", b64(make([]byte, 16)), "BAOGUAN_DATA_KEY entry 1: key is 16 bytes, want 32"},
		{"long key", good + "," + b64(make([]byte, 48)), "BAOGUAN_DATA_KEY entry 2: key is 48 bytes"},
		{"bad base64", "not*base64", "BAOGUAN_DATA_KEY entry 1: not valid standard base64"},
		{"url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(b64(bytes.Repeat([]byte{0xfb, 0xff}, 16))), "BAOGUAN_DATA_KEY entry 1: not valid standard base64"},
		{"missing padding", strings.TrimRight(b64(testKey(3)), "="), "BAOGUAN_DATA_KEY entry 1: not valid standard base64"},
		{"trailing comma", good + ",", "BAOGUAN_DATA_KEY entry 2: empty key"},
		{"duplicate", good + "," + good, "BAOGUAN_DATA_KEY entry 2: duplicate key"},
		{"hex not base64", strings.Repeat("ab", 32), "BAOGUAN_DATA_KEY entry 1: key is 48 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "data.key")
			_, err := Load(path, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want containing %q", err, tt.want)
			}
			// Bad keys must not be echoed into logs.
			if len(tt.env) > 8 && strings.Contains(err.Error(), strings.TrimSpace(tt.env)) {
				t.Errorf("error %q contains the key text", err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("bad %s fell back to the key file", EnvVar)
			}
		})
	}
}

func TestLoadCreatesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data.key")
	r, err := Load(path, "")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file not created: %v", err)
	}
	if runtime.GOOS != "windows" {
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode = %o, want 600", perm)
		}
	}
	// No temporary files left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only the key file", names)
	}

	sealed, err := r.Seal("110101199003074514")
	if err != nil {
		t.Fatal(err)
	}
	// A second Load reads the same key rather than making another.
	r2, err := Load(path, "")
	if err != nil {
		t.Fatalf("second Load: %v", err)
	}
	if r2.PrimaryID() != r.PrimaryID() {
		t.Fatalf("second Load primary %s, first %s", r2.PrimaryID(), r.PrimaryID())
	}
	if got, err := r2.Open(sealed); err != nil || got != "110101199003074514" {
		t.Fatalf("reloaded ring Open = %q, %v", got, err)
	}

	// Two fresh files get different keys.
	r3, err := Load(filepath.Join(t.TempDir(), "data.key"), "")
	if err != nil {
		t.Fatal(err)
	}
	if r3.PrimaryID() == r.PrimaryID() {
		t.Error("two new key files got the same key")
	}
}

func TestLoadMissingDir(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "no-such-dir", "data.key")
	_, err := Load(path, "")
	if err == nil {
		t.Fatal("Load created a key file in a missing directory")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
}

func TestLoadNoPath(t *testing.T) {
	t.Parallel()
	if _, err := Load("", ""); err == nil || !strings.Contains(err.Error(), EnvVar) {
		t.Fatalf("Load(\"\", \"\") error = %v, want one mentioning %s", err, EnvVar)
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	k1, k2 := testKey(1), testKey(2)
	id1, id2 := keyID(k1), keyID(k2)
	line1 := id1 + " " + b64(k1)
	line2 := id2 + " " + b64(k2)

	tests := []struct {
		name    string
		content string
		primary string // "" means an error is expected
		want    string // error substring, with PATH replaced by the file name
	}{
		{"one key", line1 + "\n", id1, ""},
		{"no final newline", line1, id1, ""},
		{"comments blanks and order", "# header\n\n" + line2 + "  # newest\n\t" + line1 + "\n# end\n", id2, ""},
		{"crlf", "# x\r\n" + line1 + "\r\n" + line2 + "\r\n", id1, ""},
		{"empty", "", "", "PATH: no keys"},
		{"only comments", "# nothing\n\n", "", "PATH: no keys"},
		{"one field", "# c\n" + b64(k1) + "\n", "", "PATH:2: want \"id base64key\", got 1 fields"},
		{"three fields", line1 + " extra\n", "", "PATH:1: want \"id base64key\", got 3 fields"},
		{"bad base64", line1 + "\n" + id2 + " @@@@\n", "", "PATH:2: key is not valid standard base64"},
		{"short key", "\n\n" + id1 + " " + b64(k1[:31]) + "\n", "", "PATH:3: key is 31 bytes, want 32"},
		{"id mismatch", id2 + " " + b64(k1) + "\n", "", "PATH:1: id \"" + id2 + "\" does not match its key (want " + id1 + ")"},
		{"duplicate", line1 + "\n" + line1 + "\n", "", "PATH:2: duplicate key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "data.key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := Load(path, "")
			if tt.primary == "" {
				want := strings.ReplaceAll(tt.want, "PATH", path)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("Load error = %v, want containing %q", err, want)
				}
				if strings.Contains(err.Error(), b64(k1)) || strings.Contains(err.Error(), b64(k2)) {
					t.Errorf("error %q contains key material", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if r.PrimaryID() != tt.primary {
				t.Errorf("PrimaryID = %s, want %s", r.PrimaryID(), tt.primary)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.content {
				t.Error("Load modified an existing key file")
			}
		})
	}
}

func TestRotate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data.key")
	r1, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	oldSealed, err := r1.Seal("110101199003074514")
	if err != nil {
		t.Fatal(err)
	}

	newID, err := Rotate(path)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if newID == r1.PrimaryID() {
		t.Fatal("Rotate returned the old primary id")
	}

	r2, err := Load(path, "")
	if err != nil {
		t.Fatalf("Load after Rotate: %v", err)
	}
	if r2.PrimaryID() != newID {
		t.Errorf("primary after rotate = %s, want %s", r2.PrimaryID(), newID)
	}
	if got, err := r2.Open(oldSealed); err != nil || got != "110101199003074514" {
		t.Fatalf("old value after rotate: Open = %q, %v", got, err)
	}
	newSealed, err := r2.Seal("13800138000")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(newSealed, "k1."+newID+".") {
		t.Errorf("new seal %q does not use new key %s", newSealed, newID)
	}

	// Rotate again: three keys, all still open.
	third, err := Rotate(path)
	if err != nil {
		t.Fatal(err)
	}
	r3, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if r3.PrimaryID() != third {
		t.Errorf("primary = %s, want %s", r3.PrimaryID(), third)
	}
	for _, s := range []string{oldSealed, newSealed} {
		if _, err := r3.Open(s); err != nil {
			t.Errorf("after second rotate: %v", err)
		}
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after rotate = %o, want 600", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("rotate left %d entries in the directory, want 1", len(entries))
	}
}

func TestRotateKeepsHeaderAndComments(t *testing.T) {
	t.Parallel()
	k1 := testKey(1)
	content := "# my header\n# second line\n\n" + keyID(k1) + " " + b64(k1) + " # first key\n# trailer\n"
	path := filepath.Join(t.TempDir(), "data.key")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := Rotate(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	lines := strings.Split(string(got), "\n")
	if len(lines) != 7 {
		t.Fatalf("file after rotate has %d lines:\n%s", len(lines), got)
	}
	if lines[0] != "# my header" || lines[1] != "# second line" || lines[2] != "" {
		t.Errorf("header not kept on top:\n%s", got)
	}
	if !strings.HasPrefix(lines[3], id+" ") {
		t.Errorf("line 4 = %q, want the new key %s", lines[3], id)
	}
	if strings.Join(lines[4:], "\n") != keyID(k1)+" "+b64(k1)+" # first key\n# trailer\n" {
		t.Errorf("old content changed:\n%s", got)
	}
}

func TestRotateErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.key")
	if _, err := Rotate(missing); err == nil {
		t.Error("Rotate created a key file that did not exist")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Error("Rotate left a file at a missing path")
	}

	bad := filepath.Join(dir, "bad.key")
	const badContent = "deadbeef nonsense\n"
	if err := os.WriteFile(bad, []byte(badContent), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Rotate(bad)
	if err == nil || !strings.Contains(err.Error(), bad+":1:") {
		t.Errorf("Rotate on a bad file: err = %v, want one naming %s:1", err, bad)
	}
	if got, _ := os.ReadFile(bad); string(got) != badContent {
		t.Error("Rotate modified a file it could not parse")
	}
}

// TestRingFollowsFile: a ring loaded from a key file picks up a rotation
// done by another process — Open reads the file again when it meets the
// new key, Reload switches Seal to the new primary — and a key file that
// breaks or loses a key leaves the ring as it was.
func TestRingFollowsFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data.key")
	server, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	oldID := server.PrimaryID()
	if changed, err := server.Reload(); changed || err != nil {
		t.Fatalf("Reload of an unchanged file: %v %v", changed, err)
	}

	// Another process rotates and seals with the new key.
	newID, err := Rotate(path)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := cli.Seal("110101199003074514")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := server.Open(sealed); err != nil || got != "110101199003074514" {
		t.Fatalf("server opening a value sealed with the rotated key: %q %v", got, err)
	}
	if server.PrimaryID() != newID {
		t.Errorf("primary after the file was read again: %s, want %s", server.PrimaryID(), newID)
	}

	// A ring that has not met the new key switches at its next Reload.
	idle, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	third, err := Rotate(path)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := idle.Seal("x"); !strings.HasPrefix(s, "k1."+newID+".") {
		t.Errorf("seal before Reload: %q", s)
	}
	if changed, err := idle.Reload(); !changed || err != nil {
		t.Fatalf("Reload after a rotation: %v %v", changed, err)
	}
	if s, _ := idle.Seal("x"); !strings.HasPrefix(s, "k1."+third+".") {
		t.Errorf("seal after Reload: %q, want key %s", s, third)
	}

	// A broken file, or one that lost a key, is an error; the ring keeps
	// its keys and still opens and seals.
	data, _ := os.ReadFile(path)
	for name, content := range map[string]string{
		"garbage":  "not a key file\n",
		"lost key": strings.Split(string(data), oldID)[0],
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := idle.Reload(); err == nil {
			t.Errorf("%s: Reload succeeded", name)
		}
		if got, err := idle.Open(sealed); err != nil || got != "110101199003074514" {
			t.Errorf("%s: Open after a failed Reload: %q %v", name, got, err)
		}
		if s, _ := idle.Seal("x"); !strings.HasPrefix(s, "k1."+third+".") {
			t.Errorf("%s: seal after a failed Reload: %q", name, s)
		}
	}

	// A ring from BAOGUAN_DATA_KEY has no file to follow.
	env, err := Load("", b64(testKey(1)))
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := env.Reload(); changed || err != nil {
		t.Errorf("Reload of an environment ring: %v %v", changed, err)
	}
}
