-- 0022_hot_index_diet: two list indexes hold only the rows their lists
-- can ask for (SQLite's 0023), so that a write does not enter and move
-- the others.
--
-- orders_merchant_batch: an order pushed outside a batch has batch_id 0,
-- and no query looks batch 0 up (a filter of batch 0 means no filter);
-- every pushed order wrote an entry nothing read. The queries by batch say
-- batch_id <> 0 literally, so that a generic plan may use the partial
-- index.
--
-- events_status served one list only: the pending events of every
-- merchant, in id order (the runner's stop and its count of notifications
-- in flight); a merchant's lists by status use events_merchant_status. It
-- held every event and moved each one from 'pending' to its outcome at
-- delivery (an entry deleted and another written, the update not HOT).
-- events_pending holds the pending events alone (ListEvents says status =
-- 'pending' literally): written at the insert, and the outcome writes none.
DROP INDEX orders_merchant_batch;
CREATE INDEX orders_merchant_batch ON orders (merchant_id, batch_id, id) WHERE batch_id <> 0;
DROP INDEX events_status;
CREATE INDEX events_pending ON events (id) WHERE status = 'pending';
