package ceb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/ceb"
	"github.com/baoguan/baoguan/ceb/cebtest"
)

func standIn(t *testing.T) (*cebtest.Signer, *ceb.HTTPSigner) {
	t.Helper()
	s, err := cebtest.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, &ceb.HTTPSigner{URL: s.URL(), Token: s.Token}
}

// xmlsecVerify checks a signed message with xmlsec1, an independent
// XML-DSig implementation that canonicalises the message itself.
func xmlsecVerify(t *testing.T, s *cebtest.Signer, signed []byte) error {
	t.Helper()
	xmlsec := tool(t, "xmlsec1", "xmlsec1")
	dir := t.TempDir()
	key, msg := filepath.Join(dir, "pub.pem"), filepath.Join(dir, "signed.xml")
	if err := os.WriteFile(key, s.PublicKeyPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(msg, signed, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmlsec, "--verify", "--pubkey-pem", key, msg).CombinedOutput()
	if err != nil {
		return errors.New(string(out))
	}
	return nil
}

func TestHTTPSignerSignsCEB411(t *testing.T) {
	s, signer := standIn(t)
	c := testConfig()
	msg, err := c.Message(plainDeclaration())
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signer.SignMessage(context.Background(), msg.XML)
	if err != nil {
		t.Fatal(err)
	}
	if reqs := s.Requests(); len(reqs) != 1 || reqs[0].Kind != "xml" || reqs[0].Data != string(msg.XML) {
		t.Fatalf("the service received %+v", reqs)
	}
	xmllintValidate(t, signed) // ds:Signature is where the schema wants it
	if err := s.VerifyMessage(signed); err != nil {
		t.Errorf("stand-in verification: %v", err)
	}
	if err := xmlsecVerify(t, s, signed); err != nil {
		t.Errorf("xmlsec1 rejects the signature: %v\n%s", err, signed)
	}
	if !bytes.Contains(signed, []byte("<ds:KeyName>"+s.CertNo+"</ds:KeyName>")) {
		t.Error("KeyName is not the certificate number")
	}
	// Anyone changing the message breaks the signature.
	tampered := bytes.Replace(signed, []byte("<ceb:amountPaid>190.50<"), []byte("<ceb:amountPaid>19.05<"), 1)
	if s.VerifyMessage(tampered) == nil {
		t.Error("stand-in verifies a tampered message")
	}
	if xmlsecVerify(t, s, tampered) == nil {
		t.Error("xmlsec1 verifies a tampered message")
	}
	// Only unsigned messages Build wrote are sent for signing.
	if _, err := signer.SignMessage(context.Background(), signed); err == nil {
		t.Error("a signed message was signed again")
	}
}

func TestHTTPSignerSigns179(t *testing.T) {
	s, signer := standIn(t)
	data := `"sessionID":"S1"||"payExchangeInfoHead":"{"guid":"G"}"||"payExchangeInfoLists":"[{"orderNo":"O"}]"||"serviceTime":"1"`
	sig, err := signer.Sign179(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify179(data, sig.CertNo, sig.SignValue); err != nil {
		t.Errorf("179 signature does not verify: %v", err)
	}
	if s.Verify179(data+" ", sig.CertNo, sig.SignValue) == nil {
		t.Error("the signature verifies for other data")
	}
}

// Failures the job runner should retry are plain errors; the others stop
// it (baoguan.Permanent).
func TestHTTPSignerErrors(t *testing.T) {
	s, signer := standIn(t)
	ctx := context.Background()
	data := `"sessionID":"S1"||"payExchangeInfoHead":"{}"||"payExchangeInfoLists":"[]"||"serviceTime":"1"`

	s.FailNext(1)
	if _, err := signer.Sign179(ctx, data); err == nil || isPermanent(err) {
		t.Errorf("503: %v (want a retried error)", err)
	}
	if _, err := signer.Sign179(ctx, data); err != nil {
		t.Errorf("after the 503: %v", err)
	}
	bad := &ceb.HTTPSigner{URL: s.URL(), Token: "wrong"}
	if _, err := bad.Sign179(ctx, data); !isPermanent(err) {
		t.Errorf("bad token: %v (want permanent)", err)
	}
	if _, err := signer.Sign179(ctx, "not a sign string"); !isPermanent(err) {
		t.Errorf("refused data: %v (want permanent)", err)
	}
	down := &ceb.HTTPSigner{URL: "http://127.0.0.1:1/sign"}
	if _, err := down.Sign179(ctx, data); err == nil || isPermanent(err) {
		t.Errorf("unreachable service: %v (want a retried error)", err)
	}
	if _, err := (ceb.NoneSigner{}).Sign179(ctx, data); baoguan.ErrorField(err) != "signer" || !isPermanent(err) {
		t.Errorf("none signer and 179: %v", err)
	}
	msg := []byte("<x/>")
	if out, err := (ceb.NoneSigner{}).SignMessage(ctx, msg); err != nil || !bytes.Equal(out, msg) {
		t.Errorf("none signer changed the message: %s %v", out, err)
	}
}

func isPermanent(err error) bool {
	var p *baoguan.PermanentError
	return errors.As(err, &p)
}

// A service answering in the shape of the open-source
// chinaport-data-signature (wrapped in data, signatureNode for the
// SignedInfo) works as it is; one that digested another document is
// caught.
func TestHTTPSignerWrappedAnswerAndDigestCheck(t *testing.T) {
	s, _ := standIn(t)
	var digestOf string // "" = the message
	wrapped := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID   int    `json:"id"`
			Data string `json:"data"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		if req.ID != 1 {
			http.Error(w, "id missing", http.StatusBadRequest)
			return
		}
		if digestOf != "" {
			req.Data = digestOf
		}
		// Let the stand-in do the signing, then rewrap its answer.
		body, _ := json.Marshal(map[string]any{"kind": "xml", "data": req.Data})
		sreq, _ := http.NewRequest(http.MethodPost, s.URL(), bytes.NewReader(body))
		sreq.Header.Set("Content-Type", "application/json")
		sreq.Header.Set("Authorization", "Bearer "+s.Token)
		resp, err := http.DefaultClient.Do(sreq)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var a map[string]string
		json.NewDecoder(resp.Body).Decode(&a)
		a["signatureNode"], a["signedInfo"] = a["signedInfo"], ""
		json.NewEncoder(w).Encode(map[string]any{"message": "操作成功", "success": true, "code": 200, "timestamp": "2026-03-15 15:36:03",
			"data": map[string]any{"success": true, "certNo": a["certNo"], "x509Certificate": a["x509Certificate"],
				"signatureValue": a["signatureValue"], "signatureNode": a["signatureNode"]}})
	}))
	defer wrapped.Close()
	signer := &ceb.HTTPSigner{URL: wrapped.URL + "/rpc/eport/signature", Header: "x-auth-token-eport-sign", Token: "DefaultAuthToken"}
	c := testConfig()
	msg, _ := c.Message(plainDeclaration())
	signed, err := signer.SignMessage(context.Background(), msg.XML)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyMessage(signed); err != nil {
		t.Errorf("wrapped answer: %v", err)
	}
	other := plainDeclaration()
	other.Amount = 1
	otherMsg, _ := c.Message(other)
	digestOf = string(otherMsg.XML)
	if _, err := signer.SignMessage(context.Background(), msg.XML); err == nil || !strings.Contains(err.Error(), "digested another document") {
		t.Errorf("a signature over another document was accepted: %v", err)
	}
}
