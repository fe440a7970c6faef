-- 0007_wallet_modes: mirrors SQLite's 0008. params holds the client
-- parameters a wallet issued for a code (JSON object); closes marks codes
-- whose order is closed unpaid when they expire unused.

ALTER TABLE collections ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
ALTER TABLE collections ADD COLUMN closes BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX collections_closing ON collections (expires_at, id) WHERE closes = TRUE AND used_at = 0;

-- The wallet's own code of a failed payment (NOTENOUGH, AUTH_CODE_INVALID).
ALTER TABLE orders ADD COLUMN fail_code TEXT NOT NULL DEFAULT '';
