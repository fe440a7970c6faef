package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// Order- and refund-number suffixes that steer the sandbox channel. They are
// compared case-insensitively, because merchants type them by hand while
// testing and a lower-case "payfail" that silently succeeded would look like
// a sandbox bug.
const (
	SuffixPayFail     = "PAYFAIL"     // merchant order no: mock/auto payment fails
	SuffixPayRetry    = "PAYRETRY"    // merchant order no: attempt 1 errors, attempt 2 succeeds
	SuffixRefundFail  = "REFUNDFAIL"  // merchant refund no: refund fails
	SuffixRefundLater = "REFUNDLATER" // merchant refund no: attempt 1 pending, then succeeds
)

// Reasons the sandbox channel gives. They are Chinese because merchants'
// shops show payzero's and customs' reasons to shoppers verbatim.
const (
	PayFailReason    = "银行拒绝交易（沙箱规则：订单号以 PAYFAIL 结尾）"
	RefundFailReason = "渠道退款失败（沙箱规则）"
)

// The payment companies the sandbox pretends to be. mock is payzero's
// virtual payment, which its document (§6.1) answers as LYCHEEPAY; auto uses
// Allinpay's registration, the one payzero's feedback sample (§2) prints,
// so that sandbox declarations carry a realistic customs pay-company code.
const (
	mockPSP     = "LYCHEEPAY"
	mockPSPName = "快付通"
	autoPSP     = "ALLINPAY"
	autoPSPName = "通联支付网络服务股份有限公司"
	autoPSPCode = "312228034T"
	externalPSP = "EXTERNAL"

	verDeptUnionPay = "1"
	verDeptOther    = "3"
	payTypeOther    = "4"
)

// ErrTryAgain is the transient failure the channel returns for an order
// number ending in PAYRETRY on its first attempt. It is a plain error, not
// baoguan.Permanent, so that the job runner's retry path gets exercised.
var ErrTryAgain = errors.New("sandbox: payment channel temporarily unavailable (order number ends in PAYRETRY; the next attempt succeeds)")

// Channel is the sandbox baoguan.PaymentChannel. It holds no state: every
// answer is derived from the request, so it is safe for concurrent use and
// answers a repeated call exactly as the first.
type Channel struct{}

var _ baoguan.PaymentChannel = (*Channel)(nil)

// NewChannel returns the sandbox payment channel.
func NewChannel() *Channel { return &Channel{} }

// Name identifies the channel in logs, metrics and stored jobs.
func (*Channel) Name() string { return "sandbox" }

// InProcess says the channel answers at once from within the process
// (baoguan.InProcess): its answers are pure functions of the request.
func (*Channel) InProcess() bool { return true }

// Pay answers a payment request by the order's channel:
//
//   - mock: PAY_SUCCEED at once, as payzero's virtual payment (LYCHEEPAY);
//   - auto: PAY_SUCCEED with Debit = the order amount (ALLINPAY). The core
//     takes the debit from the merchant's sandbox funding account in the
//     transaction that records the success, and turns the result into
//     PAY_FAILED "商户垫资账户余额不足" when the balance is short; the
//     channel does not look at the balance, so that the check and the debit
//     happen atomically in one place;
//   - external: PAY_SUCCEED keeping the payment number (and PSP) the
//     merchant sent, since the money moved elsewhere;
//   - qr and quick: PAY_APPLIED, because the money moves only when a shopper
//     scans the code or types the SMS code; the outcome arrives later
//     through Complete (see secondstep.go).
//
// For mock and auto, an order number ending in PAYFAIL fails, and one ending
// in PAYRETRY returns ErrTryAgain on attempt 1 and succeeds afterwards.
func (c *Channel) Pay(ctx context.Context, r baoguan.PayRequest) (baoguan.PayResult, error) {
	if err := ctx.Err(); err != nil {
		return baoguan.PayResult{}, err
	}
	o := r.Order
	if o == nil {
		return baoguan.PayResult{}, baoguan.Permanent(baoguan.Errorf(baoguan.EINTERNAL, "sandbox: pay request without an order"))
	}
	switch o.Channel {
	case baoguan.ChannelExternal:
		return payExternal(r), nil
	case baoguan.ChannelQR, baoguan.ChannelQuick:
		return applySecondStep(r), nil
	case baoguan.ChannelMicro:
		return payMicro(r), nil
	case baoguan.ChannelNative, baoguan.ChannelJSAPI, baoguan.ChannelMiniProgram, baoguan.ChannelApp, baoguan.ChannelWAP, baoguan.ChannelDesk:
		return applySecondStep(r), nil
	case baoguan.ChannelMock, baoguan.ChannelAuto:
	default:
		return baoguan.PayResult{
			Status: baoguan.PayFailed,
			Payment: baoguan.Payment{
				FailReason: "沙箱渠道不支持 " + string(o.Channel) + " 支付方式",
			},
		}, nil
	}

	orderNo := strings.ToUpper(o.MerchantOrderNo)
	if strings.HasSuffix(orderNo, SuffixPayRetry) && r.Attempt <= 1 {
		return baoguan.PayResult{}, ErrTryAgain
	}

	p := baoguan.Payment{
		No:      paymentNo(r),
		PayType: payTypeOther,
	}
	if o.Channel == baoguan.ChannelMock {
		p.PSP, p.PSPName, p.VerDept = mockPSP, mockPSPName, verDeptOther
	} else {
		p.PSP, p.PSPName, p.PSPCode, p.VerDept = autoPSP, autoPSPName, autoPSPCode, verDeptUnionPay
	}
	p.InitRequest = initRequest(r, p.PSP)

	if strings.HasSuffix(orderNo, SuffixPayFail) {
		p.FailReason = PayFailReason
		p.InitResponse = marshal(virtualResponse{
			Result: "FAIL", TradeNo: p.No, PayStatus: string(baoguan.PayFailed), Message: PayFailReason,
		})
		// No payer or paid time: nobody paid, and customs must never see a
		// failed payment as a payment.
		return baoguan.PayResult{Status: baoguan.PayFailed, Payment: p}, nil
	}

	p.PaidAt = r.Now
	// The sandbox asserts that the person named on the order is the one who
	// paid, so declarations of sandbox orders compare as SAME unless the
	// merchant re-declares with another payer.
	p.PayerName = o.Payer.Name
	p.PayerID = o.Payer.IDNumber
	p.InitResponse = marshal(virtualResponse{
		Result: "SUCCESS", TradeNo: p.No, PayStatus: string(baoguan.PaySucceed), PaidAt: stamp(r.Now),
	})
	res := baoguan.PayResult{Status: baoguan.PaySucceed, Payment: p}
	if o.Channel == baoguan.ChannelAuto {
		res.Debit = o.Amount
	}
	return res, nil
}

// payExternal records a payment made outside baoguan. What the merchant sent
// wins; the sandbox only fills the gaps customs' 179 data needs, so that a
// declaration of an external order is as complete as one of a mock order.
func payExternal(r baoguan.PayRequest) baoguan.PayResult {
	o := r.Order
	p := o.Payment
	p.FailReason = ""
	if p.PSP == "" {
		p.PSP = externalPSP
	}
	if p.PaidAt.IsZero() {
		p.PaidAt = r.Now
	}
	if p.VerDept == "" {
		p.VerDept = verDeptOther
	}
	if p.PayType == "" {
		p.PayType = payTypeOther
	}
	if p.PayerName == "" && p.PayerID == "" {
		p.PayerName = o.Payer.Name
		p.PayerID = o.Payer.IDNumber
	}
	if p.InitRequest == "" {
		p.InitRequest = initRequest(r, p.PSP)
	}
	if p.InitResponse == "" {
		p.InitResponse = marshal(virtualResponse{
			Result: "SUCCESS", TradeNo: p.No, PayStatus: string(baoguan.PaySucceed), PaidAt: stamp(p.PaidAt),
			Message: "paid outside baoguan; payment number as sent by the merchant",
		})
	}
	return baoguan.PayResult{Status: baoguan.PaySucceed, Payment: p}
}

// paymentNo is the 20-digit sandbox payment number. It depends on the
// payment round (PayAttempts) but not on the job attempt, so a retried or
// replayed call of the same round reproduces it, while a re-arranged payment
// gets a new number, as a real PSP would issue.
//
// Like a real PSP's transaction ids it grows with time, here with the
// order: a 1, the order's id in 13 digits, the round in 3, then 3 digits
// hashed from the merchant, the order and the round. The store finds an
// order by its payment number through an index of (merchant, number);
// numbers that follow the orders go in at its end, where hash-random ones
// went in at a random page each, a page written (a WAL frame on SQLite)
// per paid order (docs/benchmarks.md, change 80). An order without an id
// yet, or past those digits, gets the 20 hashed digits instead.
func paymentNo(r baoguan.PayRequest) string {
	o := r.Order
	round := strconv.Itoa(o.PayAttempts)
	check := digits(20, "pay", i64(merchantID(r)), i64(o.ID), o.MerchantOrderNo, round)
	if o.ID <= 0 || o.ID >= 1e13 || o.PayAttempts < 0 || o.PayAttempts >= 1e3 {
		return check
	}
	var b [20]byte
	n := uint64(o.ID)*1e3 + uint64(o.PayAttempts) // 16 digits at most
	for i := 16; i >= 1; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	b[0] = '1'
	copy(b[17:], check[17:])
	return string(b[:])
}

func merchantID(r baoguan.PayRequest) int64 {
	if r.Order.MerchantID == 0 && r.Merchant != nil {
		return r.Merchant.ID
	}
	return r.Order.MerchantID
}

// virtualRequest and virtualResponse are the raw exchange the sandbox
// pretends to have had with its PSP. Customs' 179 data service asks for the
// raw payment request and response, so the sandbox must produce something of
// that shape; the payer is masked because these texts are stored and shown
// far more widely than the sealed payer fields. The job attempt is left
// out: it is baoguan's bookkeeping, not part of the payment.
type virtualRequest struct {
	API             string `json:"api"`
	PSP             string `json:"psp"`
	Channel         string `json:"channel"`
	MerchantOrderNo string `json:"merchant_order_no"`
	Amount          int64  `json:"amount"`
	Currency        string `json:"currency"`
	Subject         string `json:"subject,omitempty"`
	PayerName       string `json:"payer_name,omitempty"`
	PayerIDType     string `json:"payer_id_type,omitempty"`
	PayerID         string `json:"payer_id,omitempty"`
	Round           int    `json:"round"`
	RequestTime     string `json:"request_time"`
}

type virtualResponse struct {
	Result    string `json:"result"`
	TradeNo   string `json:"trade_no,omitempty"`
	PayStatus string `json:"pay_status"`
	PaidAt    string `json:"paid_at,omitempty"`
	Message   string `json:"message,omitempty"`
}

func initRequest(r baoguan.PayRequest, psp string) string {
	o := r.Order
	q := virtualRequest{
		API:             "sandbox/" + string(o.Channel) + "pay",
		PSP:             psp,
		Channel:         string(o.Channel),
		MerchantOrderNo: o.MerchantOrderNo,
		Amount:          o.Amount,
		Currency:        o.Currency,
		Subject:         o.Subject,
		PayerIDType:     o.Payer.IDType,
		Round:           o.PayAttempts,
		RequestTime:     stamp(r.Now),
	}
	if q.Currency == "" {
		q.Currency = "CNY"
	}
	if o.Payer.Name != "" {
		q.PayerName = baoguan.MaskName(o.Payer.Name)
	}
	if o.Payer.IDNumber != "" {
		q.PayerID = baoguan.MaskID(o.Payer.IDNumber)
	}
	return marshal(q)
}

// stamp formats a time for the virtual exchange; the zero time stays empty
// rather than claiming year 1.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// marshal cannot fail for the flat structs above; a failure would be a
// programming error, and an empty document is a safer answer than a panic
// inside a payment job.
func marshal(v any) string {
	switch v := v.(type) {
	case virtualRequest:
		return string(v.appendJSON(make([]byte, 0, 320)))
	case virtualResponse:
		return string(v.appendJSON(make([]byte, 0, 128)))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// appendJSON appends q as json.Marshal writes it (TestVirtualJSONAsEncodingJSON):
// the raw exchange of every sandbox payment is written inside a job batch,
// in SQLite's single writer, where encoding/json's reflection was about
// a microsecond a payment of it.
func (q virtualRequest) appendJSON(b []byte) []byte {
	b = append(b, `{"api":`...)
	b = baoguan.AppendJSONString(b, q.API, true)
	b = append(b, `,"psp":`...)
	b = baoguan.AppendJSONString(b, q.PSP, true)
	b = append(b, `,"channel":`...)
	b = baoguan.AppendJSONString(b, q.Channel, true)
	b = append(b, `,"merchant_order_no":`...)
	b = baoguan.AppendJSONString(b, q.MerchantOrderNo, true)
	b = append(b, `,"amount":`...)
	b = strconv.AppendInt(b, q.Amount, 10)
	b = append(b, `,"currency":`...)
	b = baoguan.AppendJSONString(b, q.Currency, true)
	b = appendOmitEmpty(b, `,"subject":`, q.Subject)
	b = appendOmitEmpty(b, `,"payer_name":`, q.PayerName)
	b = appendOmitEmpty(b, `,"payer_id_type":`, q.PayerIDType)
	b = appendOmitEmpty(b, `,"payer_id":`, q.PayerID)
	b = append(b, `,"round":`...)
	b = strconv.AppendInt(b, int64(q.Round), 10)
	b = append(b, `,"request_time":`...)
	b = baoguan.AppendJSONString(b, q.RequestTime, true)
	return append(b, '}')
}

// appendJSON appends r as json.Marshal writes it.
func (r virtualResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"result":`...)
	b = baoguan.AppendJSONString(b, r.Result, true)
	b = appendOmitEmpty(b, `,"trade_no":`, r.TradeNo)
	b = append(b, `,"pay_status":`...)
	b = baoguan.AppendJSONString(b, r.PayStatus, true)
	b = appendOmitEmpty(b, `,"paid_at":`, r.PaidAt)
	b = appendOmitEmpty(b, `,"message":`, r.Message)
	return append(b, '}')
}

// appendOmitEmpty appends the key and s, unless s is empty (omitempty).
func appendOmitEmpty(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return baoguan.AppendJSONString(append(b, key...), s, true)
}

// Refund answers a refund request: REFUND_SUCCEED with a deterministic
// refund number, unless the merchant refund number ends in REFUNDFAIL
// (REFUND_FAILED) or REFUNDLATER (REFUND_REQUESTED on attempt 1, so the
// core's pending-refund path can be tested, then REFUND_SUCCEED).
func (c *Channel) Refund(ctx context.Context, r baoguan.RefundRequest) (baoguan.RefundResult, error) {
	if err := ctx.Err(); err != nil {
		return baoguan.RefundResult{}, err
	}
	rf := r.Refund
	if rf == nil {
		return baoguan.RefundResult{}, baoguan.Permanent(baoguan.Errorf(baoguan.EINTERNAL, "sandbox: refund request without a refund"))
	}
	no := strings.ToUpper(rf.MerchantRefundNo)
	if strings.HasSuffix(no, SuffixRefundFail) {
		return baoguan.RefundResult{Status: baoguan.RefundFailed, Reason: RefundFailReason}, nil
	}
	res := baoguan.RefundResult{Status: baoguan.RefundSucceed, RefundNo: refundNo(r)}
	if strings.HasSuffix(no, SuffixRefundLater) && r.Attempt <= 1 {
		res.Status = baoguan.RefundRequested
	}
	return res, nil
}

// refundNo is keyed on what identifies a refund for its whole life (the
// merchant and its refund number, unique per merchant), not on the attempt,
// so the pending answer and the later success carry the same number.
func refundNo(r baoguan.RefundRequest) string {
	mid := r.Refund.MerchantID
	if mid == 0 && r.Order != nil {
		mid = r.Order.MerchantID
	}
	return digits(20, "refund", i64(mid), r.Refund.MerchantRefundNo)
}
