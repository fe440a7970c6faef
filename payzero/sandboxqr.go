package payzero

import (
	"html/template"
	"net/http"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// The sandbox QR page. A sandbox QR code's URL opens it: it shows the
// order, the code as a PNG (so it can be scanned with a phone, which opens
// the same page), and Pay / Fail buttons that stand for the shopper paying
// or giving up. The token in the URL is the only credential: it is random,
// names one code of one order, and stops working once the code is paid,
// refreshed or expired. Live orders are never shown.

var qrPage = template.Must(template.New("qr").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>baoguan 沙箱扫码支付 {{.OrderNo}}</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}
dt{color:#666}dd{margin:0 0 .6rem 0}button{font-size:1.1rem;padding:.5rem 1.5rem;margin-right:1rem}
.note{color:#a60}</style></head><body>
<h1>沙箱扫码支付</h1>
<p class="note">这是 baoguan 的沙箱页面：不会产生真实扣款。点击“支付”模拟付款人扫码付款成功，点击“失败”模拟支付失败。</p>
{{if .Message}}<p><strong>{{.Message}}</strong></p>{{end}}
<dl>
<dt>商户订单号</dt><dd>{{.OrderNo}}</dd>
<dt>金额</dt><dd>¥{{.Amount}}</dd>
<dt>商品</dt><dd>{{.Subject}}</dd>
<dt>二维码类型</dt><dd>{{.Type}}（{{.PSP}}）</dd>
<dt>支付状态</dt><dd>{{.PayStatus}}</dd>
<dt>二维码有效期至</dt><dd>{{.Expires}}</dd>
</dl>
<p><img src="{{.PNG}}" width="256" height="256" alt="二维码"></p>
{{if .Payable}}<form method="post">
<button name="action" value="pay">支付</button><button name="action" value="fail">失败</button>
</form>{{end}}
</body></html>
`))

type qrView struct {
	OrderNo, Amount, Subject, Type, PSP, PayStatus, Expires, PNG, Message string
	Payable                                                               bool
}

// handleQRPage serves GET /sandbox/qr/{token} (the page) and
// GET /sandbox/qr/{token}.png (the code).
func (s *Server) handleQRPage(w http.ResponseWriter, r *http.Request) {
	token, png := strings.CutSuffix(r.PathValue("token"), ".png")
	if png {
		s.qrPNG(w, r, token)
		return
	}
	s.renderQR(w, r, token, "", http.StatusOK)
}

func (s *Server) qrPNG(w http.ResponseWriter, r *http.Request, token string) {
	_, _, o, err := s.svc.CollectionByToken(r.Context(), token)
	if err != nil || !o.Sandbox {
		http.NotFound(w, r)
		return
	}
	img, err := qrcode.Encode(s.pageURL(r, token), qrcode.Medium, 256)
	if err != nil {
		s.log.Error("encoding QR code", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(img)
}

func (s *Server) renderQR(w http.ResponseWriter, r *http.Request, token, msg string, status int) {
	qr, _, o, err := s.svc.CollectionByToken(r.Context(), token)
	if err == nil && !o.Sandbox {
		err = &baoguan.Error{Code: baoguan.ENOTFOUND, Message: "二维码不存在"}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		code := http.StatusNotFound
		if baoguan.ErrorCode(err) == baoguan.EINTERNAL {
			code = http.StatusInternalServerError
			s.log.Error("sandbox QR page", "err", err)
		} else if baoguan.ErrorCode(err) == baoguan.ESTATE {
			code = http.StatusGone
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>baoguan</title><p>` + template.HTMLEscapeString(baoguan.ErrorMessage(err)) + `</p>`))
		return
	}
	now := s.svc.Now()
	v := qrView{OrderNo: o.MerchantOrderNo, Amount: baoguan.FormatYuan(o.Amount), Subject: o.Subject, Type: qr.Kind, PSP: qr.PSP,
		PayStatus: string(o.PayStatus), Expires: qr.ExpiresAt.In(core.ChinaTime).Format(time.DateTime), PNG: token + ".png", Message: msg,
		Payable: qr.Payable(o, now)}
	if qr.Expired(now) && msg == "" && !o.Paid() {
		v.Message = "二维码已过期，请商户调用 /order/qrCode 重新生成"
	}
	w.WriteHeader(status)
	if err := qrPage.Execute(w, v); err != nil {
		s.log.Warn("rendering sandbox QR page", "err", err)
	}
}

// handleQRScan is the page's form: action=pay or action=fail.
func (s *Server) handleQRScan(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	var a baoguan.PayerAction
	switch r.PostFormValue("action") {
	case "pay":
		a.Paid = true
	case "fail":
	default:
		s.renderQR(w, r, token, "请选择“支付”或“失败”", http.StatusBadRequest)
		return
	}
	o, err := s.svc.PayCollection(r.Context(), token, a)
	if err != nil {
		if baoguan.ErrorCode(err) == baoguan.EINTERNAL {
			s.log.Error("sandbox QR scan", "err", err)
		}
		s.renderQR(w, r, token, baoguan.ErrorMessage(err), http.StatusConflict)
		return
	}
	msg := "支付成功"
	if !o.Paid() {
		msg = "支付失败：" + o.Payment.FailReason
	}
	s.renderQR(w, r, token, msg, http.StatusOK)
}
