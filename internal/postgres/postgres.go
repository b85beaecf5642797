// Package postgres is the PostgreSQL storage engine: incidentd's state in
// one PostgreSQL database that several incidentd nodes may share. It
// implements domain.Store with pgx, through one connection pool.
//
// Transactions run at READ COMMITTED; what the Store contract asks beyond it
// comes from explicit row locks (see Store). The schema is that of the
// SQLite engine in PostgreSQL types, applied by the embedded migrations;
// documents are stored as the same JSON. Everything that is PostgreSQL's
// own dialect, rather than plain SQL, is in dialect.go.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configures a Store at Open. The zero value keeps what the URL
// and the server say.
type Options struct {
	// MaxConns bounds the pool's connections; 0 keeps the URL's
	// pool_max_conns, or else pgxpool's default (the larger of 4 and the
	// number of CPUs).
	MaxConns int32
	// StatementTimeout bounds every statement (the session's
	// statement_timeout); 0 keeps the server's.
	StatementTimeout time.Duration
}

// Store is a domain.Store on a PostgreSQL database.
//
// Every call made outside Tx is a transaction of its own (or one autocommit
// statement). Every call made with the ctx of a Tx runs on that
// transaction's connection; one that writes more than one statement runs in
// a savepoint, so that its failure undoes it alone. Isolation is READ
// COMMITTED, and what the contract asks beyond it comes from row locks
// (forChange and forRead in dialect.go):
//
//   - the Update* methods read the row they change … FOR NO KEY UPDATE
//     (UpdateTags the row of the tagged resource), so that concurrent
//     updates of one row run one after another, each on the row its
//     predecessor committed;
//   - ClaimIdempotencyRecord is one INSERT … ON CONFLICT DO UPDATE … WHERE
//     the record has expired: a claimer of a token another transaction
//     holds waits for it to end, and the row stays locked until the
//     claiming transaction ends;
//   - FindOpenIncident inside a Tx first locks the row of (account,
//     dedupeString) in the locks table, creating it if needed, so that
//     transactions deciding on one dedupeString run one after another;
//   - CountResourcePolicies inside a Tx locks the plan's row (or, when the
//     plan does not exist, a row of the locks table), and ListRelatedItems
//     inside a Tx the incident's row;
//   - GetReplicationSet, GetResponsePlan and GetIncidentRecord inside a Tx
//     read … FOR KEY SHARE, which only a deletion of the row waits for:
//     the deleting call waits for the transaction, then deletes what it
//     wrote under the row in its next statements.
//   - of the identities, what is created under an owner (a user under its
//     account, a key under its user, a membership, a policy) reads the
//     owner's row FOR KEY SHARE in its insert, and DeleteUser and
//     DeleteGroup lock the owner's row FOR UPDATE before they delete what
//     is under it (identity.go).
//
// A transaction that fails with a serialization failure or a deadlock
// (SQLSTATE 40001, 40P01) is run again from the start, a few times. A
// write returns once its COMMIT has returned, durable as the server's
// synchronous_commit makes it.
//
// Inside a transaction, the writes whose calls need nothing of them but
// their success are deferred: sent, in the order they were made, with the
// transaction's next statement or with its COMMIT, in one round trip (see
// txn.go, which lists them). BEGIN goes with the first statement. An
// UpdateIncidentRecord with a clientToken (claim, read of the record, its
// write, the timeline event, the deliveries, the token's result) so costs
// three round trips: BEGIN with the claim, the locked read, and the writes
// with COMMIT; a NextChangeSeq, whose number the call returns, adds one. A deferred write that fails fails the transaction,
// with the error its call would have returned.
//
// A database error inside a Tx that is not one of the store's answers
// (ErrNotFound, ErrConflict, a callback's error) — a lost connection, a
// statement timeout — may abort the whole transaction, as PostgreSQL does
// for a failed statement outside a savepoint: the Tx then fails even if fn
// goes on.
type Store struct {
	pool *pgxpool.Pool
}

var _ domain.Store = (*Store)(nil)

// Open connects to the database at url (a PostgreSQL URL or DSN, as pgx
// reads it) and applies pending migrations. It refuses a database written
// by a newer incidentd.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return open(ctx, cfg, opts)
}

// open is Open on a parsed configuration.
func open(ctx context.Context, cfg *pgxpool.Config, opts Options) (*Store, error) {
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(1, opts.StatementTimeout.Milliseconds()), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool, waiting for the connections in use to be returned.
// Every write acknowledged before has been committed.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

// migrate applies the embedded migrations not yet recorded, in order, in
// one transaction that holds an advisory lock throughout: nodes that start
// together apply them once, one after another.
func (s *Store) migrate(ctx context.Context) error {
	files, known, err := schema.Migrations(migrations)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op once committed
	// Waiting for another node's migrations, and applying them, may take
	// longer than a request's statement may.
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, migrationLock); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Every migration not recorded yet is applied, in order: also one
	// numbered below the newest recorded one.
	applied := map[int]bool{}
	latest := 0
	for _, v := range versions {
		applied[v], latest = true, max(latest, v)
	}
	if latest > known {
		return schema.Newer(latest, known)
	}
	for _, f := range files {
		if applied[f.Version] {
			continue
		}
		name := f.Name()
		body, err := migrations.ReadFile(f.Path)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			f.Version, name, time.Now().UTC()); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// querier runs statements: the pool, or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type txKey struct{}

// ambient returns the transaction of s that ctx carries, if any.
func (s *Store) ambient(ctx context.Context) (*txn, bool) {
	if t, ok := ctx.Value(txKey{}).(*txn); ok && t.s == s {
		return t, true
	}
	return nil, false
}

// q returns what statements made with ctx run on: the ambient transaction,
// so that a transaction sees its own writes, or else the pool.
func (s *Store) q(ctx context.Context) querier {
	if t, ok := s.ambient(ctx); ok {
		return t
	}
	return s.pool
}

// Tx implements domain.Store: fn's reads and writes through ctx form one
// transaction, committed when fn returns nil. Inside another Tx it is a
// savepoint of that one.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.tx(ctx, func(ctx context.Context, _ querier) error { return fn(ctx) })
}

// tx runs fn in a transaction: inside the ambient one (ctx carries one) in
// a savepoint of it, so that fn's failure undoes fn's writes only;
// otherwise in a transaction of its own, retried when it must be.
func (s *Store) tx(ctx context.Context, fn func(ctx context.Context, q querier) error) error {
	if t, ok := s.ambient(ctx); ok {
		return t.savepoint(ctx, func() error { return fn(ctx, t) })
	}
	return s.run(ctx, fn)
}

// tx1 is tx for a fn that writes at most one statement, after everything
// in it that can fail: a failed fn has written nothing, so inside the
// ambient transaction it needs no savepoint.
func (s *Store) tx1(ctx context.Context, fn func(ctx context.Context, q querier) error) error {
	if t, ok := s.ambient(ctx); ok {
		return fn(ctx, t)
	}
	return s.run(ctx, fn)
}

// write runs fn, one statement that writes, on the ambient transaction, or
// else on the pool as an autocommit statement, retried when it must be.
func (s *Store) write(ctx context.Context, fn func(q querier) error) error {
	if t, ok := s.ambient(ctx); ok {
		return fn(t)
	}
	trace := domain.StoreTraceFrom(ctx)
	return retry(ctx, func() error {
		start := time.Now()
		err := fn(s.pool)
		trace.AddWrite(domain.StoreWrite{Run: time.Since(start), Group: 1})
		return err
	})
}

// later runs a write whose call needs nothing of it but its success (see
// txn.go for which): on a transaction it is deferred, queued to be sent
// with the transaction's next statement or its COMMIT, and its failure
// then fails the transaction; on the pool it runs at once. mapErr turns
// its failure into the call's error (nil: as it is).
func later(ctx context.Context, q querier, mapErr func(error) error, sql string, args ...any) error {
	if t, ok := q.(*txn); ok {
		return t.later(mapErr, sql, args)
	}
	_, err := q.Exec(ctx, sql, args...)
	if err != nil && mapErr != nil {
		err = mapErr(err)
	}
	return err
}

// maxAttempts bounds how often a transaction is run when the database asks
// for it to be retried.
const maxAttempts = 5

// retry calls fn until it succeeds, fails for good, or has been called
// maxAttempts times, waiting a little longer each time.
func retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		t := time.NewTimer(time.Duration(attempt*attempt) * 5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// run runs fn in a new transaction, which the ctx fn receives carries,
// committed when fn returns nil; it runs it again from the start when the
// database asks for a retry. BEGIN goes with fn's first statement, and
// COMMIT with the writes fn deferred (txn.go): a transaction that reads a
// row, then writes, costs two round trips.
func (s *Store) run(ctx context.Context, fn func(ctx context.Context, q querier) error) error {
	trace := domain.StoreTraceFrom(ctx)
	return retry(ctx, func() error {
		start := time.Now()
		var begun, ran time.Time
		defer func() {
			if trace == nil || begun.IsZero() {
				return
			}
			if ran.IsZero() {
				ran = time.Now()
			}
			trace.AddWrite(domain.StoreWrite{Queue: begun.Sub(start), Run: ran.Sub(begun), Sync: time.Since(ran), Group: 1})
		}()
		t, err := s.begin(ctx)
		if err != nil {
			return err
		}
		begun = time.Now()
		done := false
		defer func() {
			if !done { // fn failed or panicked, or the commit failed
				t.rollback(ctx)
			}
			t.release()
		}()
		if err := fn(context.WithValue(ctx, txKey{}, t), t); err != nil {
			if t.failed != nil { // a deferred write failed: that is why
				return t.failed
			}
			return err
		}
		ran = time.Now()
		if err := t.commit(ctx); err != nil {
			return err
		}
		done = true
		return nil
	})
}

// decode unmarshals a stored document.
func decode[T any](doc []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(doc, v); err != nil {
		return nil, fmt.Errorf("decode stored document: %w", err)
	}
	return v, nil
}

// getDoc returns the document the query selects, or ErrNotFound.
func getDoc[T any](ctx context.Context, q querier, query string, args ...any) (*T, error) {
	var doc []byte
	if err := q.QueryRow(ctx, query, args...).Scan(&doc); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, domain.ErrNotFound
		}
		return nil, err
	}
	return decode[T](doc)
}

// scanDocs decodes the doc column of every row of a query.
func scanDocs[T any](rows pgx.Rows, err error) ([]*T, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*T, error) {
		var doc []byte
		if err := r.Scan(&doc); err != nil {
			return nil, err
		}
		return decode[T](doc)
	})
}

// scanSeqDocs decodes rows of (seq, doc) and gives each value its seq.
func scanSeqDocs[T any](rows pgx.Rows, setSeq func(*T, int64)) ([]*T, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*T, error) {
		var (
			seq int64
			doc []byte
		)
		if err := r.Scan(&seq, &doc); err != nil {
			return nil, err
		}
		v, err := decode[T](doc)
		if err != nil {
			return nil, err
		}
		setSeq(v, seq)
		return v, nil
	})
}

// marshal returns the JSON of v as a string, for a doc column.
func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// insertDoc runs insert (an INSERT … ON CONFLICT DO NOTHING whose last
// argument is the JSON of v) and stores the tags of the new resource arn;
// a duplicate key is ErrConflict.
func (s *Store) insertDoc(ctx context.Context, insert string, v any, account, arn string, tags map[string]string, args ...any) error {
	doc, err := marshal(v)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(ctx context.Context, q querier) error {
		if err := execInsert(ctx, q, insert, append(args, doc)...); err != nil {
			return err
		}
		return putTags(ctx, q, account, arn, tags)
	})
}

// execInsert runs an INSERT … ON CONFLICT DO NOTHING; ErrConflict when it
// inserted nothing.
func execInsert(ctx context.Context, q querier, insert string, args ...any) error {
	tag, err := q.Exec(ctx, insert, args...)
	if err != nil {
		return mapError(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrConflict
	}
	return nil
}

// updateDoc reads the document that get selects (… FOR UPDATE), applies fn
// to it and writes it back with put (whose first argument is the JSON), all
// in one transaction; keys are the arguments of both statements after that.
// Inside a transaction the write is deferred.
func updateDoc[T any](ctx context.Context, s *Store, get, put string, fn func(*T) error, keys ...any) error {
	return s.tx1(ctx, func(ctx context.Context, q querier) error {
		v, err := getDoc[T](ctx, q, get, keys...)
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
		doc, err := marshal(v)
		if err != nil {
			return err
		}
		// The row is locked and its key unchanged: deferred (txn.go).
		return later(ctx, q, nil, put, append([]any{doc}, keys...)...)
	})
}

// execOne runs a statement that changes one row; ErrNotFound when it
// changes none.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	return s.write(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, query, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return domain.ErrNotFound
		}
		return nil
	})
}

func ms(t time.Time) int64 { return t.UnixMilli() }
