package accp_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/accp"
)

// TestCertificateValidity: a merchant key registered as a certificate
// signs only within the certificate's validity on the gateway's clock:
// before NotBefore and after NotAfter the same correctly signed request is
// refused with 1001 and the dates; inside it, it is accepted.
func TestCertificateValidity(t *testing.T) {
	e := newEnv(t, 0)
	notBefore, notAfter := start.Add(-24*time.Hour), start.Add(24*time.Hour)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: mchID}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &merchantKey().PublicKey, merchantKey())
	if err != nil {
		t.Fatal(err)
	}
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if _, err := e.svc.UpdateMerchant(e.ctx, mchID, func(m *baoguan.Merchant) error {
		m.Settings[accp.SettingPublicKey] = cert
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	query := func() response {
		b, _ := json.Marshal(map[string]any{"timestamp": e.timestamp(0), "mch_id": mchID, "txn_seqno": "NOPE"})
		return e.call(e.http.URL+"/accp/v1/cbpayment/query-pushpay", b, nil, nil)
	}
	for _, tc := range []struct {
		name  string
		at    time.Time
		valid bool
	}{
		{"a second before NotBefore", notBefore.Add(-time.Second), false},
		{"at NotBefore", notBefore, true},
		{"now", start, true},
		{"at NotAfter", notAfter, true},
		{"a second after NotAfter", notAfter.Add(time.Second), false},
		{"a year after NotAfter", notAfter.AddDate(1, 0, 0), false},
	} {
		e.clock.mu.Lock()
		e.clock.t = tc.at
		e.clock.mu.Unlock()
		r := query()
		code := r.reply["ret_code"]
		switch {
		case tc.valid && code == accp.CodeBadSignature:
			t.Errorf("%s: refused: %s", tc.name, r.body)
		case !tc.valid && (code != accp.CodeBadSignature || !strings.Contains(r.reply["ret_msg"], "valid from")):
			t.Errorf("%s: %s, want 1001 naming the validity", tc.name, r.body)
		}
	}
}
