-- 0018_events_due_covering: the delivery queue's index holds what a claim
-- reads of each due event (its lease, merchant and destination), so that a
-- claim reads the index alone instead of looking up every candidate's row
-- (an event row holds its rendered body: a page read per candidate). status
-- is the same in every entry, but SQLite reads the row for it unless the
-- index holds it.
DROP INDEX events_due;
CREATE INDEX events_due ON events (next_at, id, lease_until, merchant_id, dest, status) WHERE status = 'pending';
