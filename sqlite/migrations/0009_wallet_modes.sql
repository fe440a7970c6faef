-- 0008_wallet_modes: the codes of wallet payment modes (native code_url,
-- jsapi / mini-program / app client parameters, WAP and cashier pages).
-- params holds the client parameters the wallet issued (JSON object);
-- closes marks codes whose order is closed unpaid (PAY_CANCELLED) when
-- they expire unused, which the expiry job finds through the partial
-- index.

ALTER TABLE collections ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
ALTER TABLE collections ADD COLUMN closes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX collections_closing ON collections (expires_at, id) WHERE closes = TRUE AND used_at = 0;

-- The wallet's own code of a failed payment (NOTENOUGH, AUTH_CODE_INVALID).
ALTER TABLE orders ADD COLUMN fail_code TEXT NOT NULL DEFAULT '';
