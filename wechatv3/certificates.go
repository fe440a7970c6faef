package wechatv3

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
)

// certificateAD is the associated data WeChat uses when it encrypts a
// platform certificate.
const certificateAD = "certificate"

type encryptedCertificate struct {
	Algorithm      string `json:"algorithm"`
	Nonce          string `json:"nonce"`
	AssociatedData string `json:"associated_data"`
	Ciphertext     string `json:"ciphertext"`
}

type platformCertificate struct {
	SerialNo           string               `json:"serial_no"`
	EffectiveTime      string               `json:"effective_time"`
	ExpireTime         string               `json:"expire_time"`
	EncryptCertificate encryptedCertificate `json:"encrypt_certificate"`
}

type certificatesReply struct {
	Data []platformCertificate `json:"data"`
}

// handleCertificates is GET /v3/certificates: the platform certificate
// list, each certificate PEM encrypted with the merchant's APIv3 key
// (AEAD_AES_256_GCM, a 12-character nonce, associated data "certificate",
// ciphertext and tag in base64), as WeChat serves it, so that the SDKs'
// certificate downloaders work unchanged.
func (s *Server) handleCertificates(_ context.Context, c *call) (any, error) {
	key := c.m.Settings[settingAPIv3Key]
	if key == "" {
		return nil, invalidRequest("no APIv3 key is registered for mchid " + c.mchid +
			"; the operator sets it with baoguan merchant key --protocol wechatv3 --apiv3-key")
	}
	if len(key) != 32 {
		return nil, invalidRequest("the APIv3 key registered for mchid " + c.mchid + " is not 32 bytes long; the operator must register the merchant's APIv3 key again")
	}
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := randomString(gcm.NonceSize())
	sealed := gcm.Seal(nil, []byte(nonce), s.key.CertPEM, []byte(certificateAD))
	cert := platformCertificate{SerialNo: s.serial, EffectiveTime: wireTime(s.key.Cert.NotBefore), ExpireTime: wireTime(s.key.Cert.NotAfter),
		EncryptCertificate: encryptedCertificate{Algorithm: "AEAD_AES_256_GCM", Nonce: nonce, AssociatedData: certificateAD,
			Ciphertext: base64.StdEncoding.EncodeToString(sealed)}}
	return certificatesReply{Data: []platformCertificate{cert}}, nil
}
