-- 0024_events_pending_apart: the lists of events by status leave the
-- pending ones to the delivery queue's index, so that an event's insert
-- and its delivery's outcome move fewer index entries.
--
-- An event is inserted pending and updated once delivered (or failed):
-- events_merchant_status took an entry at the insert, and the outcome
-- deleted it and wrote another; events_pending took one at the insert,
-- deleted at the outcome. Now events_merchant_status holds the events
-- that are no longer pending alone (one entry, written at the outcome; a
-- list by another status says status <> 'pending' literally so that
-- SQLite may use it), and the pending events are listed through
-- events_due, which holds them all (partial, WHERE status = 'pending'),
-- read whole and sorted by id: the events in flight. Four index writes
-- an event fewer (docs/benchmarks.md, change 56).
DROP INDEX events_pending;
DROP INDEX events_merchant_status;
CREATE INDEX events_merchant_status ON events (merchant_id, status) WHERE status <> 'pending';
