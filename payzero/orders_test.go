package payzero_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/baoguan/baoguan"
)

// 8.1: a failed declaration is declared again with corrected payer data;
// fields left out keep their last value.
func TestDeclare(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("declare")
	// 110105199001019998: the sandbox port answers 支付人姓名和证件号不匹配.
	m.ok("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": "D1", "paymentAmount": 4023, "currency": "CNY", "subject": "x",
		"customsCode": "HG016", "payerName": "张三", "payerNumber": "110105199001019998", "payerPhone": "13800138000"}, nil)
	m.waitOrder("D1", baoguan.PaySucceed, baoguan.DeclareFailedSt)
	var dto map[string]any
	m.ok("GET", "/order/feedback?mchtOrderNo=D1", nil, &dto)
	if dto["declareStatus"] != "DECLARE_FAILED" || dto["declareFailReason"] != "支付人姓名和证件号不匹配" {
		t.Fatalf("feedback %v", dto)
	}
	h.waitFor("declare notice", func() bool {
		for _, n := range h.hooks.notices("declare") {
			if n.MsgType == "DECLARE_STATUS_NOTIFY" {
				b := n.body(t)
				return b["declareStatus"] == "DECLARE_FAILED" && b["declareFailReason"] == "支付人姓名和证件号不匹配"
			}
		}
		return false
	})
	// Only the ID number is corrected.
	var msg string
	m.ok("POST", "/order/declare", map[string]any{"mchtOrderNo": "D1", "payerNumber": "110105199001011232"}, &msg)
	if msg != "申报信息已提交" {
		t.Errorf("declare answered %q", msg)
	}
	v := m.waitOrder("D1", baoguan.PaySucceed, baoguan.DeclareDone)
	d := v.Declarations[0]
	if len(v.Declarations) != 1 || d.Customs != "HG016" || d.Payer.Name != "张三" || d.Payer.Phone != "13800138000" || d.Payer.IDNumber != "110105199001011232" || d.Attempts != 2 {
		t.Errorf("re-declared %+v", d)
	}
	h.waitFor("DECLARED notice", func() bool {
		for _, n := range h.hooks.notices("declare") {
			if n.MsgType == "DECLARE_STATUS_NOTIFY" && n.body(t)["declareStatus"] == "DECLARED" {
				verify(t, n, m.SignToken)
				return n.body(t)["payerNumber"] == "110105199001011232"
			}
		}
		return false
	})
	// Not paid, unknown, never declared without a customs code.
	var q struct{ CodeURL string }
	m.ok("POST", "/order/createAndQrCode", map[string]any{"qrCodeType": "ALIPAY", "mchtOrderNo": "D2", "paymentAmount": 1, "subject": "x"}, &q)
	if r := m.call("POST", "/order/declare", map[string]any{"mchtOrderNo": "D2", "customsCode": "HG016"}); r.code() != "30005" {
		t.Errorf("unpaid: %s", r.Raw)
	}
	if r := m.call("POST", "/order/declare", map[string]any{"mchtOrderNo": "NOPE"}); r.code() != "30004" {
		t.Errorf("unknown: %s", r.Raw)
	}
	m.ok("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": "D3", "paymentAmount": 1, "subject": "x", "needDeclare": false,
		"payerName": "张三", "payerNumber": "110105199001011232", "payerPhone": "13800138000"}, nil)
	if r := m.call("POST", "/order/declare", map[string]any{"mchtOrderNo": "D3"}); r.code() != "30001" || !strings.Contains(r.msg(), "customsCode") {
		t.Errorf("no customs code ever: %s", r.Raw)
	}
	// needDeclare false keeps the customs code sent for a later 8.1.
	m.ok("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": "D4", "paymentAmount": 1, "subject": "x", "needDeclare": false,
		"customsCode": "HG026", "customsInType": "1", "payerName": "张三", "payerNumber": "110105199001011232", "payerPhone": "13800138000"}, nil)
	if st := m.order("D4").Order.DeclareStatus; st != baoguan.DeclareNone {
		t.Fatalf("needDeclare false declared: %s", st)
	}
	m.ok("POST", "/order/declare", map[string]any{"mchtOrderNo": "D4"}, nil)
	v = m.waitOrder("D4", baoguan.PaySucceed, baoguan.DeclareDone)
	if v.Declarations[0].Customs != "HG026" || v.Declarations[0].Extras.InType != "1" {
		t.Errorf("kept target %+v", v.Declarations[0])
	}
}

// 9: refunds of QR orders; refused for automatic and virtual payment.
func TestRefund(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("refund")
	m.ok("POST", "/order/createAndMockpay", map[string]any{"mchtOrderNo": "MOCK", "paymentAmount": 100, "subject": "x", "needDeclare": false}, nil)
	if r := m.call("POST", "/order/refund", map[string]any{"mchtOrderNo": "MOCK", "mchtRefundOrderNo": "R0", "refundAmount": 1}); r.code() != "30005" {
		t.Errorf("refund of a virtual payment: %s", r.Raw)
	}
	m.ok("POST", "/order/createAndPay", map[string]any{"mchtOrderNo": "AUTO", "paymentAmount": 100, "subject": "x"}, nil)
	m.waitOrder("AUTO", baoguan.PaySucceed, baoguan.DeclareNone)
	if r := m.call("POST", "/order/refund", map[string]any{"mchtOrderNo": "AUTO", "mchtRefundOrderNo": "R0", "refundAmount": 1}); r.code() != "30005" {
		t.Errorf("refund of an automatic payment: %s", r.Raw)
	}
	paidByQR(m, "QR", 1000)
	var out struct {
		RefundStatus string
		RefundAmount int64
	}
	m.ok("POST", "/order/refund", map[string]any{"mchtOrderNo": "QR", "mchtRefundOrderNo": "R1", "refundAmount": 600}, &out)
	if out.RefundStatus != "REFUND_REQUESTED" || out.RefundAmount != 600 {
		t.Errorf("refund %+v", out)
	}
	// Same number, same content: the same refund; other content: 30002.
	m.ok("POST", "/order/refund", map[string]any{"mchtOrderNo": "QR", "mchtRefundOrderNo": "R1", "refundAmount": 600}, nil)
	if r := m.call("POST", "/order/refund", map[string]any{"mchtOrderNo": "QR", "mchtRefundOrderNo": "R1", "refundAmount": 601}); r.code() != "30002" {
		t.Errorf("reused refund number: %s", r.Raw)
	}
	if r := m.call("POST", "/order/refund", map[string]any{"mchtOrderNo": "QR", "mchtRefundOrderNo": "R2", "refundAmount": 401}); r.code() != "30006" {
		t.Errorf("over-refund: %s", r.Raw)
	}
	if r := m.call("POST", "/order/refund", map[string]any{"mchtOrderNo": "QR", "mchtRefundOrderNo": "R3"}); r.code() != "30001" || !strings.Contains(r.msg(), "refundAmount") {
		t.Errorf("no amount: %s", r.Raw)
	}
	m.ok("POST", "/order/refund", map[string]any{"mchtOrderNo": "QR", "mchtRefundOrderNo": "R4REFUNDFAIL", "refundAmount": 100}, nil)
	h.waitFor("refund outcomes", func() bool {
		a, _ := h.svc.RefundByNo(h.ctx, m.M, "R1")
		b, _ := h.svc.RefundByNo(h.ctx, m.M, "R4REFUNDFAIL")
		return a != nil && b != nil && a.Status == baoguan.RefundSucceed && b.Status == baoguan.RefundFailed
	})
	m.ok("GET", "/order/refund?mchtRefundOrderNo=R4REFUNDFAIL", nil, &out)
	if out.RefundStatus != "REFUND_FAILED" {
		t.Errorf("failed refund shows %s", out.RefundStatus)
	}
	if r := m.call("GET", "/order/refund?mchtRefundOrderNo=NOPE", nil); r.code() != "30004" {
		t.Errorf("unknown refund: %s", r.Raw)
	}
	// Refunds send no notification (the document has none).
	for _, n := range h.hooks.notices("refund") {
		if n.MsgType != "PAY_STATUS_NOTIFY" {
			t.Errorf("unexpected %s", n.MsgType)
		}
	}
}

// 2.5: pages of at most 100, newest first; 2.7 after a failed payment.
func TestBatchFeedbackAndArrangePay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("pages")
	var orders []string
	for i := 1; i <= 5; i++ {
		no := fmt.Sprintf("P%d", i)
		if i == 3 {
			no += "PAYFAIL"
		}
		orders = append(orders, fmt.Sprintf(`{"mchtOrderNo":%q,"paymentAmount":%d,"currency":"CNY","subject":"x"}`, no, i*100))
	}
	var b struct{ OrderBatchID int64 }
	m.ok("POST", "/orderBatch", "["+strings.Join(orders, ",")+"]", &b)
	id := fmt.Sprint(b.OrderBatchID)
	var page struct {
		Rows                  []struct{ MchtOrderNo, PayStatus string }
		Page, Pagesize, Total int
	}
	m.ok("GET", "/orderBatch/"+id+"/feedback?page=2&pagesize=2", nil, &page)
	if page.Total != 5 || page.Page != 2 || page.Pagesize != 2 || len(page.Rows) != 2 || page.Rows[0].MchtOrderNo != "P3PAYFAIL" || page.Rows[1].MchtOrderNo != "P2" {
		t.Fatalf("page 2: %+v", page)
	}
	m.ok("GET", "/orderBatch/"+id+"/feedback?page=3&pagesize=2", nil, &page)
	if len(page.Rows) != 1 || page.Rows[0].MchtOrderNo != "P1" {
		t.Fatalf("page 3: %+v", page)
	}
	m.ok("GET", "/orderBatch/"+id+"/feedback", nil, &page)
	if len(page.Rows) != 5 || page.Pagesize != 10 || page.Rows[0].MchtOrderNo != "P5" {
		t.Fatalf("default page: %+v", page)
	}
	if r := m.call("GET", "/orderBatch/"+id+"/feedback?page=1&pagesize=101", nil); r.code() != "30001" || !strings.Contains(r.msg(), "pagesize") {
		t.Errorf("pagesize 101: %s", r.Raw)
	}
	if r := m.call("GET", "/orderBatch/999/feedback", nil); r.code() != "30004" {
		t.Errorf("unknown batch: %s", r.Raw)
	}
	// Another merchant cannot see the batch.
	other := h.newMerchant("pages-other")
	if r := other.call("GET", "/orderBatch/"+id+"/summary", nil); r.code() != "30004" {
		t.Errorf("other merchant's batch: %s", r.Raw)
	}
	m.ok("GET", "/orderBatch/"+id+"/pay", nil, nil)
	// Every order's payment has ended once no job is due (the clock stands
	// still, so none comes due meanwhile).
	h.settle()
	m.waitOrder("P3PAYFAIL", baoguan.PayFailed, baoguan.DeclareNone)
	m.waitOrder("P5", baoguan.PaySucceed, baoguan.DeclareNone)
	var sum map[string]int
	m.ok("GET", "/orderBatch/"+id+"/summary", nil, &sum)
	if sum["payFailedCount"] != 1 || sum["paySuccessCount"] != 4 {
		t.Errorf("summary %v", sum)
	}
	// 2.7: the failed order is queued again (and fails again: PAYFAIL).
	var msg string
	m.ok("GET", "/order/arrangePay?mchtOrderNo=P3PAYFAIL", nil, &msg)
	if msg != "订单进入支付队列成功" {
		t.Errorf("arrangePay %q", msg)
	}
	h.waitFor("second round", func() bool {
		o := m.order("P3PAYFAIL").Order
		return o.PayAttempts == 2 && o.PayStatus == baoguan.PayFailed
	})
	if r := m.call("GET", "/order/arrangePay?mchtOrderNo=P5", nil); r.code() != "30005" {
		t.Errorf("arrangePay of a paid order: %s", r.Raw)
	}
	// Calling 2.2 again pays only the failed order.
	m.ok("GET", "/orderBatch/"+id+"/pay", nil, nil)
	h.waitFor("third round", func() bool { return m.order("P3PAYFAIL").Order.PayAttempts == 3 })
	if m.order("P5").Order.PayAttempts != 1 {
		t.Error("a paid order was paid again")
	}
}

// 7.1 with the test environment's rules.
func TestRealName(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := h.newMerchant("realname")
	cases := []struct{ idno, result, birth, sex string }{
		{"110113198010101234", "PASS", "19801010", "男"},
		{"210113198010101224", "CANNOT_FIND_ID", "19801010", "女"},
		{"310113198010101234", "NAME_INVALID", "19801010", "男"},
		{"410113198010101234", "IDNO_INVALID", "19801010", "男"},
		{"510113198010101234", "NOT_PASS", "19801010", "男"},
		{"1101131980", "IDNO_INVALID", "", ""},
		{"110113801010123", "PASS", "19801010", "男"}, // the old 15-digit card
	}
	for _, c := range cases {
		var out map[string]any
		m.ok("GET", "/realPerson/val?idno="+c.idno+"&name=%E6%9D%8E%E7%99%BD", nil, &out)
		birth, _ := out["birth"].(string)
		sex, _ := out["sex"].(string)
		if out["result"] != c.result || birth != c.birth || sex != c.sex || out["name"] != "李白" || len(out["realPersonValidationOrderId"].(string)) != 36 {
			t.Errorf("%s: %v", c.idno, out)
		}
	}
	if r := m.call("GET", "/realPerson/val?idno=110113198010101234", nil); r.Status != 400 || r.code() != "30001" {
		t.Errorf("no name: %d %s", r.Status, r.Raw)
	}
}
