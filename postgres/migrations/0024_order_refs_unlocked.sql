-- 0024_order_refs_unlocked: orders name their merchant, and declarations
-- their order, without a foreign key, as events their merchant
-- (0023_unlocked_refs). The keys' checks read the row they name FOR KEY
-- SHARE at every insert: every push locked its merchant's one row, from
-- all the writers at once (multixacts), and its declarations the order
-- the same statement had just inserted, a check that could never fail.
-- The store checks instead (sqlstore Dialect.CheckedRefs): an order's
-- insert reads its merchant, without a lock, in the statement (a batch's
-- orders once for the call, after the insert); a push's declarations
-- take the id of the order the statement inserts; a single declaration's
-- insert reads its order FOR KEY SHARE in the statement, and a batch's
-- declarations theirs once for the call, after the insert. A missing
-- merchant or order is ENOTFOUND, as before, and the call failed is not
-- committed. Merchants are never deleted; the one deletion of orders
-- (DeleteOrders, a discarded upload's) locks them FOR UPDATE before it
-- deletes their declarations, so no declaration outlives its order.
ALTER TABLE orders DROP CONSTRAINT orders_merchant_id_fkey;
ALTER TABLE declarations DROP CONSTRAINT declarations_order_id_fkey;
