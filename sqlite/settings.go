package sqlite

const (
	qSetting       = `SELECT value FROM settings WHERE key = ?`
	qInsertSetting = `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`
	qUpsertSetting = `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
)

func (t *tx) Setting(key string) (string, error) {
	var sealed string
	found, err := t.one(qSetting, []any{key}, func(s scanner) error { return s.Scan(&sealed) })
	if err != nil {
		return "", err
	}
	if !found {
		return "", notFound("setting %s not found", quote(key))
	}
	s := t.sealer()
	v := s.open(sealed)
	return v, s.err
}

func (t *tx) PutSetting(key, value string, onlyNew bool) (bool, error) {
	s := t.sealer()
	sealed := s.seal(value)
	if s.err != nil {
		return false, s.err
	}
	q := qUpsertSetting
	if onlyNew {
		q = qInsertSetting
	}
	res, err := t.exec(q, key, sealed, ms(t.now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
