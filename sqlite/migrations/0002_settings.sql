-- 0002_settings: installation-wide settings such as the platform signing
-- keys of the vendor protocols. Values are sealed.
CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL, -- sealed
    updated_at INTEGER NOT NULL
);
