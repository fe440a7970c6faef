-- 0012_currency_facts: mirrors SQLite's 0013. The currency facts of a
-- payment in another currency than CNY, and the operator's rates to CNY.
ALTER TABLE orders ADD COLUMN exchange_rate TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN pay_cny BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN settle_rate TEXT NOT NULL DEFAULT '';

CREATE TABLE rates (
    currency   TEXT   PRIMARY KEY,
    rate       TEXT   NOT NULL, -- exact decimal, CNY per unit
    updated_at BIGINT NOT NULL
);
