-- 0007_routes: the customs port adapter that carries each declaration
-- (mirrors SQLite's 0008).
ALTER TABLE declarations ADD COLUMN route TEXT NOT NULL DEFAULT '';
UPDATE declarations SET route = 'sandbox'
    WHERE order_id IN (SELECT id FROM orders WHERE sandbox);
