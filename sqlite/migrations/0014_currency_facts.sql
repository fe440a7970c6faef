-- 0013_currency_facts: the currency facts of a payment in another currency
-- than CNY, recorded once when it succeeds: the rate (CNY per unit, exact
-- decimal text), the CNY the payer paid (fen) and the settlement rate.
-- Empty/0 for CNY orders.
ALTER TABLE orders ADD COLUMN exchange_rate TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN pay_cny INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN settle_rate TEXT NOT NULL DEFAULT '';

-- The operator's rates to CNY (baoguan rate set), which win over the
-- rate source of the adapters.
CREATE TABLE rates (
    currency   TEXT    PRIMARY KEY,
    rate       TEXT    NOT NULL, -- exact decimal, CNY per unit
    updated_at INTEGER NOT NULL
);
