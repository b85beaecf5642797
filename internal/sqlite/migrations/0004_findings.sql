-- Findings: changes (CodeDeploy deployments, CloudFormation stack updates)
-- recorded per account, matched to incidents by time.
CREATE TABLE findings (
    account    TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    start_time INTEGER NOT NULL, -- Unix milliseconds
    end_time   INTEGER,          -- Unix milliseconds; NULL while in progress
    doc        TEXT    NOT NULL,
    PRIMARY KEY (account, id)
) WITHOUT ROWID;

-- The window query: an account's findings that start before the window
-- ends, in list order (start_time, id); end_time is checked from the index.
CREATE INDEX findings_by_start ON findings (account, start_time, id, end_time);
