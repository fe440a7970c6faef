-- 0002_rate_buckets: token buckets for rate limits that must hold across
-- every instance sharing the database (mirrors SQLite's 0003).
CREATE TABLE rate_buckets (
    bucket_key TEXT             PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,
    at         BIGINT           NOT NULL -- unix milliseconds of the last refill
);
