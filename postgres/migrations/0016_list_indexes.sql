-- 0016_list_indexes: an index for every list filter the API, the console and
-- the CLI offer (storetest ListPlans plans each list query and fails on a
-- scan). Lists page by id, which ends each index.
DROP INDEX orders_batch;
CREATE INDEX orders_merchant_batch ON orders (merchant_id, batch_id, id);
CREATE INDEX orders_merchant_pay ON orders (merchant_id, pay_status, id);
CREATE INDEX orders_merchant_declare ON orders (merchant_id, declare_status, id);
CREATE INDEX jobs_kind ON jobs (kind, state, id);
CREATE INDEX events_merchant_status ON events (merchant_id, status, id);
CREATE INDEX events_merchant_type ON events (merchant_id, type, id);
CREATE INDEX events_status ON events (status, id);
CREATE INDEX refunds_merchant_status ON refunds (merchant_id, status, id);
