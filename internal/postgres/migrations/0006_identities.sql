-- Identities (domain.IdentityStore): the tables of the SQLite engine's
-- migration 0013, in PostgreSQL types (times Unix milliseconds, BIGINT;
-- the sealed secret BYTEA; active 0 or 1, INTEGER, as SQLite keeps it).
-- Names and ids compare, and sort, by their bytes: COLLATE "C". None of it
-- is account data: DeleteAccountData keeps it.
--
-- The foreign keys guard what the store's methods check, under a lock,
-- before they write (see identity.go): a user, group or key of an account
-- that exists, a membership of a user and a group that exist. A key (of
-- the root: user_name '') and a policy (of a user or a group: holder) name
-- their owner in a way a foreign key cannot follow; the store deletes them
-- with their owner.
CREATE TABLE accounts (
    id           TEXT   COLLATE "C" NOT NULL PRIMARY KEY, -- 12 digits
    org_id       TEXT   NOT NULL,                         -- '' for none
    created_time BIGINT NOT NULL                          -- Unix milliseconds
);

CREATE TABLE users (
    account      TEXT   COLLATE "C" NOT NULL REFERENCES accounts (id),
    name         TEXT   COLLATE "C" NOT NULL,
    created_time BIGINT NOT NULL, -- Unix milliseconds
    PRIMARY KEY (account, name)
);

CREATE TABLE groups (
    account      TEXT   COLLATE "C" NOT NULL REFERENCES accounts (id),
    name         TEXT   COLLATE "C" NOT NULL,
    created_time BIGINT NOT NULL, -- Unix milliseconds
    PRIMARY KEY (account, name)
);

CREATE TABLE group_members (
    account    TEXT COLLATE "C" NOT NULL,
    group_name TEXT COLLATE "C" NOT NULL,
    user_name  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account, group_name, user_name),
    FOREIGN KEY (account, group_name) REFERENCES groups (account, name),
    FOREIGN KEY (account, user_name) REFERENCES users (account, name)
);

-- The groups of a user (GroupsOf, UserPolicies, DeleteUser).
CREATE INDEX group_members_by_user ON group_members (account, user_name, group_name);

CREATE TABLE access_keys (
    id            TEXT    COLLATE "C" NOT NULL PRIMARY KEY, -- unique across accounts
    account       TEXT    COLLATE "C" NOT NULL REFERENCES accounts (id),
    user_name     TEXT    COLLATE "C" NOT NULL,             -- '' for the account's root
    sealed_secret BYTEA   NOT NULL,                         -- the secret, encrypted outside the store
    active        INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_time  BIGINT  NOT NULL                          -- Unix milliseconds
);

-- An account's keys by user (ListAccessKeys, DeleteUser).
CREATE INDEX access_keys_by_user ON access_keys (account, user_name, id);

CREATE TABLE identity_policies (
    account      TEXT   COLLATE "C" NOT NULL,
    holder       TEXT   COLLATE "C" NOT NULL CHECK (holder IN ('user', 'group')),
    holder_name  TEXT   COLLATE "C" NOT NULL,
    name         TEXT   COLLATE "C" NOT NULL,
    document     TEXT   NOT NULL, -- the JSON document as given
    updated_time BIGINT NOT NULL, -- Unix milliseconds
    PRIMARY KEY (account, holder, holder_name, name)
);
