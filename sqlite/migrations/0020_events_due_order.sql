-- 0020_events_due_order: a claim also reads each due event's order (the
-- deliverer sends an order's events one at a time, oldest first), so the
-- delivery queue's index holds it too and a claim still reads the index
-- alone (0018).
DROP INDEX events_due;
CREATE INDEX events_due ON events (next_at, id, lease_until, merchant_id, dest, order_id, status) WHERE status = 'pending';
