package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// What the tests of package postgres_test reach inside.

// OpenConfig is Open on a parsed configuration (a test's DialFunc).
func OpenConfig(ctx context.Context, cfg *pgxpool.Config, opts Options) (*Store, error) {
	return open(ctx, cfg, opts)
}

// Pool returns the store's pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// ExecInTx runs a statement on the transaction ctx carries, as a Store
// method's own statement.
func (s *Store) ExecInTx(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t, _ := s.ambient(ctx)
	return t.Exec(ctx, sql, args...)
}

// IsAborted reports whether err is the answer of a call on a transaction a
// deferred write of which failed.
func IsAborted(err error) bool {
	_, ok := err.(*abortedError)
	return ok
}
