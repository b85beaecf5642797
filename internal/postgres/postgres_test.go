package postgres_test

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/postgres"
	"github.com/incidentd/incidentd/internal/testserver"
)

const acct = "111122223333"

// open opens a store on url, closed when the test ends.
func open(t testing.TB, url string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// nodes opens n stores on one fresh database, as n incidentd nodes would.
func nodes(t testing.TB, n int) []*postgres.Store {
	t.Helper()
	url := testserver.PostgresDatabase(t)
	out := make([]*postgres.Store, n)
	for i := range out {
		out[i] = open(t, url, postgres.Options{MaxConns: 8})
	}
	return out
}

// sql runs a statement on the database at url, outside any store.
func sql(t testing.TB, url, query string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func incident(id string, created time.Time) *domain.IncidentRecord {
	return &domain.IncidentRecord{
		ARN: "arn:aws:ssm-incidents::" + acct + ":incident-record/plan/" + id, Account: acct, PlanName: "plan",
		Title: "incident " + id, Status: domain.IncidentOpen, Impact: 3, CreationTime: created, LastModifiedTime: created,
		DedupeString: "dd-" + id, Source: domain.IncidentRecordSource{CreatedBy: "me", Source: domain.SourceCustom},
	}
}

func plan(name string) *domain.ResponsePlan {
	return &domain.ResponsePlan{
		ARN: "arn:aws:ssm-incidents::" + acct + ":response-plan/" + name, Account: acct, Name: name,
		Template: domain.IncidentTemplate{Title: "t", Impact: 3},
	}
}

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// parallel runs fn(i) for i < n on goroutines of their own, started
// together, and returns their errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func noErrors(t testing.TB, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
}

func TestMigrationsTwice(t *testing.T) {
	url := testserver.PostgresDatabase(t)
	s := open(t, url, postgres.Options{})
	if err := s.CreateResponsePlan(t.Context(), plan("p"), nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Opening again applies nothing and keeps the data.
	s = open(t, url, postgres.Options{})
	if _, err := s.GetResponsePlan(t.Context(), acct, "p"); err != nil {
		t.Fatalf("the plan after reopening: %v", err)
	}
}

func TestMigrationsOfNodesStartingTogether(t *testing.T) {
	url := testserver.PostgresDatabase(t)
	stores := make([]*postgres.Store, 6)
	noErrors(t, parallel(len(stores), func(i int) error {
		s, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 2})
		stores[i] = s
		return err
	}))
	for _, s := range stores {
		s.Close()
	}
	open(t, url, postgres.Options{}).Close()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n, distinct int
	if err := conn.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct {
		t.Fatalf("schema_migrations has %d rows of %d versions", n, distinct)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	url := testserver.PostgresDatabase(t)
	open(t, url, postgres.Options{}).Close()
	sql(t, url, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', now())`)
	_, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "database schema version 9999 is newer than this incidentd knows (") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

func TestBadURL(t *testing.T) {
	if _, err := postgres.Open(t.Context(), "postgres://nobody@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", postgres.Options{}); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
}

func TestPing(t *testing.T) {
	s := nodes(t, 1)[0]
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// Concurrent closures of UpdateIncidentRecord, on two nodes, each append
// to the record: none is lost.
func TestConcurrentUpdateIncidentRecordLosesNothing(t *testing.T) {
	ns := nodes(t, 2)
	r := incident("x", t0)
	if err := ns[0].CreateIncidentRecord(t.Context(), r, nil, nil); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 10
	noErrors(t, parallel(workers, func(i int) error {
		s := ns[i%2]
		for j := range each {
			update := func(ctx context.Context) error {
				return s.UpdateIncidentRecord(ctx, acct, r.ARN, func(r *domain.IncidentRecord) error {
					r.NotificationTargets = append(r.NotificationTargets, fmt.Sprintf("%d-%d", i, j))
					r.Impact = int32(len(r.NotificationTargets)%5 + 1)
					return nil
				})
			}
			var err error
			if j%2 == 0 {
				err = update(t.Context())
			} else { // also inside a Tx
				err = s.Tx(t.Context(), update)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}))
	got, err := ns[1].GetIncidentRecord(t.Context(), acct, r.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.NotificationTargets) != workers*each {
		t.Fatalf("%d appends kept of %d", len(got.NotificationTargets), workers*each)
	}
	seen := map[string]bool{}
	for _, v := range got.NotificationTargets {
		if seen[v] {
			t.Fatalf("%s appended twice", v)
		}
		seen[v] = true
	}
}

// Transactions on several nodes claim one clientToken at once: one wins;
// the others wait for it and get the record it put.
func TestConcurrentClaimIdempotencyRecord(t *testing.T) {
	ns := nodes(t, 2)
	var winners atomic.Int32
	held := make([]*domain.IdempotencyRecord, 10)
	noErrors(t, parallel(len(held), func(i int) error {
		s := ns[i%2]
		return s.Tx(t.Context(), func(ctx context.Context) error {
			held[i] = nil
			r := &domain.IdempotencyRecord{Account: acct, Operation: "StartIncident", Token: "tok", RequestHash: []byte{byte(i)}, CreatedTime: t0}
			h, err := s.ClaimIdempotencyRecord(ctx, r, t0.Add(-time.Hour))
			if err != nil {
				return err
			}
			if h != nil {
				held[i] = h
				return nil
			}
			winners.Add(1)
			time.Sleep(50 * time.Millisecond) // the others wait meanwhile
			r.Result = fmt.Appendf(nil, `{"winner":%d}`, i)
			return s.PutIdempotencyRecord(ctx, r)
		})
	}))
	if n := winners.Load(); n != 1 {
		t.Fatalf("%d claimers won", n)
	}
	final, err := ns[0].GetIdempotencyRecord(t.Context(), acct, "StartIncident", "tok")
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range held {
		if h != nil && (string(h.Result) != string(final.Result) || string(h.RequestHash) != string(final.RequestHash)) {
			t.Fatalf("claimer %d got %s/%x, the winner put %s/%x", i, h.Result, h.RequestHash, final.Result, final.RequestHash)
		}
	}
}

// A claimer waits for a claim that is rolled back, then claims the token
// itself.
func TestClaimAfterRolledBackClaim(t *testing.T) {
	ns := nodes(t, 2)
	r := &domain.IdempotencyRecord{Account: acct, Operation: "StartIncident", Token: "tok", RequestHash: []byte{1}, CreatedTime: t0}
	claimed, release := make(chan struct{}), make(chan struct{})
	boom := errors.New("boom")
	done := make(chan error, 1)
	go func() {
		done <- ns[0].Tx(t.Context(), func(ctx context.Context) error {
			if _, err := ns[0].ClaimIdempotencyRecord(ctx, r, t0.Add(-time.Hour)); err != nil {
				return err
			}
			close(claimed)
			<-release
			return boom
		})
	}()
	<-claimed
	time.AfterFunc(100*time.Millisecond, func() { close(release) })
	held, err := ns[1].ClaimIdempotencyRecord(t.Context(), r, t0.Add(-time.Hour))
	if err != nil || held != nil {
		t.Fatalf("claim after a rolled-back claim: %v %v", held, err)
	}
	if err := <-done; !errors.Is(err, boom) {
		t.Fatalf("the first Tx: %v", err)
	}
}

// Transactions on several nodes each look up one dedupeString and create a
// record when they find none: one record is created.
func TestConcurrentDedupeCreatesOne(t *testing.T) {
	ns := nodes(t, 2)
	var created atomic.Int32
	noErrors(t, parallel(10, func(i int) error {
		s := ns[i%2]
		return s.Tx(t.Context(), func(ctx context.Context) error {
			_, err := s.FindOpenIncident(ctx, acct, "dd")
			if err == nil {
				return nil
			}
			if !errors.Is(err, domain.ErrNotFound) {
				return err
			}
			r := incident(fmt.Sprint(i), t0.Add(time.Duration(i)*time.Millisecond))
			r.DedupeString = "dd"
			time.Sleep(20 * time.Millisecond)
			if err := s.CreateIncidentRecord(ctx, r, nil, nil); err != nil {
				return err
			}
			created.Add(1)
			return nil
		})
	}))
	rs, err := ns[0].ListIncidentRecords(t.Context(), acct, nil, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d records created", len(rs))
	}
}

// Count-then-put transactions of one plan, on several nodes, keep a quota.
func TestConcurrentResourcePolicyQuota(t *testing.T) {
	for _, withPlan := range []bool{true, false} {
		t.Run(fmt.Sprintf("plan exists %v", withPlan), func(t *testing.T) {
			ns := nodes(t, 2)
			if withPlan {
				if err := ns[0].CreateResponsePlan(t.Context(), plan("p"), nil); err != nil {
					t.Fatal(err)
				}
			}
			const quota = 3
			noErrors(t, parallel(10, func(i int) error {
				s := ns[i%2]
				return s.Tx(t.Context(), func(ctx context.Context) error {
					n, err := s.CountResourcePolicies(ctx, acct, "p")
					if err != nil || n >= quota {
						return err
					}
					time.Sleep(10 * time.Millisecond)
					return s.PutResourcePolicy(ctx, &domain.ResourcePolicy{ID: fmt.Sprintf("%032x", i), Account: acct, PlanName: "p", CreatedTime: t0})
				})
			}))
			n, err := ns[0].CountResourcePolicies(t.Context(), acct, "p")
			if err != nil || n != quota {
				t.Fatalf("%d policies (%v), quota %d", n, err, quota)
			}
		})
	}
}

// Inside a Tx, a call that fails rolls back only itself, and the rest
// commits.
func TestFailedCallInsideTxRollsBackOnlyItself(t *testing.T) {
	s := nodes(t, 1)[0]
	ctx := t.Context()
	r := incident("x", t0)
	url := func(s string) domain.RelatedItem {
		return domain.RelatedItem{GeneratedID: s, Type: "OTHER", Value: domain.ItemValue{URL: &s}}
	}
	boom := errors.New("boom")
	err := s.Tx(ctx, func(ctx context.Context) error {
		if err := s.CreateIncidentRecord(ctx, r, map[string]string{"k": "v"}, []domain.RelatedItem{url("a")}); err != nil {
			return err
		}
		if err := s.CreateIncidentRecord(ctx, r, nil, nil); !errors.Is(err, domain.ErrConflict) {
			return fmt.Errorf("second create: %v", err)
		}
		// A duplicate item takes no position.
		if err := s.AddRelatedItem(ctx, acct, r.ARN, url("a")); !errors.Is(err, domain.ErrConflict) {
			return fmt.Errorf("duplicate item: %v", err)
		}
		if err := s.AddRelatedItem(ctx, acct, r.ARN, url("b")); err != nil {
			return err
		}
		if err := s.AddTimelineEvent(ctx, &domain.TimelineEvent{Account: acct, IncidentARN: r.ARN, EventID: "e1", EventTime: t0, EventType: "Custom Event"}); err != nil {
			return err
		}
		// (A duplicate event is deferred, and fails the whole transaction:
		// TestDeferredWriteFailureFailsTx.)
		// A nested Tx that fails is undone; the outer one goes on.
		err := s.Tx(ctx, func(ctx context.Context) error {
			if err := s.UpdateTags(ctx, domain.ResourceRef{Account: acct, Type: domain.ResourceIncidentRecord, ARN: r.ARN, Key: r.ARN}, func(m map[string]string) error {
				m["nested"] = "1"
				return nil
			}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			return fmt.Errorf("nested Tx: %v", err)
		}
		return s.UpdateIncidentRecord(ctx, acct, r.ARN, func(r *domain.IncidentRecord) error { r.Title = "changed"; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIncidentRecord(ctx, acct, r.ARN)
	if err != nil || got.Title != "changed" {
		t.Fatalf("record %+v %v", got, err)
	}
	items, err := s.ListRelatedItems(ctx, acct, r.ARN, nil, 0)
	if err != nil || len(items) != 2 || items[0].GeneratedID != "a" || items[1].GeneratedID != "b" || items[1].Seq != 1 {
		t.Fatalf("items %+v %v", items, err)
	}
	tags, err := s.Tags(ctx, domain.ResourceRef{Account: acct, Type: domain.ResourceIncidentRecord, ARN: r.ARN, Key: r.ARN})
	if err != nil || len(tags) != 1 || tags["k"] != "v" {
		t.Fatalf("tags %v %v", tags, err)
	}
}

// Two transactions that lock two records in opposite orders deadlock; the
// one PostgreSQL aborts is run again, and both commit.
func TestDeadlockedTxIsRetried(t *testing.T) {
	ns := nodes(t, 2)
	a, b := incident("a", t0), incident("b", t0)
	for _, r := range []*domain.IncidentRecord{a, b} {
		if err := ns[0].CreateIncidentRecord(t.Context(), r, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	var runs atomic.Int32
	var both sync.WaitGroup
	both.Add(2)
	noErrors(t, parallel(2, func(i int) error {
		first, second := a, b
		if i == 1 {
			first, second = b, a
		}
		s := ns[i]
		attempt := 0
		return s.Tx(t.Context(), func(ctx context.Context) error {
			runs.Add(1)
			attempt++
			bump := func(r *domain.IncidentRecord) error {
				r.NotificationTargets = append(r.NotificationTargets, fmt.Sprint(i))
				return nil
			}
			if err := s.UpdateIncidentRecord(ctx, acct, first.ARN, bump); err != nil {
				return err
			}
			if attempt == 1 {
				both.Done()
				both.Wait() // each holds its first record
			}
			return s.UpdateIncidentRecord(ctx, acct, second.ARN, bump)
		})
	}))
	if n := runs.Load(); n < 3 {
		t.Fatalf("fn ran %d times: no transaction was retried", n)
	}
	for _, r := range []*domain.IncidentRecord{a, b} {
		got, err := ns[0].GetIncidentRecord(t.Context(), acct, r.ARN)
		if err != nil || len(got.NotificationTargets) != 2 {
			t.Fatalf("%s: %+v %v", r.ARN, got, err)
		}
	}
}

// A statement that runs longer than Options.StatementTimeout fails.
func TestStatementTimeout(t *testing.T) {
	url := testserver.PostgresDatabase(t)
	s := open(t, url, postgres.Options{})
	impatient := open(t, url, postgres.Options{StatementTimeout: 100 * time.Millisecond})
	r := incident("x", t0)
	if err := s.CreateIncidentRecord(t.Context(), r, nil, nil); err != nil {
		t.Fatal(err)
	}
	locked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.UpdateIncidentRecord(t.Context(), acct, r.ARN, func(*domain.IncidentRecord) error {
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	start := time.Now()
	err := impatient.UpdateIncidentRecord(t.Context(), acct, r.ARN, func(*domain.IncidentRecord) error { return nil })
	close(release)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("update of a locked record under a statement timeout: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the timeout took %v", d)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Every node gets the same secret.
func TestSecretSharedByNodes(t *testing.T) {
	ns := nodes(t, 3)
	got := make([][]byte, 9)
	noErrors(t, parallel(len(got), func(i int) error {
		var err error
		got[i], err = ns[i%3].Secret(t.Context(), "signing", 32)
		return err
	}))
	for i, v := range got {
		if len(v) != 32 || string(v) != string(got[0]) {
			t.Fatalf("node %d got %x, node 0 %x", i, v, got[0])
		}
	}
}

// Documents are stored as the JSON the SQLite engine stores: a NUL in a
// string, escaped \u0000 in the JSON, is kept, and filtering the timeline
// by reference still works.
func TestNULInDocument(t *testing.T) {
	s := nodes(t, 1)[0]
	ctx := t.Context()
	r := incident("x", t0)
	r.Title = "a\x00b"
	if err := s.CreateIncidentRecord(ctx, r, nil, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIncidentRecord(ctx, acct, r.ARN)
	if err != nil || got.Title != r.Title {
		t.Fatalf("record %q %v", got.Title, err)
	}
	arn := "arn:aws:lambda:us-east-1:" + acct + ":function:f"
	item := "item-1"
	for i, refs := range [][]domain.EventReference{{{Resource: &arn}}, {{RelatedItemID: &item}}, nil} {
		e := &domain.TimelineEvent{Account: acct, IncidentARN: r.ARN, EventID: fmt.Sprint("e", i), EventTime: t0, EventType: "Custom Event", EventData: "x\x00y", References: refs}
		if err := s.AddTimelineEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for ref, want := range map[string]string{arn: "e0", item: "e1"} {
		es, err := s.ListTimelineEvents(ctx, acct, r.ARN, domain.TimelineFilter{References: [][]string{{ref, "other"}}}, nil, 10)
		if err != nil || len(es) != 1 || es[0].EventID != want || es[0].EventData != "x\x00y" {
			t.Fatalf("events referencing %s: %+v %v", ref, es, err)
		}
	}
	// An update changes what the event references.
	if err := s.UpdateTimelineEvent(ctx, acct, r.ARN, "e2", func(e *domain.TimelineEvent) error {
		e.References = []domain.EventReference{{Resource: &arn}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	es, err := s.ListTimelineEvents(ctx, acct, r.ARN, domain.TimelineFilter{References: [][]string{{arn}}}, nil, 10)
	if err != nil || len(es) != 2 {
		t.Fatalf("events referencing %s after an update: %+v %v", arn, es, err)
	}
}

// Names sort by their bytes, whatever the database's collation, as in
// SQLite: here on a database whose collation is ICU's en-US, where "a" sorts
// before "B".
func TestByteOrder(t *testing.T) {
	base := testserver.PostgresDatabase(t)
	u, err := neturl.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/") + "_icu"
	sql(t, base, `CREATE DATABASE `+name+` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`)
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Error(err)
		}
	})
	u.Path = "/" + name
	s := open(t, u.String(), postgres.Options{})
	names := []string{"B", "_", "a", "Ä", "b"}
	for _, n := range names {
		if err := s.CreateResponsePlan(t.Context(), plan(n), nil); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := s.ListResponsePlans(t.Context(), acct, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Name)
	}
	if want := "B _ a b Ä"; strings.Join(got, " ") != want {
		t.Fatalf("plans listed %q, want %q", strings.Join(got, " "), want)
	}
}

// The StoreTrace of a context records reads and writes.
func TestStoreTrace(t *testing.T) {
	s := nodes(t, 1)[0]
	ctx, trace := domain.WithStoreTrace(t.Context())
	if err := s.CreateResponsePlan(ctx, plan("p"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetResponsePlan(ctx, acct, "p"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tx(ctx, func(ctx context.Context) error {
		_, err := s.GetResponsePlan(ctx, acct, "p") // part of the Tx
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := trace.Totals(); got.Reads != 1 || got.Writes != 2 || got.MaxGroup != 1 {
		t.Fatalf("trace %+v", got)
	}
}

// Transactions that read an incident and then add an event to it race its
// deletion: no event is left of the deleted incident.
func TestIncidentDeleteRacesEventAdd(t *testing.T) {
	ns := nodes(t, 2)
	for round := range 5 {
		r := incident(fmt.Sprint("r", round), t0)
		if err := ns[0].CreateIncidentRecord(t.Context(), r, nil, nil); err != nil {
			t.Fatal(err)
		}
		errs := parallel(8, func(i int) error {
			s := ns[i%2]
			if i == 0 {
				return s.DeleteIncidentRecord(t.Context(), acct, r.ARN)
			}
			return s.Tx(t.Context(), func(ctx context.Context) error {
				if _, err := s.GetIncidentRecord(ctx, acct, r.ARN); err != nil {
					return err
				}
				time.Sleep(time.Duration(i) * time.Millisecond)
				return s.AddTimelineEvent(ctx, &domain.TimelineEvent{Account: acct, IncidentARN: r.ARN, EventID: fmt.Sprint(round, "-", i), EventTime: t0, EventType: "Custom Event"})
			})
		})
		for i, err := range errs {
			if err != nil && !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("goroutine %d: %v", i, err)
			}
		}
		es, err := ns[0].ListTimelineEvents(t.Context(), acct, r.ARN, domain.TimelineFilter{}, nil, 100)
		if err != nil || len(es) != 0 {
			t.Fatalf("round %d: %d events left of a deleted incident (%v)", round, len(es), err)
		}
	}
}
