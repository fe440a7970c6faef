package webhook

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test vector published with the Standard Webhooks specification and
// its reference libraries.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func specHeader() http.Header {
	h := http.Header{}
	h.Set(HeaderID, specMsgID)
	h.Set(HeaderTimestamp, strconv.Itoa(specTimestamp))
	h.Set(HeaderSignature, specSignature)
	return h
}

func TestSignSpecVector(t *testing.T) {
	t.Parallel()
	got, err := Sign(specSecret, specMsgID, time.Unix(specTimestamp, 0), []byte(specPayload))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if got != specSignature {
		t.Errorf("Sign = %q, want %q", got, specSignature)
	}
	// The secret prefix is optional, as in the reference libraries.
	got, err = Sign(strings.TrimPrefix(specSecret, SecretPrefix), specMsgID, time.Unix(specTimestamp, 0), []byte(specPayload))
	if err != nil || got != specSignature {
		t.Errorf("Sign without prefix = %q, %v; want %q", got, err, specSignature)
	}
	// Only whole seconds are signed.
	got, _ = Sign(specSecret, specMsgID, time.Unix(specTimestamp, 999_999_999), []byte(specPayload))
	if got != specSignature {
		t.Errorf("Sign with sub-second time = %q, want %q", got, specSignature)
	}
}

func TestVerifySpecVector(t *testing.T) {
	t.Parallel()
	now := time.Unix(specTimestamp, 0)
	if err := Verify(specSecret, specHeader(), []byte(specPayload), now, DefaultTolerance); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		s := NewSecret()
		if !strings.HasPrefix(s, SecretPrefix) {
			t.Fatalf("secret %q lacks prefix %q", s, SecretPrefix)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
		if err != nil {
			t.Fatalf("secret %q is not standard base64: %v", s, err)
		}
		if len(raw) != 24 {
			t.Fatalf("secret decodes to %d bytes, want 24", len(raw))
		}
		if seen[s] {
			t.Fatalf("NewSecret repeated %q", s)
		}
		seen[s] = true
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		body []byte
		now  time.Time
	}{
		{"json", []byte(`{"type":"declaration.accepted","data":{"id":"dcl_1"}}`), ts},
		{"empty body", nil, ts},
		{"binary body", []byte{0, 1, 2, 0xff, '.', '\n'}, ts},
		{"late within tolerance", []byte("x"), ts.Add(5 * time.Minute)},
		{"early within tolerance", []byte("x"), ts.Add(-5 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secret := NewSecret()
			sig, err := Sign(secret, "msg_1", ts, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set(HeaderID, "msg_1")
			h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
			h.Set(HeaderSignature, sig)
			if err := Verify(secret, h, tt.body, tt.now, DefaultTolerance); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	now := time.Unix(specTimestamp, 0)
	body := []byte(specPayload)
	with := func(name, value string) http.Header {
		h := specHeader()
		if value == "" {
			h.Del(name)
		} else {
			h.Set(name, value)
		}
		return h
	}
	sigBytes, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(specSignature, "v1,"))
	flipped := append([]byte(nil), sigBytes...)
	flipped[0] ^= 1

	tests := []struct {
		name    string
		secret  string
		h       http.Header
		body    []byte
		now     time.Time
		wantErr error // nil means any error
	}{
		{"wrong secret", NewSecret(), specHeader(), body, now, ErrSignature},
		{"body changed", specSecret, specHeader(), []byte(`{"test": 2432232315}`), now, ErrSignature},
		{"body extended", specSecret, specHeader(), append([]byte(specPayload), ' '), now, ErrSignature},
		{"id changed", specSecret, with(HeaderID, "msg_other"), body, now, ErrSignature},
		// A timestamp moved within tolerance still fails: it is signed.
		{"timestamp changed", specSecret, with(HeaderTimestamp, strconv.Itoa(specTimestamp+1)), body, now, ErrSignature},
		{"signature bit flipped", specSecret, with(HeaderSignature, "v1,"+base64.StdEncoding.EncodeToString(flipped)), body, now, ErrSignature},
		{"signature truncated", specSecret, with(HeaderSignature, "v1,"+base64.StdEncoding.EncodeToString(sigBytes[:16])), body, now, ErrSignature},
		{"wrong version", specSecret, with(HeaderSignature, "v2"+specSignature[2:]), body, now, ErrSignature},
		{"no version", specSecret, with(HeaderSignature, strings.TrimPrefix(specSignature, "v1,")), body, now, ErrSignature},
		{"asymmetric entry only", specSecret, with(HeaderSignature, "v1a,"+strings.TrimPrefix(specSignature, "v1,")), body, now, ErrSignature},
		{"signature not base64", specSecret, with(HeaderSignature, "v1,@@@"), body, now, ErrSignature},
		{"missing id", specSecret, with(HeaderID, ""), body, now, ErrMissingHeader},
		{"missing timestamp", specSecret, with(HeaderTimestamp, ""), body, now, ErrMissingHeader},
		{"missing signature", specSecret, with(HeaderSignature, ""), body, now, ErrMissingHeader},
		{"blank signature", specSecret, with(HeaderSignature, "   "), body, now, ErrMissingHeader},
		{"too old", specSecret, specHeader(), body, now.Add(5*time.Minute + time.Second), ErrTimestamp},
		{"too new", specSecret, specHeader(), body, now.Add(-5*time.Minute - time.Second), ErrTimestamp},
		{"far future", specSecret, with(HeaderTimestamp, "999999999999999999"), body, now, ErrTimestamp},
		{"timestamp in ms", specSecret, with(HeaderTimestamp, strconv.Itoa(specTimestamp*1000)), body, now, ErrTimestamp},
		{"timestamp not a number", specSecret, with(HeaderTimestamp, "yesterday"), body, now, ErrTimestamp},
		{"timestamp signed", specSecret, with(HeaderTimestamp, "+"+strconv.Itoa(specTimestamp)), body, now, ErrTimestamp},
		{"timestamp negative", specSecret, with(HeaderTimestamp, "-1"), body, now, ErrTimestamp},
		{"timestamp too long", specSecret, with(HeaderTimestamp, strings.Repeat("9", 30)), body, now, ErrTimestamp},
		{"bad secret", "whsec_not base64!", specHeader(), body, now, nil},
		{"empty secret", "whsec_", specHeader(), body, now, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Verify(tt.secret, tt.h, tt.body, tt.now, DefaultTolerance)
			if err == nil {
				t.Fatal("Verify accepted the message")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyToleranceEdges(t *testing.T) {
	t.Parallel()
	now := time.Unix(specTimestamp, 0)
	tests := []struct {
		name      string
		now       time.Time
		tolerance time.Duration
		ok        bool
	}{
		{"zero tolerance same second", now.Add(999 * time.Millisecond), 0, true},
		{"zero tolerance next second", now.Add(time.Second), 0, false},
		{"exactly at tolerance past", now.Add(30 * time.Second), 30 * time.Second, true},
		{"exactly at tolerance future", now.Add(-30 * time.Second), 30 * time.Second, true},
		{"one past tolerance", now.Add(31 * time.Second), 30 * time.Second, false},
		{"one before tolerance", now.Add(-31 * time.Second), 30 * time.Second, false},
		{"negative tolerance", now, -time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Verify(specSecret, specHeader(), []byte(specPayload), tt.now, tt.tolerance)
			if (err == nil) != tt.ok {
				t.Errorf("Verify error = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestVerifySignatureList(t *testing.T) {
	t.Parallel()
	now := time.Unix(specTimestamp, 0)
	body := []byte(specPayload)
	other, _ := Sign(NewSecret(), specMsgID, now, body)
	tests := []struct {
		name   string
		values []string // webhook-signature header lines
		ok     bool
	}{
		{"match last", []string{other + " " + specSignature}, true},
		{"match first", []string{specSignature + " " + other}, true},
		{"among other versions", []string{"v1a,AAAA v2,BBBB " + specSignature}, true},
		{"extra spaces", []string{"  " + other + "   " + specSignature + "  "}, true},
		{"second header line", []string{other, specSignature}, true},
		{"none match", []string{other + " " + other}, false},
		{"comma separated is not a list", []string{other + "," + specSignature}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := specHeader()
			h.Del(HeaderSignature)
			for _, v := range tt.values {
				h.Add(HeaderSignature, v)
			}
			err := Verify(specSecret, h, body, now, DefaultTolerance)
			if (err == nil) != tt.ok {
				t.Errorf("Verify error = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, secret, msgID string
	}{
		{"secret not base64", "whsec_%%%", "msg_1"},
		{"empty secret", "whsec_", "msg_1"},
		{"no secret", "", "msg_1"},
		{"empty msg id", specSecret, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sig, err := Sign(tt.secret, tt.msgID, time.Unix(specTimestamp, 0), []byte("x"))
			if err == nil {
				t.Fatalf("Sign = %q, nil; want error", sig)
			}
			if tt.secret != "" && len(tt.secret) > len(SecretPrefix) && strings.Contains(err.Error(), tt.secret[len(SecretPrefix):]) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

// TestVerifyRefusesNonCanonicalBase64: the spec vector's signature ends in
// "E="; "F=" to "H=" differ only in bits base64 leaves unused, and decode
// to the same MAC with a lenient decoder. Only the canonical text verifies
// (a FuzzVerify finding).
func TestVerifyRefusesNonCanonicalBase64(t *testing.T) {
	t.Parallel()
	now := time.Unix(specTimestamp, 0)
	for _, last := range []string{"F=", "G=", "H="} {
		h := specHeader()
		h.Set(HeaderSignature, strings.TrimSuffix(specSignature, "E=")+last)
		if err := Verify(specSecret, h, []byte(specPayload), now, DefaultTolerance); !errors.Is(err, ErrSignature) {
			t.Errorf("signature ending %q: %v, want ErrSignature", last, err)
		}
	}
	if err := Verify(specSecret, specHeader(), []byte(specPayload), now, DefaultTolerance); err != nil {
		t.Errorf("the canonical signature: %v", err)
	}
}

// TestSignerSignsAgain: a Signer signs message after message as Sign
// does, each verified with its secret and not with another's — a kept
// HMAC starts each message from the key alone.
func TestSignerSignsAgain(t *testing.T) {
	secret, other := NewSecret(), NewSecret()
	s, err := NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(specTimestamp, 0)
	for i := range 50 {
		id := "msg_" + strconv.Itoa(i)
		if i%7 == 0 {
			id += strings.Repeat("x", 100) // longer than the head's buffer
		}
		body := []byte(`{"n":` + strconv.Itoa(i) + `}`)
		sig, err := s.Sign(id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := Sign(secret, id, now, body); sig != want {
			t.Fatalf("message %d: Signer gave %s, Sign %s", i, sig, want)
		}
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, strconv.Itoa(specTimestamp))
		h.Set(HeaderSignature, sig)
		if err := Verify(secret, h, body, now, DefaultTolerance); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if err := Verify(other, h, body, now, DefaultTolerance); err == nil {
			t.Fatalf("message %d verifies with another secret", i)
		}
	}
	if _, err := s.Sign("", now, nil); err == nil {
		t.Error("Signer.Sign with an empty message id: no error")
	}
}

// TestSignerConcurrent: senders share a Signer; each signature is the one
// Sign gives for its own message (run with -race too).
func TestSignerConcurrent(t *testing.T) {
	secret := NewSecret()
	s, err := NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(specTimestamp, 0)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				id := "msg_" + strconv.Itoa(g) + "_" + strconv.Itoa(i)
				body := []byte(strings.Repeat(strconv.Itoa(g), i))
				got, err := s.Sign(id, now, body)
				if err != nil {
					errs <- err
					return
				}
				if want, _ := Sign(secret, id, now, body); got != want {
					errs <- errors.New(id + ": " + got + ", want " + want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
