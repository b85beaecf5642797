-- Named counters of an account (Store.NextSeq): the numbers of the
-- API-call events of each resource. They are never reset, not even when
-- the account's data is deleted: a resource of a name used again goes on
-- from the number it had.
CREATE TABLE sequences (
    account TEXT    NOT NULL,
    name    TEXT    NOT NULL,
    value   INTEGER NOT NULL,
    PRIMARY KEY (account, name)
) WITHOUT ROWID;
