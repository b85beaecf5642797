-- Leases: which process runs a background job, so that several processes
-- on one database run it once.
CREATE TABLE leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL -- Unix milliseconds
) WITHOUT ROWID;
