-- 0016_batch_loading: batches are stored in chunks (core.CreateBatch). While
-- loading_until > 0 the batch is loading: that is its loader's lease, loaded
-- counts the uploaded orders stored so far, and fingerprint (of the uploaded
-- orders) lets a repeat of the upload find and finish it. A loading batch's
-- orders are hidden from lookups and lists.
ALTER TABLE batches ADD COLUMN loading_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN loaded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
CREATE INDEX batches_loading ON batches (merchant_id, fingerprint) WHERE loading_until > 0;
