// Package platform holds the installation's own signing keys: the RSA keys
// (with a self-signed certificate and its serial) that vendor protocols use
// to sign responses and notifications (WeChat Pay's platform certificate,
// LianLian's platform key). A key is generated the first time it is asked
// for and kept, sealed, in the store, so every baoguan instance on one
// database signs with the same key.
package platform

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/baoguan/baoguan"
)

// Key is one platform signing key.
type Key struct {
	Name    string
	Private *rsa.PrivateKey
	Cert    *x509.Certificate
	CertPEM []byte
	// Serial is the certificate serial as WeChat Pay writes it: upper-case hex.
	Serial string
}

// PublicPEM is the public key in PKIX PEM form.
func (k *Key) PublicPEM() []byte {
	der, _ := x509.MarshalPKIXPublicKey(&k.Private.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Load returns the named platform key, generating and storing it on first
// use. Names are per protocol ("wechatv3", "accp").
func Load(ctx context.Context, s baoguan.Store, name string) (*Key, error) {
	setting := "platform." + name + ".key"
	var stored string
	err := s.View(ctx, func(tx baoguan.Tx) error {
		var err error
		stored, err = tx.Setting(setting)
		return err
	})
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		fresh, gerr := generate(name)
		if gerr != nil {
			return nil, gerr
		}
		// Two instances may generate at once: the first insert wins and
		// both then read it back.
		err = s.Update(ctx, func(tx baoguan.Tx) error {
			if _, err := tx.PutSetting(setting, fresh, true); err != nil {
				return err
			}
			var err error
			stored, err = tx.Setting(setting)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return parse(name, stored)
}

// generate makes an RSA-2048 key and a ten-year self-signed certificate.
func generate(name string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		return "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "baoguan " + name + " platform", Organization: []string{"baoguan"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

func parse(name, s string) (*Key, error) {
	k := &Key{Name: name}
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY":
			pk, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("platform key %s: %w", name, err)
			}
			rk, ok := pk.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("platform key %s is not RSA", name)
			}
			k.Private = rk
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("platform certificate %s: %w", name, err)
			}
			k.Cert = c
			k.CertPEM = pem.EncodeToMemory(b)
		}
	}
	if k.Private == nil || k.Cert == nil {
		return nil, fmt.Errorf("platform key %s: stored value lacks a key or certificate", name)
	}
	// As WeChat Pay's SDKs print it: upper-case hex of the serial's bytes,
	// so a leading zero nibble is kept.
	k.Serial = fmt.Sprintf("%X", k.Cert.SerialNumber.Bytes())
	return k, nil
}
