package postgres

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A transaction's round trips. pgx sends a statement and waits for its
// answer: a round trip to the server for each. A txn sends several in one
// pgx batch (one pipeline with one Sync, so one round trip) where it can:
//
//   - BEGIN is queued, not sent: it goes with the transaction's first
//     statement;
//   - a deferred write (later) is queued, and goes with the next statement
//     the transaction sends, or with COMMIT;
//   - SAVEPOINT is queued too. A savepoint that ends while its SAVEPOINT is
//     still queued ends in the queue: on success its SAVEPOINT is taken out
//     (what was queued since stays), on failure it and everything queued
//     since are dropped, never sent. RELEASE, and ROLLBACK TO while the
//     transaction has not failed on the server, are queued; ROLLBACK TO of
//     a failed transaction is sent at once, by the simple protocol, since a
//     failed transaction refuses to prepare any other statement;
//   - COMMIT goes in one batch with everything still queued.
//
// Every statement that is not queued (a read, a write whose answer the
// call needs) first sends the queue, in the same batch: the server runs the
// statements in the order the calls made them, each statement with a
// snapshot of its own as before, and only the moment they are sent
// changes. So reads see the transaction's own writes, locks are taken in
// the same order, and savepoints undo what they did before.
//
// The writes that are deferred are those whose call returns nothing but
// its error and whose statement cannot fail on the data in a way that a
// caller could handle and go on from (a duplicate it should answer with
// ErrConflict, a missing row it should answer with ErrNotFound); inside a
// transaction, they are:
//
//   - the write of UpdateIncidentRecord, UpdateTimelineEvent,
//     UpdateReplicationSet, UpdateResponsePlan and UpdateAccount, after fn:
//     it changes the one row the call has just read and locked
//     (forChange), and no unique key;
//   - UpdateTags' delete and insert of the tags (after the locked read of
//     the resource and of its tags), and the insert of the tags of a new
//     resource (CreateReplicationSet, CreateResponsePlan,
//     CreateIncidentRecord) and of a new record's related items, after the
//     insert of the resource itself, whose duplicate is an answer and which
//     is sent: ON CONFLICT makes them unable to fail on a duplicate;
//   - AddTimelineEvent: its event id is generated and unique; a duplicate
//     (ErrConflict) fails the transaction (see below);
//   - AddDeliveries, PutIdempotencyRecord and PutFinding (an insert with
//     generated keys, and upserts): a duplicate delivery (ErrConflict)
//     fails the transaction, as a duplicate timeline event does;
//   - DeleteTimelineEvent, DeleteIncidentRecord and DeleteConsoleSession
//     (deleting a missing row is no error), the deletes of a plan's tags
//     and policies after the delete of its row in DeleteResponsePlan, the
//     deletes of DeleteUser and DeleteGroup after the locked read of the
//     user's or group's row (identity.go), the delete of the user's
//     sessions after SetConsolePassword stored the hash under the locked
//     user (console.go), and the deletes of DeleteAccountData after its
//     check;
//   - the lock ListRelatedItems takes on the incident's row, which so goes
//     in one batch with the read of the items (should the lock fail, a
//     lock or statement timeout, the transaction fails, as it did when the
//     failed statement aborted it).
//
// Everything else is sent at once: reads, and the writes whose answer the
// call needs or which can answer ErrConflict or ErrNotFound (the inserts of
// the Create* methods and PutResourcePolicy, AddRelatedItem,
// RemoveRelatedItem, DeleteResourcePolicy, the delete of a plan's row,
// ClaimIdempotencyRecord, PurgeIdempotencyRecords, NextChangeSeq,
// ClaimDeliveries, DeliveryDelivered, DeliveryFailed, RetryDelivery,
// PurgeDeliveries, AcquireLease, Secret, the lock rows, and of the
// identities the Create* methods, AddGroupMember, PutIdentityPolicy,
// RemoveGroupMember, SetAccessKeyActive, DeleteAccessKey,
// DeleteIdentityPolicy and the locked reads of DeleteUser and
// DeleteGroup, and of the console CreateConsoleSession, the store of the
// hash of SetConsolePassword and PurgeConsoleSessions). Outside a
// transaction nothing is deferred: a call that writes one statement sends
// it as an autocommit statement, one that writes more runs a transaction
// of its own (whose BEGIN, deferred writes and COMMIT are batched as
// above).
//
// Failure of a deferred write. It comes with the batch that sends it: with
// a later statement, or with COMMIT. The statement fails as the call would
// have failed had it been sent at once (a unique violation is ErrConflict,
// mapError), but the call has returned nil meanwhile, so the failure fails
// the transaction: PostgreSQL skips the rest of the batch (the statement
// that sent it, COMMIT), and rolls everything back; every later call on
// the transaction answers an abortedError, and Tx returns the write's own
// error, whatever fn returns. So AddTimelineEvent uses a plain INSERT,
// whose duplicate aborts the transaction, where an ON CONFLICT DO NOTHING
// would let COMMIT commit the rest. A 40001 or 40P01 of a deferred write
// makes Tx run fn again, as any other.
//
// A deferred write's arguments are taken when it is queued (byte slices
// are copied): its caller may reuse what it passed once the call returns.

// beginSQL begins a transaction at the isolation level of every
// transaction of the store.
const beginSQL = `BEGIN ISOLATION LEVEL READ COMMITTED`

// txn is a transaction of a Store, on a connection of its pool. It is not
// safe for concurrent use, as a pgx.Tx is not.
type txn struct {
	s *Store
	c *pgxpool.Conn
	// queue holds the statements not yet sent, in order; the first is
	// BEGIN until the first batch is sent.
	queue []queued
	// savepoints holds, for each open savepoint, innermost last, the index
	// in queue of its SAVEPOINT, or -1 once that has been sent.
	savepoints []int
	begun      bool  // BEGIN has been sent
	failed     error // a queued statement's failure: the transaction cannot commit
	closed     bool  // committed or rolled back
}

// queued is a statement of a transaction not yet sent.
type queued struct {
	sql  string
	args []any
	// mapErr turns the statement's failure into what its call would have
	// returned; nil keeps it.
	mapErr func(error) error
}

// abortedError is the answer of a call on a transaction after a deferred
// write of it failed: the transaction can only roll back, and Tx returns
// the write's error. It does not wrap that error, so that no call answers
// as if the failure were its own (ErrConflict, ErrNotFound).
type abortedError struct{ cause error }

func (e *abortedError) Error() string {
	return "postgres: an earlier statement of the transaction failed: " + e.cause.Error()
}

// begin starts a transaction on a connection of the pool; BEGIN is queued.
func (s *Store) begin(ctx context.Context) (*txn, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &txn{s: s, c: c, queue: []queued{{sql: beginSQL}}}, nil
}

func (t *txn) conn() *pgx.Conn { return t.c.Conn() }

// usable returns why no statement may be sent or queued, if so.
func (t *txn) usable() error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	if t.failed != nil {
		return &abortedError{t.failed}
	}
	return nil
}

// later queues a write on the transaction, to be sent with the next
// statement or with COMMIT; mapErr turns its failure into the error its
// call would have returned (nil: as it is).
func (t *txn) later(mapErr func(error) error, sql string, args []any) error {
	if err := t.usable(); err != nil {
		return err
	}
	own := make([]any, len(args))
	for i, a := range args {
		if b, ok := a.([]byte); ok && b != nil {
			a = bytes.Clone(b)
		}
		own[i] = a
	}
	t.queue = append(t.queue, queued{sql: sql, args: own, mapErr: mapErr})
	return nil
}

// send sends what is queued and then sql, in one batch, and reads the
// results of what was queued: the caller reads sql's result from br and
// closes br. When a queued statement failed, the transaction has failed:
// send returns an abortedError, and br is closed.
func (t *txn) send(ctx context.Context, sql string, args []any) (br pgx.BatchResults, err error) {
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(t.queue)+1)}
	for _, q := range t.queue {
		b.Queue(q.sql, q.args...)
	}
	b.Queue(sql, args...)
	sent := t.queue
	t.queue = nil
	t.begun = true
	for i := range t.savepoints {
		t.savepoints[i] = -1
	}
	br = t.conn().SendBatch(ctx, b)
	for _, q := range sent {
		if _, err := br.Exec(); err != nil {
			br.Close()
			if q.mapErr != nil {
				err = q.mapErr(err)
			}
			t.failed = err
			return nil, &abortedError{err}
		}
	}
	return br, nil
}

// Exec implements querier: it sends the queue with the statement.
func (t *txn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := t.usable(); err != nil {
		return pgconn.CommandTag{}, err
	}
	if len(t.queue) == 0 {
		return t.conn().Exec(ctx, sql, args...)
	}
	br, err := t.send(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query implements querier: it sends the queue with the query, whose rows
// hold the batch until they are closed.
func (t *txn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := t.usable(); err != nil {
		return failedRows{err}, err
	}
	if len(t.queue) == 0 {
		return t.conn().Query(ctx, sql, args...)
	}
	br, err := t.send(ctx, sql, args)
	if err != nil {
		return failedRows{err}, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return failedRows{err}, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow implements querier: it sends the queue with the query.
func (t *txn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := t.usable(); err != nil {
		return failedRows{err}
	}
	if len(t.queue) == 0 {
		return t.conn().QueryRow(ctx, sql, args...)
	}
	br, err := t.send(ctx, sql, args)
	if err != nil {
		return failedRows{err}
	}
	return batchRow{br}
}

// savepoint runs fn in a savepoint: fn's failure rolls back fn's changes
// only, and the transaction goes on.
func (t *txn) savepoint(ctx context.Context, fn func() error) error {
	if err := t.usable(); err != nil {
		return err
	}
	t.savepoints = append(t.savepoints, len(t.queue))
	t.queue = append(t.queue, queued{sql: "SAVEPOINT nested"})
	err := fn()
	n := len(t.savepoints) - 1
	at := t.savepoints[n]
	t.savepoints = t.savepoints[:n]
	if uerr := t.usable(); uerr != nil {
		if err == nil {
			err = uerr
		}
		return err
	}
	// Savepoints nest: ROLLBACK TO and RELEASE apply to the innermost one
	// of that name.
	switch {
	case at >= 0 && err == nil:
		// Neither the SAVEPOINT nor anything after it has been sent: what
		// fn queued stays, in the enclosing transaction or savepoint.
		t.queue = slices.Delete(t.queue, at, at+1)
	case at >= 0:
		t.queue = t.queue[:at] // fn's writes, never sent, are dropped
	case err == nil:
		t.queue = append(t.queue, queued{sql: "RELEASE SAVEPOINT nested"})
	default:
		// The SAVEPOINT went with a batch since, and fn queued everything
		// queued now after that batch: it is dropped, and what was sent is
		// undone.
		t.queue = nil
		if t.conn().PgConn().TxStatus() != 'E' {
			t.queue = append(t.queue, queued{sql: "ROLLBACK TO SAVEPOINT nested"}, queued{sql: "RELEASE SAVEPOINT nested"})
			return err
		}
		// A failed transaction prepares no statement but ROLLBACK (TO):
		// pgx's batch would prepare RELEASE, the simple protocol does not.
		if _, rerr := t.conn().Exec(ctx, "ROLLBACK TO SAVEPOINT nested; RELEASE SAVEPOINT nested"); rerr != nil {
			t.failed = rerr
			return &abortedError{rerr}
		}
	}
	return err
}

// commit sends what is queued and COMMIT in one batch. It returns the
// failure of a queued statement, if one failed.
func (t *txn) commit(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	if t.failed != nil {
		return t.failed
	}
	if !t.begun && len(t.queue) == 1 { // BEGIN alone: nothing to commit
		t.closed = true
		return nil
	}
	br, err := t.send(ctx, "COMMIT", nil)
	if err != nil {
		return t.failed
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err // rollback ends the transaction, if it has not ended
	}
	t.closed = true
	if tag.String() == "ROLLBACK" { // a statement failed and fn went on
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// rollback ends a transaction that will not commit. It runs even when ctx
// is done, so that the connection goes back to the pool clean; should it
// fail, the connection is closed (the pool then drops it), and the server
// rolls back.
func (t *txn) rollback(ctx context.Context) {
	if t.closed {
		return
	}
	t.closed = true
	t.queue = nil
	conn := t.conn()
	if !t.begun || conn.IsClosed() || conn.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		conn.Close(ctx)
	}
}

// release returns the connection to the pool, which drops it unless it is
// idle, outside a transaction.
func (t *txn) release() {
	t.closed = true
	t.c.Release()
}

// batchRows are the rows of a query sent in a batch: closing them, or
// reading them to the end, closes the batch.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.br.Close()
	return false
}

func (r *batchRows) Close() {
	r.Rows.Close()
	r.br.Close()
}

// batchRow is the row of a query sent in a batch, the last of it.
type batchRow struct{ br pgx.BatchResults }

func (r batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// failedRows are the rows, and the row, of a query that was not run.
type failedRows struct{ err error }

func (failedRows) Close()                                       {}
func (r failedRows) Err() error                                 { return r.err }
func (failedRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (failedRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (failedRows) Next() bool                                   { return false }
func (r failedRows) Scan(...any) error                          { return r.err }
func (r failedRows) Values() ([]any, error)                     { return nil, r.err }
func (failedRows) RawValues() [][]byte                          { return nil }
func (failedRows) Conn() *pgx.Conn                              { return nil }
func (failedRows) TypeMap() *pgtype.Map                         { return nil }
