-- 0026_event_bodies: an event's sealed body is a row of its own, apart
-- from the event's delivery state.
--
-- The body (about 1.3 KB sealed for order.paid, 0.6 KB for
-- declaration.succeeded) is written once, when the event is created. The
-- event's row is rewritten at its delivery's outcome (status, attempts,
-- delivered_at, the acknowledged attempt), and with the body inline every
-- outcome rewrote the pages of the bodies around it: the events table took
-- 36% of the pages a 5,000-order bench wrote to the WAL, written once at
-- the insert and again at the outcome. Now an outcome rewrites a row of
-- about 170 bytes, and the bodies' pages are written once
-- (docs/benchmarks.md, change 81). event_bodies.id is the event's id;
-- events are never deleted, so neither are their bodies. PostgreSQL keeps
-- the column (Dialect.BodiesApart).
CREATE TABLE event_bodies (
    id   INTEGER PRIMARY KEY,
    body BLOB    NOT NULL
);
INSERT INTO event_bodies (id, body) SELECT id, body FROM events;
ALTER TABLE events DROP COLUMN body;
