-- Leases: which node runs a background job, so that several nodes on one
-- database run it once.
CREATE TABLE leases (
    name       TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL -- Unix milliseconds
);
