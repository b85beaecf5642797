-- Identities (domain.IdentityStore): the accounts incidentd knows of, their
-- users and groups, the groups' members, access keys and inline
-- identity-based policies. None of it is account data: DeleteAccountData
-- keeps it. Names compare, and sort, by their bytes.
--
-- The foreign keys guard what the store's methods check before they write:
-- a user, group or key of an account that exists, a membership of a user
-- and a group that exist. A key (of the root: user_name '') and a policy
-- (of a user or a group: holder) name their owner in a way a foreign key
-- cannot follow; the store deletes them with their owner.
CREATE TABLE accounts (
    id           TEXT    NOT NULL PRIMARY KEY, -- 12 digits
    org_id       TEXT    NOT NULL,             -- '' for none
    created_time INTEGER NOT NULL              -- Unix milliseconds
) WITHOUT ROWID;

CREATE TABLE users (
    account      TEXT    NOT NULL REFERENCES accounts (id),
    name         TEXT    NOT NULL,
    created_time INTEGER NOT NULL, -- Unix milliseconds
    PRIMARY KEY (account, name)
) WITHOUT ROWID;

CREATE TABLE groups (
    account      TEXT    NOT NULL REFERENCES accounts (id),
    name         TEXT    NOT NULL,
    created_time INTEGER NOT NULL, -- Unix milliseconds
    PRIMARY KEY (account, name)
) WITHOUT ROWID;

CREATE TABLE group_members (
    account    TEXT NOT NULL,
    group_name TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    PRIMARY KEY (account, group_name, user_name),
    FOREIGN KEY (account, group_name) REFERENCES groups (account, name),
    FOREIGN KEY (account, user_name) REFERENCES users (account, name)
) WITHOUT ROWID;

-- The groups of a user (GroupsOf, UserPolicies, DeleteUser).
CREATE INDEX group_members_by_user ON group_members (account, user_name, group_name);

CREATE TABLE access_keys (
    id            TEXT    NOT NULL PRIMARY KEY, -- unique across accounts
    account       TEXT    NOT NULL REFERENCES accounts (id),
    user_name     TEXT    NOT NULL,             -- '' for the account's root
    sealed_secret BLOB    NOT NULL,             -- the secret, encrypted outside the store
    active        INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_time  INTEGER NOT NULL              -- Unix milliseconds
) WITHOUT ROWID;

-- An account's keys by user (ListAccessKeys, DeleteUser).
CREATE INDEX access_keys_by_user ON access_keys (account, user_name, id);

CREATE TABLE identity_policies (
    account      TEXT    NOT NULL,
    holder       TEXT    NOT NULL CHECK (holder IN ('user', 'group')),
    holder_name  TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    document     TEXT    NOT NULL, -- the JSON document as given
    updated_time INTEGER NOT NULL, -- Unix milliseconds
    PRIMARY KEY (account, holder, holder_name, name)
) WITHOUT ROWID;
