-- 0004_console: console accounts and sessions, retired merchant keys kept
-- for a grace period, and indexes for the dashboard figures.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    merchant_id   INTEGER NOT NULL,
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY, -- SHA-256 of the cookie token
    user_id    INTEGER NOT NULL REFERENCES users (id),
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE retired_keys (
    id          INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    kind        TEXT    NOT NULL,
    secret      TEXT    NOT NULL, -- hash for checked secrets, sealed for signing ones
    lookup      TEXT    NOT NULL, -- the hash again for checked secrets, '' otherwise
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX retired_keys_merchant ON retired_keys (merchant_id, kind);
CREATE INDEX retired_keys_lookup ON retired_keys (kind, lookup);

CREATE INDEX orders_merchant_created ON orders (merchant_id, created_at);
CREATE INDEX declarations_merchant_created ON declarations (merchant_id, created_at);
