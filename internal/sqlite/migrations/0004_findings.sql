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

-- The window query of an incident reads two short ranges, not an account's
-- whole history: the changes that ended inside or after the window (by
-- end time), and those still in progress (few at any time).
CREATE INDEX findings_ended ON findings (account, end_time) WHERE end_time IS NOT NULL;
CREATE INDEX findings_in_progress ON findings (account, start_time, id) WHERE end_time IS NULL;
