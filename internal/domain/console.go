package domain

import (
	"context"
	"time"
)

// ConsoleSession is a signed-in session of the web console, of a user of
// an account. The browser holds a random token; the store keeps only its
// hash (ID), so that a copy of the database opens no session.
type ConsoleSession struct {
	ID      string // hex SHA-256 of the session token
	Account string
	User    string
	// CSRF is the token every form of the session carries.
	CSRF        string
	CreatedTime time.Time
	ExpiresTime time.Time
}

// ConsoleStore keeps the console's passwords and sessions, in the database
// so that every node serves every session. Writes are durable when they
// return nil and atomic; ErrNotFound answers a missing user or session.
// Deleting a user (IdentityStore.DeleteUser) deletes its password and its
// sessions with it.
type ConsoleStore interface {
	// SetConsolePassword stores the hash of the user's console password,
	// replacing any earlier one, and ends the user's sessions; ErrNotFound
	// when there is no such user.
	SetConsolePassword(ctx context.Context, account, user string, hash []byte) error
	// ConsolePassword returns the hash of the user's console password;
	// ErrNotFound when the user has none (or does not exist).
	ConsolePassword(ctx context.Context, account, user string) ([]byte, error)
	// CreateConsoleSession stores s; ErrNotFound when its user does not
	// exist, ErrConflict when its ID is taken.
	CreateConsoleSession(ctx context.Context, s *ConsoleSession) error
	// ConsoleSession returns the session of that ID whatever its expiry
	// (the caller checks it), or ErrNotFound.
	ConsoleSession(ctx context.Context, id string) (*ConsoleSession, error)
	// DeleteConsoleSession removes a session; a missing one is not an error.
	DeleteConsoleSession(ctx context.Context, id string) error
	// PurgeConsoleSessions deletes the sessions that expired before t.
	PurgeConsoleSessions(ctx context.Context, before time.Time) (int64, error)
}
