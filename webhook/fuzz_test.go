package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds Verify arbitrary headers and bodies. It must never
// panic, and it may accept only a request that carries, among its
// signatures, the HMAC-SHA256 of id.timestamp.body under the secret,
// computed here independently of mac, with a timestamp within tolerance.
// A request signed with Sign is always accepted.
func FuzzVerify(f *testing.F) {
	f.Add(specMsgID, strconv.Itoa(specTimestamp), specSignature, []byte(specPayload), int64(specTimestamp))
	f.Add(specMsgID, strconv.Itoa(specTimestamp), "v1,"+strings.Repeat("A", 44)+" "+specSignature, []byte(specPayload), int64(specTimestamp+299))
	f.Add("", "", "", []byte(nil), int64(0))
	f.Add("id", "99999999999999999999", "v1,x", []byte("{}"), int64(1))
	f.Add("id", "-1", "v2,abc v1", []byte("{}"), int64(-1))
	f.Add("id", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", []byte(specPayload), int64(specTimestamp))
	f.Fuzz(func(t *testing.T, id, ts, sigs string, body []byte, now int64) {
		if now < -1<<40 || now > 1<<40 {
			return // time.Unix far outside any clock
		}
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sigs)
		err := Verify(specSecret, h, body, time.Unix(now, 0), DefaultTolerance)
		if err == nil {
			unix, perr := strconv.ParseInt(ts, 10, 64)
			if perr != nil || unix-now > 300 || now-unix > 300 {
				t.Fatalf("accepted timestamp %q at %d", ts, now)
			}
			key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(specSecret, SecretPrefix))
			m := hmac.New(sha256.New, key)
			m.Write([]byte(h.Get(HeaderID) + "." + strconv.FormatInt(unix, 10) + "."))
			m.Write(body)
			want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
			found := false
			for _, s := range strings.Fields(h.Get(HeaderSignature)) {
				found = found || s == want
			}
			if !found {
				t.Fatalf("accepted %q for id %q ts %q body %q without the right signature", sigs, id, ts, body)
			}
		}
		// What Sign makes, Verify takes.
		if id != "" && !strings.ContainsAny(id, "\r\n") && strings.TrimSpace(id) == id {
			sig, err := Sign(specSecret, id, time.Unix(now, 0), body)
			if err != nil {
				t.Fatal(err)
			}
			h.Set(HeaderTimestamp, strconv.FormatInt(now, 10))
			h.Set(HeaderSignature, sig)
			if now >= 0 {
				if err := Verify(specSecret, h, body, time.Unix(now, 0), DefaultTolerance); err != nil {
					t.Fatalf("Verify of a fresh signature for id %q: %v", id, err)
				}
			}
		}
	})
}
