package accp

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/platform"
)

// format is the push result notification: one signed JSON POST to the
// push's notify_url when its declaration reaches an outcome.
type format struct {
	key *platform.Key
}

// NewFormat returns the ACCP notification format, signed with the platform
// key (core.Service.PlatformKey(ctx, Protocol)), to be registered with the core
// under Protocol.
func NewFormat(key *platform.Key) core.Format { return format{key: key} }

// Schedule is baoguan's choice, the document giving none: ten attempts over
// about a day, quick at first because most failures are a merchant server
// restarting.
func (format) Schedule() baoguan.Retry {
	return baoguan.Retry{15 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour}
}

// Notifies says which events the format renders: only declaration
// outcomes, since ACCP has no payment or refund notification.
func (format) Notifies(eventType string) bool {
	return eventType == baoguan.EventDeclSucceeded || eventType == baoguan.EventDeclFailed
}

// URL is the notify_url of the order's latest push that gave one, else the
// merchant's notify URL. The core asks per order, not per declaration, so
// two pushes of one order with different notify_urls share the later one
// (docs/protocols/accp.md).
func (format) URL(m *baoguan.Merchant, o *baoguan.Order) string {
	if u := o.Extra[core.DeclarationPushURLKey(Protocol)]; u != "" {
		return u
	}
	return m.NotifyURL
}

// notice is the notification body: the query reply's fields without
// ret_code/ret_msg (a notification is not an answer), plus custom_code.
type notice struct {
	MchID            string `json:"mch_id"`
	TxnSeqno         string `json:"txn_seqno"`
	AccpTxno         string `json:"accp_txno"`
	OrgTxnSeqno      string `json:"org_txn_seqno"`
	CustomCode       string `json:"custom_code"`
	PushStatus       string `json:"push_status"`
	PayCompanyCode   string `json:"pay_company_code"`
	PayCompanyName   string `json:"pay_company_name"`
	PayTransactionID string `json:"pay_transaction_id"`
	PushDate         string `json:"push_date"`
	PushFailReason   string `json:"push_failReason"`
	ResultInfo       string `json:"result_info"`
}

// Render renders the outcome of a declaration that an ACCP push owns;
// declarations made through other front-ends of an adopted order are not
// notified in ACCP's format.
func (format) Render(n core.Notice) ([]byte, string, bool, error) {
	if n.Declaration == nil || (n.Type != baoguan.EventDeclSucceeded && n.Type != baoguan.EventDeclFailed) {
		return nil, "", false, nil
	}
	d := n.Declaration
	txn := n.Order.Extra[core.DeclarationPushOwnerKey(Protocol, d.Customs, d.SubOrderNo)]
	if txn == "" {
		return nil, "", false, nil
	}
	var r reply
	pushFacts(&r, n.Merchant, txn, n.Order, d)
	b, err := marshal(notice{MchID: r.MchID, TxnSeqno: r.TxnSeqno, AccpTxno: r.AccpTxno, OrgTxnSeqno: r.OrgTxnSeqno,
		CustomCode: d.Customs, PushStatus: r.PushStatus, PayCompanyCode: r.PayCompanyCode, PayCompanyName: r.PayCompanyName,
		PayTransactionID: r.PayTransactionID, PushDate: r.PushDate, PushFailReason: r.PushFailReason, ResultInfo: r.ResultInfo})
	return b, ContentType, err == nil, err
}

// Deliver signs the body as LianLian signs its notifications and counts
// it delivered when the merchant answers 2xx with "Success" (any case) or a
// JSON body whose ret_code is 0000.
func (f format) Deliver(ctx context.Context, c *http.Client, m *baoguan.Merchant, e *baoguan.Event) core.Delivery {
	h := http.Header{}
	if err := setSignature(h, f.key.Private, e.Body); err != nil {
		return core.Delivery{Err: err}
	}
	d := core.Post(ctx, c, e.URL, ContentType, e.Body, h)
	d.Acked = d.Err == nil && d.Status >= 200 && d.Status < 300 && acknowledged(d.Response)
	return d
}

func acknowledged(body string) bool {
	body = strings.TrimSpace(body)
	if strings.EqualFold(body, "success") {
		return true
	}
	var v struct {
		RetCode string `json:"ret_code"`
	}
	return json.Unmarshal([]byte(body), &v) == nil && v.RetCode == CodeOK
}
