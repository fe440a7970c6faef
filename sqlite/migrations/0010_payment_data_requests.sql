-- 0010_payment_data_requests: customs' requests for the raw data of a
-- payment (GACC announcement 2018 No. 179), one per session, with the
-- outcome of the upload that answers it. No personal data: the data itself
-- is built from the order when it is uploaded.
CREATE TABLE payment_data_requests (
    id             INTEGER PRIMARY KEY,
    service        TEXT    NOT NULL,
    session_id     TEXT    NOT NULL,
    order_no       TEXT    NOT NULL,
    merchant_no    TEXT    NOT NULL,
    merchant_id    INTEGER REFERENCES merchants (id),    -- NULL when no order has the number
    order_id       INTEGER REFERENCES orders (id),
    declaration_id INTEGER REFERENCES declarations (id),
    service_time   INTEGER NOT NULL,
    state          TEXT    NOT NULL,
    code           TEXT    NOT NULL,
    message        TEXT    NOT NULL,
    attempts       INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX payment_data_requests_session ON payment_data_requests (service, session_id);
-- Customs asks by number, across merchants: orders are found merchant by
-- merchant through orders_merchant_no; sub-orders (split declarations only,
-- so the index stays small) through this one.
CREATE INDEX declarations_sub_order_no ON declarations (sub_order_no) WHERE sub_order_no <> '';
