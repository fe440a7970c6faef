package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan/accp"
	"github.com/baoguan/baoguan/alipay/alipaytest"
	"github.com/baoguan/baoguan/upstream"
	"github.com/baoguan/baoguan/wechatpay"
)

// Every front-end's declaration operations on orders paid through a
// wallet, for a live merchant (issue 14: "All five front-ends'
// declare/modify/re-declare/query operations work on these orders"). Two
// installations run in-process: WeChat Pay is a second baoguan serving
// /wechatpay (real signatures both ways), Alipay the stand-in of package
// alipaytest. For each front-end and each wallet it can name, an order paid
// through the wallet is declared through that front-end, reaches SUCCESS
// through the wallet's route, is modified and re-declared where the protocol
// has those operations, and is queried through the same front-end; the
// wallet holds one record per order. Then, for every front-end, a
// declaration whose route is not set up (no customs registration for the
// code; later no credentials) is refused when it is asked for, naming the
// command that configures it, and nothing is written. The call records and
// the log carry no secret and no clear ID number.
func TestWalletOrdersThroughEveryFrontEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two installations")
	}
	dir := t.TempDir()
	env := envOf()
	cli := func(args ...string) string { t.Helper(); return mustRun(t, env, args...) }
	const (
		mchid   = "1230000109"
		appid   = "wxd678efh567hg6787"
		apiv3   = "k7Q2mZ9xL4vR8tN1wB6cH3jP5sD0gF2a"
		payerID = "110105199001011232"
		regWX   = "1234567" // LIVE1's registration for SHANGHAI_ZS
		regAli  = "31222699S7"
	)

	// ---- WeChat Pay: a second baoguan serving /wechatpay ----------------
	wxDB := "sqlite:" + filepath.Join(dir, "wechat.db")
	var wxMerchant struct {
		APIKey string `json:"api_key"`
	}
	mustJSON(t, cli("merchant", "create", "--db", wxDB, "--name", "wx-shop", "--no", "WX1", "--json"), &wxMerchant)
	mchKey, certPEM, serial := merchantCertificate(t, mchid)
	keyPEM := privatePEM(t, mchKey)
	writeFile(t, dir, "apiclient_cert.pem", certPEM)
	writeFile(t, dir, "apiclient_key.pem", keyPEM)
	cli("merchant", "key", "--db", wxDB, "--merchant", "WX1", "--protocol", "wechatv3", "--mchid", mchid,
		"--cert", filepath.Join(dir, "apiclient_cert.pem"), "--apiv3-key", apiv3)
	writeFile(t, dir, "platform.pem", cli("platform-cert", "--db", wxDB, "--protocol", "wechatv3"))
	wxSrv := startServer(t, env, "--db", wxDB)
	wx := &apiClient{t: t, base: wxSrv.URL, key: wxMerchant.APIKey}

	// ---- Alipay: the stand-in gateway ------------------------------------
	aliKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ali, err := alipaytest.New(&aliKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	defer ali.Close()
	aliKeyPEM := privatePEM(t, aliKey)
	writeFile(t, dir, "alipay_key.pem", aliKeyPEM)
	writeFile(t, dir, "alipay_public.pem", ali.AlipayPublicKeyPEM())

	// ---- the live installation: its merchant set up for every front-end --
	liveDB := "sqlite:" + filepath.Join(dir, "live.db")
	var live struct {
		APIKey string `json:"api_key"`
		AppID  string `json:"app_id"`
		AppKey string `json:"app_key"`
	}
	mustJSON(t, cli("merchant", "create", "--db", liveDB, "--name", "跨境小店", "--no", "LIVE1", "--mode", "live", "--json"), &live)
	writeFile(t, dir, "wechatpay.json", `{"appid":"`+appid+`","mchid":"`+mchid+`","cert_serial":"`+serial+
		`","private_key":"@apiclient_key.pem","platform_certs":["@platform.pem"]}`)
	writeFile(t, dir, "alipay.json", `{"partner":"`+ali.Partner+`","sign_type":"RSA2","private_key":"@alipay_key.pem","alipay_public_key":"@alipay_public.pem"}`)
	cli("merchant", "credentials", "--db", liveDB, "--merchant", "LIVE1", "--kind", "wechatpay", "--file", filepath.Join(dir, "wechatpay.json"))
	cli("merchant", "credentials", "--db", liveDB, "--merchant", "LIVE1", "--kind", "alipay", "--file", filepath.Join(dir, "alipay.json"))
	cli("merchant", "customs", "--db", liveDB, "--merchant", "LIVE1", "--customs", "SHANGHAI_ZS", "--no", regWX, "--name", "上海跨境小店有限公司")
	cli("merchant", "customs", "--db", liveDB, "--merchant", "LIVE1", "--customs", "ZONGSHU", "--no", regAli, "--name", "上海跨境小店有限公司")
	// The merchant's integrations with the live installation.
	cli("merchant", "key", "--db", liveDB, "--merchant", "LIVE1", "--protocol", "pushorder", "--access-token", "L1veT0kenW8x3Qz7Rm2Pv5Nc9Kd4Hb6J")
	cli("merchant", "key", "--db", liveDB, "--merchant", "LIVE1", "--protocol", "wechatv3", "--mchid", mchid,
		"--cert", filepath.Join(dir, "apiclient_cert.pem"), "--apiv3-key", apiv3)
	livePlatform := cli("platform-cert", "--db", liveDB, "--protocol", "wechatv3")
	accpKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "accp_pub.pem", publicPEM(t, &accpKey.PublicKey))
	cli("merchant", "key", "--db", liveDB, "--merchant", "LIVE1", "--protocol", "accp", "--public-key", filepath.Join(dir, "accp_pub.pem"))
	agentKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "agent_pub.pem", publicPEM(t, &agentKey.PublicKey))
	cli("agent", "create", "--db", liveDB, "--no", "AG-LIVE", "--name", "跨境服务商", "--public-key", filepath.Join(dir, "agent_pub.pem"))
	cli("agent", "attach", "--db", liveDB, "--agent", "AG-LIVE", "--merchant", "LIVE1")

	liveSrv := startServer(t, env, "--db", liveDB, "--wechatpay-url", wxSrv.URL+"/wechatpay",
		"--alipay-gateway", ali.URL(), "--upstream-poll", "100ms", "--upstream-timeout", "10s",
		"--declare-retries", "200ms,200ms,200ms")
	lv := &apiClient{t: t, base: liveSrv.URL, key: live.APIKey}

	// The integrations' clients.
	v3c := &wechatpay.V3Client{BaseURL: liveSrv.URL + "/wechatpay", HTTP: upstream.HTTPClient(time.Second, 5*time.Second)}
	v3cr := &wechatpay.V3Credentials{AppID: appid, MchID: mchid, CertSerial: serial, PrivateKeyPEM: keyPEM,
		PlatformCertPEMs: []string{livePlatform}}
	wc := &wcClient{t: t, base: liveSrv.URL + "/wisecashier", agentNo: "AG-LIVE", key: agentKey}
	pzToken := payzeroLogin(t, liveSrv.URL, live.AppID, live.AppKey)

	// ---- orders paid through a wallet ------------------------------------
	type paid struct {
		no, psp, paymentNo string
		amount             int64
	}
	seq := 0
	payAt := func(no, psp string, amount int64) paid {
		t.Helper()
		if psp == "WECHAT" {
			wx.call("POST", "/v1/orders", map[string]any{"merchant_order_no": no, "amount": amount, "subject": "奶粉",
				"channel": "mock", "payer": map[string]any{"name": "张三", "id_number": payerID, "phone": "13800138000"}}, http.StatusCreated)
			var o orderJSONView
			eventually(t, "WeChat to take the payment of "+no, func() bool {
				o = wx.order(no)
				return o.PayStatus == "PAY_SUCCEED"
			})
			return paid{no, psp, o.Payment.PaymentNo, amount}
		}
		seq++
		trade := "20260102220010000" + strconv.Itoa(10000+seq)
		ali.AddTrade(trade, alipaytest.Trade{Amount: amount, BuyerName: "张三", BuyerID: payerID})
		return paid{no, psp, trade, amount}
	}
	// pushLive records an order paid elsewhere at the live installation,
	// without declarations: another front-end declares it.
	pushLive := func(p paid) {
		t.Helper()
		lv.call("POST", "/v1/orders", map[string]any{"merchant_order_no": p.no, "amount": p.amount, "subject": "奶粉",
			"channel": "external", "payment_no": p.paymentNo, "psp": p.psp,
			"payer": map[string]any{"name": "张三", "id_number": payerID, "phone": "13800138000"}}, http.StatusCreated)
		eventually(t, p.no+" to be recorded as paid", func() bool { return lv.order(p.no).PayStatus == "PAY_SUCCEED" })
	}
	liveDecls := func(no string) []declJSONView { t.Helper(); return lv.order(no).Declarations }
	// walletRecords is what the wallet holds for the order: its customs
	// registration number per record, and how often each was declared.
	type walletRecord struct {
		reg   string
		times int // WeChat: the stand-in's attempts; Alipay: pushes
		state string
	}
	walletRecords := func(p paid) []walletRecord {
		t.Helper()
		var out []walletRecord
		if p.psp == "WECHAT" {
			for _, d := range wx.order(p.no).Declarations {
				out = append(out, walletRecord{d.MerchantCustomsNo, d.Attempts, d.State})
			}
			return out
		}
		for _, d := range ali.Decls(p.paymentNo) {
			out = append(out, walletRecord{d.Code, d.Pushes, d.Status})
		}
		return out
	}

	// ---- the front-ends ----------------------------------------------------
	// Each operation returns whether the front-end accepted it and its
	// reply; query returns the declaration's state in the protocol's words.
	type op func(p paid, customs, reg string) (bool, string)
	type frontEnd struct {
		name    string
		wallets []string
		creates bool // declare also creates the order (the protocol carries payments made elsewhere)
		customs func(psp string) string
		declare op
		modify  op // nil: the protocol has no modification
		// noModify names a wallet whose family in the protocol has no
		// modification (WiseCashier's Alipay declarations).
		noModify string
		redecl   op // nil: the protocol has no re-declaration apart from modify
		query    func(p paid) string
		success  string // query's word for SUCCESS
	}
	walletCode := func(psp string) string {
		if psp == "WECHAT" {
			return "SHANGHAI_ZS"
		}
		return "ZONGSHU"
	}
	v1Declare := func(p paid, customs, reg string) (bool, string) {
		status, body := lv.do("POST", "/v1/orders/"+p.no+"/declarations", map[string]any{"declarations": []map[string]any{
			{"customs": customs, "merchant_customs_no": reg}}})
		return status == http.StatusAccepted, body
	}
	pushOrderData := func(p paid, customs, op, id string) map[string]any {
		return map[string]any{"OperationType": op, "OrderNo": p.no, "ReceiverName": "张三", "ReceiverCardNo": id,
			"ReceiverMobile": "13800138000", "TotalNum": 1, "OrderTotal": baoguanYuan(p.amount), "ItemNames": "奶粉",
			"ShopPayTime": "2026-01-02 10:00:00", "MerchantName": "跨境小店", "CustomsCode": customs,
			"PaymentNo": p.paymentNo, "PaymentCompany": p.psp}
	}
	v3Decl := func(p paid, customs, reg string) *wechatpay.Declaration {
		return &wechatpay.Declaration{OutTradeNo: p.no, TransactionID: p.paymentNo, Customs: customs, MerchantCustomsNo: reg}
	}
	v3op := func(f func(context.Context, *wechatpay.V3Credentials, *wechatpay.Declaration) (*wechatpay.Record, error)) op {
		return func(p paid, customs, reg string) (bool, string) {
			r, err := f(context.Background(), v3cr, v3Decl(p, customs, reg))
			if err != nil {
				return false, err.Error()
			}
			return true, r.State
		}
	}
	accpApply := func(p paid, customs, reg, operate string) (bool, string) {
		body := map[string]any{"timestamp": time.Now().In(time.FixedZone("CST", 8*3600)).Format("20060102150405"), "mch_id": "LIVE1", "user_name": "张三",
			"id_type": "IDCARD", "id_no": payerID, "phone": "13800138000", "txn_seqno": "PUSH-" + p.no, "org_txn_seqno": p.no,
			"txn_time": "20260102100000", "operate_type": operate, "total_amount": baoguanYuan(p.amount),
			"pay_gds_amt": baoguanYuan(p.amount), "platform_code": reg, "platform_name": "上海跨境小店有限公司", "custom_code": customs}
		ok, reply := accpCall(t, accpKey, liveSrv.URL+"/accp/v1/cbpayment/apply-pushpay", body)
		return ok, reply
	}
	wcPath := func(p paid) string {
		if p.psp == "WECHAT" {
			return "/wechatpay"
		}
		return "/alipay"
	}
	wcDeclare := func(action string) op {
		return func(p paid, customs, reg string) (bool, string) {
			params := map[string]string{"merchant_no": "LIVE1", "out_order_no": p.no, "customs": customs, "mch_customs_no": reg}
			if p.psp == "ALIPAY" {
				params["merchant_customs_name"] = "上海跨境小店有限公司"
			} else if action != "" {
				params["action_type"] = action
			}
			return wcResult(wc.call("POST", wcPath(p)+"/declaration", "", params))
		}
	}
	fronts := []frontEnd{
		{name: "v1", wallets: []string{"WECHAT", "ALIPAY"}, customs: walletCode,
			declare: v1Declare, modify: v1Declare, redecl: v1Declare,
			query: func(p paid) string {
				if ds := liveDecls(p.no); len(ds) == 1 {
					return ds[0].State
				}
				return "?"
			}, success: "SUCCESS"},
		{name: "pushorder", wallets: []string{"WECHAT", "ALIPAY"}, creates: true,
			customs: func(psp string) string { return map[string]string{"WECHAT": "HG022", "ALIPAY": "HG016"}[psp] },
			declare: func(p paid, customs, _ string) (bool, string) {
				b := pushOrderForm(t, liveSrv.URL+"/pushorder/L1veT0kenW8x3Qz7Rm2Pv5Nc9Kd4Hb6J/PushOrder", pushOrderData(p, customs, "A", payerID))
				return strings.Contains(b, `"0000"`), b
			},
			query: func(p paid) string {
				b := pushOrderForm(t, liveSrv.URL+"/pushorder/L1veT0kenW8x3Qz7Rm2Pv5Nc9Kd4Hb6J/GetOrder", map[string]any{"OrderNo": p.no, "MerchantName": "跨境小店"})
				var r struct{ CustomsMsg string }
				_ = json.Unmarshal([]byte(b), &r)
				return r.CustomsMsg
			}, success: "已支付+已报关"},
		{name: "wechatv3", wallets: []string{"WECHAT"}, customs: walletCode,
			declare: v3op(v3c.Declare), modify: v3op(v3c.Modify), redecl: v3op(v3c.Redeclare),
			query: func(p paid) string {
				r, err := v3c.Query(context.Background(), v3cr, v3Decl(p, "SHANGHAI_ZS", ""))
				if err != nil {
					return err.Error()
				}
				return r.State
			}, success: "SUCCESS"},
		{name: "accp", wallets: []string{"WECHAT", "ALIPAY"}, customs: walletCode,
			declare: func(p paid, customs, reg string) (bool, string) { return accpApply(p, customs, reg, "ADD") },
			modify:  func(p paid, customs, reg string) (bool, string) { return accpApply(p, customs, reg, "MOD") },
			query: func(p paid) string {
				_, b := accpCall(t, accpKey, liveSrv.URL+"/accp/v1/cbpayment/query-pushpay", map[string]any{
					"timestamp": time.Now().In(time.FixedZone("CST", 8*3600)).Format("20060102150405"), "mch_id": "LIVE1", "txn_seqno": "PUSH-" + p.no})
				var r struct {
					PushStatus string `json:"push_status"`
				}
				_ = json.Unmarshal([]byte(b), &r)
				return r.PushStatus
			}, success: accp.PushSuccess},
		{name: "payzero", wallets: []string{"WECHAT", "ALIPAY"}, customs: walletCode,
			// 8.1 carries no registration number: the merchant's is used.
			declare: func(p paid, customs, _ string) (bool, string) {
				return payzeroCall(t, liveSrv.URL, pzToken, "POST", "/order/declare", map[string]any{"mchtOrderNo": p.no, "customsCode": customs})
			},
			redecl: func(p paid, customs, _ string) (bool, string) {
				return payzeroCall(t, liveSrv.URL, pzToken, "POST", "/order/declare", map[string]any{"mchtOrderNo": p.no, "customsCode": customs})
			},
			query: func(p paid) string {
				_, b := payzeroCall(t, liveSrv.URL, pzToken, "GET", "/order/queryOrder?mchtOrderNo="+url.QueryEscape(p.no), nil)
				var r struct {
					Data struct {
						DeclareStatus string `json:"declareStatus"`
					} `json:"data"`
				}
				_ = json.Unmarshal([]byte(b), &r)
				return r.Data.DeclareStatus
			}, success: "DECLARED"},
		{name: "wisecashier", wallets: []string{"WECHAT", "ALIPAY"}, customs: walletCode,
			declare: wcDeclare(""), modify: wcDeclare("MODIFY"), noModify: "ALIPAY",
			redecl: func(p paid, customs, reg string) (bool, string) {
				params := map[string]string{"merchant_no": "LIVE1", "out_order_no": p.no, "customs": customs, "mch_customs_no": reg}
				if p.psp == "ALIPAY" {
					params["merchant_customs_name"] = "上海跨境小店有限公司"
				}
				return wcResult(wc.call("POST", wcPath(p)+"/redeclaration", "", params))
			},
			query: func(p paid) string {
				_, b := wc.call("GET", wcPath(p)+"/declaration", "", map[string]string{"merchant_no": "LIVE1", "out_order_no": p.no})
				var r struct {
					Data struct{ State string } `json:"data"`
				}
				_ = json.Unmarshal(b, &r)
				return r.Data.State
			}, success: "SUCCESS"},
	}

	// settled waits until the order's one declaration is SUCCESS after
	// attempt n, through the wallet's route, and the wallet holds one
	// record in SUCCESS.
	settled := func(what string, p paid, n int) declJSONView {
		t.Helper()
		var d declJSONView
		route := map[string]string{"WECHAT": "wechatpay", "ALIPAY": "alipay"}[p.psp]
		eventually(t, what, func() bool {
			ds := liveDecls(p.no)
			if len(ds) != 1 {
				return false
			}
			d = ds[0]
			rs := walletRecords(p)
			return d.State == "SUCCESS" && d.Attempts == n && len(rs) == 1 && (rs[0].state == "SUCCESS" || rs[0].state == "succ")
		})
		if d.Route != route {
			t.Errorf("%s: route %q, want %q", what, d.Route, route)
		}
		return d
	}

	var all []paid
	for _, fe := range fronts {
		for _, psp := range fe.wallets {
			name := fe.name + " " + psp
			p := payAt(strings.ToUpper(fe.name)+"-"+psp, psp, 12300)
			all = append(all, p)
			if !fe.creates {
				pushLive(p)
			}
			customs, reg := fe.customs(psp), map[string]string{"WECHAT": regWX, "ALIPAY": regAli}[psp]
			if ok, reply := fe.declare(p, customs, reg); !ok {
				t.Fatalf("%s: declare refused: %s", name, reply)
			}
			settled(name+": declared", p, 1)
			if got := fe.query(p); got != fe.success {
				t.Errorf("%s: query says %q, want %q", name, got, fe.success)
			}
			n := 1
			if fe.modify != nil && fe.noModify != psp {
				reg2 := "9" + reg[1:]
				if ok, reply := fe.modify(p, customs, reg2); !ok {
					t.Fatalf("%s: modify refused: %s", name, reply)
				}
				n++
				settled(name+": modified", p, n)
				if rs := walletRecords(p); rs[0].reg != reg2 {
					t.Errorf("%s: the wallet's record after the modify: %+v, want registration %s", name, rs, reg2)
				}
				reg = reg2
			}
			if fe.redecl != nil {
				before := walletRecords(p)[0].times
				if ok, reply := fe.redecl(p, customs, reg); !ok {
					t.Fatalf("%s: re-declaration refused: %s", name, reply)
				}
				n++
				settled(name+": re-declared", p, n)
				if rs := walletRecords(p); rs[0].times <= before || rs[0].reg != reg {
					t.Errorf("%s: the wallet's record after the re-declaration: %+v (declared %d times before)", name, rs, before)
				}
			}
			if got := fe.query(p); got != fe.success {
				t.Errorf("%s: final query says %q, want %q", name, got, fe.success)
			}
		}
	}

	// Front-ends mix: modified through /v1 (a new registration number),
	// then re-declared through payzero's 8.1, which carries no number: the
	// modification holds.
	mixed := payAt("MIXED-WECHAT", "WECHAT", 2200)
	all = append(all, mixed)
	pushLive(mixed)
	if ok, reply := v1Declare(mixed, "SHANGHAI_ZS", regWX); !ok {
		t.Fatalf("mixed: declare: %s", reply)
	}
	settled("mixed: declared", mixed, 1)
	if ok, reply := v1Declare(mixed, "SHANGHAI_ZS", "7654321"); !ok {
		t.Fatalf("mixed: modify: %s", reply)
	}
	settled("mixed: modified through /v1", mixed, 2)
	if ok, reply := payzeroCall(t, liveSrv.URL, pzToken, "POST", "/order/declare", map[string]any{"mchtOrderNo": mixed.no}); !ok {
		t.Fatalf("mixed: payzero 8.1: %s", reply)
	}
	settled("mixed: re-declared through payzero", mixed, 3)
	if rs := walletRecords(mixed); rs[0].reg != "7654321" {
		t.Errorf("mixed: re-declared through payzero, WeChat holds %+v: the modification made through /v1 was lost", rs)
	}

	// pushorder's modification (OperationType U) is for an order whose
	// declaration failed: Alipay refuses the payer, the merchant corrects
	// the ID number, and the same Alipay record is declared again.
	wrongID := "110105199001019998"
	// Alipay's reason quotes the ID number: the declaration's explanation
	// shows it masked, and no call record, log line or database page holds
	// it in clear.
	ali.FailID(wrongID, "订购人("+wrongID+")身份信息不符")
	pu := payAt("PUSHORDER-U", "ALIPAY", 4500)
	all = append(all, pu)
	if b := pushOrderForm(t, liveSrv.URL+"/pushorder/L1veT0kenW8x3Qz7Rm2Pv5Nc9Kd4Hb6J/PushOrder", pushOrderData(pu, "HG016", "A", wrongID)); !strings.Contains(b, `"0000"`) {
		t.Fatalf("pushorder A with a wrong ID: %s", b)
	}
	eventually(t, "Alipay to refuse PUSHORDER-U", func() bool {
		ds := liveDecls(pu.no)
		return len(ds) == 1 && ds[0].State == "FAIL"
	})
	if d := liveDecls(pu.no)[0]; d.Explanation != "订购人("+upstream.MaskID(wrongID)+")身份信息不符" {
		t.Errorf("PUSHORDER-U refused with explanation %q", d.Explanation)
	}
	if b := pushOrderForm(t, liveSrv.URL+"/pushorder/L1veT0kenW8x3Qz7Rm2Pv5Nc9Kd4Hb6J/PushOrder", pushOrderData(pu, "HG016", "U", payerID)); !strings.Contains(b, `"0000"`) {
		t.Fatalf("pushorder U: %s", b)
	}
	settled("pushorder U ALIPAY: modified", pu, 2)

	// ---- refused when the route is not set up ----------------------------
	// Each front-end's declare operation, on an order paid through WeChat
	// Pay, to a code the merchant has no registration for, and then (the
	// WeChat Pay credentials removed) to one it has: refused at once,
	// naming the command, and nothing written. The wallet is never asked.
	checkRefused := func(why, customsWX, customsHG, want string) {
		t.Helper()
		for _, fe := range fronts {
			p := paid{no: "NR-" + strings.ToUpper(fe.name) + "-" + why, psp: "WECHAT", paymentNo: "4200000000" + strconv.Itoa(len(why)) + fe.name, amount: 500}
			if !fe.creates {
				pushLive(p)
			}
			customs := customsWX
			if fe.name == "pushorder" {
				customs = customsHG
			}
			ok, reply := fe.declare(p, customs, regWX)
			want := strings.ReplaceAll(want, "CODE", customs)
			if ok || !strings.Contains(reply, want) {
				t.Errorf("%s, %s: accepted=%v, reply %s; want a refusal naming %q", fe.name, why, ok, reply, want)
			}
			status, body := lv.do("GET", "/v1/orders/"+p.no, nil)
			switch {
			case fe.creates && status != http.StatusNotFound:
				t.Errorf("%s, %s: the refused order was stored: %d %s", fe.name, why, status, body)
			case !fe.creates && len(lv.order(p.no).Declarations) != 0:
				t.Errorf("%s, %s: a refused declaration was stored: %s", fe.name, why, body)
			}
		}
	}
	wxCallsBefore := len(wx.order("V1-WECHAT").Declarations)
	checkRefused("noreg", "HANGZHOU_ZS", "HG021", "baoguan merchant customs --merchant LIVE1 --customs CODE")
	cli("merchant", "credentials", "--db", liveDB, "--merchant", "LIVE1", "--kind", "wechatpay", "--delete")
	checkRefused("nocred", "SHANGHAI_ZS", "HG022", "baoguan merchant credentials --merchant LIVE1 --kind wechatpay")
	if n := len(wx.order("V1-WECHAT").Declarations); n != wxCallsBefore {
		t.Errorf("WeChat's records changed during the refusals")
	}

	// ---- no secret and no clear ID number in the call records or the log --
	secrets := map[string]string{"the payer's ID number": payerID, "the wrong ID number": wrongID, "the APIv3 key": apiv3,
		"a PEM": "PRIVATE KEY", "the WeChat key": pemBody(keyPEM), "the Alipay key": pemBody(aliKeyPEM), "the API key": live.APIKey}
	var texts []string
	ops := map[string]int{}
	for _, p := range all {
		for _, c := range lv.calls(p.no) {
			b, _ := json.Marshal(c)
			texts = append(texts, string(b))
			ops[c.Service+" "+c.Operation]++
		}
	}
	texts = append(texts, cli("calls", "--db", liveDB, "--limit", "500", "--json"), liveSrv.Stderr.String())
	for _, s := range texts {
		for what, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s leaks in %.300s", what, s)
			}
		}
	}
	// Sealed at rest: the database files hold neither the wallets' keys nor
	// the payers' ID numbers in clear.
	for _, f := range []string{"live.db", "live.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			if f == "live.db" {
				t.Fatal(err)
			}
			continue
		}
		for what, secret := range map[string]string{"the WeChat key": pemBody(keyPEM), "the Alipay key": pemBody(aliKeyPEM),
			"the APIv3 key": apiv3, "the payer's ID number": payerID, "the wrong ID number": wrongID} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s is in %s in clear", what, f)
			}
		}
	}
	for _, want := range []string{"wechatpay.v3 declare", "wechatpay.v3 modify", "wechatpay.v3 redeclare", "wechatpay.v3 query",
		"alipay declare", "alipay query"} {
		if ops[want] == 0 {
			t.Errorf("no %q call recorded: %v", want, ops)
		}
	}
	if !strings.Contains(liveSrv.Stderr.String(), "upstream call") {
		t.Errorf("no upstream call in the log")
	}
}

// eventually polls cond for up to 30 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// baoguanYuan writes fen as a yuan string.
func baoguanYuan(fen int64) string {
	return strconv.FormatInt(fen/100, 10) + "." + strconv.FormatInt(100+fen%100, 10)[1:]
}

func publicPEM(t *testing.T, k *rsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// pemBody is a line from the middle of a PEM, to look for in texts.
func pemBody(p string) string {
	lines := strings.Split(strings.TrimSpace(p), "\n")
	return lines[len(lines)/2]
}

// pushOrderForm posts a pushorder data= form and returns the reply.
func pushOrderForm(t *testing.T, endpoint string, data map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(data)
	resp, err := http.Post(endpoint, "application/x-www-form-urlencoded", strings.NewReader("data="+url.QueryEscape(string(b))))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return string(rb)
}

// accpCall signs body as LianLian's SDK does and posts it; ok is ret_code 0000.
func accpCall(t *testing.T, key *rsa.PrivateKey, endpoint string, body map[string]any) (bool, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	sig, err := accp.Sign(key, b)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", endpoint, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", accp.ContentType)
	req.Header.Set(accp.HeaderSignatureType, accp.SignatureTypeRSA)
	req.Header.Set(accp.HeaderSignatureData, sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	var r struct {
		RetCode string `json:"ret_code"`
	}
	_ = json.Unmarshal(rb, &r)
	return r.RetCode == accp.CodeOK, string(rb)
}

// payzeroLogin logs in with the merchant's app id and key (§1).
func payzeroLogin(t *testing.T, base, appID, appKey string) string {
	t.Helper()
	ok, b := payzeroCall(t, base, "", "POST", "/auth/login", map[string]any{"username": appID, "password": appKey})
	var r struct {
		Data struct{ Token string } `json:"data"`
	}
	if err := json.Unmarshal([]byte(b), &r); !ok || err != nil || r.Data.Token == "" {
		t.Fatalf("payzero login: %s", b)
	}
	return r.Data.Token
}

// payzeroCall calls payzero's API; ok is its envelope's success.
func payzeroCall(t *testing.T, base, token, method, path string, body any) (bool, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, base+"/payzero"+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	var env struct {
		Success bool `json:"success"`
	}
	_ = json.Unmarshal(rb, &env)
	return resp.StatusCode == http.StatusOK && env.Success, string(rb)
}

// wcResult reads a WiseCashier answer: ok is meta.success.
func wcResult(status int, b []byte) (bool, string) {
	var env struct {
		Meta struct {
			Success bool `json:"success"`
		} `json:"meta"`
	}
	_ = json.Unmarshal(b, &env)
	return status == http.StatusOK && env.Meta.Success, string(b)
}
