-- 0023_unlocked_refs: events name their merchant, and attempts their
-- event, without a foreign key. A foreign key's check runs per row as a
-- trigger that reads the row it names FOR KEY SHARE: each of an order's
-- notifications locked its merchant's row, from every writer at once
-- (a multixact on the one row of a busy merchant, and its WAL), and each
-- attempt its event's. The store's statements check instead, with a
-- plain read in the insert itself (sqlstore Dialect.CheckedRefs): an
-- event of a merchant that does not exist, and an attempt of a missing
-- event, are inserted nothing and told ENOTFOUND, as before. Neither
-- merchants nor events are ever deleted (retention deletes delivered
-- events' attempts only), and a deliverer's outcomes insert the attempts
-- of the events their update found.
ALTER TABLE events DROP CONSTRAINT events_merchant_id_fkey;
ALTER TABLE attempts DROP CONSTRAINT attempts_event_id_fkey;
