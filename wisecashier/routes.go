package wisecashier

import (
	"context"
	"net/http"
)

// handler answers one authenticated call. Its value is the data of the
// envelope, or a topLevel answer.
type handler func(ctx context.Context, c *call) (any, error)

// topLevel is an answer whose members sit beside meta instead of inside
// data, as §6.7 (refund) and §6.8 (rate) print them.
type topLevel map[string]any

// routes lists every route the front-end serves, under prefix.
func (s *Server) routes(mux *http.ServeMux, prefix string) {
	api := func(pattern string, h handler) {
		mux.Handle(pattern, s.api(prefix, false, h))
	}
	// §4 WeChat Pay, mainland wallet (and §5, the Hong Kong wallet: the
	// same interfaces).
	api("POST "+prefix+"/mp_pay", s.handleMPPay)
	api("POST "+prefix+"/order/scan_pay", s.handleScanPay)
	api("POST "+prefix+"/order/scanned_pay", s.handleScannedPay)
	api("GET "+prefix+"/wx_openid", s.handleOpenID)
	api("POST "+prefix+"/mini_program_pay", s.handleMiniProgramPay)
	api("POST "+prefix+"/order/app_pay", s.handleAppPay)
	mux.Handle("GET "+prefix+"/wechatpay/cashier_desk", s.page(prefix, s.deskHandler(deskPC)))
	mux.Handle("GET "+prefix+"/wechatpay/mp_cashier_desk", s.page(prefix, s.deskHandler(deskMP)))
	api("POST "+prefix+"/refund", s.handleRefund(false))
	api("GET "+prefix+"/order", s.handleOrder(false))
	api("GET "+prefix+"/refund", s.handleRefundQuery(false))
	api("GET "+prefix+"/rate", s.handleRate(false))
	// §6 Alipay online, §7 Alipay offline.
	api("POST "+prefix+"/alipay/scanned_pay", s.handleAlipayCollect(modeAlipayScanned))
	api("POST "+prefix+"/alipay/app_pay", s.handleAlipayCollect(modeAlipayApp))
	api("POST "+prefix+"/alipay/wap_pay", s.handleAlipayCollect(modeAlipayWAP))
	mux.Handle("GET "+prefix+"/alipay/cashier_desk", s.page(prefix, s.deskHandler(deskAlipay)))
	api("GET "+prefix+"/alipay/order", s.handleOrder(true))
	api("POST "+prefix+"/alipay/refund", s.handleRefund(true))
	api("GET "+prefix+"/alipay/refund", s.handleRefundQuery(true))
	api("GET "+prefix+"/alipay/rate", s.handleRate(true))
	api("POST "+prefix+"/alipay/qrcode_pay", s.handleAlipayCollect(modeAlipayQRCode))
	api("POST "+prefix+"/alipay/scan_pay", s.handleAlipayScanPay)
	// §8 bills.
	mux.Handle("GET "+prefix+"/download_bill", s.bill(prefix))
	// §9 declarations.
	api("POST "+prefix+"/wechatpay/declaration", s.handleDeclare(walletWeChat))
	api("GET "+prefix+"/wechatpay/declaration", s.handleDeclarationQuery(walletWeChat))
	api("POST "+prefix+"/wechatpay/redeclaration", s.handleRedeclare(walletWeChat))
	api("POST "+prefix+"/alipay/declaration", s.handleDeclare(walletAlipay))
	api("GET "+prefix+"/alipay/declaration", s.handleDeclarationQuery(walletAlipay))
	api("POST "+prefix+"/alipay/redeclaration", s.handleRedeclare(walletAlipay))
	// The sandbox wallet pages codes and cashier desks lead to.
	mux.HandleFunc("GET "+prefix+"/sandbox/wallet/{token}", s.withBase(prefix, s.handleWalletPage))
	mux.HandleFunc("POST "+prefix+"/sandbox/wallet/{token}", s.withBase(prefix, s.handleWalletAction))
	mux.HandleFunc(prefix+"/", s.handleNotFound)
}

// withBase records the mount prefix for links built by the handler.
func (s *Server) withBase(prefix string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h(w, r.WithContext(context.WithValue(r.Context(), keyBase, prefix)))
	}
}

// api wraps a handler: authenticate, run, answer in the envelope.
func (s *Server) api(prefix string, pageAuth bool, h handler) http.Handler {
	return s.withBase(prefix, func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r.Context(), w, r, pageAuth)
		var out any
		if err == nil {
			out, err = h(r.Context(), c)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if t, ok := out.(topLevel); ok {
			t["meta"] = meta{StatusCode: http.StatusOK, Message: okMessage, Success: true}
			s.write(w, http.StatusOK, map[string]any(t))
			return
		}
		s.ok(w, out)
	})
}

// handleNotFound answers a path or method the document does not define.
func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.write(w, http.StatusNotFound, envelope{Meta: meta{StatusCode: http.StatusNotFound,
		Message: "未找到资源或对象: no such interface " + r.Method + " " + r.URL.Path, Success: false}})
}
