package baoguan

import (
	"context"
	"time"
)

// Store is the durable state of the gateway. Update runs fn in a write
// transaction: everything fn writes commits together or not at all, which is
// how a state change and the jobs and events it causes stay together.
// Implementations may commit several concurrent Updates in one database
// transaction (group commit); each fn still succeeds or fails alone. A
// store may run fn a second time after its first run was rolled back (the
// PostgreSQL store does, once, when the first run met a deadlock between
// two groups; the SQLite store, once, when a fn after it in its group
// failed while the group ran without savepoints), so fn must set what it
// reports to its caller afresh on each run rather than accumulate it.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// IDReserver is a Store that draws the ids of rows before the transaction
// that inserts them: PostgreSQL, from the tables' sequences, whose values
// are never given back whatever becomes of the transaction that draws them
// (an id drawn and not used is a gap, as a rolled-back insert leaves). A
// batch upload draws its orders' and declarations' ids at once, beside its
// first transaction, and its chunks insert their rows with them
// (Tx.CreateOrders), so that no chunk's transaction asks for ids first.
type IDReserver interface {
	ReserveIDs(ctx context.Context, orders, declarations int) (orderIDs, declarationIDs []int64, err error)
}

type longUpdateKey struct{}

// LongUpdate marks ctx for an Update that runs long (a batch of jobs, a
// chunk of a batch upload): a store that commits Updates in groups and has
// several writers runs it in a transaction of its own, so that the short
// Updates of a group do not wait for it to commit. A store with a single
// writer may ignore it.
func LongUpdate(ctx context.Context) context.Context {
	return context.WithValue(ctx, longUpdateKey{}, true)
}

// IsLongUpdate reports whether ctx was marked by LongUpdate.
func IsLongUpdate(ctx context.Context) bool {
	v, _ := ctx.Value(longUpdateKey{}).(bool)
	return v
}

type looseViewKey struct{}

// LooseView marks ctx for a View whose reads need not see one snapshot
// (each may see the database as it stands when it runs; a check of rate
// buckets, say): a store whose read transactions cost round trips of their
// own (PostgreSQL: the ROLLBACK that ends it) may run each read in a
// transaction of its own, or alone. fn must only read.
func LooseView(ctx context.Context) context.Context {
	return context.WithValue(ctx, looseViewKey{}, true)
}

// IsLooseView reports whether ctx was marked by LooseView.
func IsLooseView(ctx context.Context) bool {
	v, _ := ctx.Value(looseViewKey{}).(bool)
	return v
}

// Page asks for one page of a list: items after Cursor (an opaque id the
// previous page returned), at most Limit of them.
type Page struct {
	Cursor int64
	Limit  int
}

// OrderFilter narrows an order list.
type OrderFilter struct {
	MerchantID    int64
	BatchID       int64
	PayStatus     PayStatus
	DeclareStatus DeclareStatus
	// From and To bound the creation time, [From, To); zero is open.
	From, To time.Time
	Newest   bool // newest first (payzero 2.5) instead of oldest first
	Page
}

// RefundFilter narrows a refund list.
type RefundFilter struct {
	MerchantID int64 // required
	Status     RefundStatus
	// From and To bound the creation time, [From, To); zero is open.
	From, To time.Time
	Page
}

// EventFilter narrows an event list.
type EventFilter struct {
	MerchantID int64
	OrderID    int64
	Type       string
	Status     EventStatus
	Page
}

// JobFilter narrows a job list for operators.
type JobFilter struct {
	Kind  string
	State JobState
	Page
}

// UnpaidOrder is what paying a batch needs to know of one of its orders
// (Tx.UnpaidBatchOrders).
type UnpaidOrder struct {
	ID, Amount int64
	Channel    Channel
	PayStatus  PayStatus
}

// IdemRecord remembers the first response to a request with an
// Idempotency-Key, so a repeat replays it.
type IdemRecord struct {
	MerchantID  int64
	Key         string
	RequestHash string
	Status      int
	Body        []byte
	CreatedAt   time.Time
	// ExpiresAt, when set, is when the record may be purged (an
	// Idempotency-Key's answer, a request nonce); a natural key has none
	// and is kept.
	ExpiresAt time.Time
}

// Tx is what a transaction can do. Lookups of a missing object return an
// *Error with code ENOTFOUND; inserting a duplicate natural key returns
// ECONFLICT. Every lookup of merchant data takes the merchant id, so one
// merchant cannot reach another's rows by guessing ids.
type Tx interface {
	Now() time.Time

	// Savepoint runs fn so that, when it returns an error (or panics),
	// what it wrote is undone and the rest of the transaction goes on; the
	// error is returned. The job runner runs each job of a batch so.
	Savepoint(fn func() error) error

	CreateMerchant(m *Merchant) error
	UpdateMerchant(m *Merchant) error
	Merchant(id int64) (*Merchant, error)
	MerchantByNo(no string) (*Merchant, error)
	MerchantByName(name string) (*Merchant, error)
	MerchantByAPIKeyHash(hash string) (*Merchant, error)
	MerchantByAppID(appID string) (*Merchant, error)
	Merchants() ([]Merchant, error)
	// DebitFunding takes amount from the merchant's funding account if the
	// balance covers it, reporting whether it did.
	DebitFunding(merchantID, amount int64) (bool, error)

	// CreateAgent inserts an agent. Its number or name held by another
	// agent is ECONFLICT reason duplicate, naming the field (agent_no,
	// name).
	CreateAgent(a *Agent) error
	// UpdateAgent writes an agent's name and settings. ENOTFOUND.
	UpdateAgent(a *Agent) error
	// Agent and AgentByNo read an agent by id or number. ENOTFOUND.
	Agent(id int64) (*Agent, error)
	AgentByNo(no string) (*Agent, error)
	// Agents lists every agent, oldest first.
	Agents() ([]Agent, error)

	// CreateOrder inserts an order at version 1, with its Fingerprint. A
	// number the merchant already used is ECONFLICT reason duplicate (on
	// stores whose write transactions run concurrently, after the
	// transaction that inserted it ended: first writer wins).
	CreateOrder(o *Order) error
	UpdateOrder(o *Order) error // fails with ECONFLICT if o.Version is stale
	// UpdateOrders and UpdateDeclarations write many rows as UpdateOrder
	// and UpdateDeclaration do, in one round trip on a store that sends
	// statements in batches (PostgreSQL); the job runner writes a batch's
	// rows with them. The first row that fails is the error, after which
	// the transaction must not commit.
	UpdateOrders(os []Order) error
	Order(merchantID, id int64) (*Order, error)
	OrderByNo(merchantID int64, no string) (*Order, error)
	// OrderFingerprint reads what the merchant's order number holds,
	// whatever the state of the order's batch (OrderByNo does not see the
	// orders of a batch still loading): the order's Fingerprint, and
	// whether its batch is still loading. ENOTFOUND when no order has
	// the number.
	OrderFingerprint(merchantID int64, no string) (fingerprint string, loading bool, err error)
	OrderByPaymentNo(merchantID int64, paymentNo string) (*Order, error)
	ListOrders(f OrderFilter) ([]Order, error)
	CountOrders(f OrderFilter) (int, error)

	CreateDeclaration(d *Declaration) error
	// CreateOrders and CreateDeclarations insert many new rows (a batch
	// upload's chunk) with one statement per table and set their ids. Rows
	// that all have ids already, drawn with IDReserver, may be inserted
	// with them (PostgreSQL's COPY); any other way gives them new ones. A
	// number or target that exists already is ECONFLICT reason duplicate,
	// after which the transaction must not commit: the other rows were
	// inserted.
	CreateOrders(os []Order) error
	CreateDeclarations(ds []Declaration) error
	UpdateDeclaration(d *Declaration) error
	UpdateDeclarations(ds []Declaration) error
	Declaration(merchantID, id int64) (*Declaration, error)
	Declarations(merchantID, orderID int64) ([]Declaration, error)

	// OrdersByID, DeclarationsByID and DeclarationsOfOrders read many
	// rows in one query, whatever their merchants, for the job runner,
	// which loads the rows of a batch of jobs at once and checks each row
	// against its job's merchant. Missing ids are left out; declarations
	// of orders come ordered by order and id.
	OrdersByID(ids []int64) ([]Order, error)
	DeclarationsByID(ids []int64) ([]Declaration, error)
	DeclarationsOfOrders(orderIDs []int64) ([]Declaration, error)

	CreateRefund(r *Refund) error
	UpdateRefund(r *Refund) error
	Refund(merchantID, id int64) (*Refund, error)
	RefundByNo(merchantID int64, no string) (*Refund, error)
	Refunds(merchantID, orderID int64) ([]Refund, error)
	// ListRefunds pages through a merchant's refunds by id, oldest first.
	ListRefunds(f RefundFilter) ([]Refund, error)

	CreateBatch(b *Batch) error
	UpdateBatch(b *Batch) error
	Batch(merchantID, id int64) (*Batch, error)
	BatchSummary(merchantID, id int64) (BatchSummary, error)
	// LoadingBatch finds the merchant's loading batch with a fingerprint;
	// ENOTFOUND.
	LoadingBatch(merchantID int64, fingerprint string) (*Batch, error)
	// LeaseBatch writes a loading batch's lease, progress and fingerprint
	// (and, with a zero LoadingUntil, marks it loaded) provided its lease
	// is still prev; ECONFLICT reason batch_loading when another loader
	// has taken it over.
	LeaseBatch(b *Batch, prev time.Time) error
	// StaleBatchLoads lists up to n loading batches, every merchant's,
	// whose lease ended before before (their loaders are gone).
	StaleBatchLoads(before time.Time, n int) ([]Batch, error)
	// BatchOrderIDs returns the ids of up to n of the batch's orders,
	// loading or not.
	BatchOrderIDs(merchantID, batchID int64, n int) ([]int64, error)
	// UnpaidBatchOrders lists the batch's orders that wait for a payment
	// (NOT_PAYED) or failed one (PAY_FAILED), in id order, with only what
	// paying the batch needs to know of them.
	UnpaidBatchOrders(merchantID, batchID int64) ([]UnpaidOrder, error)
	// DeleteOrders deletes the merchant's orders with the given ids and
	// their declarations (only a loading batch's orders, which nothing
	// else refers to, are ever deleted).
	DeleteOrders(merchantID int64, ids []int64) (int, error)
	// DeleteBatch deletes a batch row; its orders must be gone.
	DeleteBatch(merchantID, id int64) error
	// Batches pages through a merchant's batches that are loaded (not
	// those still loading), newest first (Cursor: the last id of the
	// previous page).
	Batches(merchantID int64, p Page) ([]Batch, error)

	CreateEvent(e *Event) error
	// CreateEvents inserts many new events (a job batch's notifications),
	// with one statement where the store can (PostgreSQL), and sets their
	// ids. A taken public id is ECONFLICT reason duplicate, after which
	// the transaction must not commit.
	CreateEvents(es []Event) error
	UpdateEvent(e *Event) error
	Event(merchantID, id int64) (*Event, error)
	ListEvents(f EventFilter) ([]Event, error)
	AddAttempt(a *Attempt) error
	Attempts(eventID int64) ([]Attempt, error)

	// DueEvents lists up to n pending events that are due and not leased,
	// oldest first (by NextAt, then ID), after after in that order unless
	// it is nil, leaving out the destinations in skip (looking then at
	// the first thousand due events only). It locks nothing: the lease
	// of those picked (LeaseEvents) is what two deliverers contend for.
	DueEvents(n int, skip []string, after *DueEvent) ([]DueEvent, error)
	// DueEventsOf lists the pending events of the orders that are due and
	// not leased, oldest first, as DueEvents does.
	DueEventsOf(orders []int64) ([]DueEvent, error)
	// LeaseEvents leases the pending events among ids that are not leased
	// until until, when they are due again unless an attempt is recorded
	// meanwhile, and returns those it leased. On a store whose
	// transactions run concurrently, an event another transaction is
	// leasing is passed over, not waited for. A zero until ends the
	// leases of the pending events among ids.
	LeaseEvents(ids []int64, until time.Time) ([]Event, error)
	// PendingEvents returns the pending events among ids without leasing
	// them, for a deliverer alone on its database, which holds its claims
	// in memory. Each one's LeaseUntil (not in the future) is the token
	// RecordAttempt checks; UpdateEvent changes it.
	PendingEvents(ids []int64) ([]Event, error)
	// RecordAttempt writes a delivery attempt and the event's new state
	// (status, attempts, NextAt, DeliveredAt) if the event is still leased
	// with the token lease, and ends the lease; ECONFLICT reason
	// lease_lost otherwise (redelivered or taken over meanwhile).
	RecordAttempt(e *Event, a *Attempt, lease time.Time) error
	// RecordAttempts records many outcomes as RecordAttempt does, with one
	// statement where the store can (PostgreSQL), setting each one's
	// event and attempt as RecordAttempt would. recorded[i] is false when
	// os[i]'s lease was lost (RecordAttempt's lease_lost): nothing of it
	// was written.
	RecordAttempts(os []Outcome) (recorded []bool, err error)

	// Enqueue inserts a job unless one with the same DedupeKey exists; it
	// reports whether it inserted.
	Enqueue(j *Job) (bool, error)
	// EnqueueLater is Enqueue for a caller that need not know whether the
	// job was inserted (a new order's pay job, whose key cannot exist
	// yet): a store that sends statements in batches (PostgreSQL) sends it
	// with the transaction's next statement, or at the function's end,
	// rather than on a round trip of its own, and its error may come back
	// from that statement or the end. j.ID is not set.
	EnqueueLater(j *Job) error
	// EnqueuePayJobs queues, with one statement, the pay job of every
	// order of a batch that is NOT_PAYED, due now, each keyed as the
	// core keys a payment round ("pay:<order id>:<pay attempts>", so an
	// order's job already queued is not queued twice); it returns how
	// many it queued.
	EnqueuePayJobs(merchantID, batchID int64, maxAttempts int) (int, error)
	// QueueOrderPays queues on the orders themselves (Order.PayDueAt, due
	// now), with one statement, the payment of every NOT_PAYED order of a
	// batch whose Sandbox is sandbox and whose payment is not queued yet
	// (on the order, or by a pay job row of its round); it returns how
	// many it queued. EnqueuePayJobs then leaves those orders out.
	QueueOrderPays(merchantID, batchID int64, sandbox bool) (int, error)
	// DueOrderPays takes up to n orders whose payment is due (PayDueAt set
	// and ≤ now), oldest first, as pay jobs that have no row: ID 0, RefID
	// the order, MerchantID, RunAt the time it was due, CreatedAt the
	// order's creation, State running, Attempts 1. Nothing is written: the orders stay due until this
	// transaction changes their PayDueAt, so the claim lasts as long as the
	// transaction (a store whose transactions run concurrently locks the
	// orders taken, and passes over those another transaction holds).
	DueOrderPays(n int) ([]Job, error)
	// DequeueOrderPays takes the orders off the pay queue (PayDueAt
	// zero), whatever their version, leaving the rest of them as they are.
	DequeueOrderPays(ids []int64) error
	// CountOrderPays counts the payments queued on orders (PayDueAt set),
	// and of them those due at now.
	CountOrderPays(now time.Time) (queued, due int, err error)
	// Claim leases up to n jobs that are due (queued with RunAt ≤ now, or
	// running with an expired lease), oldest first, and counts the attempt.
	Claim(kinds []string, n int, lease time.Duration) ([]Job, error)
	// FinishJob ends a claimed job: done, dead (with the error), or queued
	// again at runAt. It fails with ECONFLICT if the lease was lost.
	FinishJob(j *Job) error
	Job(id int64) (*Job, error)
	// FinishJobs ends jobs this transaction claimed as done, in one
	// statement. It is for the job runner, which claims, runs and finishes
	// a batch of jobs in one transaction, so no lease can have been lost.
	FinishJobs(ids []int64) error
	// ReleaseJobs gives jobs this transaction claimed back to the queue,
	// due at runAt, without counting the claim as an attempt.
	ReleaseJobs(ids []int64, runAt time.Time) error
	ListJobs(f JobFilter) ([]Job, error)
	CountJobs(state JobState) (map[string]int, error)

	// Idempotency reads the record of a key. In a write transaction it
	// first locks the key until the transaction ends (on stores whose
	// write transactions run concurrently), so reading a key and then
	// inserting it is atomic.
	Idempotency(merchantID int64, key string) (*IdemRecord, error)
	// PutIdempotency inserts a record; ECONFLICT when the key exists.
	PutIdempotency(r *IdemRecord) error
	// UpdateIdempotency rewrites an existing record's hash, status, body
	// and time (a response saved after the effect it answers). ENOTFOUND.
	UpdateIdempotency(r *IdemRecord) error
	// DeleteIdempotency deletes the records of keys (a discarded batch
	// load's batch number).
	DeleteIdempotency(merchantID int64, keys []string) error

	// Retention (core/retention.go): each call deletes a little, so that
	// writers are never held up for long.
	//
	// PurgeDoneJobs looks at up to n jobs from id from upward, stopping at
	// the first created at or after before, and deletes those done before
	// before. It returns how many it deleted, the id to go on from, and
	// whether it stopped at n rows (more old ones may follow).
	PurgeDoneJobs(from int64, n int, before time.Time) (deleted int, next int64, more bool, err error)
	// PurgeAttempts does the same for the delivery attempts of events
	// delivered before before.
	PurgeAttempts(from int64, n int, before time.Time) (deleted int, next int64, more bool, err error)
	// PurgeExpiredKeys deletes up to n idempotency records whose ExpiresAt
	// has passed, and reports how many.
	PurgeExpiredKeys(n int) (int, error)

	// FundingCards returns the merchant's funding cards; Recorded is false
	// when none were ever recorded.
	FundingCards(merchantID int64) (FundingCards, error)
	// ReplaceFundingCards records the merchant's cards, replacing the
	// earlier list (an empty list records "no card").
	ReplaceFundingCards(merchantID int64, cards []FundingCard) error

	// PutCardAgreement inserts an agreement application or rewrites the
	// one with the same request id. ECONFLICT (field agree_id) when its
	// agreement number is the merchant's other agreement's.
	PutCardAgreement(a *CardAgreement) error
	// CardAgreementByRequest and CardAgreement look an agreement up by
	// the merchant's request id or by its agreement number. ENOTFOUND.
	CardAgreementByRequest(merchantID int64, requestID string) (*CardAgreement, error)
	CardAgreement(merchantID int64, agreeID string) (*CardAgreement, error)

	// PutSMSChallenge inserts or replaces the challenge of (merchant,
	// purpose, ref).
	PutSMSChallenge(c *SMSChallenge) error
	// SMSChallenge reads it. ENOTFOUND.
	SMSChallenge(merchantID int64, purpose, ref string) (*SMSChallenge, error)

	// CreateCollection inserts a collection; ECONFLICT when its token exists.
	CreateCollection(c *Collection) error
	// UpdateCollection writes a collection's UsedAt. ENOTFOUND.
	UpdateCollection(c *Collection) error
	// Collection looks a collection up by its token, whatever its merchant:
	// the token is the capability. ENOTFOUND.
	Collection(token string) (*Collection, error)
	// LatestCollection is the order's newest collection. ENOTFOUND.
	LatestCollection(merchantID, orderID int64) (*Collection, error)
	// ExpiredCollections lists, across merchants, up to limit collections
	// that close their order (Closes), are unused (UsedAt zero) and have
	// expired at now, soonest expired first.
	ExpiredCollections(now time.Time, limit int) ([]Collection, error)

	// CreateRealNameCheck keeps one real-name check.
	CreateRealNameCheck(r *RealNameCheck) error
	// RealNameChecks lists the merchant's newest checks, at most n.
	RealNameChecks(merchantID int64, n int) ([]RealNameCheck, error)

	// PutRate sets the operator's rate of a currency to CNY, replacing the
	// one before.
	PutRate(r *ExchangeRate) error
	// DeleteRate removes the operator's rate of a currency (the rate
	// source's is used again); it reports whether there was one.
	DeleteRate(currency string) (bool, error)
	// Rates lists the operator's rates by currency code.
	Rates() ([]ExchangeRate, error)

	// Setting reads an installation setting (platform keys and the like),
	// sealed at rest. ENOTFOUND when unset.
	Setting(key string) (string, error)
	// PutSetting stores a setting; with onlyNew it does nothing when the key
	// exists and reports whether it stored, so several instances starting at
	// once agree on one generated key.
	PutSetting(key, value string, onlyNew bool) (bool, error)

	// AddDeclarationRef records that attempt of a declaration carries ref at
	// port, so receipts for ref find it after later attempts changed the
	// declaration's PortRef. Recording the same ref again does nothing.
	AddDeclarationRef(port, ref string, merchantID, declarationID int64, attempt int) error
	// AddCustomsReceipts stores receipts, each linked to the declaration
	// whose ref it names when one is recorded, and skips one already stored
	// (same port, ref, status, return time and info). It reports how many it stored.
	AddCustomsReceipts(rs []CustomsReceipt) (int, error)
	// DeclarationReceipts lists a declaration's receipts, oldest first.
	DeclarationReceipts(merchantID, declarationID int64) ([]CustomsReceipt, error)
	// CustomsReceipts lists the receipts of one ref, oldest first.
	CustomsReceipts(port, ref string) ([]CustomsReceipt, error)
	// UnmatchedReceipts lists, newest first, the receipts of port ("" for
	// any) whose ref no declaration recorded.
	UnmatchedReceipts(port string, p Page) ([]CustomsReceipt, error)

	// FindOrdersByNumber finds, across merchants, the orders whose number
	// is no and the declarations whose sub-order number is no (customs asks
	// by number only). Operators and customs-facing services only.
	FindOrdersByNumber(no string) ([]OrderMatch, error)
	// CreatePaymentDataRequest stores a request of customs; a second one
	// with the same service and session is not stored (false).
	CreatePaymentDataRequest(r *PaymentDataRequest) (bool, error)
	// PaymentDataRequest reads one. ENOTFOUND.
	PaymentDataRequest(id int64) (*PaymentDataRequest, error)
	// UpdatePaymentDataRequest writes its state, answer and attempts. ENOTFOUND.
	UpdatePaymentDataRequest(r *PaymentDataRequest) error
	// PaymentDataRequests lists requests, newest first.
	PaymentDataRequests(p Page) ([]PaymentDataRequest, error)
	// AddUpstreamCalls stores the records of calls made to upstream
	// services (each gets its ID). A call naming a missing declaration is
	// ENOTFOUND.
	AddUpstreamCalls(cs []UpstreamCall) error
	// UpstreamCalls lists recorded calls, newest first.
	UpstreamCalls(f UpstreamCallFilter) ([]UpstreamCall, error)

	// TakeToken takes one token from the bucket named key, which refills
	// at rate tokens a second up to burst, and reports whether there was
	// one. Buckets live in the database, so a limit holds across every
	// instance that shares it.
	TakeToken(key string, rate float64, burst int) (bool, error)
	// Tokens returns what the bucket named key holds now, refilled at
	// rate tokens a second up to burst, without taking any: burst for a
	// bucket never used.
	Tokens(key string, rate float64, burst int) (float64, error)
	// DeleteIdleBuckets deletes up to limit buckets unchanged since
	// before, which every limit has refilled by then, and returns how
	// many went.
	DeleteIdleBuckets(before time.Time, limit int) (int, error)

	// Console accounts. CreateUser: ECONFLICT (field login) when the login
	// is taken. User, UserByLogin: ENOTFOUND.
	CreateUser(u *User) error
	UpdateUser(u *User) error
	User(id int64) (*User, error)
	UserByLogin(login string) (*User, error)
	Users() ([]User, error)
	// Sessions are found by the hash of their cookie token; Session
	// returns ENOTFOUND for an unknown or expired one. DeleteSessions
	// removes a user's sessions (after a password change or disabling),
	// or with userID 0 every expired session.
	CreateSession(s *Session) error
	Session(tokenHash string) (*Session, error)
	DeleteSession(tokenHash string) error
	DeleteSessions(userID int64) error

	// RetireKey keeps a replaced merchant secret valid until its
	// ExpiresAt. RetiredKeys lists a merchant's unexpired ones of a kind;
	// MerchantByRetiredKey finds the merchant whose unexpired retired
	// secret of the kind is secret (ENOTFOUND); RevokeRetiredKeys drops
	// them all at once.
	RetireKey(k *RetiredKey) error
	RetiredKeys(merchantID int64, kind string) ([]RetiredKey, error)
	MerchantByRetiredKey(kind, secret string) (*Merchant, error)
	RevokeRetiredKeys(merchantID int64, kind string) error

	// Dashboard figures, computed in the database.
	OrderDays(f StatsFilter) ([]DayCount, error)
	DeclarationPorts(f StatsFilter) ([]PortCount, error)
	DeclarationFailures(f StatsFilter, limit int) ([]FailureCount, error)

	// RetryJob queues a dead job again now with a fresh retry schedule.
	// ENOTFOUND; ESTATE when the job is not dead.
	RetryJob(id int64) (*Job, error)
}

// EventHandoff receives, from a store, the pending events due at once
// that its committed transactions created, so that a deliverer alone on
// the database (core.RunnerOptions.Exclusive) need not read them back from
// the events table, which stays the truth. The store calls, for each
// transaction (or group of them):
//
//   - Expect with the new events' ids before it commits: from then on a
//     read of the events table may show them, and the receiver must count
//     them as its own;
//   - Committed with the events once the transaction is durable (bodies
//     as rendered, not sealed; LeaseUntil zero, the token of an event
//     never written since, or the lease a LeasedHandoffStore inserted it
//     with), or Cancel with the ids when it did not commit
//     (or its outcome is unknown): those events are the database's alone;
//   - Dirty after a durable transaction that made other events due at
//     once (a redelivery, leases ended), which only a read of the events
//     table finds.
//
// The calls come from the store's writer and syncer: they must not block.
type EventHandoff interface {
	Expect(ids []int64)
	Committed(es []Event)
	Cancel(ids []int64)
	Dirty()
}

// HandoffStore is a store that hands off new events (EventHandoff) to h
// until stop is called (or another receiver is set). Only a store with a
// single writer process implements it.
type HandoffStore interface {
	SetHandoff(h EventHandoff) (stop func())
}

// LeasedHandoffStore is a store shared by several processes that hands
// off to h (EventHandoff, Expect first) the pending events due at once its
// own transactions create, inserted already leased to this process until
// their transaction's time plus lease: no other process's claim takes
// them while the lease holds, and the receiver sends them without writing
// a lease (their LeaseUntil, as handed off, is the token RecordAttempts
// checks). An event handed off that the receiver will not send must have
// its lease ended (LeaseEvents with a zero until), or it waits for the
// lease's end as an event leased by a process that died does. Until stop
// is called (or another receiver is set).
type LeasedHandoffStore interface {
	SetLeasedHandoff(h EventHandoff, lease time.Duration) (stop func())
}

// CreateOrdersThenDeclarations inserts new orders (tx.CreateOrders) and
// then ds[i], the new declarations of os[i], their OrderID set to os[i]'s
// id (tx.CreateDeclarations, one call for all): what a store that cannot
// insert both in one statement does for pushes stored together
// (core/combine.go). After an error the caller must not commit.
func CreateOrdersThenDeclarations(tx Tx, os []Order, ds [][]Declaration) error {
	if err := tx.CreateOrders(os); err != nil {
		return err
	}
	var all []Declaration
	for i := range ds {
		for j := range ds[i] {
			ds[i][j].OrderID = os[i].ID
		}
		all = append(all, ds[i]...)
	}
	if err := tx.CreateDeclarations(all); err != nil {
		return err
	}
	k := 0
	for i := range ds {
		k += copy(ds[i], all[k:])
	}
	return nil
}
