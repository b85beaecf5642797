package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// The web console's passwords and sessions (domain.ConsoleStore), each
// under its user. As for the identities (identity.go), the one writer runs
// one transaction at a time, so the check that the user exists still holds
// when the write after it runs, and a session created by a transaction
// still open when the user's password is set is deleted with the others:
// the foreign keys of the schema (migration 0014) only guard it. DeleteUser
// deletes the user's password and sessions.

// SetConsolePassword implements domain.Store: the hash is stored, or
// replaces the user's earlier one, and the user's sessions are deleted, in
// a savepoint of its own. The row keeps the time of the call as its
// updated_time.
func (s *Store) SetConsolePassword(ctx context.Context, account, user string, hash []byte) error {
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM users WHERE account = ? AND name = ?`, account, user); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO console_passwords (account, user_name, hash, updated_time) VALUES (?, ?, ?, ?)
			ON CONFLICT (account, user_name) DO UPDATE SET hash = excluded.hash, updated_time = excluded.updated_time`,
			account, user, nonNil(hash), ms(time.Now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE account = ? AND user_name = ?`, account, user)
		return err
	})
}

// ConsolePassword implements domain.Store.
func (s *Store) ConsolePassword(ctx context.Context, account, user string) ([]byte, error) {
	defer startRead(ctx).stop()
	var hash []byte
	err := s.q(ctx).QueryRowContext(ctx, `SELECT hash FROM console_passwords WHERE account = ? AND user_name = ?`, account, user).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.ErrNotFound
	}
	return hash, err
}

// CreateConsoleSession implements domain.Store: a missing user is
// ErrNotFound before a taken id is ErrConflict.
func (s *Store) CreateConsoleSession(ctx context.Context, cs *domain.ConsoleSession) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		if err := exists(ctx, tx, `SELECT 1 FROM users WHERE account = ? AND name = ?`, cs.Account, cs.User); err != nil {
			return err
		}
		return insert(ctx, tx, `INSERT INTO console_sessions (`+consoleSessionColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			cs.ID, cs.Account, cs.User, cs.CSRF, ms(cs.CreatedTime), ms(cs.ExpiresTime))
	})
}

// ConsoleSession implements domain.Store.
func (s *Store) ConsoleSession(ctx context.Context, id string) (*domain.ConsoleSession, error) {
	defer startRead(ctx).stop()
	return scanOne(s.q(ctx).QueryRowContext(ctx, `SELECT `+consoleSessionColumns+` FROM console_sessions WHERE id = ?`, id), scanConsoleSession)
}

// DeleteConsoleSession implements domain.Store.
func (s *Store) DeleteConsoleSession(ctx context.Context, id string) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE id = ?`, id)
		return err
	})
}

// PurgeConsoleSessions implements domain.Store: a session that expires at
// before exactly is kept.
func (s *Store) PurgeConsoleSessions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE expires_time < ?`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// consoleSessionColumns are the columns a session is read from, in
// scanConsoleSession's order.
const consoleSessionColumns = `id, account, user_name, csrf, created_time, expires_time`

// scanConsoleSession reads a row of consoleSessionColumns.
func scanConsoleSession(scan func(...any) error) (*domain.ConsoleSession, error) {
	var cs domain.ConsoleSession
	var created, expires int64
	if err := scan(&cs.ID, &cs.Account, &cs.User, &cs.CSRF, &created, &expires); err != nil {
		return nil, err
	}
	cs.CreatedTime, cs.ExpiresTime = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return &cs, nil
}
