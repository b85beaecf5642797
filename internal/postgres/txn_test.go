package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/postgres"
	"github.com/incidentd/incidentd/internal/testserver"
)

// tripConn counts the round trips of a connection: a write after the
// server answered starts one.
type tripConn struct {
	net.Conn
	trips *atomic.Int64
	mu    sync.Mutex
	read  bool // the server has answered since the last write
}

func (c *tripConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.read {
		c.trips.Add(1)
		c.read = false
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *tripConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.read = true
		c.mu.Unlock()
	}
	return n, err
}

// openCounting opens a store of one connection on a fresh database and
// returns it with the count of its round trips.
func openCounting(t *testing.T) (*postgres.Store, *atomic.Int64) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testserver.PostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	trips := new(atomic.Int64)
	var d net.Dialer
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &tripConn{Conn: c, trips: trips, read: true}, nil
	}
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	// pgx's default, whatever the URL says: the counts below are its own.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	s, err := postgres.OpenConfig(t.Context(), cfg, postgres.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, trips
}

func txEvent(r *domain.IncidentRecord, id string) *domain.TimelineEvent {
	return &domain.TimelineEvent{Account: r.Account, IncidentARN: r.ARN, EventID: id, EventTime: t0, EventType: domain.EventRecordUpdate, EventData: "{}", Automatic: true}
}

// update is the transaction of a durable UpdateIncidentRecord (the service's
// idempotent and updateIncidentRecord): with a token, the claim of the
// token, the record's update, its timeline event and delivery, and the
// token's result; without one, the same less the token's statements.
func update(ctx context.Context, s *postgres.Store, r *domain.IncidentRecord, token, eventID, title string) error {
	return s.Tx(ctx, func(ctx context.Context) error {
		rec := &domain.IdempotencyRecord{Account: r.Account, Operation: "UpdateIncidentRecord", Token: token, RequestHash: []byte(title), CreatedTime: t0}
		if token != "" {
			held, err := s.ClaimIdempotencyRecord(ctx, rec, t0.Add(-time.Hour))
			if err != nil {
				return err
			}
			if held != nil {
				return fmt.Errorf("token %s held", token)
			}
		}
		if err := s.UpdateIncidentRecord(ctx, r.Account, r.ARN, func(r *domain.IncidentRecord) error {
			r.Title = title
			return nil
		}); err != nil {
			return err
		}
		if err := s.AddTimelineEvent(ctx, txEvent(r, eventID)); err != nil {
			return err
		}
		if err := s.AddDeliveries(ctx, []*domain.Delivery{txDelivery(r, eventID)}); err != nil {
			return err
		}
		if token == "" {
			return nil
		}
		rec.Result = []byte(`{}`)
		return s.PutIdempotencyRecord(ctx, rec)
	})
}

func txDelivery(r *domain.IncidentRecord, id string) *domain.Delivery {
	return &domain.Delivery{ID: id, Topic: "arn:aws:sns:us-east-1:" + r.Account + ":topic", Account: r.Account, IncidentARN: r.ARN, Seq: 1,
		DetailType: domain.EventRecordUpdate, Message: []byte(`{}`), CreatedTime: t0}
}

// count returns how many rows of table the account has.
func count(t *testing.T, s *postgres.Store, table string) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(t.Context(), `SELECT count(*) FROM `+table+` WHERE account = $1`, acct).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A durable UpdateIncidentRecord costs three round trips with a clientToken
// (BEGIN with the claim, the record's locked read, the writes with COMMIT),
// two without.
func TestUpdateIncidentRecordRoundTrips(t *testing.T) {
	s, trips := openCounting(t)
	ctx := t.Context()
	r := incident("x", t0)
	if err := s.CreateIncidentRecord(ctx, r, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		token bool
		want  int64
	}{{"clientToken", true, 3}, {"no clientToken", false, 2}} {
		for i := range 5 {
			token := ""
			if tc.token {
				token = fmt.Sprint("tok-", i)
			}
			id := fmt.Sprint(tc.name, "-", i)
			before := trips.Load()
			if err := update(ctx, s, r, token, id, id); err != nil {
				t.Fatal(err)
			}
			got := trips.Load() - before
			t.Logf("%s: update %d: %d round trips", tc.name, i, got)
			// The first runs prepare the statements on the connection.
			if i >= 2 && got != tc.want {
				t.Errorf("%s: update %d took %d round trips, want %d", tc.name, i, got, tc.want)
			}
		}
	}
	got, err := s.GetIncidentRecord(ctx, acct, r.ARN)
	if err != nil || got.Title != "no clientToken-4" {
		t.Fatalf("record %+v %v", got, err)
	}
	if n := count(t, s, "timeline_events"); n != 10 {
		t.Fatalf("%d events, want 10", n)
	}
	if n := count(t, s, "deliveries"); n != 10 {
		t.Fatalf("%d deliveries, want 10", n)
	}
	rec, err := s.GetIdempotencyRecord(ctx, acct, "UpdateIncidentRecord", "tok-4")
	if err != nil || string(rec.Result) != `{}` {
		t.Fatalf("idempotency record %+v %v", rec, err)
	}
}

// withEvent opens a store with an incident record and one timeline event
// of it, id.
func withEvent(t *testing.T, id string) (*postgres.Store, *domain.IncidentRecord) {
	t.Helper()
	s, _ := openCounting(t)
	r := incident("x", t0)
	if err := s.CreateIncidentRecord(t.Context(), r, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTimelineEvent(t.Context(), txEvent(r, id)); err != nil {
		t.Fatal(err)
	}
	return s, r
}

// A deferred write that fails (a duplicate event id) fails the
// transaction with the error the call would have returned, ErrConflict,
// and leaves nothing of it written; the connection goes back to the pool.
func TestDeferredWriteFailureFailsTx(t *testing.T) {
	s, r := withEvent(t, "dup")
	ctx := t.Context()
	// Outside a transaction, the duplicate is answered at once.
	if err := s.AddTimelineEvent(ctx, txEvent(r, "dup")); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("duplicate event outside a Tx: %v", err)
	}
	conns := s.Pool().Stat().NewConnsCount()
	check := func(what string) {
		t.Helper()
		got, err := s.GetIncidentRecord(ctx, acct, r.ARN)
		if err != nil || got.Title != r.Title {
			t.Fatalf("%s: record %+v %v", what, got, err)
		}
		if n := count(t, s, "timeline_events"); n != 1 {
			t.Fatalf("%s: %d events, want 1", what, n)
		}
		if n := count(t, s, "deliveries"); n != 0 {
			t.Fatalf("%s: %d deliveries, want 0", what, n)
		}
		if _, err := s.GetIdempotencyRecord(ctx, acct, "UpdateIncidentRecord", "tok"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("%s: the token's record: %v", what, err)
		}
		if n := s.Pool().Stat().NewConnsCount(); n != conns {
			t.Fatalf("%s: the pool opened %d connections: one was not returned clean", what, n-conns)
		}
	}

	// Sent with COMMIT.
	err := update(ctx, s, r, "tok", "dup", "changed")
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("Tx with a duplicate event: %v", err)
	}
	check("after the duplicate sent with COMMIT")

	// Sent with a later read: the read fails, with an error that is not the
	// read's answer, and so does the Tx, even if fn goes on.
	var readErr error
	err = s.Tx(ctx, func(ctx context.Context) error {
		if err := s.UpdateIncidentRecord(ctx, acct, r.ARN, func(r *domain.IncidentRecord) error { r.Title = "changed"; return nil }); err != nil {
			return err
		}
		if err := s.AddTimelineEvent(ctx, txEvent(r, "dup")); err != nil {
			return err
		}
		_, readErr = s.GetIncidentRecord(ctx, acct, r.ARN)
		return s.AddDeliveries(ctx, []*domain.Delivery{txDelivery(r, "x")})
	})
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("Tx with a duplicate event sent with a read: %v", err)
	}
	if !postgres.IsAborted(readErr) || errors.Is(readErr, domain.ErrConflict) || errors.Is(readErr, domain.ErrNotFound) {
		t.Fatalf("the read that sent the duplicate: %v", readErr)
	}
	check("after the duplicate sent with a read")

	// A nested Tx: the failure fails the outer transaction too.
	err = s.Tx(ctx, func(ctx context.Context) error {
		if err := s.Tx(ctx, func(ctx context.Context) error { return s.AddTimelineEvent(ctx, txEvent(r, "dup")) }); err != nil {
			return err
		}
		return s.UpdateIncidentRecord(ctx, acct, r.ARN, func(r *domain.IncidentRecord) error { r.Title = "changed"; return nil })
	})
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("Tx with a duplicate event in a nested Tx: %v", err)
	}
	check("after the duplicate of a nested Tx")
}

// Savepoints hold with deferred writes: a nested Tx that fails drops what
// it deferred (here a duplicate that would fail the transaction), also
// after its SAVEPOINT was sent, and one that succeeds keeps it.
func TestSavepointWithDeferredWrites(t *testing.T) {
	s, r := withEvent(t, "dup")
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.Tx(ctx, func(ctx context.Context) error {
		// Its SAVEPOINT never sent.
		if err := s.Tx(ctx, func(ctx context.Context) error {
			if err := s.AddTimelineEvent(ctx, txEvent(r, "dup")); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			return fmt.Errorf("first nested Tx: %v", err)
		}
		// Its SAVEPOINT sent with the read, the duplicate queued after it.
		if err := s.Tx(ctx, func(ctx context.Context) error {
			if err := s.UpdateIncidentRecord(ctx, acct, r.ARN, func(r *domain.IncidentRecord) error { r.Title = "nested"; return nil }); err != nil {
				return err
			}
			if err := s.AddTimelineEvent(ctx, txEvent(r, "dup")); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			return fmt.Errorf("second nested Tx: %v", err)
		}
		// One that fails on the server: the transaction is recovered.
		if err := s.Tx(ctx, func(ctx context.Context) error {
			if err := s.AddTimelineEvent(ctx, txEvent(r, "inner")); err != nil {
				return err
			}
			_, err := s.ExecInTx(ctx, "SELECT 1/0") // sent with the insert, fails on the server
			return err
		}); err == nil {
			return errors.New("third nested Tx did not fail")
		}
		// One that succeeds keeps its deferred writes.
		if err := s.Tx(ctx, func(ctx context.Context) error { return s.AddTimelineEvent(ctx, txEvent(r, "kept")) }); err != nil {
			return err
		}
		if _, err := s.GetTimelineEvent(ctx, acct, r.ARN, "kept"); err != nil {
			return fmt.Errorf("the event of the nested Tx, inside: %v", err)
		}
		return s.UpdateIncidentRecord(ctx, acct, r.ARN, func(r *domain.IncidentRecord) error { r.Title = "outer"; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIncidentRecord(ctx, acct, r.ARN)
	if err != nil || got.Title != "outer" {
		t.Fatalf("record %+v %v", got, err)
	}
	es, err := s.ListTimelineEvents(ctx, acct, r.ARN, domain.TimelineFilter{}, nil, 10)
	if err != nil || len(es) != 2 {
		t.Fatalf("events %d %v, want dup and kept", len(es), err)
	}
	for _, e := range es {
		if e.EventID != "dup" && e.EventID != "kept" {
			t.Fatalf("event %s left", e.EventID)
		}
	}
}

// Two transactions whose deferred writes (sent with COMMIT) wait for a
// row the other one locked deadlock: the one PostgreSQL aborts is run
// again, and both commit.
func TestDeadlockOfDeferredWritesIsRetried(t *testing.T) {
	url := testserver.PostgresDatabase(t)
	stores := []*postgres.Store{open(t, url, postgres.Options{MaxConns: 2}), open(t, url, postgres.Options{MaxConns: 2})}
	rec := func(token string, b byte) *domain.IdempotencyRecord {
		return &domain.IdempotencyRecord{Account: acct, Operation: "StartIncident", Token: token, RequestHash: []byte{b}, Result: []byte{b}, CreatedTime: t0}
	}
	var runs atomic.Int32
	var both sync.WaitGroup
	both.Add(2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			s := stores[i]
			mine, theirs := fmt.Sprint("t", i), fmt.Sprint("t", 1-i)
			attempt := 0
			errs[i] = s.Tx(t.Context(), func(ctx context.Context) error {
				runs.Add(1)
				attempt++
				// The claim is sent, and locks the token's row.
				if _, err := s.ClaimIdempotencyRecord(ctx, rec(mine, byte(i)), t0.Add(-time.Hour)); err != nil {
					return err
				}
				if attempt == 1 {
					both.Done()
					both.Wait()
				}
				// Deferred: it waits for the other's row at COMMIT.
				return s.PutIdempotencyRecord(ctx, rec(theirs, byte(i)))
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if n := runs.Load(); n < 3 {
		t.Fatalf("fn ran %d times: no transaction was retried", n)
	}
}

// A transaction whose ctx ends before its COMMIT is sent rolls back, and
// its connection goes back to the pool clean.
func TestCanceledTxRollsBack(t *testing.T) {
	s, _ := openCounting(t)
	r := incident("x", t0)
	if err := s.CreateIncidentRecord(t.Context(), r, nil, nil); err != nil {
		t.Fatal(err)
	}
	conns := s.Pool().Stat().NewConnsCount()
	ctx, cancel := context.WithCancel(t.Context())
	err := s.Tx(ctx, func(ctx context.Context) error {
		if err := s.UpdateIncidentRecord(ctx, acct, r.ARN, func(r *domain.IncidentRecord) error { r.Title = "changed"; return nil }); err != nil {
			return err
		}
		cancel()
		return s.AddTimelineEvent(ctx, txEvent(r, "e"))
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Tx: %v", err)
	}
	got, err := s.GetIncidentRecord(t.Context(), acct, r.ARN)
	if err != nil || got.Title != r.Title {
		t.Fatalf("record %+v %v", got, err)
	}
	if n := count(t, s, "timeline_events"); n != 0 {
		t.Fatalf("%d events", n)
	}
	if n := s.Pool().Stat().NewConnsCount(); n != conns {
		t.Fatalf("the pool opened %d connections", n-conns)
	}
}
