package sqlstore

import (
	"time"

	"github.com/baoguan/baoguan"
)

// The state of card and collect payments: funding cards, card agreements,
// SMS challenges, collections and real-name checks. Card numbers, ID
// numbers, phones and card expiry dates are sealed like the payer data of
// orders.

const (
	qFundingAccount       = `SELECT updated_at FROM funding_accounts WHERE merchant_id = ?`
	qFundingCards         = `SELECT bank_code, acct_name, acct_no, signed, balance FROM funding_cards WHERE merchant_id = ? ORDER BY position`
	qDeleteFundingCards   = `DELETE FROM funding_cards WHERE merchant_id = ?`
	qUpsertFundingAccount = `INSERT INTO funding_accounts (merchant_id, updated_at) VALUES (?, ?)
ON CONFLICT (merchant_id) DO UPDATE SET updated_at = excluded.updated_at`
	qInsertFundingCard = `INSERT INTO funding_cards (merchant_id, position, bank_code, acct_name, acct_no, signed, balance)
VALUES (?, ?, ?, ?, ?, ?, ?)`
)

// FundingCards returns the merchant's cards in the order they were given.
func (t *Tx) FundingCards(merchantID int64) (baoguan.FundingCards, error) {
	var f baoguan.FundingCards
	var at int64
	found, err := t.one(qFundingAccount, []any{merchantID}, func(s Scanner) error { return s.Scan(&at) })
	if err != nil || !found {
		return f, err
	}
	f.Recorded, f.UpdatedAt, f.Cards = true, fromMS(at), []baoguan.FundingCard{}
	sl := t.sealer()
	err = t.each(qFundingCards, []any{merchantID}, func(s Scanner) error {
		var c baoguan.FundingCard
		if err := s.Scan(&c.BankCode, &c.AcctName, &c.AcctNo, &c.Signed, &c.Balance); err != nil {
			return err
		}
		c.AcctNo = sl.open(c.AcctNo)
		f.Cards = append(f.Cards, c)
		return nil
	})
	if err == nil {
		err = sl.err
	}
	return f, err
}

// ReplaceFundingCards replaces the merchant's cards; a missing merchant is
// ENOTFOUND.
func (t *Tx) ReplaceFundingCards(merchantID int64, cards []baoguan.FundingCard) error {
	_, err := t.exec(qUpsertFundingAccount, merchantID, ms(t.now))
	if t.isForeignKey(err) {
		return notFound("merchant %d not found", merchantID)
	}
	if err != nil {
		return err
	}
	if _, err := t.exec(qDeleteFundingCards, merchantID); err != nil {
		return err
	}
	sl := t.sealer()
	for i, c := range cards {
		no := sl.seal(c.AcctNo)
		if sl.err != nil {
			return sl.err
		}
		if _, err := t.exec(qInsertFundingCard, merchantID, i, c.BankCode, c.AcctName, no, c.Signed, c.Balance); err != nil {
			return err
		}
	}
	return nil
}

const agreementCols = `merchant_id, request_id, agree_id, acct_name, acct_no, acct_type, bank_code, id_no, mobile,
	valid_date, psp, applied_at, confirmed_at`

const (
	qUpsertAgreement = `INSERT INTO card_agreements (` + agreementCols + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (merchant_id, request_id) DO UPDATE SET agree_id = excluded.agree_id, acct_name = excluded.acct_name,
	acct_no = excluded.acct_no, acct_type = excluded.acct_type, bank_code = excluded.bank_code, id_no = excluded.id_no,
	mobile = excluded.mobile, valid_date = excluded.valid_date, psp = excluded.psp, applied_at = excluded.applied_at,
	confirmed_at = excluded.confirmed_at`
	qAgreementByRequest = `SELECT ` + agreementCols + ` FROM card_agreements WHERE merchant_id = ? AND request_id = ?`
	qAgreementByID      = `SELECT ` + agreementCols + ` FROM card_agreements WHERE merchant_id = ? AND agree_id = ? AND agree_id <> ''`
)

// PutCardAgreement inserts an application or rewrites the one with the same
// request id. An agreement number the merchant's other agreement holds is
// ECONFLICT reason duplicate (field agree_id).
func (t *Tx) PutCardAgreement(a *baoguan.CardAgreement) error {
	sl := t.sealer()
	no, id, mobile, valid := sl.seal(a.AcctNo), sl.seal(a.IDNo), sl.seal(a.Mobile), sl.seal(a.ValidDate)
	if sl.err != nil {
		return sl.err
	}
	_, err := t.exec(qUpsertAgreement, a.MerchantID, a.RequestID, a.AgreeID, a.AcctName, no, a.AcctType, a.BankCode,
		id, mobile, valid, a.PSP, ms(a.AppliedAt), ms(a.ConfirmedAt))
	switch {
	case t.isForeignKey(err):
		return notFound("merchant %d not found", a.MerchantID)
	case t.isUnique(err):
		return duplicate("agree_id", "agreement %s already exists", quote(a.AgreeID))
	}
	return err
}

// CardAgreementByRequest looks an agreement up by its request id. ENOTFOUND.
func (t *Tx) CardAgreementByRequest(merchantID int64, requestID string) (*baoguan.CardAgreement, error) {
	return t.agreement(qAgreementByRequest, merchantID, requestID)
}

// CardAgreement looks a confirmed agreement up by its number. ENOTFOUND.
func (t *Tx) CardAgreement(merchantID int64, agreeID string) (*baoguan.CardAgreement, error) {
	return t.agreement(qAgreementByID, merchantID, agreeID)
}

func (t *Tx) agreement(q string, merchantID int64, key string) (*baoguan.CardAgreement, error) {
	a := new(baoguan.CardAgreement)
	var applied, confirmed int64
	found, err := t.one(q, []any{merchantID, key}, func(s Scanner) error {
		return s.Scan(&a.MerchantID, &a.RequestID, &a.AgreeID, &a.AcctName, &a.AcctNo, &a.AcctType, &a.BankCode,
			&a.IDNo, &a.Mobile, &a.ValidDate, &a.PSP, &applied, &confirmed)
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("card agreement %s not found", quote(key))
	}
	sl := t.sealer()
	a.AcctNo, a.IDNo, a.Mobile, a.ValidDate = sl.open(a.AcctNo), sl.open(a.IDNo), sl.open(a.Mobile), sl.open(a.ValidDate)
	a.AppliedAt, a.ConfirmedAt = fromMS(applied), fromMS(confirmed)
	return a, sl.err
}

const (
	qUpsertChallenge = `INSERT INTO sms_challenges (merchant_id, purpose, ref, agree_id, sent_at, burnt, used_at, attempts)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (merchant_id, purpose, ref) DO UPDATE SET agree_id = excluded.agree_id, sent_at = excluded.sent_at,
	burnt = excluded.burnt, used_at = excluded.used_at, attempts = excluded.attempts`
	qChallenge = `SELECT merchant_id, purpose, ref, agree_id, sent_at, burnt, used_at, attempts
FROM sms_challenges WHERE merchant_id = ? AND purpose = ? AND ref = ?`
)

// PutSMSChallenge inserts or replaces the challenge of (merchant, purpose, ref).
func (t *Tx) PutSMSChallenge(c *baoguan.SMSChallenge) error {
	_, err := t.exec(qUpsertChallenge, c.MerchantID, c.Purpose, c.Ref, c.AgreeID, ms(c.SentAt), c.Burnt, ms(c.UsedAt), c.Attempts)
	if t.isForeignKey(err) {
		return notFound("merchant %d not found", c.MerchantID)
	}
	return err
}

// SMSChallenge reads a challenge. ENOTFOUND.
func (t *Tx) SMSChallenge(merchantID int64, purpose, ref string) (*baoguan.SMSChallenge, error) {
	c := new(baoguan.SMSChallenge)
	var sent, used int64
	found, err := t.one(qChallenge, []any{merchantID, purpose, ref}, func(s Scanner) error {
		return s.Scan(&c.MerchantID, &c.Purpose, &c.Ref, &c.AgreeID, &sent, &c.Burnt, &used, &c.Attempts)
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no SMS challenge for %s %s", purpose, quote(ref))
	}
	c.SentAt, c.UsedAt = fromMS(sent), fromMS(used)
	return c, nil
}

const collectionCols = `id, token, merchant_id, order_id, order_no, kind, psp, url, params, closes, issued_at, expires_at, used_at`

const (
	qInsertCollection = `INSERT INTO collections (token, merchant_id, order_id, order_no, kind, psp, url, params, closes, issued_at, expires_at, used_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING id`
	qUpdateCollection = `UPDATE collections SET used_at = ? WHERE id = ? AND merchant_id = ?`
	qCollection       = `SELECT ` + collectionCols + ` FROM collections WHERE token = ?`
	qLatestCollection = `SELECT ` + collectionCols + ` FROM collections WHERE order_id = ? AND merchant_id = ? ORDER BY id DESC LIMIT 1`
	// Served by the partial index collections_closing.
	qExpiredCollections = `SELECT ` + collectionCols + ` FROM collections
WHERE closes = TRUE AND used_at = 0 AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`
)

// CreateCollection inserts c. A token that exists is ECONFLICT; a missing
// order is ENOTFOUND.
func (t *Tx) CreateCollection(c *baoguan.Collection) error {
	params, err := t.toJSON(c.Params)
	if err != nil {
		return err
	}
	id, inserted, err := t.insertID(qInsertCollection, []any{c.Token, c.MerchantID, c.OrderID, c.OrderNo, c.Kind, c.PSP, c.URL,
		params, c.Closes, ms(c.IssuedAt), ms(c.ExpiresAt), ms(c.UsedAt)})
	switch {
	case t.isForeignKey(err):
		return notFound("order %d not found", c.OrderID)
	case err != nil:
		return err
	case !inserted:
		return duplicate("token", "collection token already exists")
	}
	c.ID = id
	return nil
}

// UpdateCollection writes c's UsedAt. ENOTFOUND.
func (t *Tx) UpdateCollection(c *baoguan.Collection) error {
	n, err := t.exec(qUpdateCollection, ms(c.UsedAt), c.ID, c.MerchantID)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("collection %d not found", c.ID)
	}
	return nil
}

// Collection looks a collection up by its token. ENOTFOUND.
func (t *Tx) Collection(token string) (*baoguan.Collection, error) {
	return t.collection(qCollection, token)
}

// LatestCollection is the order's newest collection. ENOTFOUND.
func (t *Tx) LatestCollection(merchantID, orderID int64) (*baoguan.Collection, error) {
	return t.collection(qLatestCollection, orderID, merchantID)
}

// ExpiredCollections lists, across merchants, up to limit collections that
// close their order (Closes), are unused and expired at now, soonest
// expired first.
func (t *Tx) ExpiredCollections(now time.Time, limit int) ([]baoguan.Collection, error) {
	var out []baoguan.Collection
	err := t.each(qExpiredCollections, []any{ms(now), limit}, func(s Scanner) error {
		var c baoguan.Collection
		if err := t.scanCollection(s, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

func (t *Tx) scanCollection(s Scanner, c *baoguan.Collection) error {
	var issued, expires, used int64
	var params string
	if err := s.Scan(&c.ID, &c.Token, &c.MerchantID, &c.OrderID, &c.OrderNo, &c.Kind, &c.PSP, &c.URL, &params, &c.Closes,
		&issued, &expires, &used); err != nil {
		return err
	}
	c.IssuedAt, c.ExpiresAt, c.UsedAt = fromMS(issued), fromMS(expires), fromMS(used)
	return t.fromJSON(params, &c.Params)
}

func (t *Tx) collection(q string, args ...any) (*baoguan.Collection, error) {
	c := new(baoguan.Collection)
	found, err := t.one(q, args, func(s Scanner) error { return t.scanCollection(s, c) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("collection not found")
	}
	return c, nil
}

const (
	qInsertRealName = `INSERT INTO realname_checks (check_id, merchant_id, name, id_no, birth, sex, addr, result, checked_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qRealNames = `SELECT id, check_id, merchant_id, name, id_no, birth, sex, addr, result, checked_at
FROM realname_checks WHERE merchant_id = ? ORDER BY id DESC LIMIT ?`
)

// CreateRealNameCheck keeps one check; CheckedAt defaults to now. A check
// id that exists is ECONFLICT; a missing merchant ENOTFOUND.
func (t *Tx) CreateRealNameCheck(r *baoguan.RealNameCheck) error {
	if r.CheckedAt.IsZero() {
		r.CheckedAt = t.now
	}
	// The birth date and address the check returns are the ID card's own
	// data: sealed like its number.
	sl := t.sealer()
	id, birth, addr := sl.seal(r.IDNo), sl.seal(r.Birth), sl.seal(r.Addr)
	if sl.err != nil {
		return sl.err
	}
	_, err := t.exec(qInsertRealName, r.ID, r.MerchantID, r.Name, id, birth, r.Sex, addr, r.Result, ms(r.CheckedAt))
	switch {
	case t.isForeignKey(err):
		return notFound("merchant %d not found", r.MerchantID)
	case t.isUnique(err):
		return duplicate("id", "real-name check %s already exists", quote(r.ID))
	}
	return err
}

// RealNameChecks lists the merchant's newest checks, at most n (the
// store's page size when n is 0).
func (t *Tx) RealNameChecks(merchantID int64, n int) ([]baoguan.RealNameCheck, error) {
	var out []baoguan.RealNameCheck
	sl := t.sealer()
	err := t.each(qRealNames, []any{merchantID, limit(n)}, func(s Scanner) error {
		var r baoguan.RealNameCheck
		var rowID, at int64
		if err := s.Scan(&rowID, &r.ID, &r.MerchantID, &r.Name, &r.IDNo, &r.Birth, &r.Sex, &r.Addr, &r.Result, &at); err != nil {
			return err
		}
		r.IDNo, r.CheckedAt = sl.open(r.IDNo), fromMS(at)
		r.Birth, r.Addr = sl.openOrPlain(r.Birth), sl.openOrPlain(r.Addr)
		out = append(out, r)
		return nil
	})
	if err == nil {
		err = sl.err
	}
	return out, err
}
