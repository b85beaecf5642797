-- Resource policies: IAM policies that share a response plan, and its
-- incidents, with other accounts. doc holds the policy as sent and parsed;
-- seq orders a plan's policies as they were added.
CREATE TABLE resource_policies (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    account      TEXT    NOT NULL,
    plan_name    TEXT    NOT NULL,
    policy_id    TEXT    NOT NULL,
    created_time INTEGER NOT NULL, -- Unix milliseconds
    doc          TEXT    NOT NULL
);

CREATE UNIQUE INDEX resource_policies_by_id ON resource_policies (account, plan_name, policy_id);
CREATE INDEX resource_policies_by_seq ON resource_policies (account, plan_name, seq);
