-- 0003_rate_buckets: token buckets for rate limits that must hold across
-- every instance sharing the database.
CREATE TABLE rate_buckets (
    bucket_key TEXT    PRIMARY KEY,
    tokens     REAL    NOT NULL,
    at         INTEGER NOT NULL -- unix milliseconds of the last refill
);
