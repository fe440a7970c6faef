package core

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ChinaTime is UTC+8, the time zone of every vendor document's local times.
var ChinaTime = time.FixedZone("CST", 8*3600)

// Metrics are the core's Prometheus instruments.
type Metrics struct {
	OrdersCreated prometheus.Counter
	Payments      *prometheus.CounterVec // by outcome status
	Declarations  *prometheus.CounterVec // by final state
	Deliveries    *prometheus.CounterVec // by protocol and acked
	ChannelCalls  *prometheus.CounterVec
	PortCalls     *prometheus.CounterVec
	Jobs          *prometheus.CounterVec // by kind and outcome
	Receipts      *prometheus.CounterVec // customs receipts stored, by port and matched/unmatched
	JobSeconds    *prometheus.HistogramVec
	// BatchReplays counts runner batches run again with a savepoint per
	// job because one of their jobs failed.
	BatchReplays prometheus.Counter
	// AuthFailures counts failed authentications the limits recorded;
	// LimitRefusals the calls the limits refused, by limit (auth, sms,
	// realname).
	AuthFailures  prometheus.Counter
	LimitRefusals *prometheus.CounterVec
	// IntakeYield counts the seconds the runner waited between batches to
	// give way to order pushes in flight (intake.go).
	IntakeYield prometheus.Counter
	// CombinedWrites counts the writes that stored several order pushes
	// at once, OrdersCombined the orders they stored (combine.go).
	CombinedWrites prometheus.Counter
	OrdersCombined prometheus.Counter
}

// NewMetrics creates the instruments and registers them with reg (nil: not
// registered, as in tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		OrdersCreated: prometheus.NewCounter(prometheus.CounterOpts{Name: "baoguan_orders_created_total", Help: "Orders created."}),
		Payments:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baoguan_payments_total", Help: "Payment outcomes."}, []string{"status"}),
		Declarations:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baoguan_declarations_total", Help: "Declaration outcomes."}, []string{"state"}),
		Deliveries:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baoguan_notification_attempts_total", Help: "Notification delivery attempts."}, []string{"protocol", "acked"}),
		ChannelCalls:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baoguan_channel_calls_total", Help: "Payment channel calls."}, []string{"op"}),
		PortCalls:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baoguan_port_calls_total", Help: "Customs port calls."}, []string{"op"}),
		Jobs:          prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baoguan_jobs_total", Help: "Job runs by outcome."}, []string{"kind", "outcome"}),
		Receipts:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baoguan_customs_receipts_total", Help: "Customs receipts received by asynchronous ports, matched to a declaration or not."}, []string{"port", "match"}),
		JobSeconds:    prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "baoguan_job_seconds", Help: "Job handler time.", Buckets: prometheus.DefBuckets}, []string{"kind"}),
		BatchReplays:  prometheus.NewCounter(prometheus.CounterOpts{Name: "baoguan_batch_replays_total", Help: "Runner batches replayed with a savepoint per job after a job failed."}),
		IntakeYield: prometheus.NewCounter(prometheus.CounterOpts{Name: "baoguan_runner_intake_yield_seconds_total",
			Help: "Seconds the job runner waited between batches to give way to order pushes in flight."}),
		AuthFailures:  prometheus.NewCounter(prometheus.CounterOpts{Name: "baoguan_auth_failures_total", Help: "Failed authentications counted by the limits, every front-end together."}),
		LimitRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baoguan_limit_refusals_total", Help: "Calls refused by a limit: failed authentications, SMS sends, real-name checks."}, []string{"limit"}),
		CombinedWrites: prometheus.NewCounter(prometheus.CounterOpts{Name: "baoguan_combined_writes_total",
			Help: "Writes that stored several order pushes at once."}),
		OrdersCombined: prometheus.NewCounter(prometheus.CounterOpts{Name: "baoguan_orders_combined_total",
			Help: "Order pushes stored by a write that stored several at once."}),
	}
	if reg != nil {
		reg.MustRegister(m.OrdersCreated, m.Payments, m.Declarations, m.Deliveries, m.ChannelCalls, m.PortCalls, m.Jobs, m.Receipts, m.JobSeconds, m.BatchReplays, m.AuthFailures, m.LimitRefusals, m.IntakeYield, m.CombinedWrites, m.OrdersCombined)
	}
	return m
}
