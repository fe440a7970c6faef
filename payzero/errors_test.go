package payzero_test

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Every errorCode of the document, and every HTTP status of its table, is
// produced here by causing its situation.

func TestDocumentErrorCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	batch, err := os.ReadFile("testdata/orderBatch.request.json")
	if err != nil {
		t.Fatal(err)
	}
	upload := func(m *merchant) string {
		var b struct{ OrderBatchID int64 }
		m.ok("POST", "/orderBatch", batch, &b)
		return strconv.FormatInt(b.OrderBatchID, 10)
	}
	setCards := func(m *merchant, cards ...baoguan.FundingCard) {
		if _, err := h.svc.ReplaceFundingCards(h.ctx, m.M, cards); err != nil {
			t.Fatal(err)
		}
	}
	card := func(signed bool, balance int64) baoguan.FundingCard {
		return baoguan.FundingCard{BankCode: "0308", AcctName: "某某贸易有限公司", AcctNo: "6225880212345678", Signed: signed, Balance: balance}
	}
	one := map[string]any{"mchtOrderNo": "P1", "paymentAmount": 35302, "currency": "CNY", "subject": "测试商品1"}
	cases := []struct {
		name, code string
		call       func(m *merchant) *resp
	}{
		{"30001 a required field is missing", "30001", func(m *merchant) *resp {
			return m.call("POST", "/order/createAndPay", map[string]any{"paymentAmount": 100, "currency": "CNY", "subject": "x"})
		}},
		{"50001 no card bound (batch)", "50001", func(m *merchant) *resp {
			setCards(m)
			return m.call("GET", "/orderBatch/"+upload(m)+"/pay", nil)
		}},
		{"50001 no card bound (single order)", "50001", func(m *merchant) *resp {
			setCards(m)
			return m.call("POST", "/order/createAndPay", one)
		}},
		{"50010 cards bound, none signed (batch)", "50010", func(m *merchant) *resp {
			setCards(m, card(false, 10_000_000))
			return m.call("GET", "/orderBatch/"+upload(m)+"/pay", nil)
		}},
		{"50010 cards bound, none signed (single order)", "50010", func(m *merchant) *resp {
			setCards(m, card(false, 10_000_000))
			return m.call("POST", "/order/createAndPay", one)
		}},
		{"50054 nothing left to pay", "50054", func(m *merchant) *resp {
			id := upload(m)
			m.ok("GET", "/orderBatch/"+id+"/pay", nil, nil)
			m.waitOrder("F20190402123", baoguan.PaySucceed, baoguan.DeclareDone)
			m.waitOrder("F20190402124", baoguan.PaySucceed, baoguan.DeclareDone)
			return m.call("GET", "/orderBatch/"+id+"/pay", nil)
		}},
		{"50056 recorded balances below the batch (batch)", "50056", func(m *merchant) *resp {
			setCards(m, card(true, 50_000), card(false, 10_000_000))
			return m.call("GET", "/orderBatch/"+upload(m)+"/pay", nil)
		}},
		{"50056 recorded balances below the order (single order)", "50056", func(m *merchant) *resp {
			setCards(m, card(true, 35_301))
			return m.call("POST", "/order/createAndPay", one)
		}},
		{"50056 sandbox funding account short", "50056", func(m *merchant) *resp {
			if _, err := h.svc.UpdateMerchant(h.ctx, m.M.No, func(mm *baoguan.Merchant) error { mm.FundingBalance = 100; return nil }); err != nil {
				t.Fatal(err)
			}
			setCards(m, card(true, 10_000_000))
			return m.call("GET", "/orderBatch/"+upload(m)+"/pay", nil)
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			m := h.newMerchant("codes" + strconv.Itoa(i))
			r := c.call(m)
			if r.Status != http.StatusOK || r.Env.Success || r.code() != c.code || r.msg() == "" || string(r.Env.Data) != "null" {
				t.Fatalf("want 200 success=false errorCode %s, got %d %s", c.code, r.Status, r.Raw)
			}
		})
	}
}

// After a 50056 the merchant records a true balance and pays: the batch
// goes through, as the document's remedy says.
func TestFundingRemedy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("remedy")
	if _, err := h.svc.ReplaceFundingCards(h.ctx, m.M, []baoguan.FundingCard{{BankCode: "0308", AcctName: "某某", AcctNo: "6225880212345678", Signed: true, Balance: 100}}); err != nil {
		t.Fatal(err)
	}
	batch, _ := os.ReadFile("testdata/orderBatch.request.json")
	var b struct{ OrderBatchID int64 }
	m.ok("POST", "/orderBatch", batch, &b)
	id := strconv.FormatInt(b.OrderBatchID, 10)
	if r := m.call("GET", "/orderBatch/"+id+"/pay", nil); r.code() != "50056" {
		t.Fatalf("want 50056: %s", r.Raw)
	}
	if _, err := h.svc.ReplaceFundingCards(h.ctx, m.M, []baoguan.FundingCard{{BankCode: "0308", AcctName: "某某", AcctNo: "6225880212345678", Signed: true, Balance: 70302}}); err != nil {
		t.Fatal(err)
	}
	m.ok("GET", "/orderBatch/"+id+"/pay", nil, nil)
	m.waitOrder("F20190402124", baoguan.PaySucceed, baoguan.DeclareDone)
	f, err := h.svc.FundingCards(h.ctx, m.M)
	if err != nil || !f.Recorded || f.Cards[0].AcctNo != "6225880212345678" {
		t.Fatalf("funding %+v %v", f, err)
	}
}

func TestHTTPStatuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("status")
	tok := m.login()
	cases := []struct {
		name, method, path string
		body               any
		token              string
		status             int
		code               string
	}{
		{"400 body is not JSON", "POST", "/payzero/order/createAndPay", "{not json", tok, 400, "30001"},
		{"400 amount is not a whole number of fen", "POST", "/payzero/order/createAndPay", `{"mchtOrderNo":"X","paymentAmount":40.23,"subject":"x"}`, tok, 400, "30001"},
		{"400 required query parameter missing", "GET", "/payzero/order/feedback", nil, tok, 400, "30001"},
		{"400 batch id is not a number", "GET", "/payzero/orderBatch/abc/summary", nil, tok, 400, "30001"},
		{"401 wrong app key", "POST", "/payzero/auth/login", map[string]string{"username": m.AppID, "password": "wrong"}, "", 401, "40001"},
		{"401 unknown app id", "POST", "/payzero/auth/login", map[string]string{"username": "nobody", "password": m.AppKey}, "", 401, "40001"},
		{"401 forged token", "GET", "/payzero/order/feedback?mchtOrderNo=X", nil, tok[:len(tok)-4] + "AAAA", 401, "40001"},
		{"401 not a token", "GET", "/payzero/order/feedback?mchtOrderNo=X", nil, "garbage", 401, "40001"},
		{"403 no Authorization header", "GET", "/payzero/order/feedback?mchtOrderNo=X", nil, "", 403, "40003"},
		{"404 no such interface", "GET", "/payzero/order/nothing", nil, tok, 404, "40004"},
		{"405 GET on a POST interface", "GET", "/payzero/order/createAndPay", nil, tok, 405, "40005"},
		{"405 POST on a GET interface", "POST", "/payzero/order/feedback", "{}", tok, 405, "40005"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			r := h.do(c.method, c.path, c.body, c.token)
			if r.Status != c.status || r.Env.Success || r.code() != c.code || r.msg() == "" {
				t.Fatalf("want %d %s, got %d %s", c.status, c.code, r.Status, r.Raw)
			}
			if c.status == 405 && r.Header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
		})
	}
	// The error message names the field in payzero's words.
	h.t = t
	r := m.call("POST", "/order/createAndPay", map[string]any{"paymentAmount": 100, "currency": "CNY", "subject": "x"})
	if !strings.Contains(r.msg(), "mchtOrderNo") {
		t.Errorf("message does not name mchtOrderNo: %s", r.msg())
	}
	r = m.call("POST", "/orderBatch", `[{"mchtOrderNo":"B1","paymentAmount":1,"subject":"x"},{"mchtOrderNo":"B2","paymentAmount":1,"subject":"x","customsCode":"HG022"}]`)
	if r.code() != "30001" || !strings.Contains(r.msg(), "[1].payerName") {
		t.Errorf("batch error does not name [1].payerName: %s", r.Raw)
	}
}

// An internal failure is HTTP 500 with payzero's envelope and no details.
func TestHTTP500(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("broken")
	tok := m.login()
	h.stopRunner()
	h.store.Close()
	r := h.do("GET", "/payzero/order/feedback?mchtOrderNo=X", nil, tok)
	if r.Status != 500 || r.code() != "50000" || r.msg() != "服务器内部错误" {
		t.Fatalf("want 500 50000, got %d %s", r.Status, r.Raw)
	}
}

// Tokens last 4 hours, are independent of each other, and end when the
// merchant gets a new app key.
func TestTokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("tokens")
	first := m.login()
	h.clock.Add(time.Hour)
	m.token = ""
	second := m.login()
	if first == second {
		t.Fatal("two logins gave the same token")
	}
	for _, tok := range []string{first, second} {
		if r := h.do("GET", "/payzero/realPerson/val?idno=110113198010101234&name=x", nil, tok); r.Status != 200 {
			t.Fatalf("fresh token refused: %s", r.Raw)
		}
	}
	h.clock.Add(3*time.Hour + time.Second) // first is 4 h + 1 s old, second 3 h + 1 s
	if r := h.do("GET", "/payzero/realPerson/val?idno=110113198010101234&name=x", nil, first); r.Status != 401 || r.code() != "40001" {
		t.Errorf("expired token: %d %s", r.Status, r.Raw)
	}
	if r := h.do("GET", "/payzero/realPerson/val?idno=110113198010101234&name=x", nil, second); r.Status != 200 {
		t.Errorf("second token should still work: %s", r.Raw)
	}
	// A new app key (the console's "regenerate") ends the old tokens.
	if _, err := h.svc.UpdateMerchant(h.ctx, m.M.No, func(mm *baoguan.Merchant) error { mm.AppKeyHash = core.HashSecret("new key"); return nil }); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", "/payzero/realPerson/val?idno=110113198010101234&name=x", nil, second); r.Status != 401 {
		t.Errorf("token from the old app key: %d %s", r.Status, r.Raw)
	}
	if r := h.do("POST", "/payzero/auth/login", map[string]string{"username": m.AppID, "password": "new key"}, ""); r.Status != 200 {
		t.Errorf("login with the new key: %s", r.Raw)
	}
}
