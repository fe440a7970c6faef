-- 0012_retention: records that may be deleted once they expire. An
-- idempotency record with expires_at > 0 (an Idempotency-Key's saved answer,
-- a signed request's nonce) is purged after that time; natural keys (order,
-- refund, batch and push numbers) have 0 and are kept with the history.
ALTER TABLE idempotency ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE idempotency SET expires_at = created_at + 86400000 WHERE idem_key LIKE 'idem:%' OR idem_key LIKE 'wxnonce:%';
CREATE INDEX idempotency_expires ON idempotency (expires_at) WHERE expires_at > 0;
