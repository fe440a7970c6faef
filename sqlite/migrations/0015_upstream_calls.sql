-- 0015_upstream_calls: every call baoguan makes to an upstream service on a
-- merchant's behalf (a wallet's customs API, E-Port, a signing service),
-- kept per declaration for operators and merchants. Messages are masked
-- before they are stored: no secrets, no clear ID numbers.
CREATE TABLE upstream_calls (
    id             INTEGER PRIMARY KEY,
    merchant_id    INTEGER NOT NULL REFERENCES merchants (id),
    order_id       INTEGER NOT NULL REFERENCES orders (id),
    declaration_id INTEGER REFERENCES declarations (id), -- NULL: no one declaration
    at             INTEGER NOT NULL,
    service        TEXT    NOT NULL,
    operation      TEXT    NOT NULL,
    http_status    INTEGER NOT NULL,
    latency_ms     INTEGER NOT NULL,
    code           TEXT    NOT NULL,
    message        TEXT    NOT NULL,
    attempt        INTEGER NOT NULL,
    outcome        TEXT    NOT NULL
);
CREATE INDEX upstream_calls_declaration ON upstream_calls (declaration_id, id);
CREATE INDEX upstream_calls_order ON upstream_calls (order_id, id);
CREATE INDEX upstream_calls_merchant ON upstream_calls (merchant_id, id);
