-- 0004_cards_collections: the state of card and collect payments, which
-- until now lived as sealed JSON under settings keys that could be neither
-- listed nor deleted: a merchant's funding cards, quick-pay card
-- agreements, the SMS codes sent to payers, the codes payers pay by (QR
-- codes) and the real-name checks kept for operators. Columns marked
-- "sealed" hold keyring output, never plaintext.

-- A merchant's funding set-up: the row says cards were recorded (an empty
-- list included); the cards are funding_cards, in the order given.
CREATE TABLE funding_accounts (
    merchant_id INTEGER PRIMARY KEY REFERENCES merchants (id),
    updated_at  INTEGER NOT NULL
);
CREATE TABLE funding_cards (
    merchant_id INTEGER NOT NULL REFERENCES funding_accounts (merchant_id),
    position    INTEGER NOT NULL,
    bank_code   TEXT    NOT NULL,
    acct_name   TEXT    NOT NULL,
    acct_no     TEXT    NOT NULL, -- sealed
    signed      INTEGER NOT NULL,
    balance     INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, position)
);

CREATE TABLE card_agreements (
    id           INTEGER PRIMARY KEY,
    merchant_id  INTEGER NOT NULL REFERENCES merchants (id),
    request_id   TEXT    NOT NULL,
    agree_id     TEXT    NOT NULL, -- '' until confirmed
    acct_name    TEXT    NOT NULL,
    acct_no      TEXT    NOT NULL, -- sealed
    acct_type    TEXT    NOT NULL,
    bank_code    TEXT    NOT NULL,
    id_no        TEXT    NOT NULL, -- sealed
    mobile       TEXT    NOT NULL, -- sealed
    valid_date   TEXT    NOT NULL, -- sealed
    psp          TEXT    NOT NULL,
    applied_at   INTEGER NOT NULL,
    confirmed_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX card_agreements_request ON card_agreements (merchant_id, request_id);
CREATE UNIQUE INDEX card_agreements_agree_id ON card_agreements (merchant_id, agree_id) WHERE agree_id <> '';

-- One row per (merchant, purpose, ref): a new code replaces the last one.
CREATE TABLE sms_challenges (
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    purpose     TEXT    NOT NULL, -- bind (ref: request id) or pay (ref: order number)
    ref         TEXT    NOT NULL,
    agree_id    TEXT    NOT NULL,
    sent_at     INTEGER NOT NULL,
    burnt       INTEGER NOT NULL,
    used_at     INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, purpose, ref)
);

CREATE TABLE collections (
    id          INTEGER PRIMARY KEY,
    token       TEXT    NOT NULL,
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    order_no    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    psp         TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX collections_token ON collections (token);
CREATE INDEX collections_order ON collections (order_id);

CREATE TABLE realname_checks (
    id          INTEGER PRIMARY KEY,
    check_id    TEXT    NOT NULL,
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    name        TEXT    NOT NULL,
    id_no       TEXT    NOT NULL, -- sealed
    birth       TEXT    NOT NULL,
    sex         TEXT    NOT NULL,
    addr        TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    checked_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX realname_checks_check_id ON realname_checks (check_id);
CREATE INDEX realname_checks_merchant ON realname_checks (merchant_id);
