// Package core holds the gateway's services, one file (or a few) per
// capability, named for what the gateway does rather than for the protocol
// that first needed it:
//
//	merchants.go, credentials.go     merchants, their credentials, installation secrets
//	orders.go                        creating, reading and updating orders
//	payments.go                      the payment mechanism every mode shares: the pay
//	                                 job, paying in the request, recording an outcome
//	payments_funding.go              automatic payment from a merchant's funding cards
//	payments_collect.go              collect modes: QR codes (and the wallet modes to come)
//	payments_card.go                 card agreements and quick pay with SMS codes
//	declarations.go                  declare, re-declare, modify, one target at a time
//	declarations_job.go              the declare and poll jobs, receipts
//	identity.go                      the identity comparison and pre-declaration checks
//	pushes.go                        declaration pushes under a merchant's number
//	refunds.go, batches.go           refunds; batches and their pages
//	realname.go                      real-name verification
//	notifications.go                 events, formats (delivery.go sends them)
//	idempotency.go                   natural keys and Idempotency-Key, one mechanism
//	limits.go                        failed authentication, SMS and real-name limits
//	ratelimit.go, runner.go          rate limits; the job runner
//
// Every front-end (the native /v1 API, the vendor protocols, the console,
// the CLI) calls these and only translates; every rule lives here or in the
// root package. Front-ends never open a store transaction: they
// authenticate through this package too.
//
// Each state change is written in one store transaction together with the
// jobs and events it causes, so a crash at any moment loses neither. Side
// effects (paying, declaring, polling, notifying, refunding) run later in
// the job runner, at least once, with idempotent handlers. Adapters (payment
// channels, customs ports, card and collect channels, real-name verifiers)
// are chosen in one place, Service.adapters, by the merchant's or order's
// mode.
package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baoguan/baoguan"
)

// Adapters are the adapters used for one mode (sandbox or live). A nil
// member refuses what needs it with ESTATE (reason no_channel,
// no_card_channel, no_identity_provider, …) or, for Channel and Port, refuses
// the mode's orders when they are pushed.
type Adapters struct {
	Channel baoguan.PaymentChannel // pays (FlowAtOnce), applies card payments (FlowCard), refunds
	// Port is the mode's default customs port: the sandbox port for the
	// sandbox. Live declarations go through Routes instead.
	Port baoguan.CustomsPort
	// Routes are the customs ports live declarations can go through, by
	// route name (baoguan.RouteWeChatPay, …), with what each needs; the
	// name is stored on the declaration (routes.go).
	Routes map[string]Route
	// Complete is the second step of card and collect payments. New fills
	// it from Channel when Channel implements it.
	Complete baoguan.CompletingChannel
	// Collect issues the codes of collect modes (FlowCollect). New fills it
	// from Channel when Channel implements it.
	Collect baoguan.CollectChannel
	// Cards binds cards for quick pay. New fills it from Channel when
	// Channel implements it.
	Cards baoguan.CardChannel
	// RealName verifies names and ID numbers. New fills it from Channel
	// when Channel implements it (a payment company's real-name service).
	RealName baoguan.RealNameVerifier
	// Rates gives the current rate of a currency to CNY. New fills it from
	// Channel when Channel implements it (a wallet's reference rates, the
	// sandbox's table).
	Rates baoguan.RateSource
}

// fill completes a's optional members from its channel.
func (a *Adapters) fill() {
	if a.Complete == nil {
		a.Complete, _ = a.Channel.(baoguan.CompletingChannel)
	}
	if a.Collect == nil {
		a.Collect, _ = a.Channel.(baoguan.CollectChannel)
	}
	if a.Cards == nil {
		a.Cards, _ = a.Channel.(baoguan.CardChannel)
	}
	if a.RealName == nil {
		a.RealName, _ = a.Channel.(baoguan.RealNameVerifier)
	}
	if a.Rates == nil {
		a.Rates, _ = a.Channel.(baoguan.RateSource)
	}
}

// Service is the core. Build it with New; fields are its dependencies.
type Service struct {
	Store   baoguan.Store
	Sandbox Adapters // used by sandbox merchants and by test endpoints
	Live    Adapters // used by live merchants
	// SampleIdentity reports whether an ID number is one of the sandbox's
	// documented sample identities, exempt from the pre-declaration checksum
	// rule in the sandbox only.
	SampleIdentity func(id string) bool
	// PaymentData uploads the payment data customs asks for (179); nil:
	// such requests are refused (RequestPaymentData).
	PaymentData baoguan.PaymentDataUploader
	Formats     *Formats     // notification formats by protocol
	HTTP        *http.Client // for notification delivery (see netguard)
	Log         *slog.Logger
	Now         func() time.Time
	// Retries are the job retry schedules for plain errors, by job kind.
	Retries map[string]baoguan.Retry
	Metrics *Metrics
	// Retention is how long records the gateway no longer needs are kept
	// (retention.go); the zero value keeps everything.
	Retention Retention
	// Limits bound failed authentication, SMS sends and real-name checks
	// (limits.go); a zero Rate takes DefaultLimits' value.
	Limits Limits
	// ExclusiveStore says this Service is the only one that records failed
	// authentications in Store: a SQLite server, which holds its database
	// alone (the server lock; CLI commands beside it never authenticate
	// callers). AuthAllowed then skips reading the buckets it knows to be
	// full (fullBuckets). Never set it for a store other processes or
	// Services share (PostgreSQL): their failures would not be seen.
	ExclusiveStore bool
	// BatchChunk is how many orders of a batch upload one transaction
	// stores (DefaultBatchChunk when 0); see CreateBatch.
	BatchChunk int
	// BatchChunksAtOnce is how many chunks of a batch upload are in the
	// store's transactions at once (1 when 0): more than one only on a
	// store whose write transactions run side by side (PostgreSQL), and
	// fewer than its writers, since each waits for the one before it.
	BatchChunksAtOnce int
	// CombinedWrites is how many combined writes of order pushes may be in
	// flight at once (combine.go); 0 stores every push by an Update of
	// its own.
	CombinedWrites int

	// afterBatchChunk, when set (tests), is called after each committed
	// chunk of a batch upload.
	afterBatchChunk func(b *baoguan.Batch)
	// combinePause is how long pushes are stored alone after a combined
	// write failed (combinePause; tests change it).
	combinePause time.Duration
	// beforeCombinedWrite, when set (tests), is called before each
	// combined write of order pushes is handed to the store.
	beforeCombinedWrite func()
	// chunksAgain counts batch chunks queued again after the chunk before
	// them had not committed when they looked (errChunkAhead; tests).
	chunksAgain atomic.Int64
	// slowChunks counts batch chunks stored one order at a time after
	// their one-statement-per-table store met something (tests).
	slowChunks atomic.Int64
	// handoffRoom, when set (tests), is how many handed-off events the
	// deliverer keeps waiting with their bodies, handoffIDs how many in
	// all (handoff.go); more are left to the table.
	handoffRoom, handoffIDs int
	// tableReads counts the deliverer's reads of the events table (tests).
	tableReads atomic.Int64

	// intake counts the order pushes in flight, lastPush is when the
	// last began (Unix nanoseconds; intake.go).
	intake       atomic.Int64
	lastPush     atomic.Int64
	wake         chan struct{}
	wakeDelivery chan struct{}
	combine      combiner
	fresh        freshRows
	purge        purgeLock
	auth         authCache
	attempts     sync.Map // deliveryKey → prometheus.Counter (countAttempt)
	full         fullBuckets
	authReads    authReads
	seq          atomic.Uint64
	node         string
}

// New fills in defaults for what the caller left unset and returns svc.
func New(svc *Service) *Service {
	if svc.Now == nil {
		svc.Now = time.Now
	}
	if svc.Log == nil {
		svc.Log = slog.New(slog.DiscardHandler)
	}
	if svc.Formats == nil {
		svc.Formats = NewFormats()
	}
	if svc.HTTP == nil {
		svc.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if svc.Retries == nil {
		svc.Retries = DefaultRetries()
	}
	if svc.SampleIdentity == nil {
		svc.SampleIdentity = func(string) bool { return false }
	}
	if svc.Metrics == nil {
		svc.Metrics = NewMetrics(nil)
	}
	svc.combinePause = combinePause
	svc.Limits.fill()
	svc.Sandbox.fill()
	svc.Live.fill()
	svc.wake = make(chan struct{}, 1)
	svc.wakeDelivery = make(chan struct{}, 1)
	var b [3]byte
	_, _ = rand.Read(b[:])
	svc.node = hex.EncodeToString(b[:])
	return svc
}

// DefaultRetries are the retry schedules for jobs that fail with an error.
// Notifications follow their protocol's own schedule instead (see Format).
func DefaultRetries() map[string]baoguan.Retry {
	return map[string]baoguan.Retry{
		baoguan.JobPay:     {5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute},
		baoguan.JobDeclare: {5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour},
		baoguan.JobPoll:    {5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour},
		baoguan.JobNotify:  {5 * time.Second, time.Minute, 5 * time.Minute},
		baoguan.JobRefund:  {10 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour},
		// Customs wants payment data within minutes of asking.
		baoguan.JobPaymentData: {5 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute},
	}
}

// adapters is the one place the sandbox/live switch is made: the adapters
// of an order (o.Sandbox) or of a merchant's production requests
// (m.Mode == sandbox, or a protocol's test endpoint).
func (s *Service) adapters(sandbox bool) Adapters {
	if sandbox {
		return s.Sandbox
	}
	return s.Live
}

// merchantAdapters are the adapters a merchant's production requests use.
func (s *Service) merchantAdapters(m *baoguan.Merchant) Adapters {
	return s.adapters(m.Mode == baoguan.ModeSandbox)
}

// newID returns a unique, roughly time-ordered identifier with a prefix,
// e.g. "evt_1732345678123_a1b2c3_42".
func (s *Service) newID(prefix string) string {
	n := s.seq.Add(1)
	var buf [64]byte // one allocation, the string, where the parts made three
	b := append(buf[:0], prefix...)
	b = strconv.AppendInt(b, s.Now().UnixMilli(), 36)
	b = append(b, s.node...)
	return string(strconv.AppendUint(b, n, 36))
}

// Wake tells the job runner and the deliverer that jobs or notifications
// were committed, so they need not wait for their next poll.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.wakeDeliverer()
}

// wakeDeliverer tells the deliverer that notifications may be due.
func (s *Service) wakeDeliverer() {
	select {
	case s.wakeDelivery <- struct{}{}:
	default:
	}
}

// update runs fn in a write transaction and wakes the runner afterwards
// when fn enqueued jobs. Every write of the core goes through it, so that
// an Idempotency-Key a front-end claimed for the request (Idempotent)
// is taken in the transaction of the request's first write: the key and
// the effect it guards commit together or not at all.
func (s *Service) update(ctx context.Context, fn func(tx baoguan.Tx, q *queue) error) error {
	var q queue
	c := claimOf(ctx)
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		q = queue{svc: s, tx: tx}
		if err := c.take(tx); err != nil {
			return err
		}
		return fn(tx, &q)
	})
	if err == nil {
		c.committed()
		if q.n > 0 {
			s.Wake()
		}
	}
	return err
}

// queue enqueues jobs inside a transaction and remembers that it did. It
// also keeps the merchant read in the transaction, so several events of
// one state change read it once.
type queue struct {
	svc *Service
	tx  baoguan.Tx
	n   int
	m   *baoguan.Merchant
}

func (q *queue) merchant(id int64) (*baoguan.Merchant, error) {
	if q.m != nil && q.m.ID == id {
		return q.m, nil
	}
	m, err := q.tx.Merchant(id)
	if err == nil {
		q.m = m
	}
	return m, err
}

func (q *queue) add(kind, key string, merchantID, ref int64, at time.Time) error {
	ok, err := q.tx.Enqueue(q.job(kind, key, merchantID, ref, at))
	if ok {
		q.n++
	}
	return err
}

// addNew queues a job whose dedupe key cannot exist yet (a new order's),
// without waiting to learn whether it was inserted (Tx.EnqueueLater): on
// PostgreSQL it travels with the transaction's next statement.
func (q *queue) addNew(kind, key string, merchantID, ref int64, at time.Time) error {
	err := q.tx.EnqueueLater(q.job(kind, key, merchantID, ref, at))
	if err == nil {
		q.n++
	}
	return err
}

func (q *queue) job(kind, key string, merchantID, ref int64, at time.Time) *baoguan.Job {
	j := &baoguan.Job{Kind: kind, DedupeKey: key, MerchantID: merchantID, RefID: ref,
		State: baoguan.JobQueued, RunAt: at, MaxAttempts: len(q.svc.Retries[kind]) + 1}
	if kind == baoguan.JobPoll || kind == baoguan.JobNotify || kind == baoguan.JobExpire {
		// Polls and notifications reschedule themselves (Later) and bound
		// their own attempts; this is only a safety net.
		j.MaxAttempts = 1000
	}
	return j
}

// view runs fn in a read transaction.
func (s *Service) view(ctx context.Context, fn func(tx baoguan.Tx) error) error {
	return s.Store.View(ctx, fn)
}
