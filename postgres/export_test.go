package postgres

import "time"

// Listening reports whether the store's LISTEN connection is in place, so
// a test can announce jobs knowing they will be heard.
func (db *DB) Listening() bool { return db.listening.Load() }

// Queued is how many Update calls wait for a writer.
func (db *DB) Queued() int { return db.calls.Len() }

// SetGroupTime sets how long a group takes calls after its first has run
// (maxGroupTime), so that a test's group does not depend on the machine's
// speed. Call it before any Update.
func (db *DB) SetGroupTime(d time.Duration) { db.groupTime = d }
