package baoguan

import (
	"testing"
	"time"
)

func TestCollectionPayable(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fresh := func() *Collection { return &Collection{ExpiresAt: now.Add(time.Minute)} }
	waiting := &Order{PayStatus: PayApplied}
	if !fresh().Payable(waiting, now) {
		t.Fatal("an unused, unexpired code of a waiting order is not payable")
	}
	if fresh().Payable(waiting, now.Add(time.Minute)) {
		t.Fatal("a code is payable at its expiry time")
	}
	used := fresh()
	used.UsedAt = now
	if used.Payable(waiting, now) {
		t.Fatal("a used code is payable")
	}
	for _, st := range []PayStatus{PaySucceed, PayFailed, PayCancelled} {
		if fresh().Payable(&Order{PayStatus: st}, now) {
			t.Fatalf("a code of an order in %s is payable", st)
		}
	}
}
