package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/alipay"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/external"
	"github.com/baoguan/baoguan/upstream"
	"github.com/baoguan/baoguan/wechatpay"
)

// liveAdapters builds what live merchants' orders go through: the channel
// for payments made elsewhere and the wallet customs routes (docs/live.md).
// The wallets' credential sources read the merchant's sealed credentials
// through core at call time, so a rotation applies at once; svc is the
// service these adapters are given to.
func liveAdapters(cfg *Config, log *slog.Logger, svc func() *core.Service) core.Adapters {
	httpc := upstream.HTTPClient(5*time.Second, cfg.UpstreamTimeout)
	logCall := func(ctx context.Context, c upstream.Call) {
		log.Info("upstream call", "service", c.Service, "op", c.Operation, "declaration", c.Ref, "status", c.HTTPStatus,
			"latency_ms", c.Latency.Milliseconds(), "code", c.Code, "message", c.Message, "outcome", c.Outcome)
	}
	wx := &wechatpay.Port{
		V3:        &wechatpay.V3Client{BaseURL: cfg.WeChatPayURL, HTTP: httpc, Record: logCall},
		V2:        &wechatpay.V2Client{BaseURL: cfg.WeChatPayV2URL, HTTP: httpc, Record: logCall},
		PollAfter: cfg.UpstreamPoll,
		Credentials: func(ctx context.Context, m *baoguan.Merchant) (*wechatpay.Credentials, error) {
			raw, err := svc().UpstreamCredential(m, baoguan.RouteWeChatPay)
			if err != nil {
				return nil, err
			}
			regs := map[string]wechatpay.Registration{}
			for code, r := range svc().CustomsRegistrations(m) {
				regs[code] = wechatpay.Registration{No: r.No, Name: r.Name}
			}
			c, err := wechatpay.ParseCredentials(raw, regs)
			if err != nil {
				return nil, &baoguan.Error{Code: baoguan.EINVALID, Reason: "bad_credentials",
					Message: "merchant " + m.No + "'s WeChat Pay credentials cannot be used: " + err.Error()}
			}
			return c, nil
		},
	}
	ali := &alipay.Port{
		Client:    &alipay.Client{Gateway: cfg.AlipayGateway, HTTP: httpc, Record: logCall},
		PollAfter: cfg.UpstreamPoll,
		Credentials: func(ctx context.Context, m *baoguan.Merchant) (*alipay.Credentials, error) {
			raw, err := svc().UpstreamCredential(m, baoguan.RouteAlipay)
			if err != nil {
				return nil, err
			}
			regs := map[string]alipay.Registration{}
			for code, r := range svc().CustomsRegistrations(m) {
				regs[code] = alipay.Registration{No: r.No, Name: r.Name}
			}
			c, err := alipay.ParseCredentials(raw, regs)
			if err != nil {
				return nil, &baoguan.Error{Code: baoguan.EINVALID, Reason: "bad_credentials",
					Message: "merchant " + m.No + "'s Alipay credentials cannot be used: " + err.Error()}
			}
			return c, nil
		},
	}
	burst := int(2 * cfg.UpstreamRate)
	return core.Adapters{
		Channel: external.Channel{},
		Routes: map[string]core.Route{
			baoguan.RouteWeChatPay: {Port: wx, PaidWith: "WECHAT", Credential: baoguan.RouteWeChatPay, Registration: true,
				Accepts: wechatpay.Accepts, Translate: wechatpay.CodeFor, Name: "WeChat Pay", Rate: cfg.UpstreamRate, Burst: burst},
			baoguan.RouteAlipay: {Port: ali, PaidWith: "ALIPAY", Credential: baoguan.RouteAlipay, Registration: true,
				Accepts: alipay.Accepts, Translate: alipay.CodeFor, Name: "Alipay", Rate: cfg.UpstreamRate, Burst: burst},
		},
	}
}

func init() {
	credentialCheckers[baoguan.RouteWeChatPay] = func(raw string) error {
		_, err := wechatpay.ParseCredentials(raw, nil)
		return err
	}
	credentialCheckers[baoguan.RouteAlipay] = func(raw string) error {
		_, err := alipay.ParseCredentials(raw, nil)
		return err
	}
}
