-- The web console (domain.ConsoleStore): the hash of each user's console
-- password and the signed-in sessions, kept in the database so that every
-- node serves every session. Both belong to a user: the foreign keys guard
-- what the store checks before it writes, and DeleteUser deletes them with
-- the user. None of it is account data: DeleteAccountData keeps it.
CREATE TABLE console_passwords (
    account      TEXT    NOT NULL,
    user_name    TEXT    NOT NULL,
    hash         BLOB    NOT NULL, -- the password's hash, as the console made it
    updated_time INTEGER NOT NULL, -- Unix milliseconds
    PRIMARY KEY (account, user_name),
    FOREIGN KEY (account, user_name) REFERENCES users (account, name)
) WITHOUT ROWID;

CREATE TABLE console_sessions (
    id           TEXT    NOT NULL PRIMARY KEY, -- hex SHA-256 of the session's token
    account      TEXT    NOT NULL,
    user_name    TEXT    NOT NULL,
    csrf         TEXT    NOT NULL,
    created_time INTEGER NOT NULL, -- Unix milliseconds
    expires_time INTEGER NOT NULL, -- Unix milliseconds
    FOREIGN KEY (account, user_name) REFERENCES users (account, name)
) WITHOUT ROWID;

-- The sessions of a user (SetConsolePassword, DeleteUser).
CREATE INDEX console_sessions_by_user ON console_sessions (account, user_name);

-- The sessions by expiry (PurgeConsoleSessions).
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_time);
