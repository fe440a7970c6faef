-- 0008_routes: the customs port adapter that carries each declaration,
-- chosen when the declaration is created and kept for its retries, polls
-- and re-declarations. Until now every declaration went to the sandbox.
ALTER TABLE declarations ADD COLUMN route TEXT NOT NULL DEFAULT '';
UPDATE declarations SET route = 'sandbox'
    WHERE order_id IN (SELECT id FROM orders WHERE sandbox = 1);
