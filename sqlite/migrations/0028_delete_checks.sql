-- 0028_delete_checks: the foreign keys that name an order or a
-- declaration from customs_receipts and payment_data_requests get an
-- index on their column, so that deleting an order or a declaration does
-- not read those tables whole.
--
-- SQLite checks, for each row a statement deletes, that no row names it;
-- with no index on the naming column the check is a SCAN of the table.
-- DeleteOrders (a discarded upload's orders, a chunk at a time) read
-- customs_receipts and payment_data_requests whole for each declaration
-- it deleted, and payment_data_requests again for each order: a chunk's
-- cost grew with every receipt ever stored. The indexes are partial: a
-- receipt or request that names nothing (NULL) is never looked up, and a
-- check's "declaration_id = ?" implies the index's condition. Those tables
-- are written by customs' receipts and the wallets' payment data requests,
-- never by a push or a payment.
CREATE INDEX customs_receipts_declaration ON customs_receipts (declaration_id) WHERE declaration_id IS NOT NULL;
CREATE INDEX payment_data_requests_order ON payment_data_requests (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX payment_data_requests_declaration ON payment_data_requests (declaration_id) WHERE declaration_id IS NOT NULL;
