-- 0007_customs_receipts: receipts that asynchronous customs ports (the
-- E-Port receipt folder) receive on their own, and the reference of every
-- declaration attempt made through such a port, so that a receipt finds
-- its declaration whichever attempt it answers. Receipts hold no personal
-- data (a CEB412 names a guid, codes and a reason).
CREATE TABLE declaration_refs (
    port           TEXT    NOT NULL,
    ref            TEXT    NOT NULL,
    merchant_id    INTEGER NOT NULL REFERENCES merchants (id),
    declaration_id INTEGER NOT NULL REFERENCES declarations (id),
    attempt        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (port, ref)
);
CREATE INDEX declaration_refs_declaration ON declaration_refs (declaration_id);

CREATE TABLE customs_receipts (
    id             INTEGER PRIMARY KEY,
    port           TEXT    NOT NULL,
    ref            TEXT    NOT NULL,
    merchant_id    INTEGER REFERENCES merchants (id),    -- NULL: no declaration recorded ref when it came
    declaration_id INTEGER REFERENCES declarations (id), -- NULL likewise
    status         TEXT    NOT NULL,
    info           TEXT    NOT NULL,
    return_time    INTEGER NOT NULL, -- 0 when the receipt's time was unreadable
    raw            TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    received_at    INTEGER NOT NULL
);
-- The same receipt read twice (a file read again after a crash) is one row.
CREATE UNIQUE INDEX customs_receipts_once ON customs_receipts (port, ref, status, return_time);
CREATE INDEX customs_receipts_unlinked ON customs_receipts (id) WHERE declaration_id IS NULL;
