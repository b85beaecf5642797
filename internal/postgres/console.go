package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/incidentd/incidentd/internal/domain"
)

// The web console's passwords and sessions (domain.ConsoleStore), each
// under its user, kept right with several nodes on one database by locks
// of the user's row, as the identities are (identity.go):
//
//   - CreateConsoleSession is one statement that reads the user's row …
//     FOR KEY SHARE and inserts only when it found it (insertUnder), as
//     CreateAccessKey does: DeleteUser, which locks the row FOR UPDATE
//     first, waits for it and then deletes the session, or the insert
//     finds no user (ErrNotFound);
//   - SetConsolePassword reads the user's row FOR UPDATE in the statement
//     that stores the hash: it waits for the transactions that create a
//     session of the user (FOR KEY SHARE) to end, and keeps new ones out
//     until it ends, so that the delete of the user's sessions after it
//     sees every session created before. DeleteUser waits for it as well,
//     and deletes the password it stored.
//
// Inside a Tx the delete of SetConsolePassword and DeleteConsoleSession are
// deferred (txn.go).

// SetConsolePassword implements domain.Store. The row keeps the time of
// the call as its updated_time.
func (s *Store) SetConsolePassword(ctx context.Context, account, user string, hash []byte) error {
	return s.tx(ctx, func(ctx context.Context, q querier) error {
		if err := s.insertUnder(ctx, nil, `WITH owner AS (SELECT 1 FROM users WHERE account = $1 AND name = $2 FOR UPDATE),
			ins AS (INSERT INTO console_passwords (account, user_name, hash, updated_time)
				SELECT $1, $2, $3::bytea, $4::bigint WHERE EXISTS (SELECT 1 FROM owner)
				ON CONFLICT (account, user_name) DO UPDATE SET hash = excluded.hash, updated_time = excluded.updated_time
				RETURNING 1)
			SELECT EXISTS (SELECT 1 FROM owner), EXISTS (SELECT 1 FROM ins)`,
			account, user, nonNil(hash), ms(time.Now())); err != nil {
			return err
		}
		return later(ctx, q, nil, `DELETE FROM console_sessions WHERE account = $1 AND user_name = $2`, account, user)
	})
}

// ConsolePassword implements domain.Store.
func (s *Store) ConsolePassword(ctx context.Context, account, user string) ([]byte, error) {
	defer s.startRead(ctx).stop()
	var hash []byte
	err := s.q(ctx).QueryRow(ctx, `SELECT hash FROM console_passwords WHERE account = $1 AND user_name = $2`, account, user).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.ErrNotFound
	}
	return hash, err
}

// CreateConsoleSession implements domain.Store: a missing user is
// ErrNotFound before a taken id is ErrConflict.
func (s *Store) CreateConsoleSession(ctx context.Context, cs *domain.ConsoleSession) error {
	return s.insertUnder(ctx, domain.ErrConflict, `WITH owner AS (SELECT 1 FROM users WHERE account = $2 AND name = $3 FOR KEY SHARE),
		ins AS (INSERT INTO console_sessions (`+consoleSessionColumns+`)
			SELECT $1::text, $2, $3, $4::text, $5::bigint, $6::bigint WHERE EXISTS (SELECT 1 FROM owner)
			ON CONFLICT DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM owner), EXISTS (SELECT 1 FROM ins)`,
		cs.ID, cs.Account, cs.User, cs.CSRF, ms(cs.CreatedTime), ms(cs.ExpiresTime))
}

// ConsoleSession implements domain.Store.
func (s *Store) ConsoleSession(ctx context.Context, id string) (*domain.ConsoleSession, error) {
	defer s.startRead(ctx).stop()
	return scanOne(s.q(ctx).QueryRow(ctx, `SELECT `+consoleSessionColumns+` FROM console_sessions WHERE id = $1`, id), scanConsoleSession)
}

// DeleteConsoleSession implements domain.Store.
func (s *Store) DeleteConsoleSession(ctx context.Context, id string) error {
	return s.write(ctx, func(q querier) error {
		return later(ctx, q, nil, `DELETE FROM console_sessions WHERE id = $1`, id)
	})
}

// PurgeConsoleSessions implements domain.Store: a session that expires at
// before exactly is kept.
func (s *Store) PurgeConsoleSessions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM console_sessions WHERE expires_time < $1`, ms(before))
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// consoleSessionColumns are the columns a session is read from, in
// scanConsoleSession's order.
const consoleSessionColumns = `id, account, user_name, csrf, created_time, expires_time`

// scanConsoleSession reads a row of consoleSessionColumns.
func scanConsoleSession(row pgx.Row) (*domain.ConsoleSession, error) {
	var cs domain.ConsoleSession
	var created, expires int64
	if err := row.Scan(&cs.ID, &cs.Account, &cs.User, &cs.CSRF, &created, &expires); err != nil {
		return nil, err
	}
	cs.CreatedTime, cs.ExpiresTime = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return &cs, nil
}
