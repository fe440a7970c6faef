-- 0027_delete_checks: mirrors SQLite's 0028. The foreign keys that name an
-- order or a declaration from customs_receipts and payment_data_requests
-- get an index on their column, so that deleting an order or a declaration
-- does not read those tables whole: a key's check at a deletion (the
-- trigger's "SELECT 1 FROM child WHERE col = $1 FOR KEY SHARE") was a
-- sequential scan of the table for each row deleted, and DeleteOrders (a
-- discarded upload's) deletes a chunk of orders and their declarations at
-- a time. Partial: a row that names nothing is never looked up. Those
-- tables are written by customs' receipts and the wallets' payment data
-- requests, never by a push or a payment.
CREATE INDEX customs_receipts_declaration ON customs_receipts (declaration_id) WHERE declaration_id IS NOT NULL;
CREATE INDEX payment_data_requests_order ON payment_data_requests (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX payment_data_requests_declaration ON payment_data_requests (declaration_id) WHERE declaration_id IS NOT NULL;
