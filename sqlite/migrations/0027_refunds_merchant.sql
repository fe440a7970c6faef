-- 0027_refunds_merchant: a merchant's refunds are listed by id, oldest
-- first, a page at a time (the bills' list, ListRefunds with no filter but
-- the merchant), and no index gave that order: the list read every refund
-- of the merchant through refunds_merchant_created and sorted them for a
-- page of 50, and the cursor (id > ?) bounded nothing. An index on
-- merchant_id alone ends with the rowid, which is the id: (merchant_id,
-- id), what the list pages by (storetest ListPlans marks it sorted).
-- Refunds are written by a refund's request and its outcome alone, never
-- by a push or a payment, and an outcome changes no column of the index.
CREATE INDEX refunds_merchant ON refunds (merchant_id);
