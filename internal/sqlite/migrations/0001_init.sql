-- Replication sets (one per account), response plans and tags.
CREATE TABLE replication_sets (
    account TEXT PRIMARY KEY,
    arn     TEXT NOT NULL UNIQUE,
    doc     TEXT NOT NULL
);

CREATE TABLE response_plans (
    account TEXT NOT NULL,
    name    TEXT NOT NULL,
    doc     TEXT NOT NULL,
    PRIMARY KEY (account, name)
);

CREATE TABLE tags (
    account      TEXT NOT NULL,
    resource_arn TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (account, resource_arn, key)
);

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
