-- The web console (domain.ConsoleStore): the tables of the SQLite engine's
-- migration 0014, in PostgreSQL types (times Unix milliseconds, BIGINT;
-- the hash BYTEA). Names and ids compare by their bytes: COLLATE "C". Both
-- belong to a user: the foreign keys guard what the store checks, under a
-- lock of the user's row, before it writes (see console.go), and
-- DeleteUser deletes them with the user. None of it is account data:
-- DeleteAccountData keeps it.
CREATE TABLE console_passwords (
    account      TEXT   COLLATE "C" NOT NULL,
    user_name    TEXT   COLLATE "C" NOT NULL,
    hash         BYTEA  NOT NULL, -- the password's hash, as the console made it
    updated_time BIGINT NOT NULL, -- Unix milliseconds
    PRIMARY KEY (account, user_name),
    FOREIGN KEY (account, user_name) REFERENCES users (account, name)
);

CREATE TABLE console_sessions (
    id           TEXT   COLLATE "C" NOT NULL PRIMARY KEY, -- hex SHA-256 of the session's token
    account      TEXT   COLLATE "C" NOT NULL,
    user_name    TEXT   COLLATE "C" NOT NULL,
    csrf         TEXT   NOT NULL,
    created_time BIGINT NOT NULL, -- Unix milliseconds
    expires_time BIGINT NOT NULL, -- Unix milliseconds
    FOREIGN KEY (account, user_name) REFERENCES users (account, name)
);

-- The sessions of a user (SetConsolePassword, DeleteUser).
CREATE INDEX console_sessions_by_user ON console_sessions (account, user_name);

-- The sessions by expiry (PurgeConsoleSessions).
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_time);
