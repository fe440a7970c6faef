-- 0009_currencies: mirrors SQLite's 0010. A merchant's refunds are listed
-- by creation time (bills).

CREATE INDEX refunds_merchant_created ON refunds (merchant_id, created_at);

-- A refund's CNY share, fixed when it succeeds (the payment's rate).
ALTER TABLE refunds ADD COLUMN cny_amount BIGINT NOT NULL DEFAULT 0;
UPDATE refunds SET cny_amount = amount WHERE status = 'REFUND_SUCCEED';
