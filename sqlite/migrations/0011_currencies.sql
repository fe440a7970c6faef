-- 0010_currencies: money in several currencies and the bills of agents.
-- A merchant's refunds are listed by creation time (bills).

CREATE INDEX refunds_merchant_created ON refunds (merchant_id, created_at);

-- A refund's CNY share, fixed when it succeeds (the payment's rate).
ALTER TABLE refunds ADD COLUMN cny_amount INTEGER NOT NULL DEFAULT 0;
UPDATE refunds SET cny_amount = amount WHERE status = 'REFUND_SUCCEED';
