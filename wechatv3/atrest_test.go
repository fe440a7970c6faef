package wechatv3_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/storetest"
)

// TestPayerDataSealedAtRest declares orders with distinct payers through
// WeChat's customs API and checks identities through verify-certificate
// (the ID number arrives encrypted to the platform key and is decrypted
// in baoguan), the right one and a wrong one; the database file and its
// WAL must hold none of the ID numbers or phones in clear.
func TestPayerDataSealedAtRest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	serial := map[string]string{"Wechatpay-Serial": h.platformSerial()}
	pub := &h.platform.Private.PublicKey
	enc := func(s string) string {
		ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, []byte(s), nil)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(ct)
	}
	var vals []string
	for i := range 3 {
		id, phone, wrong := storetest.IDNumber(1300+i), storetest.Phone(1300+i), storetest.IDNumber(1400+i)
		vals = append(vals, id, phone, wrong)
		no := fmt.Sprintf("WX-AR-%d", i)
		if _, _, err := h.svc.CreateOrder(context.Background(), h.A.M, core.OrderInput{Order: baoguan.Order{
			MerchantOrderNo: no, Amount: 10000, Subject: "跨境商品", Channel: baoguan.ChannelMock, Protocol: "native",
			Payer: baoguan.Payer{Name: "李四", IDType: baoguan.IDTypeIDCard, IDNumber: id, Phone: phone}}}); err != nil {
			t.Fatal(err)
		}
		h.waitPay(t, h.A.M, no, baoguan.PaySucceed)
		h.declare(t, h.A, map[string]any{"out_trade_no": no, "customs": "SHANGHAI_ZS", "merchant_customs_no": "31"})
		for _, cert := range []string{id, wrong} {
			r := h.do(t, call{Method: http.MethodPost, Path: customsPath + "/verify-certificate", Header: serial,
				Body: mustJSON(t, map[string]any{"appid": "wx1", "mchid": h.A.MchID, "out_trade_no": no, "customs": "SHANGHAI_ZS",
					"certificate_type": "IDCARD", "certificate_id": enc(cert), "certificate_name": enc("李四")})})
			expect(t, r, http.StatusOK, "", "")
		}
		h.waitDecl(t, h.A.M, no, "SHANGHAI_ZS", "", baoguan.DeclSuccess)
	}
	found, err := storetest.FindInFiles(h.path, vals)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("in clear at rest: %s", f)
	}
}
