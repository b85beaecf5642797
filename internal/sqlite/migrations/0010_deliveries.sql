-- Notification deliveries: one row for each change to each SNS topic, with
-- its state of delivery. They replace the outbox, whose rows were never
-- delivered and are not carried over.
DROP TABLE outbox;

-- Rows are kept in the order they were written (rowid): a new delivery,
-- with its message, is appended, and only the small entry of its key
-- lands at random.
CREATE TABLE deliveries (
    id            TEXT    NOT NULL, -- the message's id, shared by the topics of one change
    topic         TEXT    NOT NULL,
    account       TEXT    NOT NULL,
    incident_arn  TEXT    NOT NULL,
    seq           INTEGER NOT NULL, -- the change's number among the incident's
    detail_type   TEXT    NOT NULL,
    message       BLOB    NOT NULL,
    attributes    TEXT    NOT NULL, -- JSON object of strings
    created_at    INTEGER NOT NULL, -- Unix milliseconds
    state         TEXT    NOT NULL, -- pending, delivered, parked
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  INTEGER NOT NULL, -- Unix milliseconds
    last_error    TEXT    NOT NULL DEFAULT '',
    delivered_at  INTEGER,          -- Unix milliseconds
    claimed_by    TEXT    NOT NULL DEFAULT '',
    claimed_until INTEGER,          -- Unix milliseconds
    queue         INTEGER NOT NULL  -- a hash of (account, incident_arn, topic): the queue it waits in
);

CREATE UNIQUE INDEX deliveries_by_id ON deliveries (id, topic);
-- The pending deliveries of an incident to a topic, in order. The queue is
-- named by a hash of 8 bytes, not by the 150 of its account, incident and
-- topic: the index is a tenth of the size, and so are the pages a change
-- writes into it. (Two queues of one hash wait for each other, which
-- delays but loses nothing.)
CREATE INDEX deliveries_queue ON deliveries (queue, seq) WHERE state = 'pending';
-- The pending deliveries by when they are due.
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE state = 'pending';
-- The delivered ones by when, for their purge. (Listing, for the
-- notifications command, sorts what it selects: no index on the write path
-- serves it.)
CREATE INDEX deliveries_delivered ON deliveries (delivered_at) WHERE state = 'delivered';

-- The number of the last notified change of each record.
ALTER TABLE incident_records ADD COLUMN next_change_seq INTEGER NOT NULL DEFAULT 0;
