package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/incidentd/incidentd/internal/domain"
)

// What is PostgreSQL's own, as opposed to the SQL the SQLite engine shares:
// $n placeholders, = ANY(array) instead of IN lists, SQLSTATE codes, the
// advisory lock of the migrations and the lock rows.
//
// Queries write duplicates off with INSERT … ON CONFLICT DO NOTHING and look
// at the rows inserted, rather than catching a unique violation: a failed
// statement aborts a PostgreSQL transaction, and a conflict is an answer
// the caller of a Tx may handle and go on from. The exception is
// AddTimelineEvent, a deferred write (txn.go), whose duplicate must abort
// the transaction.

// SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	sqlstateSerializationFailure = "40001"
	sqlstateDeadlockDetected     = "40P01"
	sqlstateUniqueViolation      = "23505"
)

// retryable reports whether err asks for the transaction to be run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == sqlstateSerializationFailure || pe.Code == sqlstateDeadlockDetected)
}

// mapError turns a unique violation the ON CONFLICT clauses do not cover
// into ErrConflict.
func mapError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == sqlstateUniqueViolation {
		return fmt.Errorf("%w: %s", domain.ErrConflict, pe.Message)
	}
	return err
}

// migrationLock serialises the migrations of nodes that start together; the
// transaction that takes it holds it until it ends.
const migrationLock = `SELECT pg_advisory_xact_lock(hashtextextended('incidentd schema_migrations', 0))`

// params collects the arguments of a query built piece by piece.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// Row locks, added to a SELECT. PostgreSQL's weakest locks that do the job:
//
//   - forChange, on a row read to be written back with its key unchanged (the
//     Update* methods and the other read-modify-write sequences), excludes
//     other such changes but not forRead;
//   - forRead, on a row a transaction reads and then writes under (a
//     replication set, a plan, an incident), excludes only the row's
//     deletion: a delete waits for the transaction to end and then, in its
//     next statements, deletes what the transaction wrote under the row, or
//     the read waits for the delete and finds nothing. It is the lock a
//     foreign key check takes.
const (
	forChange = ` FOR NO KEY UPDATE`
	forRead   = ` FOR KEY SHARE`
)

// inTx returns lock when ctx carries a transaction of s, else "": outside
// one, a lock would end with the statement.
func (s *Store) inTx(ctx context.Context, lock string) string {
	if _, ok := s.ambient(ctx); ok {
		return lock
	}
	return ""
}

// Lock kinds of the locks table.
const (
	lockDedupe           = "dedupe"
	lockResourcePolicies = "resource-policies"
)

// lock takes the lock row (account, kind, key) until tx ends, creating it
// on first use. A transaction that inserts the row holds it: another one's
// insert of the same key waits for it to end, then finds the row and locks
// it in turn. This needs no advisory locks, which not every database that
// speaks PostgreSQL's protocol has.
func lock(ctx context.Context, tx querier, account, kind, key string) error {
	for range 3 {
		tag, err := tx.Exec(ctx, `INSERT INTO locks (account, kind, key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, account, kind, key)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var one int
		err = tx.QueryRow(ctx, `SELECT 1 FROM locks WHERE account = $1 AND kind = $2 AND key = $3 FOR UPDATE`, account, kind, key).Scan(&one)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// The row was deleted (with the account's data) meanwhile: create it anew.
	}
	return fmt.Errorf("postgres: could not lock %s %q of account %s", kind, key, account)
}
