-- 0001_init: the whole first schema.
--
-- Conventions, kept portable so a PostgreSQL schema can mirror this one
-- column for column: INTEGER/TEXT/BLOB only, times as INTEGER unix
-- milliseconds UTC (0 = unset), booleans as INTEGER 0/1, structured values
-- (order items, extras, settings) as JSON text. Columns marked "sealed" hold
-- keyring output, never plaintext. Optional natural keys use partial unique
-- indexes (WHERE col <> '') so empty values do not collide.

CREATE TABLE merchants (
    id              INTEGER PRIMARY KEY,
    merchant_no     TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    mode            TEXT    NOT NULL,
    ebp_code        TEXT    NOT NULL,
    ebp_name        TEXT    NOT NULL,
    notify_url      TEXT    NOT NULL,
    api_key_hash    TEXT    NOT NULL,
    app_id          TEXT    NOT NULL,
    app_key_hash    TEXT    NOT NULL,
    sign_token      TEXT    NOT NULL, -- sealed
    webhook_secret  TEXT    NOT NULL, -- sealed
    funding_balance INTEGER NOT NULL,
    settings        TEXT    NOT NULL, -- JSON object
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX merchants_no ON merchants (merchant_no) WHERE merchant_no <> '';
CREATE UNIQUE INDEX merchants_name ON merchants (name) WHERE name <> '';
CREATE UNIQUE INDEX merchants_api_key_hash ON merchants (api_key_hash) WHERE api_key_hash <> '';
CREATE UNIQUE INDEX merchants_app_id ON merchants (app_id) WHERE app_id <> '';

CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    batch_no    TEXT    NOT NULL,
    total       INTEGER NOT NULL,
    amount      INTEGER NOT NULL,
    pay_calls   INTEGER NOT NULL,
    protocol    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX batches_merchant ON batches (merchant_id);

CREATE TABLE orders (
    id                INTEGER PRIMARY KEY,
    merchant_id       INTEGER NOT NULL REFERENCES merchants (id),
    merchant_order_no TEXT    NOT NULL,
    amount            INTEGER NOT NULL,
    currency          TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    items             TEXT    NOT NULL, -- JSON array of baoguan.Item
    payer_name        TEXT    NOT NULL,
    payer_id_type     TEXT    NOT NULL,
    payer_id_number   TEXT    NOT NULL, -- sealed
    payer_phone       TEXT    NOT NULL, -- sealed
    ordered_at        INTEGER NOT NULL,
    batch_id          INTEGER NOT NULL, -- 0: not in a batch
    notify_url        TEXT    NOT NULL,
    need_declare      INTEGER NOT NULL,
    channel           TEXT    NOT NULL,
    sandbox           INTEGER NOT NULL,
    protocol          TEXT    NOT NULL,
    capital_name      TEXT    NOT NULL,
    extra             TEXT    NOT NULL, -- JSON object
    pay_status        TEXT    NOT NULL,
    declare_status    TEXT    NOT NULL,
    payment_no        TEXT    NOT NULL,
    psp               TEXT    NOT NULL,
    psp_name          TEXT    NOT NULL,
    psp_code          TEXT    NOT NULL,
    paid_at           INTEGER NOT NULL,
    ver_dept          TEXT    NOT NULL,
    pay_type          TEXT    NOT NULL,
    init_request      TEXT    NOT NULL,
    init_response     TEXT    NOT NULL,
    fail_reason       TEXT    NOT NULL,
    paid_by_name      TEXT    NOT NULL,
    paid_by_id        TEXT    NOT NULL, -- sealed
    pay_attempts      INTEGER NOT NULL,
    refunded          INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX orders_merchant_no ON orders (merchant_id, merchant_order_no);
-- (merchant_id) alone: SQLite appends the rowid, so this also serves
-- merchant-scoped keyset paging in id order.
CREATE INDEX orders_merchant ON orders (merchant_id);
CREATE INDEX orders_payment_no ON orders (merchant_id, payment_no);
CREATE INDEX orders_batch ON orders (batch_id);

CREATE TABLE declarations (
    id                         INTEGER PRIMARY KEY,
    order_id                   INTEGER NOT NULL REFERENCES orders (id),
    merchant_id                INTEGER NOT NULL,
    customs                    TEXT    NOT NULL,
    port                       TEXT    NOT NULL,
    extras                     TEXT    NOT NULL, -- JSON of baoguan.CustomsExtras
    sub_order_no               TEXT    NOT NULL,
    sub_order_id               TEXT    NOT NULL,
    merchant_customs_no        TEXT    NOT NULL,
    order_fee                  INTEGER NOT NULL,
    transport_fee              INTEGER NOT NULL,
    product_fee                INTEGER NOT NULL,
    duty                       INTEGER NOT NULL,
    strategy                   TEXT    NOT NULL,
    identity_check             TEXT    NOT NULL,
    payer_name                 TEXT    NOT NULL,
    payer_id_type              TEXT    NOT NULL,
    payer_id_number            TEXT    NOT NULL, -- sealed
    payer_phone                TEXT    NOT NULL, -- sealed
    state                      TEXT    NOT NULL,
    retrying                   INTEGER NOT NULL,
    explanation                TEXT    NOT NULL,
    verify_department          TEXT    NOT NULL,
    verify_department_trade_id TEXT    NOT NULL,
    receipt_code               TEXT    NOT NULL,
    port_ref                   TEXT    NOT NULL,
    attempts                   INTEGER NOT NULL,
    submitted_at               INTEGER NOT NULL,
    modified_at                INTEGER NOT NULL,
    created_at                 INTEGER NOT NULL,
    version                    INTEGER NOT NULL
);
CREATE UNIQUE INDEX declarations_target ON declarations (order_id, customs, sub_order_no);

CREATE TABLE refunds (
    id                 INTEGER PRIMARY KEY,
    merchant_id        INTEGER NOT NULL,
    order_id           INTEGER NOT NULL REFERENCES orders (id),
    merchant_order_no  TEXT    NOT NULL,
    merchant_refund_no TEXT    NOT NULL,
    amount             INTEGER NOT NULL,
    reason             TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    fail_reason        TEXT    NOT NULL,
    refund_no          TEXT    NOT NULL,
    protocol           TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    version            INTEGER NOT NULL
);
CREATE UNIQUE INDEX refunds_merchant_no ON refunds (merchant_id, merchant_refund_no);
CREATE INDEX refunds_order ON refunds (order_id);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    public_id    TEXT    NOT NULL,
    merchant_id  INTEGER NOT NULL REFERENCES merchants (id),
    order_id     INTEGER NOT NULL,
    type         TEXT    NOT NULL,
    protocol     TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    body         BLOB    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_public_id ON events (public_id);
CREATE INDEX events_merchant ON events (merchant_id);
CREATE INDEX events_order ON events (order_id);

CREATE TABLE attempts (
    id         INTEGER PRIMARY KEY,
    event_id   INTEGER NOT NULL REFERENCES events (id),
    at         INTEGER NOT NULL,
    status     INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    error      TEXT    NOT NULL,
    response   TEXT    NOT NULL
);
CREATE INDEX attempts_event ON attempts (event_id);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    dedupe_key   TEXT    NOT NULL,
    ref_id       INTEGER NOT NULL,
    merchant_id  INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL, -- claims so far; doubles as the lease token
    max_attempts INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,
    lease_until  INTEGER NOT NULL,
    last_error   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE dedupe_key <> '';
-- Claim walks this index in (run_at, id) order for each state.
CREATE INDEX jobs_due ON jobs (state, run_at);

CREATE TABLE idempotency (
    merchant_id  INTEGER NOT NULL,
    idem_key     TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, idem_key)
);
