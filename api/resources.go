package api

import (
	"strconv"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Wire shapes of the native API. Personal data in responses is masked: the
// merchant already holds it, and responses end up in logs.

type itemJSON struct {
	Subject    string `json:"subject"`
	Link       string `json:"link,omitempty"`
	ArticleNo  string `json:"article_no,omitempty"`
	Quantity   int64  `json:"quantity,omitempty"`
	UnitAmount int64  `json:"unit_amount,omitempty"`
}

type payerJSON struct {
	Name     string `json:"name"`
	IDType   string `json:"id_type,omitempty"`
	IDNumber string `json:"id_number"`
	Phone    string `json:"phone"`
}

type declarationReq struct {
	Customs           string `json:"customs"`
	CustomsAreaCode   string `json:"customs_area_code,omitempty"`
	CustomsJyOrg      string `json:"customs_jy_org,omitempty"`
	CustomsInType     string `json:"customs_in_type,omitempty"`
	SubOrderNo        string `json:"sub_order_no,omitempty"`
	MerchantCustomsNo string `json:"merchant_customs_no,omitempty"`
	OrderFee          *int64 `json:"order_fee,omitempty"`
	TransportFee      *int64 `json:"transport_fee,omitempty"`
	ProductFee        *int64 `json:"product_fee,omitempty"`
	Duty              int64  `json:"duty,omitempty"`
	Strategy          string `json:"auth_check_strategy,omitempty"`
}

func (d declarationReq) spec() baoguan.DeclarationSpec {
	s := baoguan.DeclarationSpec{Customs: d.Customs, SubOrderNo: d.SubOrderNo, MerchantCustomsNo: d.MerchantCustomsNo,
		Duty: d.Duty, Strategy: d.Strategy,
		Extras: baoguan.CustomsExtras{AreaCode: d.CustomsAreaCode, JyOrg: d.CustomsJyOrg, InType: d.CustomsInType}}
	if d.OrderFee != nil || d.TransportFee != nil || d.ProductFee != nil {
		s.Split = true
		s.OrderFee, s.TransportFee, s.ProductFee = deref(d.OrderFee), deref(d.TransportFee), deref(d.ProductFee)
	}
	return s
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

type orderReq struct {
	MerchantOrderNo string           `json:"merchant_order_no"`
	Amount          int64            `json:"amount"`
	Currency        string           `json:"currency,omitempty"`
	Subject         string           `json:"subject"`
	Items           []itemJSON       `json:"items,omitempty"`
	Payer           *payerJSON       `json:"payer,omitempty"`
	OrderedAt       *time.Time       `json:"ordered_at,omitempty"`
	NotifyURL       string           `json:"notify_url,omitempty"`
	Channel         string           `json:"channel,omitempty"`
	PaymentNo       string           `json:"payment_no,omitempty"`
	PSP             string           `json:"psp,omitempty"`
	Declarations    []declarationReq `json:"declarations,omitempty"`
}

// orderInput is the order, with its declarations, as core takes it (one
// pushed alone or in a batch upload).
func (q *orderReq) orderInput() core.OrderInput {
	oi := core.OrderInput{Order: q.input()}
	for _, d := range q.Declarations {
		oi.Declarations = append(oi.Declarations, d.spec())
	}
	return oi
}

func (q *orderReq) input() baoguan.Order {
	o := baoguan.Order{MerchantOrderNo: q.MerchantOrderNo, Amount: q.Amount, Currency: q.Currency, Subject: q.Subject,
		NotifyURL: q.NotifyURL, Channel: baoguan.Channel(q.Channel), Protocol: Protocol, NeedDeclare: len(q.Declarations) > 0}
	for _, it := range q.Items {
		o.Items = append(o.Items, baoguan.Item(it))
	}
	if q.Payer != nil {
		o.Payer = baoguan.Payer{Name: q.Payer.Name, IDType: q.Payer.IDType, IDNumber: q.Payer.IDNumber, Phone: q.Payer.Phone}
	}
	if q.OrderedAt != nil {
		o.OrderedAt = *q.OrderedAt
	}
	o.Payment.No, o.Payment.PSP = q.PaymentNo, q.PSP
	return o
}

type paymentJSON struct {
	PaymentNo   string     `json:"payment_no,omitempty"`
	PSP         string     `json:"psp,omitempty"`
	PSPName     string     `json:"psp_name,omitempty"`
	PSPCode     string     `json:"psp_customs_code,omitempty"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
	VerDept     string     `json:"ver_dept,omitempty"`
	PayType     string     `json:"pay_type,omitempty"`
	FailReason  string     `json:"fail_reason,omitempty"`
	FailCode    string     `json:"fail_code,omitempty"`
	InitRequest string     `json:"init_request,omitempty"`
	InitResp    string     `json:"init_response,omitempty"`
	// The currency facts of a payment in another currency than CNY.
	ExchangeRate string `json:"exchange_rate,omitempty"`
	PayAmount    int64  `json:"pay_amount,omitempty"`
	PayCurrency  string `json:"pay_currency,omitempty"`
	SettleRate   string `json:"settle_rate,omitempty"`
}

type declarationJSON struct {
	ID                      string    `json:"id"`
	Customs                 string    `json:"customs"`
	Port                    string    `json:"port"`
	Route                   string    `json:"route,omitempty"`
	CustomsAreaCode         string    `json:"customs_area_code,omitempty"`
	CustomsJyOrg            string    `json:"customs_jy_org,omitempty"`
	CustomsInType           string    `json:"customs_in_type,omitempty"`
	SubOrderNo              string    `json:"sub_order_no,omitempty"`
	SubOrderID              string    `json:"sub_order_id"`
	MerchantCustomsNo       string    `json:"merchant_customs_no,omitempty"`
	OrderFee                int64     `json:"order_fee"`
	TransportFee            int64     `json:"transport_fee"`
	ProductFee              int64     `json:"product_fee"`
	Duty                    int64     `json:"duty"`
	Strategy                string    `json:"auth_check_strategy"`
	IdentityCheck           string    `json:"identity_check"`
	State                   string    `json:"state"`
	Explanation             string    `json:"explanation,omitempty"`
	VerifyDepartment        string    `json:"verify_department,omitempty"`
	VerifyDepartmentTradeID string    `json:"verify_department_trade_id,omitempty"`
	Attempts                int       `json:"attempts"`
	ModifiedAt              time.Time `json:"modified_at"`
}

type refundJSON struct {
	RefundNo   string    `json:"refund_no"`
	OrderNo    string    `json:"order_no"`
	Amount     int64     `json:"amount"`
	Reason     string    `json:"reason,omitempty"`
	Status     string    `json:"status"`
	FailReason string    `json:"fail_reason,omitempty"`
	CNYAmount  int64     `json:"cny_amount"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

type orderJSON struct {
	MerchantOrderNo string            `json:"merchant_order_no"`
	Amount          int64             `json:"amount"`
	Currency        string            `json:"currency"`
	Subject         string            `json:"subject"`
	Items           []itemJSON        `json:"items"`
	Payer           payerJSON         `json:"payer"`
	OrderedAt       time.Time         `json:"ordered_at"`
	NotifyURL       string            `json:"notify_url,omitempty"`
	Channel         string            `json:"channel"`
	Sandbox         bool              `json:"sandbox"`
	BatchID         *string           `json:"batch_id"`
	PayStatus       string            `json:"pay_status"`
	DeclareStatus   string            `json:"declare_status"`
	Payment         paymentJSON       `json:"payment"`
	Refunded        int64             `json:"refunded"`
	Declarations    []declarationJSON `json:"declarations,omitempty"`
	Refunds         []refundJSON      `json:"refunds,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func orderOut(o *baoguan.Order, ds []baoguan.Declaration, rs []baoguan.Refund) orderJSON {
	j := orderJSON{MerchantOrderNo: o.MerchantOrderNo, Amount: o.Amount, Currency: o.Currency, Subject: o.Subject,
		Items: make([]itemJSON, 0, len(o.Items)), OrderedAt: o.OrderedAt.UTC(), NotifyURL: o.NotifyURL, Channel: string(o.Channel), Sandbox: o.Sandbox,
		PayStatus: string(o.PayStatus), DeclareStatus: string(o.DeclareStatus), Refunded: o.Refunded,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		Payer: payerJSON{Name: o.Payer.Name, IDType: o.Payer.IDType, IDNumber: baoguan.MaskID(o.Payer.IDNumber), Phone: baoguan.MaskPhone(o.Payer.Phone)},
		Payment: paymentJSON{PaymentNo: o.Payment.No, PSP: o.Payment.PSP, PSPName: o.Payment.PSPName, PSPCode: o.Payment.PSPCode,
			PaidAt: timePtr(o.Payment.PaidAt), VerDept: o.Payment.VerDept, PayType: o.Payment.PayType, FailReason: o.Payment.FailReason,
			FailCode: o.Payment.FailCode, InitRequest: o.Payment.InitRequest, InitResp: o.Payment.InitResponse},
	}
	if p, ok := o.Foreign(); ok {
		j.Payment.ExchangeRate, j.Payment.PayAmount, j.Payment.PayCurrency = p.Rate.String(), p.PaidCNY, baoguan.CNY.Code
		j.Payment.SettleRate = p.SettleRate.String()
	}
	if o.BatchID != 0 {
		s := strconv.FormatInt(o.BatchID, 10)
		j.BatchID = &s
	}
	for _, it := range o.Items {
		j.Items = append(j.Items, itemJSON(it))
	}
	if len(ds) > 0 {
		j.Declarations = make([]declarationJSON, 0, len(ds))
	}
	for i := range ds {
		j.Declarations = append(j.Declarations, declarationOut(&ds[i]))
	}
	for i := range rs {
		j.Refunds = append(j.Refunds, refundOut(&rs[i]))
	}
	return j
}

func declarationOut(d *baoguan.Declaration) declarationJSON {
	return declarationJSON{ID: strconv.FormatInt(d.ID, 10), Customs: d.Customs, Port: d.Port, Route: d.Route,
		CustomsAreaCode: d.Extras.AreaCode, CustomsJyOrg: d.Extras.JyOrg, CustomsInType: d.Extras.InType,
		SubOrderNo: d.SubOrderNo, SubOrderID: d.SubOrderID, MerchantCustomsNo: d.MerchantCustomsNo,
		OrderFee: d.OrderFee, TransportFee: d.TransportFee, ProductFee: d.ProductFee, Duty: d.Duty,
		Strategy: d.Strategy, IdentityCheck: d.IdentityCheck, State: string(d.State), Explanation: d.Explanation,
		VerifyDepartment: d.VerifyDepartment, VerifyDepartmentTradeID: d.VerifyDepartmentTradeID,
		Attempts: d.Attempts, ModifiedAt: d.ModifiedAt}
}

func refundOut(r *baoguan.Refund) refundJSON {
	return refundJSON{RefundNo: r.MerchantRefundNo, OrderNo: r.MerchantOrderNo, Amount: r.Amount, Reason: r.Reason,
		Status: string(r.Status), FailReason: r.FailReason, CNYAmount: r.CNYAmount, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type batchJSON struct {
	ID        string      `json:"id"`
	BatchNo   string      `json:"batch_no"`
	Total     int         `json:"total"`
	Amount    int64       `json:"amount"`
	PayCalls  int         `json:"pay_calls"`
	Summary   summaryJSON `json:"summary"`
	CreatedAt time.Time   `json:"created_at"`
}

type summaryJSON struct {
	Total          int   `json:"total"`
	PaySucceed     int   `json:"pay_succeeded"`
	PayFailed      int   `json:"pay_failed"`
	PayOther       int   `json:"pay_other"`
	DeclareSucceed int   `json:"declare_succeeded"`
	DeclareFailed  int   `json:"declare_failed"`
	DeclareOther   int   `json:"declare_other"`
	PaidAmount     int64 `json:"paid_amount"`
	Finished       int   `json:"finished"`
}

func batchOut(b *baoguan.Batch, s baoguan.BatchSummary) batchJSON {
	return batchJSON{ID: strconv.FormatInt(b.ID, 10), BatchNo: b.No, Total: b.Total, Amount: b.Amount, PayCalls: b.PayCalls,
		CreatedAt: b.CreatedAt, Summary: summaryJSON(s)}
}

type eventJSON struct {
	ID          string        `json:"id"`
	WebhookID   string        `json:"webhook_id"`
	Type        string        `json:"type"`
	Protocol    string        `json:"protocol"`
	URL         string        `json:"url,omitempty"`
	Status      string        `json:"status"`
	Attempts    int           `json:"attempt_count"`
	Payload     any           `json:"payload,omitempty"`
	History     []attemptJSON `json:"attempts,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	DeliveredAt *time.Time    `json:"delivered_at"`
}

type attemptJSON struct {
	At        time.Time `json:"at"`
	Status    int       `json:"status"`
	LatencyMS int64     `json:"latency_ms"`
	Error     string    `json:"error,omitempty"`
	Response  string    `json:"response,omitempty"`
}

func eventOut(e *baoguan.Event, as []baoguan.Attempt) eventJSON {
	j := eventJSON{ID: strconv.FormatInt(e.ID, 10), WebhookID: e.PublicID, Type: e.Type, Protocol: e.Protocol, URL: e.URL,
		Status: string(e.Status), Attempts: e.Attempts, CreatedAt: e.CreatedAt, DeliveredAt: timePtr(e.DeliveredAt)}
	if e.ContentType == "application/json" {
		j.Payload = rawJSON(e.Body)
	} else {
		j.Payload = string(e.Body)
	}
	for _, a := range as {
		j.History = append(j.History, attemptJSON{At: a.At, Status: a.Status, LatencyMS: a.LatencyMS, Error: a.Error, Response: a.Response})
	}
	return j
}

type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// callJSON is one recorded call to an upstream service (GET
// /v1/orders/{order_no}/calls). Messages are masked.
type callJSON struct {
	ID            string    `json:"id"`
	DeclarationID string    `json:"declaration_id,omitempty"`
	At            time.Time `json:"at"`
	Service       string    `json:"service"`
	Operation     string    `json:"operation"`
	Attempt       int       `json:"attempt"`
	HTTPStatus    int       `json:"http_status"`
	LatencyMS     int64     `json:"latency_ms"`
	Code          string    `json:"code"`
	Message       string    `json:"message,omitempty"`
	Outcome       string    `json:"outcome"`
}

func callOut(c *baoguan.UpstreamCall) callJSON {
	out := callJSON{ID: strconv.FormatInt(c.ID, 10), At: c.At, Service: c.Service, Operation: c.Operation, Attempt: c.Attempt,
		HTTPStatus: c.HTTPStatus, LatencyMS: c.LatencyMS, Code: c.Code, Message: c.Message, Outcome: c.Outcome}
	if c.DeclarationID != 0 {
		out.DeclarationID = strconv.FormatInt(c.DeclarationID, 10)
	}
	return out
}
