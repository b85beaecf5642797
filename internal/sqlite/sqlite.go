// Package sqlite is the embedded storage engine: one SQLite database file in
// WAL mode with full fsync on commit, one writer connection and a pool of
// readers. It implements domain.Store.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/schema"

	sqlitedriver "modernc.org/sqlite" // also the database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a domain.Store on one SQLite file.
//
// Writes go through one writer goroutine that owns the only write
// connection. It commits concurrent transactions together (group commit):
// each runs inside its own savepoint of one SQLite transaction, so a failing
// one is rolled back alone. A syncer goroutine then fsyncs the write-ahead
// log and only after that answers the transactions, while the writer goes
// on with the next group: no transaction is acknowledged before it is on
// disk, and the fsync of one group overlaps the work of the next.
type Store struct {
	write *sql.DB   // exactly one connection: SQLite has one writer
	w     *wtx      // the writer's connection, used by the writer goroutine only
	wconn *sql.Conn // the same connection, for its counters
	rd    *prepared // the pool of readers

	jobs      chan *job
	synced    chan group    // a committed group waiting for its fsync
	syncReady chan struct{} // holds a token while the syncer is free
	wal       *os.File      // the write-ahead log, fsynced by the syncer
	stopped   chan struct{} // closed when the syncer is done

	ckpt     *sql.DB       // checkpoints the log into the database, off the writer's path
	ckptStop chan struct{} // ends the checkpointer
	ckptDone chan struct{}
	mu       sync.RWMutex // guards closed against sends on jobs
	closed   bool
	// broken is set when the log could not be synced to disk: what was
	// committed since may be lost, so the store takes no more writes.
	broken atomic.Pointer[error]
	obs    Observer // never nil
}

// maxBatch bounds how many transactions share one commit.
const maxBatch = 256

type job struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *wtx) error
	done chan error
	err  error // the job's own outcome, answered after the fsync

	// With a StoreTrace to fill, the writer times the job; the fields are
	// set before done is answered.
	trace      *domain.StoreTrace
	queued     time.Time     // when tx queued it
	queue, ran time.Duration // waiting for the writer, running
	group      int           // jobs committed with it, itself included
}

// group is a committed batch of jobs, the time its COMMIT took and the
// pages it wrote to the log.
type group struct {
	jobs   []*job
	commit time.Duration
	pages  int
}

var _ domain.Store = (*Store)(nil)

// FileName is the database file inside the data directory.
const FileName = "incidentd.db"

// WALFileName is the database's write-ahead log, beside it.
const WALFileName = FileName + "-wal"

// Open opens (creating if needed) the database in dir and applies pending
// migrations. It refuses a database written by a newer incidentd. A new
// database, its log and its shared-memory file are created readable and
// writable by their owner only.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	path := filepath.Join(dir, FileName)
	// Create the database first, mode 0600: SQLite would create it 0644,
	// and it gives the log and the shared-memory file the database's mode.
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		if err := f.Close(); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	// 16 KiB pages: a transaction dirties fewer pages, so a commit writes
	// fewer log frames (page_size applies when the file is created).
	pragmas := "_pragma=page_size(16384)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)"
	// synchronous(NORMAL): commits do not fsync; the syncer does, before
	// any transaction is answered (see Store).
	//
	// The writer keeps a larger page cache: it touches every table. Its
	// automatic checkpoint (once the log holds 4000 pages, 64 MiB) finds
	// little left to copy, since the checkpointer copies the log on its own
	// connection; it completes the checkpoint so that the log starts over
	// instead of growing. (At 1000 pages, under a steady load of updates,
	// the writer checkpointed every 30 ms or so, on its own serial path.)
	w, err := sql.Open("sqlite", fileURI(path)+"?"+pragmas+"&_pragma=cache_size(-16384)&_pragma=wal_autocheckpoint(4000)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", fileURI(path)+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{write: w, rd: newPrepared(r), jobs: make(chan *job, maxBatch), synced: make(chan group), syncReady: make(chan struct{}, 1), stopped: make(chan struct{}), obs: nopObserver{}}
	for _, o := range opts {
		o(s)
	}
	s.syncReady <- struct{}{}
	if err := s.migrate(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	conn, err := w.Conn(ctx)
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	s.w = &wtx{newPrepared(conn)}
	s.wconn = conn
	// The writer connection keeps the log open, so this is the file SQLite
	// appends to for as long as the store is open.
	if s.wal, err = os.OpenFile(filepath.Join(dir, WALFileName), os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		// The log file may be new: make its directory entry durable too.
		err = syncDir(dir)
	}
	if err != nil {
		if s.wal != nil {
			s.wal.Close()
		}
		conn.Close()
		r.Close()
		w.Close()
		return nil, err
	}
	s.ckpt, err = sql.Open("sqlite", fileURI(path)+"?"+pragmas)
	if err != nil {
		s.wal.Close()
		conn.Close()
		r.Close()
		w.Close()
		return nil, err
	}
	s.ckpt.SetMaxOpenConns(1)
	s.ckptStop, s.ckptDone = make(chan struct{}), make(chan struct{})
	go s.writer()
	go s.syncer()
	go s.checkpointer()
	return s, nil
}

// Close waits for the transactions already queued, then closes both pools.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.jobs)
	s.mu.Unlock()
	<-s.stopped
	close(s.ckptStop)
	<-s.ckptDone
	return errors.Join(s.ckpt.Close(), s.w.close(), s.wal.Close(), s.rd.close(), s.write.Close())
}

var _ domain.Pinger = (*Store)(nil)

// Ping implements domain.Pinger: it fails once the store takes no more
// writes (the log could not be synced, or it was closed), and otherwise
// when a read of the database file on the readers' pool fails.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.broken.Load(); err != nil {
		return *err
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return errClosed
	}
	var version int
	return s.rd.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version)
}

// migrate applies the embedded migrations not yet recorded, in order, each in
// its own transaction. It runs before the writer starts.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	files, known, err := schema.Migrations(migrations)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Every migration not recorded yet is applied, in order: also one
	// numbered below the newest recorded one.
	applied := map[int]bool{}
	rows, err := s.write.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var latest int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
		applied[v], latest = true, max(latest, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if latest > known {
		return schema.Newer(latest, known)
	}
	for _, f := range files {
		name, v := f.Name(), f.Version
		if applied[v] {
			continue
		}
		body, err := migrations.ReadFile(f.Path)
		if err != nil {
			return err
		}
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			v, name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// fileURI is path as an SQLite URI filename, without query: the characters
// that would end the path are escaped.
func fileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// errClosed answers writes after Close.
var errClosed = errors.New("sqlite: store is closed")

type txKey struct{}

// ambient is the write transaction a context carries inside Tx.
type ambient struct {
	tx *wtx
}

// Tx implements domain.Store: fn's reads and writes through ctx form one
// transaction, committed when fn returns nil.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.tx(ctx, func(ctx context.Context, _ *wtx) error { return fn(ctx) })
}

// tx runs fn in a write transaction. Inside another transaction (ctx carries
// one) fn runs in a savepoint of it; otherwise it is queued for the writer
// and tx returns once its commit is durable.
func (s *Store) tx(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	if a, ok := ctx.Value(txKey{}).(*ambient); ok {
		// Savepoints nest; each ROLLBACK TO and RELEASE applies to the
		// innermost one of that name.
		if _, err := a.tx.ExecContext(ctx, "SAVEPOINT nested"); err != nil {
			return err
		}
		err := fn(ctx, a.tx)
		if err != nil {
			if _, rerr := a.tx.ExecContext(ctx, "ROLLBACK TO nested"); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		if _, rerr := a.tx.ExecContext(ctx, "RELEASE nested"); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	if err := s.broken.Load(); err != nil {
		s.obs.Failed(1)
		return *err
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1), trace: domain.StoreTraceFrom(ctx)}
	if j.trace != nil {
		j.queued = time.Now()
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	s.jobs <- j
	s.mu.RUnlock()
	err := <-j.done
	if j.trace != nil {
		j.trace.AddWrite(domain.StoreWrite{Queue: j.queue, Run: j.ran, Sync: time.Since(j.queued) - j.queue - j.ran, Group: j.group})
	}
	return err
}

// tx1 is tx for a fn that changes the database with at most one statement
// that can fail after another has written: SQLite undoes a failed statement
// by itself, so inside another transaction no savepoint is needed.
func (s *Store) tx1(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	if a, ok := ctx.Value(txKey{}).(*ambient); ok {
		return fn(ctx, a.tx)
	}
	return s.tx(ctx, fn)
}

// writer runs each queued transaction as it arrives, in its own savepoint of
// an open SQLite transaction, and commits that transaction as soon as the
// syncer is free to fsync it. While the syncer is busy the transaction
// grows: the slower the disk, the larger the group that shares a commit.
func (s *Store) writer() {
	defer close(s.synced)
	var batch []*job
	for {
		jobs, ready := s.jobs, s.syncReady
		if len(batch) == 0 {
			ready = nil // nothing to commit yet
		}
		if len(batch) >= maxBatch {
			jobs = nil // commit first
		}
		select {
		case j, ok := <-jobs:
			if !ok {
				if len(batch) > 0 {
					<-s.syncReady
					s.commit(batch)
				}
				return
			}
			if err := s.broken.Load(); err != nil {
				s.obs.Failed(1)
				j.done <- *err
				continue
			}
			if len(batch) == 0 {
				if err := s.begin(); err != nil {
					s.obs.Failed(1)
					j.done <- err
					continue
				}
			}
			batch = append(batch, j)
			if err := s.runJob(j); err != nil {
				s.fail(batch, err)
				batch = nil
			}
		case <-ready:
			s.commit(batch)
			batch = nil
		}
	}
}

// begin opens the transaction of a new group. Should a transaction have been
// left open by a failed rollback, it is rolled back and begin tries again.
func (s *Store) begin() error {
	bg := context.Background()
	if _, err := s.w.ExecContext(bg, "BEGIN IMMEDIATE"); err == nil {
		return nil
	}
	s.w.ExecContext(bg, "ROLLBACK")
	_, err := s.w.ExecContext(bg, "BEGIN IMMEDIATE")
	return err
}

// runJob runs j in its own savepoint of the open transaction and records its
// outcome. A returned error leaves the transaction unusable.
func (s *Store) runJob(j *job) error {
	if j.trace != nil {
		start := time.Now()
		j.queue = start.Sub(j.queued)
		defer func() { j.ran = time.Since(start) }()
	}
	tx := s.w
	// A job runs to its end even if its caller goes away: its writes are
	// small, and half a job is never committed.
	ctx := context.WithoutCancel(j.ctx)
	if _, err := tx.ExecContext(ctx, "SAVEPOINT job"); err != nil {
		return err
	}
	j.err = run(context.WithValue(ctx, txKey{}, &ambient{tx: tx}), tx, j.fn)
	if j.err != nil {
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO job"); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "RELEASE job"); err != nil {
		return err
	}
	if j.err != nil {
		s.obs.RolledBack()
	}
	return nil
}

// fail rolls the open transaction back and answers every job of it with an
// error that says the group was lost, not why one job failed: the others'
// callers may retry.
func (s *Store) fail(batch []*job, err error) {
	s.w.ExecContext(context.Background(), "ROLLBACK")
	s.obs.Failed(len(batch))
	lost := fmt.Errorf("sqlite: transaction group rolled back: %v", err)
	for _, j := range batch {
		j.group = len(batch)
		j.done <- lost
	}
}

// commit commits the open transaction and hands its jobs to the syncer,
// whose turn the caller holds (it took the syncReady token).
func (s *Store) commit(batch []*job) {
	start := time.Now()
	if _, err := s.w.ExecContext(context.Background(), "COMMIT"); err != nil {
		s.fail(batch, err)
		s.syncReady <- struct{}{}
		return
	}
	took := time.Since(start)
	for _, j := range batch {
		j.group = len(batch)
	}
	s.synced <- group{jobs: batch, commit: took, pages: s.pagesWritten()}
}

// pagesWritten returns how many pages the writer's connection wrote to the
// log since it was last asked: those of the COMMIT just made.
func (s *Store) pagesWritten() int {
	var n int
	s.wconn.Raw(func(dc any) error {
		if st, ok := dc.(interface {
			Status(sqlitedriver.DBStatusOp, bool) (int, int, error)
		}); ok {
			n, _, _ = st.Status(sqlitedriver.DBStatusCacheWrite, true)
		}
		return nil
	})
	return n
}

// checkpointInterval is how often the log is copied into the database.
const checkpointInterval = 200 * time.Millisecond

// checkpointer copies committed log frames into the database file now and
// then (a PASSIVE checkpoint: it waits for no reader or writer). SQLite
// fsyncs the log before and the database after each checkpoint.
func (s *Store) checkpointer() {
	defer close(s.ckptDone)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	// The log's frames, and how many of them are in the database, after the
	// last checkpoint: a checkpoint that finds them as they were copied
	// nothing, and is not reported.
	lastLog, lastDone := -1, -1
	for {
		select {
		case <-s.ckptStop:
			return
		case <-t.C:
			start := time.Now()
			var busy, log, done int
			err := s.ckpt.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
			if err != nil || log != lastLog || done != lastDone {
				s.obs.Checkpointed(time.Since(start), err)
			}
			lastLog, lastDone = log, done
		}
	}
}

// syncer fsyncs the write-ahead log for each committed group, then answers
// its jobs and gives the writer its turn back.
func (s *Store) syncer() {
	defer close(s.stopped)
	for g := range s.synced {
		start := time.Now()
		err := syncLog(s.wal)
		took := time.Since(start)
		if err != nil {
			// After a failed fsync the kernel may have dropped the data it
			// could not write, and a later fsync can succeed without it:
			// nothing committed from now on can be promised durable.
			err = fmt.Errorf("sqlite: the write-ahead log could not be synced to disk; restart incidentd: %v", err)
			s.broken.CompareAndSwap(nil, &err)
		}
		broken := s.broken.Load()
		if broken != nil {
			s.obs.Failed(len(g.jobs))
		} else {
			s.obs.Committed(len(g.jobs), g.pages, g.commit, took)
		}
		for _, j := range g.jobs {
			if broken != nil {
				j.done <- *broken
				continue
			}
			j.done <- j.err
		}
		s.syncReady <- struct{}{}
	}
}

// syncLog makes the log durable; tests replace it to make it fail.
var syncLog = datasync

// syncDir fsyncs a directory, so that files created in it stay after a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// run calls fn and turns a panic into an error, so one bad job cannot stop
// the writer. The error's first line names the panic value; the lines after
// it are the stack of the goroutine that panicked, so that logging the error
// once logs where it panicked.
func run(ctx context.Context, tx *wtx, fn func(context.Context, *wtx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: transaction panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(ctx, tx)
}

// q returns what reads should go through: the ambient transaction, so that
// a transaction sees its own writes, or else the pool of readers.
func (s *Store) q(ctx context.Context) querier {
	if a, ok := ctx.Value(txKey{}).(*ambient); ok {
		return a.tx
	}
	return s.rd
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// maxStatements bounds each statement cache; queries beyond it run unprepared.
const maxStatements = 512

// conn is what both a pool (*sql.DB) and one connection (*sql.Conn) offer.
type conn interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	Close() error
}

// prepared runs statements on c, each prepared once.
type prepared struct {
	c     conn
	mu    sync.Mutex // the readers' cache serves every reading goroutine
	stmts map[string]*sql.Stmt
}

func newPrepared(c conn) *prepared {
	return &prepared{c: c, stmts: map[string]*sql.Stmt{}}
}

func (p *prepared) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts[query]; ok {
		return st
	}
	if len(p.stmts) >= maxStatements {
		return nil
	}
	st, err := p.c.PrepareContext(ctx, query)
	if err != nil {
		return nil // the unprepared call reports the error
	}
	p.stmts[query] = st
	return st
}

func (p *prepared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.c.ExecContext(ctx, query, args...)
}

func (p *prepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.c.QueryContext(ctx, query, args...)
}

func (p *prepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.c.QueryRowContext(ctx, query, args...)
}

// close closes the statements, then the connection or pool.
func (p *prepared) close() error {
	for _, st := range p.stmts {
		st.Close()
	}
	return p.c.Close()
}

// wtx is the writer's connection, its statements prepared once. Only the
// writer goroutine uses it.
type wtx struct{ *prepared }

func getDoc[T any](ctx context.Context, q querier, query string, args ...any) (*T, error) {
	var doc string
	if err := q.QueryRowContext(ctx, query, args...).Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, domain.ErrNotFound
		}
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return nil, fmt.Errorf("decode stored document: %w", err)
	}
	return v, nil
}

// insertRow runs insert, whose last argument is the JSON of v; a duplicate
// key is ErrConflict.
func (s *Store) insertRow(ctx context.Context, insert string, v any, args ...any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		return execInsert(ctx, tx, insert, doc, args)
	})
}

// execInsert runs insert with args and then doc; a duplicate key is ErrConflict.
func execInsert(ctx context.Context, tx *wtx, insert string, doc []byte, args []any) error {
	_, err := tx.ExecContext(ctx, insert, append(args, string(doc))...)
	if isUniqueViolation(err) {
		return domain.ErrConflict
	}
	return err
}

// insertDoc runs insert (whose last argument is the JSON of v) and stores
// the tags of the new resource arn; a duplicate key is ErrConflict.
func (s *Store) insertDoc(ctx context.Context, insert string, v any, account, arn string, tags map[string]string, args ...any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		if err := execInsert(ctx, tx, insert, doc, args); err != nil {
			return err
		}
		return putTags(ctx, tx, account, arn, tags)
	})
}

// updateDoc reads the document that get selects, applies fn to it and
// writes it back with put (whose first argument is the JSON), all in one
// transaction; keys are the arguments of both statements after that.
func updateDoc[T any](ctx context.Context, s *Store, get, put string, fn func(*T) error, keys ...any) error {
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		v, err := getDoc[T](ctx, tx, get, keys...)
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
		doc, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, put, append([]any{string(doc)}, keys...)...)
		return err
	})
}

// scanSeqDocs decodes rows of (seq, doc) and gives each value its seq.
func scanSeqDocs[T any](rows *sql.Rows, setSeq func(*T, int64)) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var (
			seq int64
			doc []byte
		)
		if err := rows.Scan(&seq, &doc); err != nil {
			return nil, err
		}
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return nil, fmt.Errorf("decode stored document: %w", err)
		}
		setSeq(v, seq)
		out = append(out, v)
	}
	return out, rows.Err()
}

// execOne runs a statement that changes one row, in a transaction of its
// own or the ambient one; ErrNotFound when it changes none.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return domain.ErrNotFound
		}
		return nil
	})
}

// isUniqueViolation reports whether err is SQLite's refusal of a duplicate
// key (extended result code SQLITE_CONSTRAINT_UNIQUE or
// SQLITE_CONSTRAINT_PRIMARYKEY), told by its code, not its message.
func isUniqueViolation(err error) bool {
	var e *sqlitedriver.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// scanDocs decodes the doc column of every row.
func scanDocs[T any](rows *sql.Rows) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return nil, fmt.Errorf("decode stored document: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
