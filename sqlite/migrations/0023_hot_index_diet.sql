-- 0023_hot_index_diet: two list indexes hold only the rows their lists
-- can ask for, so that the writer does not enter and move the others.
--
-- orders_merchant_batch: an order pushed outside a batch has batch_id 0,
-- and no query looks batch 0 up (a filter of batch 0 means no filter);
-- every pushed order wrote an entry nothing read. The queries by batch say
-- batch_id <> 0 so that SQLite may use the partial index.
--
-- events_status served one list only: the pending events of every merchant
-- (the runner's stop and its count of notifications in flight); a
-- merchant's lists by status use events_merchant_status. It held every
-- event and moved each one from 'pending' to its outcome at delivery: an
-- entry written, deleted and written again. events_pending holds the
-- pending events alone (ListEvents says status = 'pending' literally for
-- it): written at the insert, deleted at the outcome.
DROP INDEX orders_merchant_batch;
CREATE INDEX orders_merchant_batch ON orders (merchant_id, batch_id) WHERE batch_id <> 0;
DROP INDEX events_status;
CREATE INDEX events_pending ON events (status) WHERE status = 'pending';
