package baoguan

import (
	"net/url"
	"strings"
	"time"
)

// Event types of the native API. Other protocols map them to their own
// message types (payzero PAY_STATUS_NOTIFY, …).
const (
	EventOrderPaid          = "order.paid"
	EventOrderPaymentFailed = "order.payment_failed"
	EventDeclSucceeded      = "declaration.succeeded"
	EventDeclFailed         = "declaration.failed"
	EventRefundSucceeded    = "refund.succeeded"
	EventRefundFailed       = "refund.failed"
)

// EventTypes lists every event type.
func EventTypes() []string {
	return []string{EventOrderPaid, EventOrderPaymentFailed, EventDeclSucceeded, EventDeclFailed, EventRefundSucceeded, EventRefundFailed}
}

// EventStatus is the delivery state of a notification.
type EventStatus string

const (
	EventPending   EventStatus = "pending"   // not yet delivered; due again at NextAt
	EventDelivered EventStatus = "delivered" // the receiver acknowledged it
	EventFailed    EventStatus = "failed"    // every scheduled attempt failed; kept for replay
	EventSkipped   EventStatus = "skipped"   // no notify URL was configured
)

// Event is one notification to one merchant URL, rendered once in its
// protocol's format when the state change that causes it is committed.
type Event struct {
	ID          int64
	PublicID    string // "evt_…", also the Standard Webhooks webhook-id
	MerchantID  int64
	OrderID     int64
	Type        string
	Protocol    string // format it is rendered and delivered in
	URL         string
	ContentType string
	Body        []byte
	Status      EventStatus
	Attempts    int
	// NextAt is when a pending event's next delivery attempt is due: the
	// events table is the delivery queue. LeaseUntil, while in the future,
	// says a deliverer holds the event; its value is the lease's token.
	NextAt      time.Time
	LeaseUntil  time.Time
	CreatedAt   time.Time
	DeliveredAt time.Time
	UpdatedAt   time.Time
}

// Attempt records one delivery try of an event.
type Attempt struct {
	ID        int64
	EventID   int64
	At        time.Time
	Status    int // HTTP status, 0 when no response
	LatencyMS int64
	Error     string
	Response  string // first bytes of the body, for the operator
}

// Outcome is one delivery attempt to record (Tx.RecordAttempts): the
// event's new state, the attempt, and the lease token the event was sent
// under.
type Outcome struct {
	Event   Event
	Attempt Attempt
	Lease   time.Time
}

// DueEvent is a pending event that is due, as the deliverer chooses among
// them: its destination decides whether it can be sent now.
type DueEvent struct {
	ID         int64
	MerchantID int64
	OrderID    int64 // an order's events are sent one at a time (core/delivery.go)
	Dest       string
	NextAt     time.Time
}

// Destination is the origin of a notify URL, "scheme://host:port" in lower
// case, by which deliveries are limited: one receiver that hangs must not
// hold up deliveries to others. A URL that does not parse is its own
// destination.
func Destination(rawURL string) string {
	if d, ok := plainOrigin(rawURL); ok {
		return d
	}
	return parsedOrigin(rawURL)
}

// plainOrigin is the destination of the URLs merchants configure, found
// without parsing them (a destination is looked up several times for each
// notification: when it is stored, handed to the deliverer, sent and
// recorded): "http://" or "https://", a host of lower-case letters, digits,
// dots and dashes, a port of digits or none, then nothing or a path, query
// or fragment without control characters or escapes. It reports false for
// any other URL, which parsedOrigin reads.
func plainOrigin(s string) (string, bool) {
	var rest, port string
	switch {
	case strings.HasPrefix(s, "http://"):
		rest, port = s[len("http://"):], "80"
	case strings.HasPrefix(s, "https://"):
		rest, port = s[len("https://"):], "443"
	default:
		return "", false
	}
	i := 0
	for i < len(rest) && (rest[i] >= 'a' && rest[i] <= 'z' || rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == '-') {
		i++
	}
	if i == 0 {
		return "", false
	}
	j := i
	if j < len(rest) && rest[j] == ':' {
		for j++; j < len(rest) && rest[j] >= '0' && rest[j] <= '9'; j++ {
		}
		if j == i+1 {
			return "", false // "host:", an empty port
		}
	}
	if j < len(rest) && rest[j] != '/' && rest[j] != '?' && rest[j] != '#' {
		return "", false
	}
	for _, c := range []byte(rest[j:]) {
		if c < 0x20 || c == 0x7f || c == '%' {
			return "", false
		}
	}
	origin := s[:len(s)-len(rest)+j]
	if j > i {
		return origin, true
	}
	return origin + ":" + port, true
}

// parsedOrigin is Destination by url.Parse.
func parsedOrigin(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return strings.ToLower(rawURL)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
