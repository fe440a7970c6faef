package core_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// dataUploader is a stand-in PaymentDataUploader: it fails as told, then
// answers 10000, and records what it was given.
type dataUploader struct {
	mu      sync.Mutex
	fail    []error // errors for the next calls, in order
	uploads []baoguan.PaymentDataUpload
}

func (u *dataUploader) Name() string { return "eport" }

func (u *dataUploader) UploadPaymentData(_ context.Context, up baoguan.PaymentDataUpload) (baoguan.PaymentDataAnswer, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.uploads = append(u.uploads, up)
	if len(u.fail) > 0 {
		err := u.fail[0]
		u.fail = u.fail[1:]
		if err != nil {
			return baoguan.PaymentDataAnswer{Code: "20000", Message: "验签失败"}, err
		}
	}
	return baoguan.PaymentDataAnswer{Code: "10000", Message: "上传成功"}, nil
}

func (u *dataUploader) calls() int { u.mu.Lock(); defer u.mu.Unlock(); return len(u.uploads) }

func requestByID(t *testing.T, e *env, id int64) baoguan.PaymentDataRequest {
	t.Helper()
	rs, err := e.svc.PaymentDataRequests(e.ctx, baoguan.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("request %d not listed", id)
	return baoguan.PaymentDataRequest{}
}

func TestPaymentDataRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	up := &dataUploader{fail: []error{errors.New("customs unreachable"), errors.New("customs unreachable")}}
	e.svc.PaymentData = up
	e.order(t, "D1", "110105199001011232", baoguan.ChannelMock, 1000)
	e.drain(t, 3*time.Second)
	st := time.UnixMilli(1773560400000)

	r, repeat, err := e.svc.RequestPaymentData(e.ctx, core.DataRequest{OrderNo: "D1", SessionID: "S1", ServiceTime: st})
	if err != nil || repeat || r.State != baoguan.DataQueued || r.OrderID == 0 {
		t.Fatalf("request: %+v %v %v", r, repeat, err)
	}
	if _, repeat, err := e.svc.RequestPaymentData(e.ctx, core.DataRequest{OrderNo: "D1", SessionID: "S1", ServiceTime: st}); err != nil || !repeat {
		t.Errorf("the same session again: repeat %v %v", repeat, err)
	}
	e.drain(t, time.Minute) // fails twice (5 s, 15 s), then uploads
	got := requestByID(t, e, r.ID)
	if got.State != baoguan.DataUploaded || got.Code != "10000" || got.Attempts != 3 || up.calls() != 3 {
		t.Errorf("after retries: %+v (%d calls)", got, up.calls())
	}
	if u := up.uploads[0]; u.Order.MerchantOrderNo != "D1" || u.Merchant.ID != e.m.ID || u.Request.SessionID != "S1" || !u.Request.ServiceTime.Equal(st) {
		t.Errorf("upload given %+v", u)
	}

	// Unknown number: kept, not uploaded.
	r2, _, err := e.svc.RequestPaymentData(e.ctx, core.DataRequest{OrderNo: "NOPE", SessionID: "S2", ServiceTime: st})
	if err != nil || r2.State != baoguan.DataUnknownOrder {
		t.Errorf("unknown order: %+v %v", r2, err)
	}
	// Customs refuses for good: failed at once, with its answer.
	up.mu.Lock()
	up.fail = []error{baoguan.Permanent(errors.New("refused"))}
	up.mu.Unlock()
	r3, _, _ := e.svc.RequestPaymentData(e.ctx, core.DataRequest{OrderNo: "D1", SessionID: "S3", ServiceTime: st})
	e.drain(t, time.Minute)
	if got := requestByID(t, e, r3.ID); got.State != baoguan.DataFailed || got.Code != "20000" || got.Message != "验签失败" || got.Attempts != 1 {
		t.Errorf("refused: %+v", got)
	}
	// Customs unreachable for the whole schedule: failed, recorded.
	up.mu.Lock()
	up.fail = []error{errors.New("down"), errors.New("down"), errors.New("down"), errors.New("down"), errors.New("down"), errors.New("down")}
	up.mu.Unlock()
	r4, _, _ := e.svc.RequestPaymentData(e.ctx, core.DataRequest{OrderNo: "D1", SessionID: "S4", ServiceTime: st})
	e.drain(t, 10*time.Minute)
	if got := requestByID(t, e, r4.ID); got.State != baoguan.DataFailed || got.Attempts != 6 {
		t.Errorf("unreachable: %+v", got)
	}
	if n := up.calls(); n != 3+1+6 {
		t.Errorf("%d uploads, want 10", n)
	}
}

// An order number several merchants use is ambiguous at the shared
// address, and found at a merchant's own.
func TestPaymentDataAmbiguous(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.svc.PaymentData = &dataUploader{}
	e.order(t, "SAME", "110105199001011232", baoguan.ChannelMock, 1000)
	m2, _, err := e.svc.CreateMerchant(e.ctx, core.MerchantInput{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CreateOrder(e.ctx, m2, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "SAME", Amount: 500, Subject: "x", Channel: baoguan.ChannelMock}}); err != nil {
		t.Fatal(err)
	}
	r, _, err := e.svc.RequestPaymentData(e.ctx, core.DataRequest{OrderNo: "SAME", SessionID: "A1"})
	if err != nil || r.State != baoguan.DataAmbiguous {
		t.Errorf("shared address: %+v %v", r, err)
	}
	r, _, err = e.svc.RequestPaymentData(e.ctx, core.DataRequest{OrderNo: "SAME", SessionID: "A2", MerchantNo: m2.No})
	if err != nil || r.State != baoguan.DataQueued || r.MerchantID != m2.ID {
		t.Errorf("merchant's address: %+v %v", r, err)
	}
	if _, _, err := (&core.Service{}).RequestPaymentData(e.ctx, core.DataRequest{}); baoguan.ErrorCode(err) != baoguan.EINVALID {
		t.Errorf("without a data service: %v", err)
	}
}
