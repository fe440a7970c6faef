package payzero

import (
	"net/http"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Real-name check (§7), declaration (§8) and refunds (§9).

type realNameResp struct {
	OrderID string  `json:"realPersonValidationOrderId"`
	Name    string  `json:"name"`
	IDNo    string  `json:"idno"`
	Birth   *string `json:"birth"`
	Addr    *string `json:"addr"`
	Sex     *string `json:"sex"`
	Result  string  `json:"result"`
}

// handleRealName is 7.1.
func (s *Server) handleRealName(w http.ResponseWriter, r *http.Request) {
	idno, err := queryParam(r, "idno")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, err := queryParam(r, "name")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.svc.CheckRealName(r.Context(), merchantOf(r), name, idno)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, realNameResp{OrderID: res.ID, Name: res.Name, IDNo: res.IDNo, Birth: opt(res.Birth), Addr: opt(res.Addr), Sex: opt(res.Sex), Result: res.Result})
}

type declareReq struct {
	MchtOrderNo     jstr `json:"mchtOrderNo"`
	PayerName       jstr `json:"payerName"`
	PayerNumber     jstr `json:"payerNumber"`
	PayerPhone      jstr `json:"payerPhone"`
	CustomsCode     jstr `json:"customsCode"`
	CustomsAreaCode jstr `json:"customsAreaCode"`
	CustomsJyOrg    jstr `json:"customsJyOrg"`
	CustomsInType   jstr `json:"customsInType"`
}

// handleDeclare is 8.1: fields left out keep their last value.
func (s *Server) handleDeclare(w http.ResponseWriter, r *http.Request) {
	var req declareReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err)
		return
	}
	_, err := s.svc.PatchAndDeclare(r.Context(), merchantOf(r), core.DeclarePatch{
		OrderNo: string(req.MchtOrderNo), PayerName: string(req.PayerName), PayerID: string(req.PayerNumber), PayerPhone: string(req.PayerPhone),
		Customs: string(req.CustomsCode),
		Extras:  baoguan.CustomsExtras{AreaCode: string(req.CustomsAreaCode), JyOrg: string(req.CustomsJyOrg), InType: string(req.CustomsInType)}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, "申报信息已提交")
}

type refundReq struct {
	MchtOrderNo       jstr `json:"mchtOrderNo"`
	MchtRefundOrderNo jstr `json:"mchtRefundOrderNo"`
	RefundAmount      fen  `json:"refundAmount"`
}

type refundResp struct {
	MchtOrderNo       string `json:"mchtOrderNo"`
	MchtRefundOrderNo string `json:"mchtRefundOrderNo"`
	RefundAmount      int64  `json:"refundAmount"`
	RefundStatus      string `json:"refundStatus"`
}

// refundFields are the core's refund field names in payzero's words.
var refundFields = map[string]string{"amount": "refundAmount", "order_no": "mchtOrderNo", "refund_no": "mchtRefundOrderNo"}

// refundOut shows a refund. REFUND_INIT (recorded, not yet handed to the
// channel) is shown as REFUND_REQUESTED: payzero hands a refund to its
// channel within the request and says 9.1 normally answers REFUND_REQUESTED,
// while baoguan's refund job runs a moment later.
func refundOut(rf *baoguan.Refund) refundResp {
	st := rf.Status
	if st == baoguan.RefundInit {
		st = baoguan.RefundRequested
	}
	return refundResp{MchtOrderNo: rf.MerchantOrderNo, MchtRefundOrderNo: rf.MerchantRefundNo, RefundAmount: rf.Amount, RefundStatus: string(st)}
}

// handleRefund is 9.1.
func (s *Server) handleRefund(w http.ResponseWriter, r *http.Request) {
	var req refundReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err, refundFields)
		return
	}
	if !req.RefundAmount.set {
		s.fail(w, r, baoguan.FieldError("amount", "refundAmount (fen) is required"), refundFields)
		return
	}
	rf, _, err := s.svc.CreateRefund(r.Context(), merchantOf(r), core.RefundInput{OrderNo: string(req.MchtOrderNo),
		RefundNo: string(req.MchtRefundOrderNo), Amount: req.RefundAmount.v, Protocol: Protocol, PayerMoneyOnly: true})
	if err != nil {
		s.fail(w, r, err, refundFields)
		return
	}
	s.ok(w, refundOut(rf))
}

// handleRefundGet is 9.2.
func (s *Server) handleRefundGet(w http.ResponseWriter, r *http.Request) {
	no, err := queryParam(r, "mchtRefundOrderNo")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rf, err := s.svc.RefundByNo(r.Context(), merchantOf(r), no)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, refundOut(rf))
}
