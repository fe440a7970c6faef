package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/ceb"
	"github.com/baoguan/baoguan/core"
)

// eportConfig is the installation's China E-Port set-up: declaring payment
// records straight to customs through the operator's E-Port client
// (docs/chinaport.md). Every field is an --eport-* flag and a
// BAOGUAN_EPORT_* variable. E-Port is off while Customs is empty.
type eportConfig struct {
	// Customs are the catalogue codes declared through the E-Port (live
	// merchants without a wallet route for the code): "HG014,HG022".
	Customs []string
	// PayCode and PayName are the installation's customs registration as a
	// payment company (payCode/payName of CEB411).
	PayCode, PayName string
	// EBPCode and EBPName stand for the platform when a merchant has no
	// customs registration of its own (an installation that is the platform).
	EBPCode, EBPName string
	// CopCode, CopName and DxpID are BaseTransfer: the company whose E-Port
	// client transmits and its DXP user id; SenderID names files (DxpID
	// when empty).
	CopCode, CopName, DxpID, SenderID string
	// Outbox is the client's send folder; OutboxState baoguan's own folder
	// beside it (same filesystem; default Outbox + ".baoguan").
	Outbox, OutboxState string
	// Inbox is the client's receive folder; Archive and Rejected where read
	// files go (default inside Inbox).
	Inbox, Archive, Rejected string
	// Signer is "none" (the client signs) or "http" (SignerURL signs;
	// SignerToken is sent as a bearer token, or in SignerHeader).
	Signer, SignerURL, SignerToken, SignerHeader string
	// UploadURL is customs' 179 upload URL; empty: the 179 service is off.
	UploadURL string
	// DataOpenPath is where customs calls the platform (platDataOpen).
	DataOpenPath string
	// Secret keys the guids; generated and kept sealed in the database when
	// empty.
	Secret string
	// Poll is the first wait between looks at a declaration's receipts;
	// ReadEvery the wait between reads of the receipt folder;
	// ReceiptTimeout how long an attempt may go without any receipt.
	Poll, ReadEvery, ReceiptTimeout time.Duration
}

// on reports whether E-Port is configured.
func (e *eportConfig) on() bool { return len(e.Customs) > 0 }

// eportSettings are the --eport-* settings. String settings are checked in
// checkEPort, once all are known, so that a message can say what a value
// is missing with.
var eportSettings = []settingDef{
	{flag: "eport-customs", typ: "codes", def: "", usage: "customs codes declared through the China E-Port, comma-separated (e.g. HG014,HG022); empty: E-Port off",
		parse: func(c *Config, v string) error {
			c.EPort.Customs = nil
			for _, code := range strings.Split(v, ",") {
				code = strings.TrimSpace(code)
				if code == "" {
					continue
				}
				if _, err := baoguan.LookupCustoms(code); err != nil {
					return fmt.Errorf("%s is not a code of the customs catalogue", code)
				}
				c.EPort.Customs = append(c.EPort.Customs, code)
			}
			return nil
		}},
	eportString("eport-pay-code", "the installation's customs registration number as a payment company (CEB411 payCode)", func(e *eportConfig) *string { return &e.PayCode }),
	eportString("eport-pay-name", "its registered name (payName)", func(e *eportConfig) *string { return &e.PayName }),
	eportString("eport-ebp-code", "platform code for merchants without a customs registration of their own (ebpCode)", func(e *eportConfig) *string { return &e.EBPCode }),
	eportString("eport-ebp-name", "its registered name (ebpName)", func(e *eportConfig) *string { return &e.EBPName }),
	eportString("eport-cop-code", "code of the company whose E-Port client transmits (BaseTransfer copCode)", func(e *eportConfig) *string { return &e.CopCode }),
	eportString("eport-cop-name", "its name (copName)", func(e *eportConfig) *string { return &e.CopName }),
	eportString("eport-dxp-id", "the DXP user id the E-Port issued (dxpId)", func(e *eportConfig) *string { return &e.DxpID }),
	eportString("eport-sender-id", "sender id in outbox file names (default: the DXP id)", func(e *eportConfig) *string { return &e.SenderID }),
	eportString("eport-outbox", "the E-Port client's send folder", func(e *eportConfig) *string { return &e.Outbox }),
	eportString("eport-outbox-state", "baoguan's folder for the outbox, on its filesystem (default: the outbox + .baoguan)", func(e *eportConfig) *string { return &e.OutboxState }),
	eportString("eport-inbox", "the E-Port client's receive folder (receipts)", func(e *eportConfig) *string { return &e.Inbox }),
	eportString("eport-archive", "where read receipt files go (default: archive/ in the receive folder)", func(e *eportConfig) *string { return &e.Archive }),
	eportString("eport-rejected", "where unusable files go (default: rejected/ in the receive folder)", func(e *eportConfig) *string { return &e.Rejected }),
	{flag: "eport-signer", typ: "kind", def: "none", usage: "who signs: none (the E-Port client, with its card) or http (a signing service)",
		parse: func(c *Config, v string) error {
			switch v {
			case "none", "http":
				c.EPort.Signer = v
				return nil
			}
			return fmt.Errorf("invalid signer %q (use none or http)", v)
		}},
	eportString("eport-signer-url", "the signing service's URL (signer http)", func(e *eportConfig) *string { return &e.SignerURL }),
	eportString("eport-signer-token", "the signing service's token", func(e *eportConfig) *string { return &e.SignerToken }),
	eportString("eport-signer-header", "header carrying the token (default: Authorization: Bearer)", func(e *eportConfig) *string { return &e.SignerHeader }),
	eportString("eport-179-upload-url", "customs' 179 upload URL (…/ceb2grab/grab/realTimeDataUpload); empty: 179 off", func(e *eportConfig) *string { return &e.UploadURL }),
	{flag: "eport-179-path", typ: "path", def: "/platDataOpen", usage: "path on --addr where customs asks for payment data (179)",
		parse: func(c *Config, v string) error {
			if !strings.HasPrefix(v, "/") || strings.ContainsAny(v, " {}?#") {
				return fmt.Errorf("invalid path %q (want /SOMETHING)", v)
			}
			c.EPort.DataOpenPath = v
			return nil
		}},
	eportString("eport-secret", "secret keying the CEB guids (16+ characters); generated and kept sealed in the database when empty", func(e *eportConfig) *string { return &e.Secret }),
	eportDuration("eport-poll", "10s", "first wait between two looks at a declaration's receipts", func(e *eportConfig) *time.Duration { return &e.Poll }),
	eportDuration("eport-read-every", "5s", "wait between two reads of the receipt folder", func(e *eportConfig) *time.Duration { return &e.ReadEvery }),
	eportDuration("eport-receipt-timeout", "24h", "an attempt without any receipt for this long is EXCEPT and retried", func(e *eportConfig) *time.Duration { return &e.ReceiptTimeout }),
}

// eportSettingNames are every --eport-* flag, for the commands that bind
// them.
func eportSettingNames() []string {
	out := make([]string, len(eportSettings))
	for i, s := range eportSettings {
		out[i] = s.flag
	}
	return out
}

func eportString(flag, usage string, field func(*eportConfig) *string) settingDef {
	return settingDef{flag: flag, typ: "string", def: "", usage: usage,
		parse: func(c *Config, v string) error { *field(&c.EPort) = strings.TrimSpace(v); return nil }}
}

func eportDuration(flag, def, usage string, field func(*eportConfig) *time.Duration) settingDef {
	return settingDef{flag: flag, typ: "duration", def: def, usage: usage,
		parse: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("invalid duration %q (want a positive duration)", v)
			}
			*field(&c.EPort) = d
			return nil
		}}
}

// checkEPort checks the E-Port settings together, naming each setting at
// fault, when E-Port is on.
func (c *Config) checkEPort() error {
	e := &c.EPort
	if !e.on() {
		return nil
	}
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{c.name(flag)}, args...)...))
	}
	for _, req := range []struct{ flag, v string }{
		{"eport-pay-code", e.PayCode}, {"eport-pay-name", e.PayName}, {"eport-cop-code", e.CopCode},
		{"eport-cop-name", e.CopName}, {"eport-dxp-id", e.DxpID}, {"eport-outbox", e.Outbox}, {"eport-inbox", e.Inbox},
	} {
		if req.v == "" {
			bad(req.flag, "required with --eport-customs")
		}
	}
	if (e.EBPCode == "") != (e.EBPName == "") {
		bad("eport-ebp-code", "give the platform's code and name together (--eport-ebp-code and --eport-ebp-name)")
	}
	if len(errs) == 0 {
		cfg := e.cebConfig([]byte(strings.Repeat("x", ceb.MinSecretLen)))
		if err := cfg.Validate(); err != nil {
			bad(eportFlagOf(baoguan.ErrorField(err)), "%s", baoguan.ErrorMessage(err))
		}
	}
	if e.Signer == "http" {
		if err := checkHTTPURL(e.SignerURL); err != nil {
			bad("eport-signer-url", "%v (required with --eport-signer http)", err)
		}
	} else if e.SignerURL != "" {
		bad("eport-signer-url", "only used with --eport-signer http")
	}
	if e.UploadURL != "" {
		if err := checkHTTPURL(e.UploadURL); err != nil {
			bad("eport-179-upload-url", "%v", err)
		}
		if e.Signer != "http" {
			bad("eport-179-upload-url", "179 data must be signed by baoguan: set --eport-signer http")
		}
	}
	if e.Secret != "" && len(e.Secret) < ceb.MinSecretLen {
		bad("eport-secret", "too short (want %d characters or more)", ceb.MinSecretLen)
	}
	for _, d := range []struct{ flag, dir string }{{"eport-outbox", e.Outbox}, {"eport-inbox", e.Inbox}} {
		if d.dir == "" {
			continue
		}
		if fi, err := os.Stat(filepath.Dir(filepath.Clean(d.dir))); err != nil || !fi.IsDir() {
			bad(d.flag, "the parent folder of %q does not exist", d.dir)
		}
	}
	return errors.Join(errs...)
}

func checkHTTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid URL %q (want http:// or https://)", v)
	}
	return nil
}

// eportFlagOf names the setting behind a CEB field in a ceb.Config error.
func eportFlagOf(field string) string {
	switch field {
	case "payCode":
		return "eport-pay-code"
	case "payName":
		return "eport-pay-name"
	case "copCode":
		return "eport-cop-code"
	case "copName":
		return "eport-cop-name"
	case "dxpId":
		return "eport-dxp-id"
	case "sender_id":
		return "eport-sender-id"
	}
	return "eport-customs"
}

func (e *eportConfig) cebConfig(secret []byte) ceb.Config {
	return ceb.Config{PayCode: e.PayCode, PayName: e.PayName, SenderID: e.SenderID, Secret: secret,
		Transfer: ceb.Transfer{CopCode: e.CopCode, CopName: e.CopName, DxpID: e.DxpID}}
}

// newEPort builds the E-Port port: its guid secret (given, or the
// installation's sealed one), outbox (recovered), inbox and signer.
func newEPort(ctx context.Context, cfg *Config, svc *core.Service, log *slog.Logger) (*ceb.Port, error) {
	e := &cfg.EPort
	secret := []byte(e.Secret)
	if len(secret) == 0 {
		var err error
		if secret, err = svc.InstallationSecret(ctx, "eport.guid_secret", 32); err != nil {
			return nil, fmt.Errorf("the E-Port guid secret: %w", err)
		}
	}
	cc := e.cebConfig(secret)
	ob, rec, err := ceb.OpenOutbox(ceb.OutboxConfig{Dir: e.Outbox, StateDir: e.OutboxState, SenderID: cc.Sender()})
	if err != nil {
		return nil, settingErr(cfg, err)
	}
	if n := len(rec.RolledForward) + len(rec.Discarded); n > 0 {
		log.Info("E-Port outbox recovered", "handed_over", rec.RolledForward, "discarded", rec.Discarded)
	}
	in, err := ceb.OpenInbox(ceb.InboxConfig{Dir: e.Inbox, ArchiveDir: e.Archive, RejectDir: e.Rejected})
	if err != nil {
		return nil, settingErr(cfg, err)
	}
	var signer ceb.Signer = ceb.NoneSigner{}
	if e.Signer == "http" {
		signer = &ceb.HTTPSigner{URL: e.SignerURL, Token: e.SignerToken, Header: e.SignerHeader}
	}
	return &ceb.Port{Config: cc, Outbox: ob, Inbox: in, Signer: signer, EBPCode: e.EBPCode, EBPName: e.EBPName,
		PollEvery: e.Poll, ReadEveryDur: e.ReadEvery, ReceiptTimeout: e.ReceiptTimeout, Log: log}, nil
}

// settingErr names the setting behind an outbox or inbox error.
func settingErr(cfg *Config, err error) error {
	msg := err.Error()
	if baoguan.ErrorCode(err) != baoguan.EINTERNAL {
		msg = baoguan.ErrorMessage(err)
	}
	return fmt.Errorf("%s: %s", cfg.name(eportFlagOfSetting(err)), msg)
}

// eportFlagOfSetting names the flag behind an outbox or inbox error.
func eportFlagOfSetting(err error) string {
	switch baoguan.ErrorField(err) {
	case "outbox_state_dir":
		return "eport-outbox-state"
	case "inbox_dir":
		return "eport-inbox"
	case "inbox_archive_dir":
		return "eport-archive"
	case "inbox_reject_dir":
		return "eport-rejected"
	}
	return "eport-outbox"
}

// wireEPort builds the E-Port port and, with --eport-179-upload-url, the
// 179 data service and its platDataOpen endpoint (at --eport-179-path, and
// at --eport-179-path/{merchant no} for platforms that register their own
// address). The endpoint is called by customs, not by merchants: it takes
// no credentials, answers every well-formed request at once, and only
// queues work.
func wireEPort(ctx context.Context, cfg *Config, svc *core.Service, mux *http.ServeMux, log *slog.Logger) error {
	port, err := newEPort(ctx, cfg, svc, log)
	if err != nil {
		return err
	}
	e := &cfg.EPort
	port.Registration = func(m *baoguan.Merchant, code string) (string, string, bool) {
		r, ok := svc.CustomsRegistrations(m)[code]
		return r.No, r.Name, ok
	}
	if svc.Live.Routes == nil {
		svc.Live.Routes = map[string]core.Route{}
	}
	svc.Live.Routes[baoguan.RouteEPort] = core.Route{Port: port, Name: "China E-Port",
		Accepts: func(code string) bool { return slices.Contains(e.Customs, code) }}
	if e.UploadURL == "" {
		return nil
	}
	svc.PaymentData = &ceb.DataService{Config: &port.Config, Signer: port.Signer, Uploader: &ceb.Uploader{URL: e.UploadURL},
		EBPCode: e.EBPCode, EBPName: e.EBPName}
	accept := func(merchantNo func(*http.Request) string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ceb.OpenHandler(func(ctx context.Context, q ceb.OpenReq) error {
				_, _, err := svc.RequestPaymentData(ctx, core.DataRequest{OrderNo: q.OrderNo, SessionID: q.SessionID,
					ServiceTime: time.UnixMilli(q.ServiceTime), MerchantNo: merchantNo(r)})
				return err
			}, svc.Now).ServeHTTP(w, r)
		})
	}
	mux.Handle("POST "+e.DataOpenPath, accept(func(*http.Request) string { return "" }))
	mux.Handle("POST "+strings.TrimSuffix(e.DataOpenPath, "/")+"/{merchant}", accept(func(r *http.Request) string { return r.PathValue("merchant") }))
	log.Info("answering customs' payment data requests (179)", "path", e.DataOpenPath, "upload_url", e.UploadURL)
	return nil
}
