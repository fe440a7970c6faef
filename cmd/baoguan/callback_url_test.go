package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// badCallbackURLs are notify URLs that must be refused when configured.
var badCallbackURLs = []string{
	"ftp://merchant.example.com/notify",
	"file:///etc/passwd",
	"gopher://127.0.0.1:6379/_INFO",
	"dict://127.0.0.1:11211/stat",
	"ldap://merchant.example.com/",
	"data:text/plain,hello",
	"javascript:alert(1)",
	"ws://merchant.example.com/notify",
	"jar:https://merchant.example.com/x!/",
	"merchant.example.com/notify",
	"https://merchant.example.com/\u202egpj.exe",
}

// TestCallbackURLSchemesRefusedWhenConfigured tries every way a merchant's
// or an order's callback URL is configured without the core changing: the
// native API (an order's notify_url, the merchant's PATCH), payzero (an
// order's notifyUrl), and the CLI (merchant create and set, and the
// protocol callback settings of `merchant key`). Each refuses every URL
// that is not plain http(s) then and there, naming the setting, and stores
// nothing. ACCP's push notify_url is covered in accp's own tests.
func TestCallbackURLSchemesRefusedWhenConfigured(t *testing.T) {
	t.Run("HTTP", func(t *testing.T) {
		g := newGateway(t)
		m, cr, err := g.svc.CreateMerchant(t.Context(), core.MerchantInput{No: "CB1", Name: "回调商户", NotifyURL: "https://cb1.example/hook"})
		if err != nil {
			t.Fatal(err)
		}
		login := g.do(call{method: "POST", target: "/payzero/auth/login", header: map[string]string{"Content-Type": "application/json"},
			body: `{"username":"` + m.AppID + `","password":"` + cr.AppKey + `"}`})
		var lr struct {
			Data struct{ Token string } `json:"data"`
		}
		if err := json.Unmarshal(login.Body.Bytes(), &lr); err != nil || lr.Data.Token == "" {
			t.Fatalf("payzero login: %s", login.Body)
		}
		for i, u := range badCallbackURLs {
			q, _ := json.Marshal(u)
			no := "CB-" + string(rune('A'+i))
			checks := []struct {
				name string
				c    call
				code int
				want string
			}{
				{"native order", call{method: "POST", target: "/v1/orders", header: map[string]string{"Authorization": "Bearer " + cr.APIKey, "Content-Type": "application/json"},
					body: `{"merchant_order_no":"` + no + `","amount":100,"subject":"s","notify_url":` + string(q) + `}`}, 400, `"field":"notify_url"`},
				{"native merchant", call{method: "PATCH", target: "/v1/merchant", header: map[string]string{"Authorization": "Bearer " + cr.APIKey, "Content-Type": "application/json"},
					body: `{"notify_url":` + string(q) + `}`}, 400, `"field":"notify_url"`},
				{"payzero order", call{method: "POST", target: "/payzero/order/createAndMockpay", header: map[string]string{"Authorization": "Bearer " + lr.Data.Token, "Content-Type": "application/json"},
					body: `{"mchtOrderNo":"` + no + `","paymentAmount":100,"currency":"CNY","subject":"s","needDeclare":false,"notifyUrl":` + string(q) + `}`}, 200, `notifyUrl`},
			}
			for _, c := range checks {
				w := g.do(c.c)
				if w.Code != c.code || !strings.Contains(w.Body.String(), c.want) || strings.Contains(w.Body.String(), `"success":true`) {
					t.Errorf("%s with %q: %d %s; want %d naming %s", c.name, u, w.Code, w.Body, c.code, c.want)
				}
			}
			// The console's protocol-key form and `merchant key` both go
			// through core.RotateSetting.
			for _, name := range []string{"pushorder.callback-url", "payzero.notify-url"} {
				err := g.svc.RotateSetting(t.Context(), "CB1", name, u, 0)
				if baoguan.ErrorCode(err) != baoguan.EINVALID || baoguan.ErrorField(err) != name {
					t.Errorf("RotateSetting %s = %q: %v; want EINVALID on %s", name, u, err, name)
				}
			}
			if _, err := g.svc.Order(t.Context(), m, no); baoguan.ErrorCode(err) != baoguan.ENOTFOUND {
				t.Errorf("an order with notify URL %q was stored (%v)", u, err)
			}
		}
		after, err := g.svc.MerchantByAPIKey(t.Context(), cr.APIKey)
		if err != nil || after.NotifyURL != "https://cb1.example/hook" {
			t.Errorf("the merchant's notify URL changed: %v %v", after, err)
		}
	})

	t.Run("CLI", func(t *testing.T) {
		db := "sqlite:" + filepath.Join(t.TempDir(), "cb.db")
		env := envOf()
		mustRun(t, env, "merchant", "create", "--db", db, "--name", "cli商户", "--no", "CLI1", "--notify-url", "https://cli.example/hook")
		for _, u := range badCallbackURLs {
			for _, args := range [][]string{
				{"merchant", "create", "--db", db, "--name", "x" + u, "--notify-url", u},
				{"merchant", "set", "--db", db, "--merchant", "CLI1", "--notify-url", u},
				{"merchant", "key", "--db", db, "--merchant", "CLI1", "--protocol", "pushorder", "--callback-url", u},
				{"merchant", "key", "--db", db, "--merchant", "CLI1", "--protocol", "payzero", "--notify-url", u},
			} {
				_, err := runCmd(t, env, args...)
				if err == nil || !strings.Contains(err.Error(), "notify") && !strings.Contains(err.Error(), "callback-url") {
					t.Errorf("baoguan %s: %v; want it refused naming the setting", strings.Join(args[:3], " "), err)
				}
			}
		}
		out := mustRun(t, env, "merchant", "list", "--db", db, "--json")
		if strings.Contains(out, "ftp:") || strings.Contains(out, "file:") || !strings.Contains(out, "https://cli.example/hook") {
			t.Errorf("a refused URL was stored: %s", out)
		}
		// The good ones are still taken.
		mustRun(t, env, "merchant", "key", "--db", db, "--merchant", "CLI1", "--protocol", "pushorder", "--callback-url", "https://cli.example/po")
		mustRun(t, env, "merchant", "key", "--db", db, "--merchant", "CLI1", "--protocol", "payzero", "--notify-url", "http://cli.example/pz")
	})
}
