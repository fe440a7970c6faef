package main

import (
	"errors"
	"fmt"
	"github.com/baoguan/baoguan"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/postgres"
)

// Config is every setting of the program. Each field (but DataKey) has a
// flag and a BAOGUAN_* environment variable, described in settingDefs; the
// flag wins when both are given. A command binds only the settings it uses,
// so a bad BAOGUAN_ADDR does not stop `baoguan merchant list`.
type Config struct {
	// Addr is the HTTP listen address, HOST:PORT (--addr, BAOGUAN_ADDR).
	// Port 0 picks a free port; the address bound is printed.
	Addr string
	// DB is the database as given (--db, BAOGUAN_DB): "sqlite:PATH", or a
	// PostgreSQL URL, "postgres://USER:PASSWORD@HOST:PORT/DBNAME?…", for
	// production and for several instances on one database. The URL may
	// carry a password: show it with dbDisplay.
	DB string
	// DBKind is dbSQLite or dbPostgres, from DB's scheme.
	DBKind string
	// DBPath is the SQLite file named by DB; empty for PostgreSQL.
	DBPath string
	// KeyFile is where the data encryption keys live when DataKey is empty:
	// DBPath + ".key", created with a fresh key on first start. Empty for
	// PostgreSQL, whose instances share their keys through DataKey.
	KeyFile string
	// DataKey is BAOGUAN_DATA_KEY: comma-separated base64 AES-256 keys,
	// primary first, used instead of KeyFile. Environment only, so keys
	// never show in a process listing.
	DataKey string
	// Sync is SQLite's synchronous mode, FULL (default: a commit survives a
	// power cut) or NORMAL (faster; the last commits may be lost on power
	// loss, never corrupted) (--sync, BAOGUAN_SYNC). PostgreSQL's is the
	// server's synchronous_commit, so --sync is refused with it.
	Sync string
	// SandboxDelay is how long the sandbox customs port takes to answer a
	// declaration (--sandbox-delay, BAOGUAN_SANDBOX_DELAY).
	SandboxDelay time.Duration
	// AllowPrivateNotify lets notifications go to loopback and private
	// addresses, for development or merchants on the same private network
	// (--allow-private-notify, BAOGUAN_ALLOW_PRIVATE_NOTIFY).
	AllowPrivateNotify bool
	// TrustForwardedProto makes the console treat a request carrying
	// X-Forwarded-Proto: https as TLS, so its cookies get the Secure flag
	// behind a TLS-terminating proxy (--trust-forwarded-proto,
	// BAOGUAN_TRUST_FORWARDED_PROTO). Set it only behind such a proxy.
	TrustForwardedProto bool
	// Retention is how long records the gateway no longer needs are kept
	// (--retain-jobs, --retain-attempts, --retain-idempotency-keys,
	// --retain-nonces); see core.Retention.
	Retention core.Retention
	// NotifyConcurrency is how many notifications are sent at once
	// (--notify-concurrency), NotifyPerDestination the most of them to one
	// receiver (--notify-per-destination); see core/delivery.go.
	NotifyConcurrency    int
	NotifyPerDestination int
	// IntakeShare is the percentage of the time the job runner's batches
	// take while order pushes are coming in (--intake-share); 0: none
	// (core.IntakeNone), 100: all they can get. See core/intake.go.
	IntakeShare int
	// Workers is how many jobs whose adapters are remote (a wallet, E-Port)
	// run at once (--workers, BAOGUAN_WORKERS); jobs whose adapters answer
	// in-process run in batches, notifications have their own limits.
	Workers int
	// JobLease is how long a claimed job stays claimed. It bounds both how
	// long one job may run (half the lease) and how soon a job held by a
	// crashed process is taken over (--job-lease, BAOGUAN_JOB_LEASE).
	JobLease time.Duration
	// LogLevel is the least severe level logged: debug, info, warn or
	// error (--log-level, BAOGUAN_LOG_LEVEL).
	LogLevel slog.Level
	// ShutdownTimeout bounds how long a stopping server waits for requests
	// in flight (--shutdown-timeout, BAOGUAN_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// CustomsCallLog, when set, is a file to which a line is appended at
	// the start and the end of every call to the customs port: an audit of
	// what was sent to customs and when (--customs-call-log,
	// BAOGUAN_CUSTOMS_CALL_LOG).
	CustomsCallLog string
	// WeChatPayURL, WeChatPayV2URL and AlipayGateway are where the wallet
	// customs ports send live declarations (--wechatpay-url,
	// --wechatpay-v2-url, --alipay-gateway; BAOGUAN_WECHATPAY_URL, …):
	// the wallets' production hosts by default, a stand-in for tests and
	// staging.
	WeChatPayURL   string
	WeChatPayV2URL string
	AlipayGateway  string
	// UpstreamTimeout bounds one call to a wallet (--upstream-timeout).
	UpstreamTimeout time.Duration
	// UpstreamPoll is how long a wallet port asks to wait before a
	// declaration's receipt is asked for again (--upstream-poll).
	UpstreamPoll time.Duration
	// UpstreamRate bounds the calls a second made with one merchant's
	// wallet credentials (--upstream-rate); the burst is twice it.
	UpstreamRate float64
	// DeclareRetries is the declare job's schedule: the waits before each
	// retry of a declaration that met a customs interface exception or a
	// failed call (--declare-retries, BAOGUAN_DECLARE_RETRIES).
	DeclareRetries baoguan.Retry
	// Limits bound failed authentication per source address and per
	// merchant, agent or console login, and SMS sends and real-name
	// checks per merchant, across every instance (--limit-auth-source,
	// --limit-auth-subject, --limit-auth-login, --limit-sms,
	// --limit-realname; core.Limits, docs/security.md).
	Limits core.Limits
	// PreAuthBodyTimeout bounds how long the body of a request to a
	// front-end that reads it before authenticating may take to arrive
	// (--preauth-body-timeout); PreAuthConcurrency how many such bodies
	// are read at once (--preauth-concurrency). See preauth.go.
	PreAuthBodyTimeout time.Duration
	PreAuthConcurrency int
	// FrontendAddrs are optional dedicated listeners, by protocol, that
	// serve one vendor protocol at their root for clients that hard-code
	// paths (--pushorder-addr, --accp-addr, --wechatv3-addr, --payzero-addr,
	// --wisecashier-addr;
	// BAOGUAN_PUSHORDER_ADDR, …). The protocol is always also served under
	// /<protocol> on the main listener.
	FrontendAddrs map[string]string
	// Procs is how many goroutine processors (GOMAXPROCS) serve runs
	// with (--procs, BAOGUAN_PROCS); 0: the CPUs plus extraProcs. See
	// procs.go.
	Procs int
	// GCHeapMin is the least the heap grows to before the garbage
	// collector runs, in bytes (--gc-heap-min, BAOGUAN_GC_HEAP_MIN, in
	// MiB; 0: Go's default pace); ignored when GOGC or GOMEMLIMIT is set.
	// See gc.go.
	GCHeapMin uint64
	// EPort is the China E-Port set-up (--eport-*, BAOGUAN_EPORT_*; eport.go).
	EPort eportConfig

	// source maps a flag name to where its value came from ("--db",
	// "BAOGUAN_DB" or "default"), so later checks can name the setting.
	source map[string]string
}

// settingDef describes one setting: its flag, its variable, its default and
// how it is parsed into Config. Parse errors say what is wrong with the
// value; the caller prefixes where the value came from.
type settingDef struct {
	flag  string
	typ   string // shown in --help
	def   string
	usage string
	parse func(c *Config, v string) error
	// noOpt is the value of a flag given without one (--allow-private-notify).
	noOpt string
}

// envName is the variable of a setting: --sandbox-delay → BAOGUAN_SANDBOX_DELAY.
func (d *settingDef) envName() string {
	return "BAOGUAN_" + strings.ToUpper(strings.ReplaceAll(d.flag, "-", "_"))
}

// intSetting is a whole-number setting from lo to hi; noun names what it
// counts in the error a value out of range gets.
func intSetting(flag, def, usage, noun string, lo, hi int, field func(*Config) *int) settingDef {
	return settingDef{flag: flag, typ: "int", def: def, usage: usage,
		parse: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return fmt.Errorf("invalid %s %q (want %d to %d)", noun, v, lo, hi)
			}
			*field(c) = n
			return nil
		}}
}

// checkListen validates a HOST:PORT listen address.
// retention is a setting of the retention policy: a duration such as 24h,
// or a number of days such as 30d; 0 keeps the records for good.
func retention(flag, def, usage string, field func(*core.Retention) *time.Duration) settingDef {
	return settingDef{flag: flag, typ: "duration", def: def, usage: usage + " (e.g. 30d, 12h)",
		parse: func(c *Config, v string) error {
			var d time.Duration
			var err error
			if days, ok := strings.CutSuffix(v, "d"); ok {
				var n int
				n, err = strconv.Atoi(days)
				d = time.Duration(n) * 24 * time.Hour
			} else {
				d, err = time.ParseDuration(v)
			}
			if err != nil || d < 0 {
				return fmt.Errorf("invalid duration %q (want e.g. 30d or 12h, or 0 to keep for good)", v)
			}
			*field(&c.Retention) = d
			return nil
		}}
}

func checkListen(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("invalid listen address %q (want HOST:PORT, e.g. 127.0.0.1:8080)", v)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("invalid port %q in %q (want 0 to 65535)", port, v)
	}
	return nil
}

// limit is a setting of one rate limit: "RATE,BURST" (tokens a second,
// bucket size) or "off".
func limit(flag, def, usage string, field func(*core.Limits) *core.Rate) settingDef {
	return settingDef{flag: flag, typ: "rate,burst", def: def, usage: usage + ` ("RATE,BURST": RATE a second, BURST at once; or "off")`,
		parse: func(c *Config, v string) error {
			r, err := parseRate(v)
			if err != nil {
				return err
			}
			*field(&c.Limits) = r
			return nil
		}}
}

// parseRate reads "RATE,BURST" or "off". A bucket must refill within a
// day: idle buckets are purged once every limit has refilled them.
func parseRate(v string) (core.Rate, error) {
	if strings.EqualFold(strings.TrimSpace(v), "off") {
		return core.Rate{PerSecond: -1}, nil
	}
	rs, bs, ok := strings.Cut(v, ",")
	rate, err1 := strconv.ParseFloat(strings.TrimSpace(rs), 64)
	burst, err2 := strconv.Atoi(strings.TrimSpace(bs))
	if !ok || err1 != nil || err2 != nil || rate <= 0 || rate > 1e6 || burst < 1 || burst > 1e6 {
		return core.Rate{}, fmt.Errorf("invalid limit %q (want RATE,BURST with RATE > 0 a second and BURST ≥ 1, e.g. 0.2,20; or off)", v)
	}
	r := core.Rate{PerSecond: rate, Burst: burst}
	if r.Refill() > 24*time.Hour {
		return core.Rate{}, fmt.Errorf("invalid limit %q: an empty bucket would take %s to refill; keep BURST/RATE within a day", v, r.Refill().Round(time.Second))
	}
	return r, nil
}

// frontendAddr is the setting of one protocol's dedicated listener.
func frontendAddr(protocol string) settingDef {
	return settingDef{flag: protocol + "-addr", typ: "host:port", def: "",
		usage: "also serve the " + protocol + " protocol at the root of this address (it is always served under its prefix on the main listener)",
		parse: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			if err := checkListen(v); err != nil {
				return err
			}
			if c.FrontendAddrs == nil {
				c.FrontendAddrs = map[string]string{}
			}
			c.FrontendAddrs[protocol] = v
			return nil
		}}
}

var settingDefs = append([]settingDef{
	{flag: "addr", typ: "host:port", def: "127.0.0.1:8080", usage: "HTTP listen address; port 0 picks a free one",
		parse: func(c *Config, v string) error {
			if err := checkListen(v); err != nil {
				return err
			}
			c.Addr = v
			return nil
		}},
	frontendAddr("pushorder"),
	frontendAddr("accp"),
	frontendAddr("wechatv3"),
	frontendAddr("payzero"),
	frontendAddr("wisecashier"),
	{flag: "db", typ: "url", def: "sqlite:./baoguan.db", usage: "database: sqlite:PATH, or postgres://USER:PASSWORD@HOST:PORT/DBNAME?sslmode=… for PostgreSQL",
		parse: func(c *Config, v string) error {
			kind, path, err := parseDB(v)
			if err != nil {
				return err
			}
			c.DB, c.DBKind, c.DBPath, c.KeyFile = v, kind, path, ""
			if kind == dbSQLite {
				c.KeyFile = path + ".key"
			}
			return nil
		}},
	{flag: "sync", typ: "mode", def: "FULL", usage: "SQLite synchronous mode: FULL (durable) or NORMAL (faster)",
		parse: func(c *Config, v string) error {
			switch u := strings.ToUpper(v); u {
			case "FULL", "NORMAL":
				c.Sync = u
				return nil
			}
			return fmt.Errorf("invalid synchronous mode %q (use FULL or NORMAL)", v)
		}},
	{flag: "customs-call-log", typ: "file", def: "", usage: "append a JSON line at the start and end of every customs port call to this file (audit)",
		parse: func(c *Config, v string) error {
			c.CustomsCallLog = v
			return nil
		}},
	{flag: "sandbox-delay", typ: "duration", def: "1s", usage: "how long the sandbox customs port takes to answer",
		parse: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("invalid duration %q", v)
			}
			if d < 0 {
				return fmt.Errorf("negative duration %q", v)
			}
			c.SandboxDelay = d
			return nil
		}},
	upstreamURL("wechatpay-url", "https://apihk.mch.weixin.qq.com", "WeChat Pay APIv3 base URL (the customs API's host)",
		func(c *Config) *string { return &c.WeChatPayURL }),
	upstreamURL("wechatpay-v2-url", "https://api.mch.weixin.qq.com", "WeChat Pay v2 base URL",
		func(c *Config) *string { return &c.WeChatPayV2URL }),
	upstreamURL("alipay-gateway", "https://intlmapi.alipay.com/gateway.do", "Alipay MAPI gateway URL (mainland accounts: https://mapi.alipay.com/gateway.do)",
		func(c *Config) *string { return &c.AlipayGateway }),
	{flag: "upstream-timeout", typ: "duration", def: "15s", usage: "how long a call to a wallet's API may take (connecting: at most 5s of it)",
		parse: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("invalid duration %q (want a positive duration such as 15s)", v)
			}
			c.UpstreamTimeout = d
			return nil
		}},
	{flag: "upstream-poll", typ: "duration", def: "1m", usage: "how long to wait before asking a wallet again for a declaration's receipt",
		parse: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("invalid duration %q (want a positive duration such as 1m)", v)
			}
			c.UpstreamPoll = d
			return nil
		}},
	{flag: "upstream-rate", typ: "number", def: "10",
		usage: "calls a second one merchant's wallet credentials may make (twice as many at once), across every instance",
		parse: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f > 10000 {
				return fmt.Errorf("invalid rate %q (want calls a second, e.g. 10)", v)
			}
			c.UpstreamRate = f
			return nil
		}},
	{flag: "declare-retries", typ: "durations", def: "5s,30s,2m,10m,1h",
		usage: "waits between declaration attempts after a customs interface exception (EXCEPT) or a failed call; their number is the number of retries",
		parse: func(c *Config, v string) error {
			var r baoguan.Retry
			for _, part := range strings.Split(v, ",") {
				d, err := time.ParseDuration(strings.TrimSpace(part))
				if err != nil || d <= 0 {
					return fmt.Errorf("invalid retry schedule %q (want durations separated by commas, e.g. 5s,30s,2m)", v)
				}
				r = append(r, d)
			}
			c.DeclareRetries = r
			return nil
		}},
	{flag: "allow-private-notify", typ: "bool", def: "false", noOpt: "true",
		usage: "allow notifications to loopback and private addresses (development only)",
		parse: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("invalid boolean %q (use true or false)", v)
			}
			c.AllowPrivateNotify = b
			return nil
		}},
	{flag: "trust-forwarded-proto", typ: "bool", def: "false", noOpt: "true",
		usage: "console cookies are Secure when a proxy sends X-Forwarded-Proto: https (set only behind a TLS proxy)",
		parse: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("invalid boolean %q (use true or false)", v)
			}
			c.TrustForwardedProto = b
			return nil
		}},
	intSetting("workers", "128", "jobs with remote adapters (wallets, E-Port) run at once; jobs with in-process adapters run in batches",
		"worker count", 1, 4096, func(c *Config) *int { return &c.Workers }),
	retention("retain-jobs", "7d", "how long done jobs are kept (0 keeps them)", func(r *core.Retention) *time.Duration { return &r.Jobs }),
	retention("retain-attempts", "30d", "how long the delivery attempts of delivered notifications are kept (0 keeps them)",
		func(r *core.Retention) *time.Duration { return &r.Attempts }),
	retention("retain-idempotency-keys", "24h", "how long the answer to a request with an Idempotency-Key is kept for repeats (0 keeps it)",
		func(r *core.Retention) *time.Duration { return &r.IdempotencyKeys }),
	retention("retain-nonces", "24h", "how long a signed request's nonce is kept against replays; longer than any signature window (0 keeps it)",
		func(r *core.Retention) *time.Duration { return &r.Nonces }),
	intSetting("notify-concurrency", "256", "notifications sent at once, to all receivers together",
		"count", 1, 65536, func(c *Config) *int { return &c.NotifyConcurrency }),
	intSetting("notify-per-destination", "64", "most notifications sent at once to one receiver (scheme, host and port); a receiver not yet heard from gets 2, one more per answer",
		"count", 1, 65536, func(c *Config) *int { return &c.NotifyPerDestination }),
	intSetting("intake-share", "20", "percent of the time the job runner's batches take while order pushes are coming in, so that a burst of pushes is answered first: 0 none, 20 small batches that fill a fifth of the time (the pipeline never falls more than 2s behind); 100: as much as they can",
		"percentage", 0, 100, func(c *Config) *int { return &c.IntakeShare }),
	{flag: "job-lease", typ: "duration", def: "30s", usage: "how long a job stays claimed: a job runs for at most half of it, and a crashed process's jobs are retaken after it",
		parse: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("invalid duration %q", v)
			}
			if d < 2*time.Second || d > time.Hour {
				return fmt.Errorf("duration %q out of range (want 2s to 1h)", v)
			}
			c.JobLease = d
			return nil
		}},
	{flag: "log-level", typ: "level", def: "info", usage: "least severe level logged: debug, info, warn or error",
		parse: func(c *Config, v string) error {
			var l slog.Level
			if err := l.UnmarshalText([]byte(v)); err != nil {
				return fmt.Errorf("invalid log level %q (use debug, info, warn or error)", v)
			}
			c.LogLevel = l
			return nil
		}},
	limit("limit-auth-source", "0.2,20", "failed authentications one source address (IPv4 address, IPv6 /64) may make, across every front-end and instance",
		func(l *core.Limits) *core.Rate { return &l.AuthSource }),
	limit("limit-auth-subject", "0.5,50", "failed authentications naming one merchant or agent, from all sources together",
		func(l *core.Limits) *core.Rate { return &l.AuthSubject }),
	limit("limit-auth-login", "0.1667,10", "failed console logins naming one login, from all sources together",
		func(l *core.Limits) *core.Rate { return &l.AuthLogin }),
	limit("limit-sms", "1,60", "SMS codes sent for one merchant (card binding, quick pay)",
		func(l *core.Limits) *core.Rate { return &l.SMS }),
	limit("limit-realname", "5,100", "real-name checks one merchant may make",
		func(l *core.Limits) *core.Rate { return &l.RealName }),
	{flag: "preauth-body-timeout", typ: "duration", def: "15s", usage: "how long the body of a request to pushorder, accp, wechatv3, payzero or wisecashier (read before the caller is authenticated) may take to arrive",
		parse: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("invalid duration %q (want a positive duration such as 15s)", v)
			}
			c.PreAuthBodyTimeout = d
			return nil
		}},
	intSetting("preauth-concurrency", "256", "bodies read at once before their callers are authenticated, per instance; more wait no longer than a moment and get 503",
		"number", 1, 100000, func(c *Config) *int { return &c.PreAuthConcurrency }),
	intSetting("procs", "0", procsUsage, "count", 0, 4096, func(c *Config) *int { return &c.Procs }),
	{flag: "gc-heap-min", typ: "MiB", def: "48", usage: "the heap may grow to this many MiB before the garbage collector runs (less CPU for at most as much more memory; 0: Go's default; GOGC or GOMEMLIMIT set: ignored)",
		parse: func(c *Config, v string) error {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n > 1<<20 {
				return fmt.Errorf("invalid size %q (want MiB, e.g. 64, or 0)", v)
			}
			c.GCHeapMin = n << 20
			return nil
		}},
	{flag: "shutdown-timeout", typ: "duration", def: "30s", usage: "how long a stopping server waits for requests in flight",
		parse: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("invalid duration %q", v)
			}
			if d <= 0 {
				return fmt.Errorf("duration %q must be positive", v)
			}
			c.ShutdownTimeout = d
			return nil
		}},
}, eportSettings...)

// parseDB checks a --db value and returns the kind of database and, for
// SQLite, the file it names.
func parseDB(v string) (kind, path string, err error) {
	scheme, rest, ok := strings.Cut(v, ":")
	if !ok || scheme == "" {
		return "", "", fmt.Errorf("%q has no scheme (use sqlite:PATH, e.g. sqlite:./baoguan.db, or postgres://USER@HOST/DBNAME)", v)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
	case "postgres", "postgresql":
		return dbPostgres, "", parsePostgresURL(v)
	default:
		return "", "", fmt.Errorf("unsupported scheme %q (use sqlite:PATH or postgres://USER@HOST/DBNAME)", scheme)
	}
	switch {
	case rest == "":
		return "", "", fmt.Errorf("%q names no file (use sqlite:PATH, e.g. sqlite:./baoguan.db)", v)
	case strings.HasPrefix(rest, "//"):
		// sqlite://x is ambiguous (host or path?); asking is kinder than guessing.
		return "", "", fmt.Errorf("%q: write sqlite:PATH without //, e.g. sqlite:/var/lib/baoguan/baoguan.db", v)
	case rest == ":memory:" || strings.HasPrefix(rest, "file:"):
		return "", "", fmt.Errorf("%q: only a plain file path is supported (the gateway needs a file shared by its connections)", v)
	case strings.ContainsAny(rest, "?#"):
		return "", "", fmt.Errorf("%q: the path may not contain '?' or '#'", v)
	}
	return dbSQLite, rest, nil
}

// parsePostgresURL checks a PostgreSQL URL as far as can be done without
// connecting. Messages quote it with the password masked.
func parsePostgresURL(v string) error {
	shown := postgres.Redact(v)
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return fmt.Errorf("%s: not a URL (use postgres://USER:PASSWORD@HOST:PORT/DBNAME)", shown)
	case strings.Trim(u.Path, "/") == "":
		// pgx would fall back to a database named after the user, which
		// is rarely the one meant.
		return fmt.Errorf("%s names no database (use postgres://USER:PASSWORD@HOST:PORT/DBNAME)", shown)
	}
	if err := postgres.CheckURL(v); err != nil {
		return err
	}
	return nil
}

// settings is the set of settings one command binds, with their flags.
type settings struct {
	getenv func(string) string
	bound  []*boundSetting
}

// boundSetting is a setting bound to a command's flag set. It is the
// flag's pflag.Value: it keeps the raw text, parsed later in load so that
// flag and environment values go through the same parser and messages.
type boundSetting struct {
	def   *settingDef
	value string
	set   bool
}

func (b *boundSetting) String() string {
	if b.set {
		return b.value
	}
	return b.def.def
}
func (b *boundSetting) Set(v string) error { b.value, b.set = v, true; return nil }
func (b *boundSetting) Type() string       { return b.def.typ }

// bind adds the named settings to fs as flags.
func bindSettings(fs *pflag.FlagSet, getenv func(string) string, names ...string) *settings {
	s := &settings{getenv: getenv}
	for _, name := range names {
		def := lookupSetting(name)
		b := &boundSetting{def: def}
		f := fs.VarPF(b, def.flag, "", def.usage+" (env "+def.envName()+")")
		f.DefValue = def.def
		f.NoOptDefVal = def.noOpt
		s.bound = append(s.bound, b)
	}
	return s
}

func lookupSetting(name string) *settingDef {
	for i := range settingDefs {
		if settingDefs[i].flag == name {
			return &settingDefs[i]
		}
	}
	panic("baoguan: no setting " + name) // a wiring mistake, caught by any test
}

// load resolves every bound setting (flag, else variable, else default),
// parses it, and returns the config or an error naming each bad setting:
// `BAOGUAN_SANDBOX_DELAY: invalid duration "abc"`.
func (s *settings) load() (*Config, error) {
	c := &Config{source: map[string]string{}}
	// Defaults for settings a command does not bind, so that Config is
	// always usable as a whole.
	for i := range settingDefs {
		_ = settingDefs[i].parse(c, settingDefs[i].def)
	}
	var errs []error
	for _, b := range s.bound {
		v, src := b.def.def, "default"
		if e := s.getenv(b.def.envName()); e != "" {
			v, src = e, b.def.envName()
		}
		if b.set {
			v, src = b.value, "--"+b.def.flag
		}
		c.source[b.def.flag] = src
		if err := b.def.parse(c, v); err != nil {
			if src == "default" {
				src = "--" + b.def.flag
			}
			errs = append(errs, fmt.Errorf("%s: %w", src, err))
		}
	}
	c.DataKey = s.getenv(keyring.EnvVar)
	if src := c.source["sync"]; c.DBKind == dbPostgres && src != "" && src != "default" {
		errs = append(errs, fmt.Errorf("%s: applies to SQLite only; with PostgreSQL, durability is the server's synchronous_commit setting", src))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// name returns how the user gave a setting, for messages about its value
// found after parsing (a missing directory, say).
func (c *Config) name(flag string) string {
	if src := c.source[flag]; src != "" && src != "default" {
		return src
	}
	return "--" + flag
}

// checkDBDir fails, naming --db, when the database's directory does not
// exist: creating a database (and its key file) in a typo'd place would
// only postpone the surprise.
func (c *Config) checkDBDir() error {
	if c.DBKind == dbPostgres {
		return nil // a server, not a file; connecting tells
	}
	dir := filepath.Dir(c.DBPath)
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return fmt.Errorf("%s: directory %q of the database does not exist", c.name("db"), dir)
	}
	return nil
}

// checkDBExists fails, naming --db, when the database file does not exist;
// commands that only read or change existing data use it instead of
// silently creating an empty database.
func (c *Config) checkDBExists() error {
	if err := c.checkDBDir(); err != nil {
		return err
	}
	if c.DBKind == dbPostgres {
		// The database must exist to connect at all, and its schema is
		// created on open like SQLite's.
		return nil
	}
	if _, err := os.Stat(c.DBPath); err != nil {
		return fmt.Errorf("%s: database %q does not exist (run `baoguan migrate` or `baoguan serve` first)", c.name("db"), c.DBPath)
	}
	return nil
}

// dbDisplay is the database for logs and messages: a PostgreSQL URL with
// its password masked.
func (c *Config) dbDisplay() string {
	if c.DBKind == dbPostgres {
		return postgres.Redact(c.DB)
	}
	return c.DB
}

// upstreamURL is a setting naming an upstream service's base URL: an
// absolute http or https URL.
func upstreamURL(flag, def, usage string, field func(*Config) *string) settingDef {
	return settingDef{flag: flag, typ: "url", def: def, usage: usage,
		parse: func(c *Config, v string) error {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return fmt.Errorf("invalid URL %q (want an absolute https:// URL)", v)
			}
			*field(c) = strings.TrimRight(v, "/")
			return nil
		}}
}
