package storetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

// IDNumber returns the n-th of a series of distinct, valid resident ID
// numbers (check digit and birth date hold), born on a day of 1960-1987
// in district 330106, for tests that look for them where they must not be.
func IDNumber(n int) string {
	day := 1 + n%28
	month := 1 + (n/28)%12
	year := 1960 + (n/336)%28
	seq := 100 + n%900
	body := fmt.Sprintf("330106%04d%02d%02d%03d", year, month, day, seq)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

// Phone returns the n-th of a series of distinct mainland mobile numbers.
func Phone(n int) string {
	return "1" + strconv.Itoa(5+n%4) + fmt.Sprintf("%09d", 271828182+n*7919)
}

// FindInFiles reads the SQLite database file at path and whatever SQLite
// keeps beside it (its -wal, -shm and -journal files) as bytes, and
// returns "file: value" for each value found in clear in one of them.
func FindInFiles(path string, values []string) ([]string, error) {
	var found []string
	read := 0
	for _, f := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		read++
		for _, v := range values {
			if v != "" && bytes.Contains(b, []byte(v)) {
				found = append(found, f+": "+v)
			}
		}
	}
	if read == 0 {
		return nil, fmt.Errorf("no database file at %s", path)
	}
	return found, nil
}

// WritePersonalData stores, through s, personal data in every place
// baoguan keeps a copy of it besides the payer columns: a rendered
// notification body, a delivery attempt's answer and error, a saved
// Idempotency-Key answer, a customs receipt's text and raw message, a
// payment's raw channel exchange, a real-name check's birth date and
// address. Each place gets values of its own; it returns them all, and
// reads each back through s to show sealing is invisible to callers.
func WritePersonalData(t testing.TB, s baoguan.Store) []string {
	t.Helper()
	ctx := context.Background()
	var vals []string
	next := func() (string, string) {
		n := len(vals) + 7001
		id, phone := IDNumber(n), Phone(n)
		vals = append(vals, id, phone)
		return id, phone
	}
	bodyID, bodyPhone := next()
	respID, respPhone := next()
	errID, _ := next()
	idemID, idemPhone := next()
	infoID, _ := next()
	rawID, rawPhone := next()
	reqID, _ := next()
	resID, _ := next()
	chunkID, chunkPhone := next()
	chunkDeclID, chunkDeclPhone := next()
	ackID, ackPhone := next()
	const addr = "浙江省杭州市西湖区文三路478号-SEALED"
	vals = append(vals, addr)
	body := `{"payerIdNumber":"` + bodyID + `","payerPhone":"` + bodyPhone + `"}`
	var e baoguan.Event
	var o baoguan.Order
	err := s.Update(ctx, func(tx baoguan.Tx) error {
		m := &baoguan.Merchant{No: "MAT", Name: "at rest", Status: baoguan.MerchantActive, Mode: baoguan.ModeSandbox}
		if err := tx.CreateMerchant(m); err != nil {
			return err
		}
		o = baoguan.Order{MerchantID: m.ID, MerchantOrderNo: "AT-1", Amount: 1, Currency: "CNY",
			Payment: baoguan.Payment{No: "P-AT-1", InitRequest: "<id>" + reqID + "</id>", InitResponse: `{"id":"` + resID + `"}`}}
		if err := tx.CreateOrder(&o); err != nil {
			return err
		}
		// A batch chunk's order and declaration, stored many to a statement.
		co := []baoguan.Order{{MerchantID: m.ID, MerchantOrderNo: "AT-CHUNK", Amount: 1, Currency: "CNY",
			Payer: baoguan.Payer{Name: PayerName, IDNumber: chunkID, Phone: chunkPhone}}}
		if err := tx.CreateOrders(co); err != nil {
			return err
		}
		if err := tx.CreateDeclarations([]baoguan.Declaration{{OrderID: co[0].ID, MerchantID: m.ID, Customs: "HG016",
			Payer: baoguan.Payer{Name: PayerName, IDNumber: chunkDeclID, Phone: chunkDeclPhone}}}); err != nil {
			return err
		}
		e = baoguan.Event{MerchantID: m.ID, OrderID: o.ID, Type: "order.paid", Protocol: "payzero", URL: "https://shop.example/n",
			ContentType: "application/json", Body: []byte(body), Status: baoguan.EventPending}
		if err := tx.CreateEvent(&e); err != nil {
			return err
		}
		if err := tx.AddAttempt(&baoguan.Attempt{EventID: e.ID, Status: 500, Response: "echo " + respID + " " + respPhone,
			Error: "receiver said " + errID}); err != nil {
			return err
		}
		// Then a delivery acknowledged with an answer that echoes the payer
		// (SQLite keeps that attempt in the event's row).
		acked, lease := e, e.LeaseUntil
		acked.Status, acked.Attempts, acked.DeliveredAt = baoguan.EventDelivered, 2, tx.Now()
		if err := tx.RecordAttempt(&acked, &baoguan.Attempt{Status: 200, Response: "ok " + ackID + " " + ackPhone}, lease); err != nil {
			return err
		}
		if err := tx.PutIdempotency(&baoguan.IdemRecord{MerchantID: m.ID, Key: "idem:at", RequestHash: "h", Status: 201,
			Body: []byte(`{"payer":{"id_number":"` + idemID + `","phone":"` + idemPhone + `"}}`)}); err != nil {
			return err
		}
		if _, err := tx.AddCustomsReceipts([]baoguan.CustomsReceipt{{Port: "eport", Ref: "G-AT", Status: "-1",
			Info: "订购人证件号" + infoID + "不一致", Raw: "<IdNo>" + rawID + "</IdNo><Tel>" + rawPhone + "</Tel>", Source: "f.xml"}}); err != nil {
			return err
		}
		return tx.CreateRealNameCheck(&baoguan.RealNameCheck{ID: "rn-at", MerchantID: m.ID, Name: PayerName, IDNo: reqID,
			Birth: "19491231-SEALED", Addr: addr})
	})
	if err != nil {
		t.Fatal(err)
	}
	vals = append(vals, "19491231-SEALED")
	err = s.View(ctx, func(tx baoguan.Tx) error {
		got, err := tx.Event(e.MerchantID, e.ID)
		if err != nil {
			return err
		}
		as, err := tx.Attempts(e.ID)
		if err != nil {
			return err
		}
		if len(as) != 2 || as[1].Response != "ok "+ackID+" "+ackPhone {
			t.Errorf("the acknowledged attempt's sealed answer does not read back: %+v", as)
		}
		idem, err := tx.Idempotency(e.MerchantID, "idem:at")
		if err != nil {
			return err
		}
		rs, err := tx.CustomsReceipts("eport", "G-AT")
		if err != nil {
			return err
		}
		rn, err := tx.RealNameChecks(e.MerchantID, 1)
		if err != nil {
			return err
		}
		oo, err := tx.Order(o.MerchantID, o.ID)
		if err != nil {
			return err
		}
		co, err := tx.OrderByNo(o.MerchantID, "AT-CHUNK")
		if err != nil {
			return err
		}
		cds, err := tx.Declarations(o.MerchantID, co.ID)
		if err != nil {
			return err
		}
		if co.Payer.IDNumber != chunkID || co.Payer.Phone != chunkPhone || len(cds) != 1 ||
			cds[0].Payer.IDNumber != chunkDeclID || cds[0].Payer.Phone != chunkDeclPhone {
			t.Errorf("a chunk's sealed payer does not read back: %+v %+v", co.Payer, cds)
		}
		if string(got.Body) != body || len(as) != 2 || !strings.Contains(as[0].Response, respID) || !strings.Contains(as[0].Error, errID) ||
			!strings.Contains(string(idem.Body), idemID) || len(rs) != 1 || !strings.Contains(rs[0].Info, infoID) ||
			!strings.Contains(rs[0].Raw, rawID) || len(rn) != 1 || rn[0].Addr != addr || !strings.Contains(oo.Payment.InitRequest, reqID) {
			t.Errorf("sealed values do not read back: %q %+v %q %+v %+v", got.Body, as, idem.Body, rs, rn)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return vals
}
