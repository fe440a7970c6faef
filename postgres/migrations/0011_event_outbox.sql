-- 0011_event_outbox: events are their own delivery queue. A pending event
-- is due at next_at; a deliverer that takes it leases it until lease_until
-- (also the lease's token), and records the attempt only while it holds the
-- lease. dest is the URL's origin (scheme://host:port), by which deliveries
-- to one destination are limited without holding up the others.
ALTER TABLE events ADD COLUMN next_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN dest TEXT NOT NULL DEFAULT '';

-- Pending events were driven by notify jobs: each is due when its job was,
-- and the jobs retire.
UPDATE events SET next_at = COALESCE((SELECT MIN(j.run_at) FROM jobs AS j
    WHERE j.kind = 'notify' AND j.ref_id = events.id AND j.state IN ('queued', 'running')), 0)
WHERE status = 'pending';
UPDATE jobs SET state = 'done', lease_until = 0 WHERE kind = 'notify' AND state IN ('queued', 'running');

CREATE INDEX events_due ON events (next_at, id) WHERE status = 'pending';
