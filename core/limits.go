package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
)

// Limits bound what callers may try, through token buckets kept in the
// database (Allow), so each holds across every instance sharing it.
//
// Failed authentication is limited twice: per source address (an IPv4
// address, or the /64 an IPv6 address is in, since one host holds a whole
// /64) and per subject, the merchant, agent or console login a request
// names. Only failures take tokens; a caller whose bucket is empty is
// refused before its credentials are checked, so that a guess made while
// refused tells nothing (a correct one included): that is what bounds
// guessing. A successful authentication takes nothing and, until the
// buckets of its source and subject are empty, is not slowed down.
//
// SMS challenges (card binding and quick pay, first sends and resends) and
// real-name checks are limited per merchant, counting every one sent: each
// costs money upstream and can be aimed at someone else's phone.
type Limits struct {
	AuthSource  Rate // failed authentications from one source address
	AuthSubject Rate // failed authentications naming one merchant or agent
	AuthLogin   Rate // failed authentications naming one console login (people choose passwords: tighter)
	SMS         Rate // SMS challenges sent for one merchant
	RealName    Rate // real-name checks made by one merchant
}

// Rate is a token bucket: PerSecond tokens a second refill it up to Burst.
// PerSecond < 0 turns the limit off; a zero Rate takes the default.
type Rate struct {
	PerSecond float64
	Burst     int
}

func (r Rate) off() bool { return r.PerSecond < 0 }

// String is the Rate as the --limit-* settings write it: "0.2,20", or
// "off".
func (r Rate) String() string {
	if r.off() {
		return "off"
	}
	return fmt.Sprintf("%g,%d", r.PerSecond, r.Burst)
}

// Refill is how long an empty bucket of this rate takes to fill up again.
func (r Rate) Refill() time.Duration {
	if r.off() || r.PerSecond == 0 {
		return 0
	}
	return time.Duration(float64(r.Burst) / r.PerSecond * float64(time.Second))
}

// DefaultLimits are the limits `baoguan serve` starts with:
//
//   - a source address may fail authentication 20 times at once, then once
//     every 5 seconds (12 a minute);
//   - a merchant, agent or console login may be failed against 50 times at
//     once, then once every 2 seconds, from all sources together;
//   - a console login may be failed against 10 times at once, then once
//     every 6 seconds;
//   - a merchant may send 60 SMS challenges at once, then one a second;
//   - a merchant may make 100 real-name checks at once, then 5 a second.
func DefaultLimits() Limits {
	return Limits{
		AuthSource:  Rate{PerSecond: 0.2, Burst: 20},
		AuthSubject: Rate{PerSecond: 0.5, Burst: 50},
		AuthLogin:   Rate{PerSecond: 1.0 / 6, Burst: 10},
		SMS:         Rate{PerSecond: 1, Burst: 60},
		RealName:    Rate{PerSecond: 5, Burst: 100},
	}
}

// fill puts the default in every zero Rate.
func (l *Limits) fill() {
	d := DefaultLimits()
	for _, p := range []struct{ r, def *Rate }{{&l.AuthSource, &d.AuthSource}, {&l.AuthSubject, &d.AuthSubject}, {&l.AuthLogin, &d.AuthLogin},
		{&l.SMS, &d.SMS}, {&l.RealName, &d.RealName}} {
		if *p.r == (Rate{}) {
			*p.r = *p.def
		}
	}
}

// idleAfter is how long a bucket must be untouched before it is purged:
// past the longest refill of any limit, when it is full again and the same
// as no bucket at all. Upstream and WeChat buckets refill within seconds.
func (l Limits) idleAfter() time.Duration {
	d := time.Hour
	for _, r := range []Rate{l.AuthSource, l.AuthSubject, l.AuthLogin, l.SMS, l.RealName} {
		d = max(d, 2*r.Refill())
	}
	return d
}

// subjectRate is the limit of a subject: console logins have their own.
func (l Limits) subjectRate(subject string) Rate {
	if strings.HasPrefix(subject, "login:") {
		return l.AuthLogin
	}
	return l.AuthSubject
}

// Auth subjects name what a request says it is, for the per-subject
// limit (AuthAllowed, AuthFailed).

// AuthMerchant is the subject of a merchant, by its merchant number.
func AuthMerchant(m *baoguan.Merchant) string { return "merchant:" + m.No }

// AuthAgent is the subject of an agent (服务商), by its agent number.
func AuthAgent(no string) string { return "agent:" + no }

// AuthLogin is the subject of a console login name; its limit is
// Limits.AuthLogin.
func AuthLogin(login string) string { return "login:" + login }

// ReasonTooManyFailures is the reason of the ERATELIMIT error of
// AuthAllowed and AuthFailed.
const ReasonTooManyFailures = "too_many_failures"

// AuthAllowed reports whether source (a request's RemoteAddr, or an
// address) and subject (AuthMerchant, AuthAgent, AuthLogin; "" when the
// request names none, as a native API key does not) may try to
// authenticate: nil, or ERATELIMIT (reason too_many_failures) with
// RetryAfter when either has failed too often. Front-ends call it before
// they check credentials, and AuthFailed when the check fails.
//
// With ExclusiveStore, a bucket this Service read full, and that no failure
// recorded since has touched, is not read again (see fullBuckets).
func (s *Service) AuthAllowed(ctx context.Context, source, subject string) error {
	bs := s.authBuckets(source, subject)
	if len(bs) == 0 {
		return nil
	}
	if s.ExclusiveStore {
		if known, _ := s.full.known(bs); known {
			return nil
		}
	}
	// Concurrent calls checking the same buckets share a read begun after
	// they arrived (authReads).
	wait, err := s.authReads.read(ctx, authSetKey(bs), func(ctx context.Context) (float64, error) {
		return s.readAuthBuckets(ctx, bs)
	})
	if err != nil {
		return err
	}
	if wait > 0 {
		s.Metrics.LimitRefusals.WithLabelValues("auth").Inc()
		return tooManyFailures(wait)
	}
	return nil
}

// readAuthBuckets reads the buckets of bs and returns how long a caller
// must wait before it may try to authenticate (0: now). With
// ExclusiveStore it remembers the buckets it found full.
func (s *Service) readAuthBuckets(ctx context.Context, bs []bucket) (float64, error) {
	var gen uint64
	if s.ExclusiveStore {
		_, gen = s.full.known(bs)
	}
	wait := 0.0
	var full []string
	// Each bucket is read as it stands: they need no common snapshot, and
	// on PostgreSQL the read then costs no transaction of its own.
	err := s.view(baoguan.LooseView(ctx), func(tx baoguan.Tx) error {
		full = full[:0]
		for _, b := range bs {
			n, err := tx.Tokens(b.key, b.r.PerSecond, b.r.Burst)
			if err != nil {
				return err
			}
			if n < 1 {
				wait = math.Max(wait, (1-n)/b.r.PerSecond)
			}
			if n >= float64(b.r.Burst) {
				full = append(full, b.key)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if s.ExclusiveStore {
		s.full.remember(full, gen)
	}
	return wait, nil
}

// AuthFailed records that source failed to authenticate as subject (see
// AuthAllowed) and returns err, the failure, or ERATELIMIT when this
// failure found a bucket already empty (another instance's failures took
// the last token since AuthAllowed).
func (s *Service) AuthFailed(ctx context.Context, source, subject string, err error) error {
	wait := 0.0
	bs := s.authBuckets(source, subject)
	s.full.failing(bs)
	defer s.full.failed(bs)
	uerr := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		for _, b := range bs {
			ok, err := tx.TakeToken(b.key, b.r.PerSecond, b.r.Burst)
			if err != nil {
				return err
			}
			if !ok {
				n, err := tx.Tokens(b.key, b.r.PerSecond, b.r.Burst)
				if err != nil {
					return err
				}
				wait = math.Max(wait, (1-n)/b.r.PerSecond)
			}
		}
		return nil
	})
	if uerr != nil {
		return uerr
	}
	s.Metrics.AuthFailures.Inc()
	if wait > 0 {
		s.Metrics.LimitRefusals.WithLabelValues("auth").Inc()
		return tooManyFailures(wait)
	}
	return err
}

// bucket is one rate-limit bucket: its key and its rate.
type bucket struct {
	key string
	r   Rate
}

// authBuckets are the buckets a failed authentication of subject from
// source counts against: the source's and the subject's, each unless it
// has no key or its limit is off.
func (s *Service) authBuckets(source, subject string) []bucket {
	var out []bucket
	for _, b := range []bucket{{sourceKey(source), s.Limits.AuthSource}, {subjectKey(subject), s.Limits.subjectRate(subject)}} {
		if b.key != "" && !b.r.off() {
			out = append(out, b)
		}
	}
	return out
}

// fullBuckets remembers the failed-authentication buckets a read found
// full, so that AuthAllowed need not read them again while nothing can
// have taken from them. It is used only when the Service is the only one
// recording failures in its store (Service.ExclusiveStore): then a bucket
// loses tokens only through this Service's AuthFailed, and otherwise only
// gains them as time passes (as long as the clock does not go back).
//
// AuthFailed forgets the buckets it takes from before its transaction
// begins, and a read's finding is kept only if no AuthFailed ran at any
// moment from before the read began until the finding is kept (gen
// changes when one starts and when it ends; busy counts those running). So
// a bucket is remembered full only from a read that began after every
// failure taken from it had committed; one that a concurrent failure may
// have emptied is read again. Buckets left half empty by an earlier process
// are read like any other until a read finds them full.
type fullBuckets struct {
	mu   sync.Mutex
	keys map[string]struct{}
	gen  uint64 // changes when an AuthFailed starts or ends
	busy int    // AuthFailed calls running
}

// fullBucketsMax bounds what is remembered; past it, everything is
// forgotten (and read again).
const fullBucketsMax = 10000

// known reports whether every bucket of bs is remembered full; if not, it
// returns the generation to pass to remember after reading them.
func (f *fullBuckets) known(bs []bucket) (bool, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := f.keys != nil
	for _, b := range bs {
		if _, ok := f.keys[b.key]; !ok {
			all = false
			break
		}
	}
	gen := f.gen
	if f.busy > 0 {
		gen = ^uint64(0) // a failure is being recorded: keep nothing
	}
	return all, gen
}

// remember keeps the buckets a read, begun after known returned gen, found
// full, unless a failure was recorded meanwhile.
func (f *fullBuckets) remember(keys []string, gen uint64) {
	if len(keys) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen != f.gen || f.busy > 0 {
		return
	}
	if f.keys == nil || len(f.keys) >= fullBucketsMax {
		f.keys = make(map[string]struct{})
	}
	for _, k := range keys {
		f.keys[k] = struct{}{}
	}
}

// failing is called before a failure is taken from bs, failed after (its
// transaction committed, failed or rolled back).
func (f *fullBuckets) failing(bs []bucket) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.busy++
	f.gen++
	for _, b := range bs {
		delete(f.keys, b.key)
	}
}

func (f *fullBuckets) failed(bs []bucket) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.busy--
	f.gen++
	for _, b := range bs {
		delete(f.keys, b.key)
	}
}

func tooManyFailures(wait float64) error {
	secs := int(math.Ceil(wait))
	if secs < 1 {
		secs = 1
	}
	return &baoguan.Error{Code: baoguan.ERATELIMIT, Reason: ReasonTooManyFailures, RetryAfter: secs,
		Message: fmt.Sprintf("too many failed authentications; try again in %d seconds", secs)}
}

// allowSend takes a token from a per-merchant limit of what costs money
// upstream (kind "sms" or "realname"); ERATELIMIT when there is none.
func (s *Service) allowSend(ctx context.Context, kind string, r Rate, merchantID int64, what string) error {
	if r.off() {
		return nil
	}
	key := fmt.Sprintf("%s:%d", kind, merchantID)
	var wait float64
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		ok, err := tx.TakeToken(key, r.PerSecond, r.Burst)
		if err != nil || ok {
			return err
		}
		n, err := tx.Tokens(key, r.PerSecond, r.Burst)
		wait = (1 - n) / r.PerSecond
		return err
	})
	if err != nil {
		return err
	}
	if wait > 0 {
		s.Metrics.LimitRefusals.WithLabelValues(kind).Inc()
		secs := max(int(math.Ceil(wait)), 1)
		return &baoguan.Error{Code: baoguan.ERATELIMIT, Reason: "too_many_" + kind, RetryAfter: secs,
			Message: fmt.Sprintf("too many %s for this merchant; try again in %d seconds", what, secs)}
	}
	return nil
}

// sourceKey is the bucket of a source: its IPv4 address or its IPv6 /64;
// "" when source is empty.
func sourceKey(source string) string {
	host := source
	if h, _, err := net.SplitHostPort(source); err == nil {
		host = h
	}
	if host == "" {
		return ""
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "authfail:src:" + shortHash(host)
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "authfail:src:" + p.String()
	}
	return "authfail:src:" + a.String()
}

// subjectKey is the bucket of a subject. The name is hashed: it comes from
// the request, and a bucket key is bounded.
func subjectKey(subject string) string {
	if subject == "" {
		return ""
	}
	return "authfail:sub:" + shortHash(subject)
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// NoLimits turns every limit off: for tests of other behaviour that fail
// authentication on purpose many times from one address.
func NoLimits() Limits {
	off := Rate{PerSecond: -1}
	return Limits{AuthSource: off, AuthSubject: off, AuthLogin: off, SMS: off, RealName: off}
}
