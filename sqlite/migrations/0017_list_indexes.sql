-- 0017_list_indexes: an index for every list filter the API, the console and
-- the CLI offer (storetest ListPlans plans each list query and fails on a
-- scan). SQLite ends every index with the rowid, so (merchant_id, pay_status)
-- also gives the id order lists page by.
DROP INDEX orders_batch;
CREATE INDEX orders_merchant_batch ON orders (merchant_id, batch_id);
CREATE INDEX orders_merchant_pay ON orders (merchant_id, pay_status);
CREATE INDEX orders_merchant_declare ON orders (merchant_id, declare_status);
CREATE INDEX jobs_kind ON jobs (kind, state);
CREATE INDEX events_merchant_status ON events (merchant_id, status);
CREATE INDEX events_merchant_type ON events (merchant_id, type);
CREATE INDEX events_status ON events (status);
CREATE INDEX refunds_merchant_status ON refunds (merchant_id, status);
