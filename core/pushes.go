package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/netguard"
)

// A declaration push is a request to declare a paid order's payment record
// that is not part of the order: its own request, about an order already
// paid (made through any front-end), under a number the merchant chose.
// LianLian ACCP's cbpayment apply-pushpay (txn_seqno) is one front-end of it.
// The number is a natural key: the first content seen for it is kept, a
// repeat replays the first reply, other content is refused, and a
// modification must name a number that exists.
//
// Each accepted version is one natural-key record (idempotency.go), keyed
// "<protocol>:<no>" for the first and "<protocol>:<no>~<n>" for the n-th
// (records are never overwritten, so racing requests cannot both be
// "first"). The order carries, in Extra, which push owns which of its
// declarations, so notifications rendered from a declaration can name the
// push.

// maxPushVersions bounds the modifications of one push; a push modified a
// hundred times is a merchant loop, not a correction.
const maxPushVersions = 100

// DeclarationPushInput is one push as a front-end received it, translated to
// baoguan's names and units.
type DeclarationPushInput struct {
	// Protocol is the front-end. The pushed order's notifications are
	// rendered in its format from the first push on (see PushDeclaration).
	Protocol string
	No       string // the merchant's push number, unique per merchant and protocol
	Modify   bool   // change the existing push No instead of adding one
	OrderNo  string // the paid order whose payment record is pushed
	Payer    baoguan.Payer
	// Spec says where to declare and how much; SubOrderNo is set for a
	// split push. Fees are taken as given (Split is forced).
	Spec      baoguan.DeclarationSpec
	NotifyURL string // where this push's outcome is notified; "" keeps the order's
	// Content is everything the merchant sent that makes two pushes "the
	// same", in a canonical encoding; its SHA-256 is the push fingerprint.
	Content []byte
	// Reply renders the front-end's reply to an accepted push. It runs inside
	// the transaction so that the exact bytes are kept and replayed.
	Reply func(DeclarationPush) ([]byte, error)
}

// DeclarationPush is an accepted push as it stands after the transaction.
type DeclarationPush struct {
	No          string
	Order       *baoguan.Order
	Declaration baoguan.Declaration
	// IdentityCheck compares the declared payer with the payer the channel
	// reported: SAME, DIFFERENT, or UNCHECKED when the channel named nobody.
	IdentityCheck string
	At            time.Time // when this version was accepted
	Version       int       // 1 for the ADD, 2.. for each modification
}

// DeclarationPushResult is what PushDeclaration returns: the reply to send
// and, unless it is a replay, the push itself.
type DeclarationPushResult struct {
	Push     *DeclarationPush // nil on a replay
	Reply    []byte
	Replayed bool
}

// declPushRecord is the Body of a push's natural-key record.
type declPushRecord struct {
	OrderNo    string    `json:"order_no"`
	Customs    string    `json:"customs"`
	SubOrderNo string    `json:"sub_order_no,omitempty"`
	NotifyURL  string    `json:"notify_url,omitempty"`
	At         time.Time `json:"at"`
	Reply      []byte    `json:"reply"`
}

func declPushKey(protocol, no string, version int) string {
	if version <= 1 {
		return protocol + ":" + no
	}
	return protocol + ":" + no + "~" + strconv.Itoa(version)
}

// DeclarationPushOwnerKey is the Order.Extra key naming the push that owns
// the order's declaration to customs for subOrderNo ("" when not split).
func DeclarationPushOwnerKey(protocol, customs, subOrderNo string) string {
	return protocol + ".push:" + customs + ":" + subOrderNo
}

// DeclarationPushURLKey is the Order.Extra key of the notify URL of the
// order's latest push that gave one.
func DeclarationPushURLKey(protocol string) string { return protocol + ".notify_url" }

// declPushVersions reads the first and the latest version of a push; both
// are nil when the push does not exist.
func declPushVersions(tx baoguan.Tx, merchantID int64, protocol, no string) (first, last *baoguan.IdemRecord, n int, err error) {
	first, err = readKey(tx, merchantID, declPushKey(protocol, no, 1))
	if err != nil || first == nil {
		return nil, nil, 0, err
	}
	last, n = first, 1
	for n < maxPushVersions {
		r, err := readKey(tx, merchantID, declPushKey(protocol, no, n+1))
		if err != nil {
			return nil, nil, 0, err
		}
		if r == nil {
			break
		}
		last, n = r, n+1
	}
	return first, last, n, nil
}

func decodeDeclPush(r *baoguan.IdemRecord) (*declPushRecord, error) {
	var rec declPushRecord
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		return nil, &baoguan.Error{Code: baoguan.EINTERNAL, Message: "push record " + r.Key + " is unreadable: " + err.Error()}
	}
	return &rec, nil
}

// PushDeclaration declares a paid order's payment record under the
// merchant's push number, in one transaction with the push record.
//
// A new number (Modify false) is recorded with its content fingerprint; a
// repeat with the same content replays the first reply, other content is
// ECONFLICT reason duplicate_push. A modification needs an existing number
// (ENOTFOUND reason unknown_push), may not change the order, customs code or
// sub-order (EINVALID reason push_immutable), and re-declares through the
// same rules as Declare: a declaration still in flight is ESTATE reason
// declaration_in_flight.
//
// Before anything is declared the payer is compared with the payer the
// channel reported, as the declare job will compare them; with strategy
// DIFF_REJECT a different payer refuses the push (EINVALID reason
// payer_differs) instead of failing it later. A customs code whose plan has
// more than one declaration is EINVALID reason multi_declaration_plan, since
// one push is one customs record. A non-split push to a customs code the
// order was already pushed to under another number is ECONFLICT reason
// declaration_pushed. Other errors: EMERCHANT, EINVALID naming the field,
// ENOTFOUND reason unknown_order, ESTATE reason not_paid, ELIMIT reason
// declared_above_paid.
//
// The order adopts in.Protocol: its later notifications are rendered in that
// protocol's format (the previous protocol is kept in Extra under
// "<protocol>.adopted_from"), because an event is rendered in the format of
// the order's protocol and this push's outcome must reach the push's
// notify_url in the push's format.
func (s *Service) PushDeclaration(ctx context.Context, m *baoguan.Merchant, in DeclarationPushInput) (*DeclarationPushResult, error) {
	if err := m.Active(); err != nil {
		return nil, err
	}
	if err := baoguan.CheckOrderNo("push_no", in.No); err != nil {
		return nil, err
	}
	if err := baoguan.CheckOrderNo("order_no", in.OrderNo); err != nil {
		return nil, err
	}
	if err := in.Payer.Validate(); err != nil {
		return nil, err
	}
	in.Spec.Split = true
	entry, err := in.Spec.Validate()
	if err != nil {
		return nil, err
	}
	if len(entry.Plan) != 1 {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "customs", Reason: "multi_declaration_plan",
			Message: "customs code " + entry.Code + " is declared in " + strconv.Itoa(len(entry.Plan)) + " records; a push is one record: push to each code of its plan instead"}
	}
	if in.NotifyURL != "" {
		if err := netguard.CheckURL(in.NotifyURL); err != nil {
			return nil, baoguan.FieldError("notify_url", "%v", err)
		}
	}
	if in.Reply == nil {
		return nil, &baoguan.Error{Code: baoguan.EINTERNAL, Message: "PushDeclaration needs a Reply renderer"}
	}
	sum := sha256.Sum256(in.Content)
	fp := hex.EncodeToString(sum[:])
	var out *DeclarationPushResult
	run := func() error {
		return s.update(ctx, func(tx baoguan.Tx, q *queue) error {
			r, err := s.pushDeclarationTx(tx, m, &in, entry, fp)
			out = r
			return err
		})
	}
	err = run()
	if baoguan.ErrorReason(err) == "duplicate" {
		// Another request recorded the same push number between our read
		// and our insert; run again to answer as a repeat.
		err = run()
	}
	if err != nil {
		return nil, err
	}
	if !out.Replayed {
		s.Wake()
	}
	return out, nil
}

func (s *Service) pushDeclarationTx(tx baoguan.Tx, m *baoguan.Merchant, in *DeclarationPushInput, entry baoguan.CustomsEntry, fp string) (*DeclarationPushResult, error) {
	first, last, versions, err := declPushVersions(tx, m.ID, in.Protocol, in.No)
	if err != nil {
		return nil, err
	}
	switch {
	case first == nil && in.Modify:
		return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Field: "push_no", Reason: "unknown_push",
			Message: "push " + in.No + " does not exist; add it before modifying it"}
	case first != nil && !in.Modify:
		if first.RequestHash != fp {
			return nil, &baoguan.Error{Code: baoguan.ECONFLICT, Field: "push_no", Reason: "duplicate_push",
				Message: "push " + in.No + " already exists with different content"}
		}
		rec, err := decodeDeclPush(first)
		if err != nil {
			return nil, err
		}
		return &DeclarationPushResult{Reply: rec.Reply, Replayed: true}, nil
	case first != nil:
		rec, err := decodeDeclPush(last)
		if err != nil {
			return nil, err
		}
		if last.RequestHash == fp {
			return &DeclarationPushResult{Reply: rec.Reply, Replayed: true}, nil
		}
		for _, f := range []struct{ field, was, now string }{
			{"order_no", rec.OrderNo, in.OrderNo},
			{"customs", rec.Customs, in.Spec.Customs},
			{"sub_order_no", rec.SubOrderNo, in.Spec.SubOrderNo},
		} {
			if f.was != f.now {
				return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: f.field, Reason: "push_immutable",
					Message: "a modification of push " + in.No + " cannot change " + f.field + " (" + f.was + "); add a new push instead"}
			}
		}
		if versions >= maxPushVersions {
			return nil, &baoguan.Error{Code: baoguan.ELIMIT, Field: "push_no", Reason: "too_many_modifications",
				Message: "push " + in.No + " was modified " + strconv.Itoa(maxPushVersions-1) + " times; add a new push instead"}
		}
	}

	o, err := tx.OrderByNo(m.ID, in.OrderNo)
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return nil, &baoguan.Error{Code: baoguan.ENOTFOUND, Field: "order_no", Reason: "unknown_order",
			Message: "no order " + in.OrderNo + " for this merchant"}
	}
	if err != nil {
		return nil, err
	}
	if !o.Paid() {
		return nil, &baoguan.Error{Code: baoguan.ESTATE, Field: "order_no", Reason: "not_paid",
			Message: "order " + in.OrderNo + " is " + string(o.PayStatus) + "; only a paid order's payment record can be pushed"}
	}
	owner := DeclarationPushOwnerKey(in.Protocol, entry.Code, in.Spec.SubOrderNo)
	if no := o.Extra[owner]; no != "" && no != in.No {
		return nil, &baoguan.Error{Code: baoguan.ECONFLICT, Field: "push_no", Reason: "declaration_pushed",
			Message: "order " + in.OrderNo + " was already pushed to " + entry.Code + " as push " + no + "; modify that push instead"}
	}

	// The same identity check the declare job makes (identity.go), made now
	// so that the reply can say SAME/DIFF and DIFF_REJECT can refuse the
	// push outright.
	probe := baoguan.Declaration{Payer: in.Payer, Strategy: in.Spec.Strategy, IdentityCheck: baoguan.CheckUnchecked}
	why := s.preCheck(o, &probe)
	if probe.IdentityCheck == baoguan.CheckDifferent && in.Spec.Strategy == baoguan.StrategyDiffReject {
		return nil, &baoguan.Error{Code: baoguan.EINVALID, Field: "payer.name", Reason: "payer_differs", Message: why}
	}

	ds, err := s.planDeclarations(tx, o, in.Spec, entry, &in.Payer, nil)
	if err != nil {
		return nil, err
	}
	d := ds[0]
	d.IdentityCheck = probe.IdentityCheck
	if err := tx.UpdateDeclaration(&d); err != nil {
		return nil, err
	}

	if o.Extra == nil {
		o.Extra = map[string]string{}
	}
	o.Extra[owner] = in.No
	if in.NotifyURL != "" {
		o.Extra[DeclarationPushURLKey(in.Protocol)] = in.NotifyURL
	}
	if o.Protocol != in.Protocol {
		if o.Protocol != "" {
			o.Extra[in.Protocol+".adopted_from"] = o.Protocol
		}
		o.Protocol = in.Protocol
	}
	o.NeedDeclare = true
	// The order is always written: Protocol and Extra changed even when the
	// declare status did not.
	all, err := tx.Declarations(m.ID, o.ID)
	if err != nil {
		return nil, err
	}
	o.DeclareStatus = baoguan.DeriveDeclareStatus(all)
	if err := tx.UpdateOrder(o); err != nil {
		return nil, err
	}

	now := tx.Now()
	p := &DeclarationPush{No: in.No, Order: o, Declaration: d, IdentityCheck: probe.IdentityCheck, At: now, Version: versions + 1}
	reply, err := in.Reply(*p)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(declPushRecord{OrderNo: o.MerchantOrderNo, Customs: entry.Code, SubOrderNo: in.Spec.SubOrderNo,
		NotifyURL: in.NotifyURL, At: now, Reply: reply})
	if err != nil {
		return nil, err
	}
	if prev, err := takeKey(tx, m.ID, declPushKey(in.Protocol, in.No, versions+1), fp, 200, body); err != nil {
		return nil, err
	} else if prev != nil {
		// Another request recorded this version since the versions were
		// read: PushDeclaration runs again to answer as a repeat.
		return nil, &baoguan.Error{Code: baoguan.ECONFLICT, Reason: "duplicate", Message: "push " + in.No + " was recorded meanwhile"}
	}
	return &DeclarationPushResult{Push: p, Reply: reply}, nil
}

// DeclarationPushView is a push as it stands now: its latest version and the
// declaration it owns.
type DeclarationPushView struct {
	No          string
	Order       *baoguan.Order
	Declaration baoguan.Declaration
	NotifyURL   string
	At          time.Time // when the latest version was accepted
	Version     int
}

// DeclarationPushByNo returns one of the merchant's pushes by its number.
// ENOTFOUND reason unknown_push.
func (s *Service) DeclarationPushByNo(ctx context.Context, m *baoguan.Merchant, protocol, no string) (*DeclarationPushView, error) {
	v := &DeclarationPushView{No: no}
	err := s.view(ctx, func(tx baoguan.Tx) error {
		_, last, n, err := declPushVersions(tx, m.ID, protocol, no)
		if err != nil {
			return err
		}
		if last == nil {
			return &baoguan.Error{Code: baoguan.ENOTFOUND, Field: "push_no", Reason: "unknown_push", Message: "push " + no + " does not exist"}
		}
		rec, err := decodeDeclPush(last)
		if err != nil {
			return err
		}
		v.NotifyURL, v.At, v.Version = rec.NotifyURL, rec.At, n
		if v.Order, err = tx.OrderByNo(m.ID, rec.OrderNo); err != nil {
			return err
		}
		ds, err := tx.Declarations(m.ID, v.Order.ID)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.Customs == rec.Customs && d.SubOrderNo == rec.SubOrderNo {
				v.Declaration = d
				return nil
			}
		}
		return &baoguan.Error{Code: baoguan.EINTERNAL, Message: "push " + no + " names no declaration of order " + rec.OrderNo}
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
