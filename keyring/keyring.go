// Package keyring encrypts personal data at rest (payer ID numbers, phone
// numbers, bank card numbers) with AES-256-GCM under keys kept outside the
// database, so that a copied database file or backup alone does not reveal
// them.
//
// A Ring holds one or more keys. The first is the primary key and seals all
// new values; every key can open, so old rows stay readable after a key
// rotation. Sealed values are self-describing text:
//
//	k1.<key id>.<base64url(nonce || ciphertext || tag)>
//
// where the key id is the first 8 hex characters of SHA-256 of the key. The
// id tells Open which key to use without trying them all, and it is bound
// into the GCM tag as additional data so it cannot be swapped undetected.
// Values kept in BLOB/BYTEA columns (notification bodies, saved answers)
// may take a binary form instead (SealBinary), the same payload without
// its base64:
//
//	NUL k2.<key id>.<nonce || ciphertext || tag>
//
// whose header is the additional data; OpenBytes opens either form.
//
// Keys come either from the BAOGUAN_DATA_KEY environment variable or from a
// key file next to the database (see Load).
package keyring

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// EnvVar is the environment variable that, when set, holds the whole ring and
// takes precedence over the key file.
const EnvVar = "BAOGUAN_DATA_KEY"

// KeySize is the length of every key in bytes (AES-256).
const KeySize = 32

// version is the prefix of every sealed value. A new format (another cipher,
// another encoding) gets another prefix so old and new values can coexist.
const version = "k1"

// sealedEncoding encodes the nonce and ciphertext. It is URL-safe so sealed
// values can travel in URLs and file names unescaped, unpadded because the
// padding carries no information, and strict so that a value whose unused
// trailing bits were altered is rejected rather than silently decoded to the
// same bytes.
var sealedEncoding = base64.RawURLEncoding.Strict()

// fileHeader starts every key file Load creates; it tells whoever finds the
// file what it is and why losing it is serious.
const fileHeader = `# baoguan data encryption keys (AES-256-GCM), one per line: "id base64key".
# The first key is primary and encrypts new data; all keys decrypt.
# Back this file up separately from the database: without it, encrypted
# fields (ID numbers, phones, card numbers) cannot be recovered.
# Rotate with the CLI rather than by hand; never delete a key that data still uses.
`

// Ring is an ordered set of keys: the first is primary and is used by Seal;
// all of them are used by Open. A Ring is safe for concurrent use.
//
// A ring loaded from a key file follows the file: Reload reads it again
// when it changed, and Open does so by itself when it meets a value sealed
// with a key it does not know — so that after `baoguan data-key rotate` a
// running server opens what another process sealed with the new key, and
// (from its next Reload) seals with it too, without a restart.
type Ring struct {
	mu   sync.RWMutex
	keys []ringKey          // primary first
	byID map[string]ringKey // every key, for Open

	path   string      // the key file; "" when the ring did not come from one
	reload sync.Mutex  // one reader of the file at a time
	stamp  os.FileInfo // the file as it was when last read
}

// ringKey is one key, kept only as its AEAD so the raw bytes are not lying
// around in the Ring where a debug print could reach them.
type ringKey struct {
	id string
	ad []byte // id, the additional data of every value sealed with the key
	// binAD is the header of the key's binary values (SealBinary), their
	// additional data: the format and the key are bound into the tag.
	binAD []byte
	aead  cipher.AEAD
}

// New returns a ring of the given keys, primary first. Each key must be
// KeySize bytes, and no key may appear twice.
func New(keys ...[]byte) (*Ring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no keys")
	}
	r := &Ring{byID: make(map[string]ringKey, len(keys))}
	for i, k := range keys {
		if err := r.add(k); err != nil {
			return nil, fmt.Errorf("keyring: key %d: %w", i+1, err)
		}
	}
	return r, nil
}

// add appends key k to the ring; errors carry no position so callers can
// prefix the file line or variable entry they came from.
func (r *Ring) add(k []byte) error {
	if len(k) != KeySize {
		return fmt.Errorf("key is %d bytes, want %d", len(k), KeySize)
	}
	id := keyID(k)
	if _, dup := r.byID[id]; dup {
		return fmt.Errorf("duplicate key %s", id)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return err
	}
	// The random-nonce GCM prepends its 96-bit nonce to the ciphertext, which
	// is exactly the nonce||ciphertext layout of the sealed format.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return err
	}
	rk := ringKey{id: id, ad: []byte(id), binAD: []byte(binPrefix + id + "."), aead: aead}
	r.keys = append(r.keys, rk)
	r.byID[id] = rk
	return nil
}

// keyID names a key by a short hash of it: stable, needs no registry, and
// reveals nothing useful about the key.
func keyID(k []byte) string {
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:4])
}

// PrimaryID returns the id of the key Seal uses.
func (r *Ring) PrimaryID() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys[0].id
}

// Reload reads the ring's key file again if it changed since it was last
// read (another name, size or modification time: Rotate replaces the file)
// and reports whether the keys changed. A file that no longer parses
// leaves the ring as it was and is an error; so does one that lost a key
// the ring holds, since data sealed with it would no longer open. A ring
// not loaded from a file never changes.
func (r *Ring) Reload() (bool, error) {
	if r.path == "" {
		return false, nil
	}
	r.reload.Lock()
	defer r.reload.Unlock()
	fi, err := os.Stat(r.path)
	if err != nil {
		return false, fmt.Errorf("keyring: key file: %w", err)
	}
	if r.stamp != nil && os.SameFile(fi, r.stamp) && fi.Size() == r.stamp.Size() && fi.ModTime().Equal(r.stamp.ModTime()) {
		return false, nil
	}
	data, err := os.ReadFile(r.path)
	if err != nil {
		return false, fmt.Errorf("keyring: key file: %w", err)
	}
	fresh, _, err := parseFile(r.path, data)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.byID {
		if _, ok := fresh.byID[id]; !ok {
			return false, fmt.Errorf("keyring: %s no longer holds key %s, which data may be sealed with; the ring keeps it", r.path, id)
		}
	}
	changed := len(fresh.keys) != len(r.keys) || fresh.keys[0].id != r.keys[0].id
	r.keys, r.byID, r.stamp = fresh.keys, fresh.byID, fi
	return changed, nil
}

// Seal encrypts plain with the primary key and returns the sealed text.
// The empty string seals to the empty string, so optional fields that were
// never filled in stay recognisably empty in the database.
func (r *Ring) Seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	sp := scratch.Get().(*[]byte)
	defer putScratch(sp)
	k, enc := sealScratch(r, sp, plain)
	var sb strings.Builder
	sb.Grow(len(version) + 1 + len(k.id) + 1 + len(enc))
	sb.WriteString(version)
	sb.WriteByte('.')
	sb.WriteString(k.id)
	sb.WriteByte('.')
	sb.Write(enc)
	return sb.String(), nil
}

// SealBytes is Seal for a value held as bytes (a body kept in a BLOB
// column): the sealed text's bytes, without going through strings. Empty
// seals to empty (not nil).
func (r *Ring) SealBytes(plain []byte) ([]byte, error) {
	if len(plain) == 0 {
		return []byte{}, nil
	}
	sp := scratch.Get().(*[]byte)
	defer putScratch(sp)
	k, enc := sealScratch(r, sp, plain)
	out := make([]byte, 0, len(version)+1+len(k.id)+1+len(enc))
	out = append(out, version...)
	out = append(out, '.')
	out = append(out, k.id...)
	out = append(out, '.')
	return append(out, enc...), nil
}

// binPrefix begins every value SealBinary makes. Its first byte is NUL,
// which begins no text (no k1 value, no rendered body — JSON, XML or a
// form — no plaintext written by an earlier version), so that one column
// may hold both forms and plaintext besides.
const binPrefix = "\x00k2."

// SealBinary seals plain with the primary key into a binary value, for a
// BLOB/BYTEA column: binPrefix, the key id, '.', then nonce || ciphertext
// || tag as raw bytes — the sealed text's payload without its base64,
// which made a value a third larger than its bytes. The header is the
// additional data. Empty seals to empty (not nil). OpenBytes opens it.
func (r *Ring) SealBinary(plain []byte) ([]byte, error) {
	if len(plain) == 0 {
		return []byte{}, nil
	}
	r.mu.RLock()
	k := r.keys[0]
	r.mu.RUnlock()
	out := make([]byte, len(k.binAD), len(k.binAD)+len(plain)+k.aead.Overhead())
	copy(out, k.binAD)
	return k.aead.Seal(out, nil, plain, k.binAD), nil
}

// SealBinaryTo is SealBinary appending the sealed value to dst, for a
// caller that keeps its own buffer (a job batch's sealed notifications).
// Empty seals to nothing: dst is returned as it is.
func (r *Ring) SealBinaryTo(dst, plain []byte) ([]byte, error) {
	if len(plain) == 0 {
		return dst, nil
	}
	r.mu.RLock()
	k := r.keys[0]
	r.mu.RUnlock()
	return k.aead.Seal(append(dst, k.binAD...), nil, plain, k.binAD), nil
}

// IsSealedBinary reports whether v has the form SealBinary produces.
func IsSealedBinary(v []byte) bool {
	return len(v) > len(binPrefix) && string(v[:len(binPrefix)]) == binPrefix
}

// openBinary opens a value of SealBinary's into a new slice.
func (r *Ring) openBinary(sealed []byte) ([]byte, error) {
	idb, payload, ok := bytes.Cut(sealed[len(binPrefix):], []byte{'.'})
	if !ok {
		return nil, errors.New("keyring: malformed sealed value: missing key id")
	}
	k, ok := r.keyOf(idb)
	if !ok && r.path != "" {
		if _, err := r.Reload(); err == nil { // as in openScratch
			k, ok = r.keyOf(idb)
		}
	}
	if !ok {
		return nil, fmt.Errorf("keyring: sealed with unknown key %q (not in the ring)", idb)
	}
	if len(payload) < k.aead.Overhead() {
		return nil, errors.New("keyring: malformed sealed value: too short")
	}
	plain, err := k.aead.Open(make([]byte, 0, len(payload)-k.aead.Overhead()), nil, payload, k.binAD)
	if err != nil {
		return nil, fmt.Errorf("keyring: sealed value with key %s failed authentication (corrupted or tampered)", k.id)
	}
	return plain, nil
}

// sealScratch seals plain with the primary key in the scratch buffer *sp
// and returns the key and the encoded nonce||ciphertext||tag, which lives
// in *sp. One buffer holds the plaintext, then the sealed bytes after it,
// then their encoding after that, so the caller's result is the only
// allocation (values are sealed on every write of personal data and of
// notification bodies).
func sealScratch[T string | []byte](r *Ring, sp *[]byte, plain T) (ringKey, []byte) {
	r.mu.RLock()
	k := r.keys[0]
	r.mu.RUnlock()
	buf := append((*sp)[:0], plain...)
	n := len(buf)
	buf = k.aead.Seal(buf, nil, buf[:n], k.ad)
	m := len(buf)
	buf = sealedEncoding.AppendEncode(buf, buf[n:m])
	*sp = buf
	return k, buf[m:]
}

// scratch holds buffers Seal and Open work in.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// putScratch returns a buffer to scratch unless it grew large (a big
// value): the pool should not keep it alive.
func putScratch(sp *[]byte) {
	if cap(*sp) <= 64<<10 {
		scratch.Put(sp)
	}
}

// IsSealed reports whether v has the form Seal produces. Columns that were
// stored in plaintext by older versions use it to read old rows as they are.
func IsSealed(v string) bool { return strings.HasPrefix(v, version+".") }

// IsSealedBytes is IsSealed for bytes: a sealed text's bytes, or a value
// of SealBinary's.
func IsSealedBytes(v []byte) bool {
	return len(v) > len(version) && string(v[:len(version)]) == version && v[len(version)] == '.' || IsSealedBinary(v)
}

// Open decrypts a value produced by Seal with any key of the ring. The empty
// string opens to the empty string. A value whose key is not in the ring, or
// that was altered in any way, is an error; Open never returns unauthenticated
// data.
func (r *Ring) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	sp := scratch.Get().(*[]byte)
	defer putScratch(sp)
	plain, err := openScratch(r, sp, sealed)
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

// OpenBytes is Open for a value held as bytes (SealBytes' or
// SealBinary's): the plaintext as a new slice. Empty opens to empty (not
// nil).
func (r *Ring) OpenBytes(sealed []byte) ([]byte, error) {
	if len(sealed) == 0 {
		return []byte{}, nil
	}
	if IsSealedBinary(sealed) {
		return r.openBinary(sealed)
	}
	sp := scratch.Get().(*[]byte)
	defer putScratch(sp)
	plain, err := openScratch(r, sp, sealed)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), plain...), nil
}

// openScratch opens sealed in the scratch buffer *sp and returns the
// plaintext, which lives in *sp. As in sealScratch, one buffer: the encoded
// payload, the decoded nonce||ciphertext||tag after it, the plaintext after
// that.
func openScratch[T string | []byte](r *Ring, sp *[]byte, sealed T) ([]byte, error) {
	buf := append((*sp)[:0], sealed...)
	*sp = buf
	ver, rest, ok := bytes.Cut(buf, []byte{'.'})
	if !ok || string(ver) != version {
		return nil, errors.New("keyring: not a sealed value (want prefix " + version + ".)")
	}
	idb, payload, ok := bytes.Cut(rest, []byte{'.'})
	if !ok {
		return nil, errors.New("keyring: malformed sealed value: missing key id")
	}
	k, ok := r.keyOf(idb)
	if !ok && r.path != "" {
		// Another process may have rotated the key file and sealed with
		// the new key: read the file again before giving up.
		if _, err := r.Reload(); err == nil {
			k, ok = r.keyOf(idb)
		}
	}
	if !ok {
		// The id is a hash prefix, not secret, so naming it helps an operator
		// find which old key file is missing.
		return nil, fmt.Errorf("keyring: sealed with unknown key %q (not in the ring)", idb)
	}
	n := len(buf)
	buf, err := sealedEncoding.AppendDecode(buf, payload)
	*sp = buf
	if err != nil {
		return nil, errors.New("keyring: malformed sealed value: bad base64")
	}
	m := len(buf)
	if m-n < k.aead.Overhead() {
		return nil, errors.New("keyring: malformed sealed value: too short")
	}
	buf, err = k.aead.Open(buf, nil, buf[n:m], k.ad)
	if err != nil {
		return nil, fmt.Errorf("keyring: sealed value with key %s failed authentication (corrupted or tampered)", k.id)
	}
	*sp = buf
	return buf[m:], nil
}

// keyOf returns the ring's key of an id (as bytes: no string is made for
// the lookup).
func (r *Ring) keyOf(id []byte) (ringKey, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.byID[string(id)]
	return k, ok
}

// Load returns the ring for a database.
//
// If env (the value of BAOGUAN_DATA_KEY) is non-empty it is the ring:
// comma-separated standard base64 keys of KeySize bytes, primary first, and
// no file is read or created.
//
// Otherwise the key file at path is read. If it does not exist it is created,
// mode 0600, with one fresh random key; its directory must already exist, so
// that a mistyped path fails instead of silently starting a new ring. The
// file holds one key per line as "id base64key", primary first; blank lines
// and '#' comments are ignored, and each id must match its key.
//
// Errors name the file and line, or the variable and entry, at fault; they
// never contain key material.
func Load(path, env string) (*Ring, error) {
	if env != "" {
		return parseEnv(env)
	}
	if path == "" {
		return nil, fmt.Errorf("keyring: no key file path given and %s is empty", EnvVar)
	}
	// The file is stamped before it is read: a rotation in between makes
	// the first Reload read it again rather than miss the new key.
	stamp, _ := os.Stat(path)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := create(path); err != nil {
			return nil, err
		}
		stamp, _ = os.Stat(path)
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: key file: %w", err)
	}
	r, _, err := parseFile(path, data)
	if err != nil {
		return nil, err
	}
	r.path, r.stamp = path, stamp
	return r, nil
}

// parseEnv parses the BAOGUAN_DATA_KEY form of a ring.
func parseEnv(env string) (*Ring, error) {
	r := &Ring{byID: map[string]ringKey{}}
	for i, field := range strings.Split(env, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			return nil, fmt.Errorf("keyring: %s entry %d: empty key", EnvVar, i+1)
		}
		k, err := base64.StdEncoding.Strict().DecodeString(field)
		if err != nil {
			// The decoder's error (a byte offset) is dropped: the entry
			// number is what an operator needs to find the bad key.
			return nil, fmt.Errorf("keyring: %s entry %d: not valid standard base64", EnvVar, i+1)
		}
		if err := r.add(k); err != nil {
			return nil, fmt.Errorf("keyring: %s entry %d: %w", EnvVar, i+1, err)
		}
	}
	return r, nil
}

// parseFile parses a key file. It also returns the byte offset of the first
// key line so Rotate can insert the new primary key there, below the header
// comments.
func parseFile(path string, data []byte) (*Ring, int, error) {
	r := &Ring{byID: map[string]ringKey{}}
	firstKey := -1
	// Lines are split by hand rather than with bufio.Scanner so the byte
	// offsets stay exact for CRLF files and no line length limit applies.
	for n, start := 1, 0; start < len(data); n++ {
		end := bytes.IndexByte(data[start:], '\n')
		next := start + end + 1
		if end < 0 {
			end, next = len(data)-start, len(data)
		}
		line := string(data[start : start+end])
		lineStart := start
		start = next
		if i := strings.IndexByte(line, '#'); i >= 0 {
			// Standard base64 and hex ids never contain '#', so anything
			// after one is a comment, whole-line or trailing.
			line = line[:i]
		}
		f := strings.Fields(line) // also drops a CR before the newline
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, 0, fmt.Errorf("keyring: %s:%d: want \"id base64key\", got %d fields", path, n, len(f))
		}
		k, err := base64.StdEncoding.Strict().DecodeString(f[1])
		if err != nil {
			return nil, 0, fmt.Errorf("keyring: %s:%d: key is not valid standard base64", path, n)
		}
		if err := r.add(k); err != nil {
			return nil, 0, fmt.Errorf("keyring: %s:%d: %w", path, n, err)
		}
		// A hand-edited file where ids and keys got out of step would make
		// data sealed by this ring carry ids that disagree with the file;
		// refuse it rather than guess which half is right.
		if got := r.keys[len(r.keys)-1].id; f[0] != got {
			return nil, 0, fmt.Errorf("keyring: %s:%d: id %q does not match its key (want %s)", path, n, f[0], got)
		}
		if firstKey < 0 {
			firstKey = lineStart
		}
	}
	if len(r.keys) == 0 {
		return nil, 0, fmt.Errorf("keyring: %s: no keys", path)
	}
	return r, firstKey, nil
}

// newKeyLine returns a fresh random key as a key file line, and its id.
func newKeyLine() (line, id string) {
	k := make([]byte, KeySize)
	// crypto/rand.Read never fails on supported platforms (it crashes the
	// program instead), so its error is not worth a branch here.
	_, _ = rand.Read(k)
	id = keyID(k)
	return id + " " + base64.StdEncoding.EncodeToString(k) + "\n", id
}

// create writes a new key file with one fresh key. The content goes to a
// temporary file first and is then hard-linked into place: the link fails if
// path appeared meanwhile (another process starting on the same database),
// so neither process ever sees a half-written file nor overwrites the other's
// key.
func create(path string) error {
	line, _ := newKeyLine()
	tmp, err := writeTemp(path, []byte(fileHeader+line))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("keyring: creating key file: %w", err)
	}
	syncDir(path)
	return nil
}

// writeTemp writes data to a new 0600 file in path's directory, synced to
// disk, and returns its name. Same directory so a later rename or link stays
// within one file system.
func writeTemp(path string, data []byte) (string, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("keyring: creating key file %s: %w", path, err)
	}
	name := f.Name()
	// CreateTemp already uses 0600; Chmod makes that a guarantee of this
	// package rather than of the standard library's current behaviour.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("keyring: writing key file %s: %w", path, err)
	}
	return name, nil
}

// syncDir flushes the directory entry of path so a crash right after creating
// or rotating the key file cannot lose the file while data sealed with its
// key is already in the database. Some systems cannot sync directories; that
// is not worth failing over.
func syncDir(path string) {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return
	}
	defer d.Close()
	_ = d.Sync()
}

// Rotate adds a fresh key to the key file at path as its new primary key and
// returns the new key's id. Old keys stay in the file, so data they sealed
// still opens; running processes keep sealing with the old primary until
// their ring reloads the file (Reload, or Open meeting the new key).
//
// The file must already exist and parse: rotating a mistyped path must not
// quietly start a new ring. The new line goes just above the first key line,
// keeping any header comments on top, and the file is replaced atomically.
// Rotate is an operator action; concurrent Rotate calls on one file may lose
// one of the new keys (but never an old one).
func Rotate(path string) (newID string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("keyring: rotate: %w", err)
	}
	_, at, err := parseFile(path, data)
	if err != nil {
		return "", err
	}
	line, id := newKeyLine()
	out := make([]byte, 0, len(data)+len(line))
	out = append(out, data[:at]...)
	out = append(out, line...)
	out = append(out, data[at:]...)
	tmp, err := writeTemp(path, out)
	if err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("keyring: rotate: %w", err)
	}
	syncDir(path)
	return id, nil
}
