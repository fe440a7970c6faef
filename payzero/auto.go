package payzero

import (
	"net/http"
	"strconv"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// Automatic payment (§2): orders paid from the merchant's funding cards,
// scheduled by the system, then declared automatically.

// batchResp is 2.1's answer. payzero's own bookkeeping fields (isReconed,
// feeAmount, objectId, feedbackObjectId) have no counterpart in baoguan and
// are written as in a fresh payzero batch.
type batchResp struct {
	OrderBatchID     int64  `json:"orderBatchId"`
	MerchantID       int64  `json:"merchantId"`
	DispBatchNum     string `json:"dispBatchNum"`
	IsReconed        bool   `json:"isReconed"`
	FeeAmount        *int64 `json:"feeAmount"`
	OrderTotalAmount int64  `json:"orderTotalAmount"`
	ObjectID         *int64 `json:"objectId"`
	FeedbackObjectID *int64 `json:"feedbackObjectId"`
	CreatedTime      int64  `json:"createdTime"`
	UpdatedTime      int64  `json:"updatedTime"`
}

// handleBatchCreate is 2.1: an array of orders becomes one batch, held
// unpaid until 2.2. A bad order refuses the whole batch, naming it by its
// index ("参数 [1].payerName 未正确设置").
func (s *Server) handleBatchCreate(w http.ResponseWriter, r *http.Request) {
	var reqs []orderReq
	if err := s.decode(w, r, &reqs, s.maxBatchBody); err != nil {
		s.fail(w, r, err)
		return
	}
	in := core.BatchInput{Protocol: Protocol, Orders: make([]core.OrderInput, len(reqs))}
	for i := range reqs {
		oi, err := reqs[i].input()
		if err != nil {
			s.fail(w, r, prefixIndex(err, i))
			return
		}
		oi.Order.Channel = baoguan.ChannelAuto
		in.Orders[i] = oi
	}
	b, _, err := s.svc.CreateBatch(r.Context(), merchantOf(r), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, batchResp{OrderBatchID: b.ID, MerchantID: b.MerchantID, DispBatchNum: b.No, OrderTotalAmount: b.Amount,
		CreatedTime: b.CreatedAt.UnixMilli(), UpdatedTime: b.UpdatedAt.UnixMilli()})
}

// prefixIndex names an order of a batch in a translation error.
func prefixIndex(err error, i int) error {
	e, ok := err.(*baoguan.Error)
	if !ok {
		return err
	}
	c := *e
	c.Field = "orders[" + strconv.Itoa(i) + "]." + c.Field
	return &c
}

// handleBatchPay is 2.2: the batch's unpaid and failed orders are
// scheduled, after the funding checks (50001, 50010, 50054, 50056).
func (s *Server) handleBatchPay(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.svc.PayBatchFromCards(r.Context(), merchantOf(r), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, "分配任务完成")
}

type summaryResp struct {
	DeclareFailedCount  int   `json:"declareFailedCount"`
	DeclareOtherCount   int   `json:"declareOtherCount"`
	DeclareSuccessCount int   `json:"declareSuccessCount"`
	PayFailedCount      int   `json:"payFailedCount"`
	PayOtherCount       int   `json:"payOtherCount"`
	PaySuccessCount     int   `json:"paySuccessCount"`
	Total               int   `json:"total"`
	TotalPaymentAmount  int64 `json:"totalPaymentAmount"`
}

// handleBatchSummary is 2.3.
func (s *Server) handleBatchSummary(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	_, sum, err := s.svc.Batch(r.Context(), merchantOf(r), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, summaryResp{DeclareFailedCount: sum.DeclareFailed, DeclareOtherCount: sum.DeclareOther, DeclareSuccessCount: sum.DeclareSucceed,
		PayFailedCount: sum.PayFailed, PayOtherCount: sum.PayOther, PaySuccessCount: sum.PaySucceed, Total: sum.Total, TotalPaymentAmount: sum.PaidAmount})
}

// handleOrderFeedback is 2.4 and the order queries of 4.3, 5.6 and 6.3,
// which the document defines as the same orderResultDto.
func (s *Server) handleOrderFeedback(w http.ResponseWriter, r *http.Request) {
	no, err := queryParam(r, "mchtOrderNo")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.svc.OrderDetail(r.Context(), merchantOf(r), no)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, resultOf(v.Order, v.Declarations))
}

type feedbackPage struct {
	Rows     []orderResult `json:"rows"`
	Page     int           `json:"page"`
	PageSize int           `json:"pagesize"`
	Total    int           `json:"total"`
}

// defaultPageSize is 2.5's page size when none is given; the document's
// example asks for 10.
const defaultPageSize = 10

// handleBatchFeedback is 2.5: a page of the batch's orders, newest first.
func (s *Server) handleBatchFeedback(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, size := 1, defaultPageSize
	for name, dst := range map[string]*int{"page": &page, "pagesize": &size} {
		if v := r.URL.Query().Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				s.fail(w, r, badRequest{baoguan.FieldError(name, "%s 必须是整数", name)})
				return
			}
			*dst = n
		}
	}
	vs, total, err := s.svc.BatchOrderPage(r.Context(), merchantOf(r), id, page, size)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := feedbackPage{Rows: make([]orderResult, 0, len(vs)), Page: page, PageSize: size, Total: total}
	for _, v := range vs {
		out.Rows = append(out.Rows, resultOf(v.Order, v.Declarations))
	}
	s.ok(w, out)
}

type orderNoResp struct {
	MchtOrderNo string `json:"mchtOrderNo"`
}

// handleCreateAndPay is 2.6: one order for automatic payment, after the
// funding checks (50001, 50010, 50056).
func (s *Server) handleCreateAndPay(w http.ResponseWriter, r *http.Request) {
	var req orderReq
	if err := s.decode(w, r, &req, s.maxBody); err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := req.input()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, _, err := s.svc.CreateOrderPaidFromCards(r.Context(), merchantOf(r), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, orderNoResp{MchtOrderNo: o.MerchantOrderNo})
}

// handleArrangePay is 2.7: a failed payment is queued again.
func (s *Server) handleArrangePay(w http.ResponseWriter, r *http.Request) {
	no, err := queryParam(r, "mchtOrderNo")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.svc.RearrangePay(r.Context(), merchantOf(r), no); err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, "订单进入支付队列成功")
}
