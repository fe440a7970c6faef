-- 0021_order_pay_queue: the order is its own pay queue. pay_due_at > 0 is
-- when the order's payment is due to be asked for (core: a new order's, or
-- a batch's first payment, when the adapter is in-process); the job runner
-- reads due orders beside due jobs in its batch transaction and the
-- order's one UPDATE at the batch's end sets it back to 0. Retries, dead
-- payments and payments for the workers still go through a pay job row.
-- Pay job rows queued before this migration keep running as they are.
ALTER TABLE orders ADD COLUMN pay_due_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX orders_pay_due ON orders (pay_due_at) WHERE pay_due_at > 0;
