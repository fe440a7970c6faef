package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sandbox"
)

var now = time.Date(2025, 3, 20, 6, 57, 29, 0, time.FixedZone("CST", 8*3600))

func testOrder(ch baoguan.Channel, no string) *baoguan.Order {
	return &baoguan.Order{
		ID: 42, MerchantID: 7, MerchantOrderNo: no, Amount: 4023, Currency: "CNY",
		Subject: "XXXX化妆品", Channel: ch, Sandbox: true, NeedDeclare: true, PayAttempts: 1,
		Payer:     baoguan.Payer{Name: "张三", IDType: baoguan.IDTypeIDCard, IDNumber: validID("11010519900101123"), Phone: "13800138000"},
		PayStatus: baoguan.PayNotPayed,
	}
}

func pay(t *testing.T, o *baoguan.Order, attempt int) (baoguan.PayResult, error) {
	t.Helper()
	return sandbox.NewChannel().Pay(context.Background(), baoguan.PayRequest{
		Order: o, Merchant: &baoguan.Merchant{ID: o.MerchantID}, Attempt: attempt, Now: now,
	})
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func TestChannelName(t *testing.T) {
	if n := sandbox.NewChannel().Name(); n != "sandbox" {
		t.Fatalf("Name() = %q", n)
	}
}

func TestPayByChannel(t *testing.T) {
	type want struct {
		status                       baoguan.PayStatus
		psp, pspName, pspCode        string
		verDept, payType, failReason string
		debit                        int64
	}
	ext := testOrder(baoguan.ChannelExternal, "E1")
	ext.Payment = baoguan.Payment{No: "4200001234202503200000", PSP: "WECHAT"}
	extNoPSP := testOrder(baoguan.ChannelExternal, "E2")
	extNoPSP.Payment = baoguan.Payment{No: "PAID-ELSEWHERE-1"}
	extPayFail := testOrder(baoguan.ChannelExternal, "E3PAYFAIL")
	extPayFail.Payment = baoguan.Payment{No: "X1"}

	tests := []struct {
		name string
		o    *baoguan.Order
		want want
	}{
		{"mock", testOrder(baoguan.ChannelMock, "F20190402123"),
			want{baoguan.PaySucceed, "LYCHEEPAY", "快付通", "", "3", "4", "", 0}},
		{"auto debits the order amount", testOrder(baoguan.ChannelAuto, "A1"),
			want{baoguan.PaySucceed, "ALLINPAY", "通联支付网络服务股份有限公司", "312228034T", "1", "4", "", 4023}},
		{"external keeps PSP", ext,
			want{baoguan.PaySucceed, "WECHAT", "", "", "3", "4", "", 0}},
		{"external without PSP", extNoPSP,
			want{baoguan.PaySucceed, "EXTERNAL", "", "", "3", "4", "", 0}},
		{"external ignores PAYFAIL", extPayFail,
			want{baoguan.PaySucceed, "EXTERNAL", "", "", "3", "4", "", 0}},
		{"mock PAYFAIL", testOrder(baoguan.ChannelMock, "F1PAYFAIL"),
			want{baoguan.PayFailed, "LYCHEEPAY", "快付通", "", "3", "4", sandbox.PayFailReason, 0}},
		{"auto payfail lower case", testOrder(baoguan.ChannelAuto, "a1-payfail"),
			want{baoguan.PayFailed, "ALLINPAY", "通联支付网络服务股份有限公司", "312228034T", "1", "4", sandbox.PayFailReason, 0}},
		{"PAYFAIL only as suffix", testOrder(baoguan.ChannelMock, "PAYFAIL-1"),
			want{baoguan.PaySucceed, "LYCHEEPAY", "快付通", "", "3", "4", "", 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := pay(t, tt.o, 1)
			if err != nil {
				t.Fatal(err)
			}
			p := res.Payment
			got := want{res.Status, p.PSP, p.PSPName, p.PSPCode, p.VerDept, p.PayType, p.FailReason, res.Debit}
			if got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
			if res.Status == baoguan.PaySucceed {
				if p.PayerName != tt.o.Payer.Name || p.PayerID != tt.o.Payer.IDNumber {
					t.Errorf("payer = %q/%q, want the order's payer", p.PayerName, p.PayerID)
				}
				if !p.PaidAt.Equal(now) {
					t.Errorf("PaidAt = %v, want %v", p.PaidAt, now)
				}
			} else if p.PayerName != "" || p.PayerID != "" || !p.PaidAt.IsZero() {
				t.Errorf("failed payment names a payer or paid time: %+v", p)
			}
			if tt.o.Channel == baoguan.ChannelExternal {
				if p.No != tt.o.Payment.No {
					t.Errorf("No = %q, want the merchant's %q", p.No, tt.o.Payment.No)
				}
			} else if len(p.No) != 20 || !isDigits(p.No) {
				t.Errorf("No = %q, want 20 digits", p.No)
			}
			for _, doc := range []string{p.InitRequest, p.InitResponse} {
				if !json.Valid([]byte(doc)) {
					t.Errorf("not JSON: %s", doc)
				}
			}
		})
	}
}

func TestPaySecondStepChannels(t *testing.T) {
	for _, tc := range []struct {
		ch  baoguan.Channel
		psp string
	}{{baoguan.ChannelQR, "EASYPAY"}, {baoguan.ChannelQuick, "ALLINPAY"}} {
		res, err := pay(t, testOrder(tc.ch, "Q1PAYFAIL"), 1)
		if err != nil {
			t.Fatal(err)
		}
		// The order number suffix does not matter yet: nobody has paid.
		if res.Status != baoguan.PayApplied || res.Payment.PSP != tc.psp || res.Payment.No != "" || !res.Payment.PaidAt.IsZero() {
			t.Errorf("%s: %+v, want PAY_APPLIED by %s without payment facts", tc.ch, res, tc.psp)
		}
	}
}

func TestPayRetry(t *testing.T) {
	for _, ch := range []baoguan.Channel{baoguan.ChannelMock, baoguan.ChannelAuto} {
		o := testOrder(ch, "R1PayRetry")
		_, err := pay(t, o, 1)
		if !errors.Is(err, sandbox.ErrTryAgain) {
			t.Fatalf("%s attempt 1: err = %v, want ErrTryAgain", ch, err)
		}
		var perm *baoguan.PermanentError
		if errors.As(err, &perm) {
			t.Fatalf("%s: PAYRETRY error must be retryable", ch)
		}
		for attempt := 2; attempt <= 3; attempt++ {
			res, err := pay(t, o, attempt)
			if err != nil || res.Status != baoguan.PaySucceed {
				t.Fatalf("%s attempt %d: %+v, %v; want PAY_SUCCEED", ch, attempt, res, err)
			}
		}
	}
}

func TestPayDeterministic(t *testing.T) {
	for _, ch := range []baoguan.Channel{baoguan.ChannelMock, baoguan.ChannelAuto} {
		o := testOrder(ch, "D1")
		a, _ := pay(t, o, 1)
		b, _ := pay(t, o, 1)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: same request, different answers:\n%+v\n%+v", ch, a, b)
		}
		// A job retry of the same round keeps the number…
		c, _ := pay(t, o, 2)
		if c.Payment.No != a.Payment.No {
			t.Errorf("%s: retry of the same round changed the number: %s → %s", ch, a.Payment.No, c.Payment.No)
		}
		// …a new payment round gets a new one, and so does another order.
		o2 := *o
		o2.PayAttempts = 2
		d, _ := pay(t, &o2, 1)
		o3 := *o
		o3.ID = 43
		e, _ := pay(t, &o3, 1)
		if d.Payment.No == a.Payment.No || e.Payment.No == a.Payment.No {
			t.Errorf("%s: numbers collide: %s %s %s", ch, a.Payment.No, d.Payment.No, e.Payment.No)
		}
	}
}

// TestPaymentNumbersFollowOrders: like a real PSP's transaction ids, the
// sandbox's payment numbers grow with time — here with the order and its
// payment round — so that the store's index of payment numbers takes each
// new one at its end. The number is 20 digits: 1, the order's id in 13,
// the round in 3, 3 check digits (docs/sandbox.md).
func TestPaymentNumbersFollowOrders(t *testing.T) {
	prev := ""
	for _, id := range []int64{1, 2, 9, 10, 99, 100, 12345, 9999999999999} {
		for round := 1; round <= 2; round++ {
			o := testOrder(baoguan.ChannelMock, fmt.Sprintf("N%d", id))
			o.ID, o.PayAttempts = id, round
			res, err := pay(t, o, 1)
			if err != nil || res.Status != baoguan.PaySucceed {
				t.Fatalf("order %d round %d: %+v, %v", id, round, res, err)
			}
			no := res.Payment.No
			want := fmt.Sprintf("1%013d%03d", id, round)
			if len(no) != 20 || !strings.HasPrefix(no, want) || strings.Trim(no, "0123456789") != "" {
				t.Errorf("order %d round %d: payment number %q, want 20 digits starting %s", id, round, no, want)
			}
			if no <= prev {
				t.Errorf("order %d round %d: payment number %s does not follow %s", id, round, no, prev)
			}
			prev = no
		}
	}
}

func TestInitDocumentsMaskPayer(t *testing.T) {
	o := testOrder(baoguan.ChannelMock, "M1")
	res, _ := pay(t, o, 1)
	var req map[string]any
	if err := json.Unmarshal([]byte(res.Payment.InitRequest), &req); err != nil {
		t.Fatal(err)
	}
	if req["payer_id"] != baoguan.MaskID(o.Payer.IDNumber) || req["merchant_order_no"] != "M1" {
		t.Errorf("InitRequest = %s", res.Payment.InitRequest)
	}
	for _, doc := range []string{res.Payment.InitRequest, res.Payment.InitResponse} {
		if strings.Contains(doc, o.Payer.IDNumber) || strings.Contains(doc, o.Payer.Name) || strings.Contains(doc, o.Payer.Phone) {
			t.Errorf("personal data in clear: %s", doc)
		}
	}
	if !strings.Contains(res.Payment.InitResponse, res.Payment.No) {
		t.Errorf("InitResponse does not carry the payment number: %s", res.Payment.InitResponse)
	}
}

func TestPayCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sandbox.NewChannel().Pay(ctx, baoguan.PayRequest{Order: testOrder(baoguan.ChannelMock, "C1"), Attempt: 1, Now: now}); err == nil {
		t.Fatal("Pay ignored a cancelled context")
	}
}

func refund(t *testing.T, no string, attempt int) baoguan.RefundResult {
	t.Helper()
	o := testOrder(baoguan.ChannelMock, "F1")
	o.PayStatus = baoguan.PaySucceed
	rf := &baoguan.Refund{ID: 3, MerchantID: 7, OrderID: 42, MerchantOrderNo: "F1", MerchantRefundNo: no, Amount: 100, Status: baoguan.RefundInit}
	res, err := sandbox.NewChannel().Refund(context.Background(), baoguan.RefundRequest{Refund: rf, Order: o, Attempt: attempt, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRefund(t *testing.T) {
	tests := []struct {
		no      string
		attempt int
		status  baoguan.RefundStatus
		reason  string
	}{
		{"RF1", 1, baoguan.RefundSucceed, ""},
		{"RF2REFUNDFAIL", 1, baoguan.RefundFailed, sandbox.RefundFailReason},
		{"rf2-refundfail", 2, baoguan.RefundFailed, sandbox.RefundFailReason},
		{"RF3REFUNDLATER", 1, baoguan.RefundRequested, ""},
		{"RF3REFUNDLATER", 2, baoguan.RefundSucceed, ""},
		{"rf3refundLater", 1, baoguan.RefundRequested, ""},
		{"REFUNDFAIL-not-suffix", 1, baoguan.RefundSucceed, ""},
	}
	for _, tt := range tests {
		res := refund(t, tt.no, tt.attempt)
		if res.Status != tt.status || res.Reason != tt.reason {
			t.Errorf("%s attempt %d: %+v, want %s %q", tt.no, tt.attempt, res, tt.status, tt.reason)
		}
		if res.Status != baoguan.RefundFailed && (len(res.RefundNo) != 20 || !isDigits(res.RefundNo)) {
			t.Errorf("%s: RefundNo = %q, want 20 digits", tt.no, res.RefundNo)
		}
	}
}

func TestRefundDeterministic(t *testing.T) {
	a, b := refund(t, "RF1", 1), refund(t, "RF1", 1)
	if a != b {
		t.Fatalf("same request, different answers: %+v %+v", a, b)
	}
	if other := refund(t, "RF9", 1); other.RefundNo == a.RefundNo {
		t.Fatalf("two refunds share number %s", a.RefundNo)
	}
	pending, done := refund(t, "RF3REFUNDLATER", 1), refund(t, "RF3REFUNDLATER", 2)
	if pending.RefundNo != done.RefundNo {
		t.Fatalf("REFUNDLATER changed its number: %s → %s", pending.RefundNo, done.RefundNo)
	}
}
