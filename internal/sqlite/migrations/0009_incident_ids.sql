-- Incident records get an integer id (the table's rowid), so that their
-- indexes and their timeline events name a record by 8 bytes instead of by
-- its account and ARN (about 100 bytes). A list ordered by creation time
-- and ARN walks an index on creation time and sorts only records created
-- in the same millisecond.
CREATE TABLE incident_records_new (
    id            INTEGER PRIMARY KEY,
    account       TEXT    NOT NULL,
    arn           TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    impact        INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    creation_time INTEGER NOT NULL, -- Unix milliseconds
    dedupe_string TEXT    NOT NULL,
    doc           TEXT    NOT NULL,
    next_item_seq INTEGER NOT NULL DEFAULT 0
);
INSERT INTO incident_records_new (account, arn, status, impact, created_by, creation_time, dedupe_string, doc, next_item_seq)
    SELECT account, arn, status, impact, created_by, creation_time, dedupe_string, doc, next_item_seq
    FROM incident_records;
-- Before the events are copied, which find their record by it.
CREATE UNIQUE INDEX incident_records_by_arn ON incident_records_new (account, arn);

-- seq orders events of the same eventTime as they were written; incident
-- is the id of the event's record.
CREATE TABLE timeline_events_new (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    incident   INTEGER NOT NULL,
    event_id   TEXT    NOT NULL,
    event_time INTEGER NOT NULL, -- Unix milliseconds
    event_type TEXT    NOT NULL,
    doc        TEXT    NOT NULL
);
INSERT INTO timeline_events_new (seq, incident, event_id, event_time, event_type, doc)
    SELECT e.seq, r.id, e.event_id, e.event_time, e.event_type, e.doc
    FROM timeline_events e JOIN incident_records_new r ON r.account = e.account AND r.arn = e.incident_arn
    ORDER BY e.seq;
-- Sequence numbers once handed out stay used.
DELETE FROM sqlite_sequence WHERE name = 'timeline_events_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'timeline_events_new', seq FROM sqlite_sequence WHERE name = 'timeline_events';

DROP TABLE incident_records;
DROP TABLE timeline_events;
ALTER TABLE incident_records_new RENAME TO incident_records;
ALTER TABLE timeline_events_new RENAME TO timeline_events;

CREATE INDEX incident_records_by_time           ON incident_records (account, creation_time);
CREATE INDEX incident_records_by_status         ON incident_records (account, status, creation_time);
CREATE INDEX incident_records_by_created_by     ON incident_records (account, created_by, creation_time);
CREATE INDEX incident_records_open_dedupe       ON incident_records (account, dedupe_string, creation_time) WHERE status = 'OPEN';

-- Event ids are time-ordered UUIDs (version 7): this index grows at its end.
CREATE UNIQUE INDEX timeline_events_by_id ON timeline_events (event_id);
CREATE INDEX timeline_events_by_time      ON timeline_events (incident, event_time, seq);
