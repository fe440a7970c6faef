// Package accp serves LianLian ACCP's cross-border payment push API
// (cbpayment: apply-pushpay, query-pushpay and the push result
// notification) in LianLian's wire format, so that a merchant's LianLian
// SDK works against baoguan by changing its base URL only.
//
// Requests are JSON signed the way LianLian's SDKs sign them (Signature-Type
// RSA, Signature-Data = MD5withRSA over the hex MD5 of the body) with the
// merchant's key registered by `baoguan merchant key --protocol accp`;
// responses and notifications are signed with the installation's platform
// key (`baoguan platform-cert --protocol accp`). A push declares the payment
// record of an order that is already paid in baoguan; the package only
// translates: duplicates, modifications, amounts and the payer check are the
// core's (core.Service.PushDeclaration). docs/protocols/accp.md lists the
// return codes, push statuses and every decision the vendor document left
// open.
package accp

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/inbound"
	"github.com/baoguan/baoguan/platform"
)

// Protocol is the front-end's name in the core: orders pushed through it
// notify in its format, its platform key is platform.Load(…, Protocol) and
// merchant settings are "accp.<flag>".
const Protocol = "accp"

// SettingPublicKey is the merchant setting holding the merchant's RSA public
// key (PEM), written by `baoguan merchant key --protocol accp --public-key`.
const SettingPublicKey = Protocol + ".public-key"

// DefaultMaxSkew is how far a request's timestamp may be from baoguan's
// clock, either way: the document's 30-minute validity, which it says
// already includes the difference between the servers' clocks.
const DefaultMaxSkew = 30 * time.Minute

// cst is China Standard Time, in which LianLian writes every timestamp
// and date. A fixed zone keeps baoguan independent of the host's tzdata.
var cst = time.FixedZone("CST", 8*3600)

// Options configure the front-end.
type Options struct {
	Svc *core.Service
	Log *slog.Logger
	// Key is the platform signing key. Nil loads (and on first use creates)
	// Svc.PlatformKey(ctx, Protocol).
	Key *platform.Key
	// MaxBody caps a request body (default 64 KiB; a push is under 2 KiB).
	MaxBody int64
	// MaxSkew overrides DefaultMaxSkew.
	MaxSkew time.Duration
}

// Server serves the ACCP routes.
type Server struct {
	svc     *core.Service
	log     *slog.Logger
	key     *platform.Key
	maxBody int64
	skew    time.Duration
}

// New returns the front-end. It fails when the platform key cannot be
// loaded or created.
func New(o Options) (*Server, error) {
	if o.Svc == nil {
		return nil, errors.New("accp: Options.Svc is required")
	}
	s := &Server{svc: o.Svc, log: o.Log, key: o.Key, maxBody: o.MaxBody, skew: o.MaxSkew}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = 64 << 10
	}
	if s.skew <= 0 {
		s.skew = DefaultMaxSkew
	}
	if s.key == nil {
		k, err := o.Svc.PlatformKey(context.Background(), Protocol)
		if err != nil {
			return nil, err
		}
		s.key = k
	}
	return s, nil
}

// Key is the platform key the server signs with; merchants verify with its
// public half (platform-cert --protocol accp).
func (s *Server) Key() *platform.Key { return s.key }

// Format is this server's notification format, signed with the same key:
// svc.Formats.Register(Protocol, srv.Format()) is the same as
// Register(Protocol, NewFormat(srv.Key())).
func (s *Server) Format() core.Format { return NewFormat(s.key) }

// Return codes. 0000 and 9901 are the document's; the others are baoguan's,
// one per failure, listed in docs/protocols/accp.md.
const (
	CodeOK              = "0000" // accepted (apply) or found (query)
	CodeBadSignature    = "1001" // Signature-Type/Signature-Data missing or not verifying
	CodeUnknownMerchant = "1002" // mch_id unknown, or no public key registered for it
	CodeBadTimestamp    = "1003" // timestamp malformed or more than 30 minutes off
	CodeBadRequest      = "1004" // body not one JSON object, or too large
	CodeMerchantStatus  = "1005" // merchant in arrears or unsigned
	CodeNoSuchAPI       = "1006" // no such route
	CodeTooMany         = "1007" // too many failed signatures from the source or for the mch_id (HTTP 429, Retry-After)
	CodeMissingField    = "2001" // a required field is absent or empty
	CodeBadField        = "2002" // a field is malformed or has an unknown value
	CodeBadCustoms      = "2003" // custom_code unknown, or declared in several records
	CodeBadExtendInfo   = "2004" // extend_info unreadable, or a port extra missing or wrong
	CodeUnknownOrder    = "3001" // org_txn_seqno names no order of the merchant
	CodeNotPaid         = "3002" // the order is not paid
	CodeAbovePaid       = "3003" // pushed amounts above what was paid less refunds
	CodeAmountMismatch  = "3004" // total_amount ≠ pay_fee_amount + pay_gds_amt + pay_tax_amt
	CodeUnknownPush     = "3005" // MOD or query of a txn_seqno never accepted
	CodeInFlight        = "3006" // MOD while the push is with customs
	CodePushTaken       = "3007" // the order was already pushed to that customs under another txn_seqno
	CodeImmutable       = "3008" // MOD changes org_txn_seqno, custom_code or sub_order_flag
	CodePayerDiffers    = "3009" // DIFF_REJECT and the declared payer is not the real payer
	CodeTooManyMods     = "3010" // a push modified too often
	CodeDuplicate       = "9901" // 一码多义: txn_seqno reused with different content
	CodeBusy            = "9999" // internal error; retry later
)

// apiError is a failure the front-end found itself, with its return code.
type apiError struct {
	code, msg string
}

func (e *apiError) Error() string { return e.code + " " + e.msg }

func fail(code, msg string) error { return &apiError{code: code, msg: msg} }

// coreFields names core fields in ACCP's words, so a message points at a
// field the merchant sent.
var coreFields = map[string]string{
	"payer.name":        "user_name",
	"payer.id_type":     "id_type",
	"payer.id_number":   "id_no",
	"payer.phone":       "phone",
	"push_no":           "txn_seqno",
	"sub_order_no":      "txn_seqno",
	"order_no":          "org_txn_seqno",
	"customs":           "custom_code",
	"order_fee":         "total_amount",
	"transport_fee":     "pay_fee_amount",
	"product_fee":       "pay_gds_amt",
	"duty":              "pay_tax_amt",
	"customs_area_code": "extend_info.customs_area_code",
	"customs_jy_org":    "extend_info.customs_jy_org",
	"customs_in_type":   "extend_info.customs_in_type",
}

// codeOf turns an error into a return code and message: the one place where
// core error codes and reasons become ACCP's.
func codeOf(err error) (code, msg string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.code, ae.msg
	}
	msg = baoguan.ErrorMessage(err)
	if f := baoguan.ErrorField(err); f != "" {
		if w, ok := coreFields[f]; ok {
			f = w
		}
		msg = f + ": " + msg
	}
	switch baoguan.ErrorReason(err) {
	case "duplicate_push":
		return CodeDuplicate, "一码多义: " + msg
	case "unknown_push":
		return CodeUnknownPush, msg
	case "unknown_order":
		return CodeUnknownOrder, msg
	case "not_paid":
		return CodeNotPaid, msg
	case "declared_above_paid":
		return CodeAbovePaid, msg
	case "split_fees_mismatch":
		return CodeAmountMismatch, "total_amount must equal pay_fee_amount + pay_gds_amt + pay_tax_amt"
	case "declaration_in_flight":
		return CodeInFlight, msg
	case "declaration_pushed":
		return CodePushTaken, msg
	case "push_immutable":
		return CodeImmutable, msg
	case "payer_differs":
		return CodePayerDiffers, msg
	case "too_many_modifications":
		return CodeTooManyMods, msg
	case "unknown_customs_code", "multi_declaration_plan":
		return CodeBadCustoms, msg
	case "missing_customs_extra", "bad_customs_extra":
		return CodeBadExtendInfo, msg
	}
	switch baoguan.ErrorCode(err) {
	case baoguan.ERATELIMIT:
		return CodeTooMany, fmt.Sprintf("too many failed signatures; retry after %d seconds", baoguan.RetryAfter(err))
	case baoguan.EINVALID:
		if strings.HasPrefix(baoguan.ErrorReason(err), "missing") {
			return CodeMissingField, msg
		}
		return CodeBadField, msg
	case baoguan.EMERCHANT:
		return CodeMerchantStatus, msg
	case baoguan.ELIMIT:
		return CodeAbovePaid, msg
	case baoguan.ENOTFOUND:
		return CodeUnknownOrder, msg
	}
	return CodeBusy, "系统繁忙，请稍后重试"
}

// reply is the response of both routes: every field of the document's
// apply-pushpay response, in its order, always present.
type reply struct {
	RetCode          string `json:"ret_code"`
	RetMsg           string `json:"ret_msg"`
	MchID            string `json:"mch_id"`
	TxnSeqno         string `json:"txn_seqno"`
	AccpTxno         string `json:"accp_txno"`
	OrgTxnSeqno      string `json:"org_txn_seqno"`
	PushStatus       string `json:"push_status"`
	PayCompanyCode   string `json:"pay_company_code"`
	PayCompanyName   string `json:"pay_company_name"`
	PayTransactionID string `json:"pay_transaction_id"`
	PushDate         string `json:"push_date"`
	PushFailReason   string `json:"push_failReason"`
	ResultInfo       string `json:"result_info"`
}

// marshal encodes without HTML escaping (LianLian's SDKs compare nothing
// byte-wise, but people read these bodies) and without a trailing newline,
// so the signed bytes are exactly the body.
func marshal(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

// write sends a signed JSON body. Every ret_code reply is HTTP 200 but
// that of an unknown route (404): LianLian's SDKs read the outcome from
// ret_code, and some treat other statuses as transport failures and retry.
func (s *Server) write(w http.ResponseWriter, status int, body []byte) {
	if err := setSignature(w.Header(), s.key.Private, body); err != nil {
		s.log.Error("accp: signing a reply", "err", err)
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError answers a failure, echoing what the request said about
// itself. Internal errors are logged with the request id, never shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, echo reply, err error) {
	code, msg := codeOf(err)
	if code == CodeBusy {
		s.log.Error("accp: internal error", "request_id", r.Header.Get("X-Request-Id"), "path", r.URL.Path, "err", err)
	}
	echo.RetCode, echo.RetMsg = code, msg
	b, merr := marshal(echo)
	if merr != nil {
		s.log.Error("accp: encoding an error reply", "err", merr)
		return
	}
	status := http.StatusOK
	if sec := baoguan.RetryAfter(err); sec > 0 {
		// Over the failed-signature limits: 429 and Retry-After, so an
		// SDK that retries transport failures backs off.
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(sec))
	}
	s.write(w, status, b)
}

// request is an authenticated request on its way to a handler.
type request struct {
	merchant *baoguan.Merchant
	body     []byte
	echo     reply // fields the request named, for error replies
}

// authenticate reads the body, finds the merchant by mch_id, verifies the
// signature with the merchant's registered key and checks the timestamp.
// The body is read once: the signature covers the raw bytes.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*request, error) {
	req := &request{}
	// The media type is not checked: clients in the field send
	// application/json, text/plain, application/text or nothing with the
	// same JSON body. A body that is not one JSON object is refused below.
	// Its charset must be UTF-8 (declared or not), and it must not be
	// compressed; LianLian's Java SDK sends "Content-Encoding: UTF-8",
	// which names a charset, not a coding, and is read as identity.
	if p := inbound.CheckContentEncoding(r.Header.Values("Content-Encoding"), true); p != nil {
		return req, fail(CodeBadRequest, p.Message)
	}
	if _, p := inbound.ToUTF8(nil, inbound.Charset(r.Header.Get("Content-Type")), inbound.UTF8Only); p != nil {
		return req, fail(CodeBadRequest, p.Message)
	}
	// A source over the failed-signature limits is refused before its
	// body is read (core.Service.AuthAllowed).
	if err := s.svc.AuthAllowed(r.Context(), r.RemoteAddr, ""); err != nil {
		return req, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return req, fail(CodeBadRequest, "the body is larger than the limit")
		}
		return req, fail(CodeBadRequest, "the body could not be read")
	}
	req.body = body
	// Read only if encoding/json would read it unchanged: UTF-8, no lone
	// surrogate escapes, no key twice in any case.
	if p := inbound.CheckJSON(body); p != nil {
		return req, fail(CodeBadRequest, p.Message)
	}
	var head map[string]json.RawMessage
	if err := json.Unmarshal(body, &head); err != nil {
		return req, fail(CodeBadRequest, "the body is not a JSON object")
	}
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(head[k], &v)
		return v
	}
	req.echo = reply{MchID: str("mch_id"), TxnSeqno: str("txn_seqno"), OrgTxnSeqno: str("org_txn_seqno")}
	no := strings.TrimSpace(req.echo.MchID)
	if no == "" {
		return req, fail(CodeMissingField, "mch_id is required")
	}
	m, err := s.svc.MerchantByNo(r.Context(), no)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return req, s.svc.AuthFailed(r.Context(), r.RemoteAddr, "", fail(CodeUnknownMerchant, "mch_id "+no+" is not a merchant of this gateway"))
	}
	if err != nil {
		return req, err
	}
	subject := core.AuthMerchant(m)
	if err := s.svc.AuthAllowed(r.Context(), r.RemoteAddr, subject); err != nil {
		return req, err
	}
	pub, err := merchantKey(m, s.svc.Now())
	var expired *CertificateNotValidError
	if errors.As(err, &expired) {
		// A merchant certificate outside its validity no longer
		// authenticates; a replaced key in its grace period still may.
		pub, err = nil, nil
	}
	if err != nil {
		// What is wrong with the registered key is the operator's to
		// know (the log has it), not the caller's.
		s.log.Warn("accp: merchant public key unusable", "request_id", r.Header.Get("X-Request-Id"), "merchant", no, "err", err)
		return req, s.svc.AuthFailed(r.Context(), r.RemoteAddr, "", fail(CodeUnknownMerchant, "mch_id "+no+" has no usable ACCP public key registered; ask the gateway operator to register it"))
	}
	if t := r.Header.Get(HeaderSignatureType); !strings.EqualFold(strings.TrimSpace(t), SignatureTypeRSA) {
		return req, s.svc.AuthFailed(r.Context(), r.RemoteAddr, subject, fail(CodeBadSignature, "Signature-Type must be RSA"))
	}
	verr := errors.New("the signature does not verify")
	if pub != nil {
		verr = Verify(pub, body, r.Header.Get(HeaderSignatureData))
	}
	if verr != nil {
		if ok, rerr := s.verifiesRetired(r.Context(), m, body, r.Header.Get(HeaderSignatureData)); rerr != nil {
			return req, rerr
		} else if !ok {
			msg := verr.Error()
			if expired != nil {
				msg = "the ACCP certificate registered for mch_id " + no + " no longer authenticates: " + expired.Error() +
					"; sign with a current key and ask the gateway operator to register it"
			}
			return req, s.svc.AuthFailed(r.Context(), r.RemoteAddr, subject, fail(CodeBadSignature, msg))
		}
	}
	if err := s.checkTimestamp(str("timestamp")); err != nil {
		return req, err
	}
	req.merchant = m
	return req, nil
}

// merchantKey is the merchant's registered ACCP public key, usable at now
// (a certificate only within its validity).
func merchantKey(m *baoguan.Merchant, now time.Time) (*rsa.PublicKey, error) {
	pem := m.Settings[SettingPublicKey]
	if strings.TrimSpace(pem) == "" {
		return nil, errors.New("no ACCP public key is registered; the operator registers it with `baoguan merchant key --protocol accp --public-key FILE`")
	}
	k, err := PublicKeyAt(pem, now)
	var nv *CertificateNotValidError
	if errors.As(err, &nv) {
		return nil, err
	}
	if err != nil {
		return nil, errors.New("the registered ACCP public key is unusable: " + err.Error())
	}
	return k, nil
}

// verifiesRetired reports whether the signature verifies with one of the
// merchant's replaced public keys still in the grace period the operator
// gave when registering the new one (baoguan merchant key --grace), so a
// merchant can switch its signing key without a moment of refused pushes.
func (s *Server) verifiesRetired(ctx context.Context, m *baoguan.Merchant, body []byte, sig string) (bool, error) {
	old, err := s.svc.RetiredSettingValues(ctx, m, SettingPublicKey)
	if err != nil {
		return false, err
	}
	for _, p := range old {
		if k, err := PublicKeyAt(p, s.svc.Now()); err == nil && Verify(k, body, sig) == nil {
			return true, nil
		}
	}
	return false, nil
}

// checkTimestamp enforces the document's 30-minute validity, either way.
func (s *Server) checkTimestamp(ts string) error {
	if ts == "" {
		return fail(CodeMissingField, "timestamp is required")
	}
	t, err := time.ParseInLocation("20060102150405", ts, cst)
	if err != nil || len(ts) != 14 {
		return fail(CodeBadTimestamp, "timestamp must be yyyyMMddHHmmss (China Standard Time), got "+ts)
	}
	// Compared in whole seconds against bounds computed from the clock,
	// never through a difference turned into a time.Duration, which could
	// overflow for far timestamps (year 0001 or 9999).
	now := s.svc.Now()
	n, skew := now.Unix(), int64(s.skew/time.Second)
	if u := t.Unix(); u < n-skew || u > n+skew {
		return fail(CodeBadTimestamp, "timestamp "+ts+" is outside the 30 minutes either side of the gateway's time "+now.In(cst).Format("20060102150405"))
	}
	return nil
}
