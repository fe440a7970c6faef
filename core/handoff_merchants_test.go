package core

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// merchantReadsStore counts the reads of merchants and of their retired
// webhook secrets that the deliverer makes through View.
type merchantReadsStore struct {
	mu              sync.Mutex
	merchants, keys int
}

func (s *merchantReadsStore) Update(ctx context.Context, fn func(baoguan.Tx) error) error {
	return fn(merchantReadsTx{s: s})
}
func (s *merchantReadsStore) View(ctx context.Context, fn func(baoguan.Tx) error) error {
	return fn(merchantReadsTx{s: s})
}
func (s *merchantReadsStore) Close() error { return nil }

// merchantReadsTx reads merchants (and has nothing else).
type merchantReadsTx struct {
	baoguan.Tx
	s *merchantReadsStore
}

func (tx merchantReadsTx) Merchant(id int64) (*baoguan.Merchant, error) {
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	tx.s.merchants++
	return &baoguan.Merchant{ID: id, WebhookSecret: "whsec"}, nil
}

func (tx merchantReadsTx) RetiredKeys(merchantID int64, kind string) ([]baoguan.RetiredKey, error) {
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	tx.s.keys++
	return []baoguan.RetiredKey{{MerchantID: merchantID, Kind: kind, Secret: "old"}}, nil
}

// TestDeliveriesReadEachMerchantOnce: the merchants a claim's deliveries
// name (one per event, so mostly the same merchant many times) are read
// once each, with their retired webhook secrets, and not again within
// merchantTTL. It failed when a merchant named n times with its cached
// copy expired was read n times.
func TestDeliveriesReadEachMerchantOnce(t *testing.T) {
	st := &merchantReadsStore{}
	s := &Service{Store: st}
	dl := newDeliverer(s, 64, 64, time.Minute, true)
	ids := []int64{7, 7, 7, 9, 7, 9, 7}
	ms, err := dl.merchantsOf(context.Background(), nil, 0, ids)
	if err != nil {
		t.Fatal(err)
	}
	if st.merchants != 2 || st.keys != 2 {
		t.Fatalf("merchants 7 and 9, named 7 times: %d merchant reads and %d reads of retired secrets, want 2 and 2", st.merchants, st.keys)
	}
	for _, id := range []int64{7, 9} {
		if m := ms[id]; m == nil || m.ID != id || len(m.PreviousWebhookSecrets) != 1 {
			t.Fatalf("merchant %d: %+v", id, m)
		}
	}
	// Cached: the next claim reads nothing.
	if _, err := dl.merchantsOf(context.Background(), nil, 0, ids); err != nil {
		t.Fatal(err)
	}
	if st.merchants != 2 {
		t.Fatalf("a second claim within merchantTTL: %d merchant reads in all, want 2", st.merchants)
	}
	// Expired: read again, once each.
	for id, c := range dl.merchants {
		c.at = c.at.Add(-2 * merchantTTL)
		dl.merchants[id] = c
	}
	if _, err := dl.merchantsOf(context.Background(), nil, 0, ids); err != nil {
		t.Fatal(err)
	}
	if st.merchants != 4 || st.keys != 4 {
		t.Fatalf("after merchantTTL: %d merchant reads and %d reads of retired secrets in all, want 4 and 4", st.merchants, st.keys)
	}
}
