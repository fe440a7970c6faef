package postgres

// Listening reports whether the store's LISTEN connection is in place, so
// a test can announce jobs knowing they will be heard.
func (db *DB) Listening() bool { return db.listening.Load() }
