package ceb

import (
	"context"
	"errors"

	"github.com/baoguan/baoguan"
)

// DataService answers customs' payment data requests (179) for the E-Port
// installation: it builds payExInfoStr from the order (PayExInfoFor),
// signs it and uploads it (baoguan.PaymentDataUploader).
type DataService struct {
	Config   *Config
	Signer   Signer
	Uploader *Uploader
	// EBPCode and EBPName stand for the platform when the merchant has no
	// codes of its own, as for the port.
	EBPCode, EBPName string
}

var _ baoguan.PaymentDataUploader = (*DataService)(nil)

// Name is "eport".
func (s *DataService) Name() string { return PortName }

// UploadPaymentData builds, signs and uploads the data of one request.
// Data that cannot be built (a payment without its raw channel messages,
// an item without a link) and customs' refusals are permanent; a signer or
// customs outage is retried.
func (s *DataService) UploadPaymentData(ctx context.Context, u baoguan.PaymentDataUpload) (baoguan.PaymentDataAnswer, error) {
	m := *u.Merchant
	if m.EBPCode == "" || m.EBPName == "" {
		m.EBPCode, m.EBPName = s.EBPCode, s.EBPName
	}
	req := OpenReq{OrderNo: u.Request.OrderNo, SessionID: u.Request.SessionID, ServiceTime: u.Request.ServiceTime.UnixMilli()}
	p := s.Config.PayExInfoFor(req, u.Order, &m, u.Declaration, u.Now)
	if err := p.Validate(); err != nil {
		return baoguan.PaymentDataAnswer{Message: baoguan.ErrorMessage(err)}, baoguan.Permanent(err)
	}
	if err := p.Sign(ctx, s.Signer); err != nil {
		return baoguan.PaymentDataAnswer{}, err
	}
	body, err := p.Body()
	if err != nil {
		return baoguan.PaymentDataAnswer{}, baoguan.Permanent(err)
	}
	a, err := s.Uploader.Upload(ctx, body)
	ans := baoguan.PaymentDataAnswer{Code: a.Code, Message: a.Message}
	var perm *baoguan.PermanentError
	if err != nil && !errors.As(err, &perm) && ans.Message == "" {
		ans.Message = err.Error()
	}
	return ans, err
}
