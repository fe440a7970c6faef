package sqlstore

const (
	qSetting       = `SELECT value FROM settings WHERE key = ?`
	qInsertSetting = `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`
	qUpsertSetting = `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
)

// Setting reads an installation setting; ENOTFOUND when unset.
func (t *Tx) Setting(key string) (string, error) {
	var sealed string
	found, err := t.one(qSetting, []any{key}, func(s Scanner) error { return s.Scan(&sealed) })
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

// PutSetting stores a setting, or with onlyNew stores it only if the key
// is unset, reporting whether it stored.
func (t *Tx) PutSetting(key, value string, onlyNew bool) (bool, error) {
	s := t.sealer()
	sealed := s.seal(value)
	if s.err != nil {
		return false, s.err
	}
	q := qUpsertSetting
	if onlyNew {
		q = qInsertSetting
	}
	n, err := t.exec(q, key, sealed, ms(t.now))
	return n > 0, err
}
