-- 0019_order_fingerprints: an order number is kept by the orders table
-- itself. The unique index orders_merchant_no (0001) takes the number with
-- the order's insert, and fingerprint holds the SHA-256 of the content the
-- order was created with, which a repeat of its creation is compared with
-- (same: answered with the order; other: duplicate_order_no). It replaces
-- the "order:<no>" records of the idempotency table, whose request_hash
-- moves here (their body was always empty: a repeat is answered with the
-- order as stored). A record without an order (none is written so) goes
-- too; an order without a record keeps '' and refuses every repeat as
-- other content, as a number without a record did.
ALTER TABLE orders ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
UPDATE orders SET fingerprint = i.request_hash
FROM idempotency AS i
WHERE i.merchant_id = orders.merchant_id AND i.idem_key = 'order:' || orders.merchant_order_no;
DELETE FROM idempotency WHERE substr(idem_key, 1, 6) = 'order:';
