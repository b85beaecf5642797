-- Incident records, their timelines and related items, clientToken
-- idempotency, and the notification outbox.
CREATE TABLE incident_records (
    account       TEXT    NOT NULL,
    arn           TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    impact        INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    creation_time INTEGER NOT NULL, -- Unix milliseconds
    dedupe_string TEXT    NOT NULL,
    doc           TEXT    NOT NULL,
    PRIMARY KEY (account, arn)
) WITHOUT ROWID;

CREATE INDEX incident_records_by_time       ON incident_records (account, creation_time, arn);
CREATE INDEX incident_records_by_status     ON incident_records (account, status, creation_time, arn);
CREATE INDEX incident_records_by_impact     ON incident_records (account, impact, creation_time, arn);
CREATE INDEX incident_records_by_created_by ON incident_records (account, created_by, creation_time, arn);
CREATE INDEX incident_records_by_status_impact ON incident_records (account, status, impact, creation_time, arn);
CREATE INDEX incident_records_open_dedupe   ON incident_records (account, dedupe_string, creation_time, arn) WHERE status = 'OPEN';

-- seq orders events of the same eventTime as they were written.
CREATE TABLE timeline_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    account      TEXT    NOT NULL,
    incident_arn TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    event_time   INTEGER NOT NULL, -- Unix milliseconds
    event_type   TEXT    NOT NULL,
    doc          TEXT    NOT NULL
);

-- Event ids are time-ordered UUIDs (version 7): this index grows at its end.
CREATE UNIQUE INDEX timeline_events_by_id ON timeline_events (event_id);
CREATE INDEX timeline_events_by_time ON timeline_events (account, incident_arn, event_time, seq);

CREATE TABLE related_items (
    account      TEXT    NOT NULL,
    incident_arn TEXT    NOT NULL,
    generated_id TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    doc          TEXT    NOT NULL,
    PRIMARY KEY (account, incident_arn, generated_id)
) WITHOUT ROWID;

CREATE TABLE idempotency_records (
    account      TEXT    NOT NULL,
    operation    TEXT    NOT NULL,
    token        TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    result       BLOB    NOT NULL,
    created_at   INTEGER NOT NULL, -- Unix milliseconds
    PRIMARY KEY (account, operation, token)
) WITHOUT ROWID;

-- Lets the hourly purge of expired tokens find them without a scan.
CREATE INDEX idempotency_records_by_age ON idempotency_records (created_at);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account      TEXT    NOT NULL,
    incident_arn TEXT    NOT NULL,
    detail_type  TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    created_at   INTEGER NOT NULL, -- Unix milliseconds
    delivered_at INTEGER
);

CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at IS NULL;
