-- 0026_refunds_merchant: mirrors SQLite's 0027. A merchant's refunds are
-- listed by id, oldest first, a page at a time (the bills' list,
-- ListRefunds with no filter but the merchant), and no index gave that
-- order: the list read the merchant's refunds through
-- refunds_merchant_status (merchant_id, status, id) and sorted them all for
-- a page of 50. (merchant_id, id) is what the list pages by (storetest
-- ListPlans marks it sorted). Refunds are written by a refund's request
-- and its outcome alone, never by a push or a payment.
CREATE INDEX refunds_merchant ON refunds (merchant_id, id);
