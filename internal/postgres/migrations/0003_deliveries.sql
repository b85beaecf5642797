-- Notification deliveries: one row for each notified change of an incident
-- record to each of its SNS topics, with the state of its delivery. They
-- replace the outbox, whose rows were never delivered and are not carried
-- over. The columns are those of the SQLite engine's table (its migration
-- 0010): attributes is a JSON object of strings, kept as TEXT as the
-- documents are; times are Unix milliseconds. A delivery's rows outlive
-- their incident record and their account's data.
DROP TABLE outbox;

CREATE TABLE deliveries (
    id            TEXT    COLLATE "C" NOT NULL, -- the message's id, shared by the topics of one change
    topic         TEXT    COLLATE "C" NOT NULL, -- the SNS topic's ARN
    account       TEXT    NOT NULL,
    incident_arn  TEXT    NOT NULL,
    seq           BIGINT  NOT NULL, -- the change's number among the incident's notified changes
    detail_type   TEXT    NOT NULL,
    message       BYTEA   NOT NULL,
    attributes    TEXT    NOT NULL, -- JSON object of strings
    created_at    BIGINT  NOT NULL, -- Unix milliseconds
    state         TEXT    NOT NULL, -- pending, delivered, parked
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  BIGINT  NOT NULL, -- Unix milliseconds: when a pending one is due
    last_error    TEXT    NOT NULL DEFAULT '',
    delivered_at  BIGINT,           -- Unix milliseconds
    claimed_by    TEXT    NOT NULL DEFAULT '', -- the holder of the claim, '' when none
    claimed_until BIGINT,           -- Unix milliseconds: when the claim ends, NULL when none
    PRIMARY KEY (id, topic)
);

-- The claim: the pending deliveries by when they are due ...
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE state = 'pending';
-- ... each of them only when no pending one of its incident and topic comes
-- before it.
CREATE INDEX deliveries_queue ON deliveries (account, incident_arn, topic, seq) WHERE state = 'pending';
-- Listing newest first, of all incidents or of one.
CREATE INDEX deliveries_by_time ON deliveries (created_at, id, topic);
CREATE INDEX deliveries_by_incident ON deliveries (incident_arn, created_at, id, topic);
-- The purge of the delivered ones.
CREATE INDEX deliveries_delivered ON deliveries (delivered_at) WHERE state = 'delivered';

-- The number of the last notified change of each record (NextChangeSeq).
ALTER TABLE incident_records ADD COLUMN next_change_seq BIGINT NOT NULL DEFAULT 0;
