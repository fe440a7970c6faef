-- 0025_acked_attempt_in_row: the attempt a receiver acknowledged is kept in
-- its event's row, not in a row of attempts of its own.
--
-- A delivered event's outcome rewrites its row anyway (status, attempts,
-- delivered_at); the attempt that delivered it — its time, HTTP status,
-- latency and the first bytes of the answer (sealed) — now rides along in
-- four columns of that row, where it cost an attempts row and an entry in
-- attempts_event. Nearly every notification is delivered at its first
-- attempt, so most events have no attempts rows at all. Failed attempts
-- are rows of attempts as before, and the acknowledged one, always the
-- last of its chain, is read after them (Tx.Attempts). A redelivery moves
-- it to a row of attempts before the event's next chain begins
-- (Tx.UpdateEvent). ack_at is zero when the row holds none.
ALTER TABLE events ADD COLUMN ack_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN ack_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN ack_latency_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN ack_response TEXT NOT NULL DEFAULT '';
