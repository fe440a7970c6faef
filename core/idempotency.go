package core

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
)

// Idempotency, one mechanism for every front-end. A request that must not
// take effect twice names a key: a natural key (an order, refund, batch or
// push number, a signed request's nonce) or the native API's
// Idempotency-Key. The key is taken in the same store transaction that
// writes the effect, by inserting its record into the idempotency table
// (first writer wins: the insert comes first, and on PostgreSQL the unique
// index makes a second insert of the key wait for the first transaction;
// a read that decides before inserting, such as a batch number's, holds
// an advisory lock on the key until the transaction ends). So the key and
// the effect commit together: a repeat either finds the record and is
// answered from it, or finds no record and no effect.
//
// Every read and write of the table goes through this file.
//
// Order numbers, the natural keys taken most (every push, every order of
// a batch upload), are kept by the orders table instead of records here:
// its unique index (merchant, order number) takes the number with the
// order's own insert, and the order's fingerprint column
// (Order.Fingerprint) keeps what a repeat compares. The insert is the same
// first-writer-wins step as a record's (ON CONFLICT DO NOTHING, which on
// PostgreSQL waits on the unique index for a transaction that inserted the
// number to end), and it is followed by a read only when the number was
// taken (orderTaken). A repeat needs no saved reply: it is answered with
// the order as stored, which its front-end renders as it renders any
// order.

// Keys of natural-key records.
func refundKey(no string) string { return "refund:" + no }
func batchKey(no string) string  { return "batch:" + no }
func idemKey(key string) string  { return "idem:" + key }

// dropBatchKey frees the number of a batch being discarded, if its record
// names that batch.
func dropBatchKey(tx baoguan.Tx, b *baoguan.Batch) error {
	rec, err := readKey(tx, b.MerchantID, batchKey(b.No))
	if err != nil || rec == nil || string(rec.Body) != strconv.FormatInt(b.ID, 10) {
		return err
	}
	return tx.DeleteIdempotency(b.MerchantID, []string{batchKey(b.No)})
}

// readKey returns the record of key, or nil when there is none.
func readKey(tx baoguan.Tx, merchantID int64, key string) (*baoguan.IdemRecord, error) {
	r, err := tx.Idempotency(merchantID, key)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return nil, nil
	}
	return r, err
}

// takeKey takes key for the effect being written in tx: when no record
// exists it stores one with the request's fingerprint (and the body that
// lets a repeat be answered) and returns nil; otherwise it returns the
// record that is there, which the caller compares with its fingerprint to
// answer the repeat or refuse other content.
func takeKey(tx baoguan.Tx, merchantID int64, key, fingerprint string, status int, body []byte) (*baoguan.IdemRecord, error) {
	return takeKeyFor(tx, merchantID, key, fingerprint, status, body, 0)
}

// takeKeyFor is takeKey for a record kept for ttl only (an
// Idempotency-Key's, a nonce's; see Retention); 0 keeps it for good.
//
// The record is inserted first and read only when the key is taken: a new
// key, the common case, costs one statement. The insert is atomic on both
// stores (SQLite's single writer; on PostgreSQL the unique index makes an
// insert of a key another transaction has inserted wait for it to end,
// then skip the row), and the read that follows a skipped insert sees the
// record, committed before that statement began.
func takeKeyFor(tx baoguan.Tx, merchantID int64, key, fingerprint string, status int, body []byte, ttl time.Duration) (*baoguan.IdemRecord, error) {
	err := tx.PutIdempotency(&baoguan.IdemRecord{MerchantID: merchantID, Key: key, RequestHash: fingerprint,
		Status: status, Body: body, CreatedAt: tx.Now(), ExpiresAt: expiry(tx.Now(), ttl)})
	if baoguan.ErrorCode(err) != baoguan.ECONFLICT {
		return nil, err
	}
	prev, err := readKey(tx, merchantID, key)
	if err == nil && prev == nil {
		// Deleted between the two statements (a purge of an expired
		// record, a discarded batch's numbers): the key is free again.
		return takeKeyFor(tx, merchantID, key, fingerprint, status, body, ttl)
	}
	return prev, err
}

// orderTaken answers the creation of an order whose number its insert
// found taken, with fingerprint the content's: the order, when it was
// created with the same content; ECONFLICT reason duplicate_order_no when
// with other content; ECONFLICT reason batch_loading when it belongs to a
// batch still loading, which may yet be discarded. nil and no error when
// the number is free again: its order went between the two statements (a
// discarded batch's), and the caller inserts it again.
func orderTaken(tx baoguan.Tx, merchantID int64, no, fingerprint string) (*baoguan.Order, error) {
	fp, loading, err := tx.OrderFingerprint(merchantID, no)
	switch {
	case baoguan.ErrorCode(err) == baoguan.ENOTFOUND:
		return nil, nil
	case err != nil:
		return nil, err
	case fp != fingerprint:
		return nil, &baoguan.Error{Code: baoguan.ECONFLICT, Field: "merchant_order_no", Reason: "duplicate_order_no",
			Message: "order " + no + " already exists with different content"}
	case loading:
		return nil, errOrderLoading(no)
	}
	return tx.OrderByNo(merchantID, no)
}

// Idempotency-Key. The native API replays the whole first response to a
// repeated key. The key is taken by the request's first write (update
// takes the claim the request's context carries) with no response yet
// (status 0, "pending"); the response is saved once the front-end has
// rendered it. A repeat that arrives in between waits for it.

// Response is a front-end's answer to a request, kept for its
// Idempotency-Key and replayed to repeats.
type Response struct {
	Status int
	Body   []byte
}

const (
	// idemWait bounds how long a repeat waits for the first request with
	// its key to finish before it is told to retry.
	idemWait = 10 * time.Second
	// idemStale is how old (Service.Now) a pending record must be before a
	// repeat may take the key over: its request died between committing
	// its effect and saving its response.
	idemStale = time.Minute
)

// Reasons of Idempotency-Key refusals, all ECONFLICT.
const (
	ReasonKeyReused     = "idempotency_key_reused"      // the key was used with another request
	ReasonKeyInProgress = "idempotency_key_in_progress" // the first request with the key has not finished
	reasonKeyInUse      = "idempotency_key_in_use"      // internal: another request took the key first
)

// Idempotent runs a request under an Idempotency-Key. A key seen before
// with the same request hash replays the first response (replayed true); a
// key seen with another request is ECONFLICT reason idempotency_key_reused;
// a key whose first request is still running is waited for, up to a few
// seconds, then ECONFLICT reason idempotency_key_in_progress. Otherwise run
// renders the response with a context under which the request's first
// write takes the key in its own transaction, and the response is kept:
// always when an effect was written, and when none was, unless it is a
// server error (5xx), which a retry may not meet again.
func (s *Service) Idempotent(ctx context.Context, m *baoguan.Merchant, key, requestHash string, run func(ctx context.Context) Response) (Response, bool, error) {
	if rec, err := s.awaitKey(ctx, m.ID, key, requestHash); err != nil || rec != nil {
		return replay(rec), rec != nil, err
	}
	c := &idemClaim{merchantID: m.ID, key: idemKey(key), hash: requestHash, ttl: s.Retention.IdempotencyKeys}
	res := run(context.WithValue(ctx, claimCtxKey{}, c))
	taken, lost := c.state()
	if lost {
		// Another request with the key wrote its effect first: answer as
		// it answered.
		rec, err := s.awaitKey(ctx, m.ID, key, requestHash)
		if err == nil && rec == nil {
			err = &baoguan.Error{Code: baoguan.EINTERNAL, Message: "idempotency record vanished"}
		}
		return replay(rec), err == nil, err
	}
	if !taken && res.Status >= 500 {
		return res, false, nil
	}
	save := &baoguan.IdemRecord{MerchantID: m.ID, Key: idemKey(key), RequestHash: requestHash, Status: res.Status, Body: res.Body}
	err := s.Store.Update(context.WithoutCancel(ctx), func(tx baoguan.Tx) error {
		save.CreatedAt, save.ExpiresAt = tx.Now(), expiry(tx.Now(), c.ttl)
		if taken {
			return tx.UpdateIdempotency(save)
		}
		// No effect was written (the request was refused before any
		// write): keep the answer unless a concurrent repeat kept one.
		_, err := takeKeyFor(tx, m.ID, save.Key, requestHash, res.Status, res.Body, c.ttl)
		return err
	})
	if err != nil {
		s.Log.Warn("saving an idempotent response", "key", key, "err", err)
	}
	return res, false, nil
}

func replay(r *baoguan.IdemRecord) Response {
	if r == nil {
		return Response{}
	}
	return Response{Status: r.Status, Body: r.Body}
}

// awaitKey reads the record of an Idempotency-Key: nil when the key is
// free (or held by a request that died before saving its response), the
// record when its response is saved, after waiting while it is pending.
func (s *Service) awaitKey(ctx context.Context, merchantID int64, key, requestHash string) (*baoguan.IdemRecord, error) {
	deadline := time.Now().Add(idemWait)
	pause := 5 * time.Millisecond
	for {
		var rec *baoguan.IdemRecord
		err := s.view(ctx, func(tx baoguan.Tx) error {
			var err error
			rec, err = readKey(tx, merchantID, idemKey(key))
			return err
		})
		switch {
		case err != nil:
			return nil, err
		case rec == nil:
			return nil, nil
		case rec.RequestHash != requestHash:
			return nil, errKeyReused
		case rec.Status != 0:
			return rec, nil
		case s.Now().Sub(rec.CreatedAt) > idemStale:
			return nil, nil
		case time.Now().After(deadline):
			return nil, &baoguan.Error{Code: baoguan.ECONFLICT, Field: "Idempotency-Key", Reason: ReasonKeyInProgress,
				Message: "the first request with this Idempotency-Key has not finished; retry it later"}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

var errKeyReused = &baoguan.Error{Code: baoguan.ECONFLICT, Field: "Idempotency-Key", Reason: ReasonKeyReused,
	Message: "this Idempotency-Key was used with a different request"}

// idemClaim is an Idempotency-Key a request holds in its context until its
// first write takes it.
type idemClaim struct {
	merchantID int64
	key, hash  string
	ttl        time.Duration // how long the record is kept (Retention.IdempotencyKeys)

	mu      sync.Mutex
	pending bool // taken in a transaction not yet known to have committed
	taken   bool // committed with the request's first write
	lost    bool // another request holds the key
}

type claimCtxKey struct{}

func claimOf(ctx context.Context) *idemClaim {
	c, _ := ctx.Value(claimCtxKey{}).(*idemClaim)
	return c
}

func (c *idemClaim) state() (taken, lost bool) {
	if c == nil {
		return false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.taken, c.lost
}

// take inserts the claim's pending record in tx, the transaction of the
// request's first write. A key another request holds fails the write with
// ECONFLICT (and marks the claim lost, so Idempotent answers with that
// request's response); a key used with another request is ECONFLICT reason
// idempotency_key_reused.
func (c *idemClaim) take(tx baoguan.Tx) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.taken {
		return nil
	}
	prev, err := takeKeyFor(tx, c.merchantID, c.key, c.hash, 0, nil, c.ttl)
	switch {
	case err != nil:
		return err
	case prev == nil:
	case prev.RequestHash != c.hash:
		return errKeyReused
	case prev.Status == 0 && tx.Now().Sub(prev.CreatedAt) > idemStale:
		// The request that took the key died before saving its answer:
		// this one takes it over.
		prev.CreatedAt = tx.Now()
		if err := tx.UpdateIdempotency(prev); err != nil {
			return err
		}
	default:
		c.lost = true
		return &baoguan.Error{Code: baoguan.ECONFLICT, Field: "Idempotency-Key", Reason: reasonKeyInUse,
			Message: "another request with this Idempotency-Key is being answered"}
	}
	c.pending = true
	return nil
}

// committed records that the transaction that took the claim committed.
func (c *idemClaim) committed() {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.pending {
		c.taken = true
	}
	c.mu.Unlock()
}
