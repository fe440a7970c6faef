package sqlstore

import "github.com/baoguan/baoguan"

// The operator's exchange rates to CNY, one per currency.

const (
	qUpsertRate = `INSERT INTO rates (currency, rate, updated_at) VALUES (?, ?, ?)
ON CONFLICT (currency) DO UPDATE SET rate = excluded.rate, updated_at = excluded.updated_at`
	qDeleteRate = `DELETE FROM rates WHERE currency = ?`
	qRates      = `SELECT currency, rate, updated_at FROM rates ORDER BY currency`
)

// PutRate sets a currency's rate.
func (t *Tx) PutRate(r *baoguan.ExchangeRate) error {
	if _, err := t.exec(qUpsertRate, r.Currency, r.Rate.String(), ms(t.now)); err != nil {
		return err
	}
	r.UpdatedAt = t.now
	return nil
}

// DeleteRate removes a currency's rate.
func (t *Tx) DeleteRate(currency string) (bool, error) {
	n, err := t.exec(qDeleteRate, currency)
	return n > 0, err
}

// Rates lists the rates by currency code.
func (t *Tx) Rates() ([]baoguan.ExchangeRate, error) {
	out := []baoguan.ExchangeRate{}
	err := t.each(qRates, nil, func(s Scanner) error {
		var r baoguan.ExchangeRate
		var rate string
		var at int64
		if err := s.Scan(&r.Currency, &rate, &at); err != nil {
			return err
		}
		if err := r.Rate.UnmarshalText([]byte(rate)); err != nil {
			return err
		}
		r.UpdatedAt = fromMS(at)
		out = append(out, r)
		return nil
	})
	return out, err
}
