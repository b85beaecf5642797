package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/sqlite"

	_ "modernc.org/sqlite"
)

var ctx = context.Background()

func open(t testing.TB, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func plan(account, name string) *domain.ResponsePlan {
	return &domain.ResponsePlan{
		ARN: "arn:aws:ssm-incidents::" + account + ":response-plan/" + name, Account: account, Name: name,
		Template: domain.IncidentTemplate{Title: "t", Impact: 3},
	}
}

func TestResponsePlansAndTags(t *testing.T) {
	s := open(t, t.TempDir())
	p := plan("111122223333", "a")
	if err := s.CreateResponsePlan(ctx, p, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateResponsePlan(ctx, p, nil); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	// The same name in another account is another plan.
	if err := s.CreateResponsePlan(ctx, plan("444455556666", "a"), nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetResponsePlan(ctx, "111122223333", "a")
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.GetResponsePlan(ctx, "111122223333", "b"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}

	// A failing update changes nothing.
	boom := errors.New("boom")
	err = s.UpdateResponsePlan(ctx, "111122223333", "a", func(p *domain.ResponsePlan) error {
		p.Template.Title = "changed"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	got, _ = s.GetResponsePlan(ctx, "111122223333", "a")
	if got.Template.Title != "t" {
		t.Fatal("a failed update was written")
	}

	ref := domain.ResourceRef{Account: "111122223333", Type: domain.ResourceResponsePlan, ARN: p.ARN, Key: "a"}
	tags, err := s.Tags(ctx, ref)
	if err != nil || !reflect.DeepEqual(tags, map[string]string{"k": "v"}) {
		t.Fatalf("tags %v %v", tags, err)
	}
	err = s.UpdateTags(ctx, ref, func(m map[string]string) error { m["x"] = "y"; return boom })
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if tags, _ := s.Tags(ctx, ref); len(tags) != 1 {
		t.Fatalf("a failed tag update was written: %v", tags)
	}
	other := ref
	other.Account = "444455556666"
	if tags, err := s.Tags(ctx, other); err != nil || len(tags) != 0 {
		t.Fatalf("tags leak across accounts: %v %v", tags, err)
	}

	if err := s.DeleteResponsePlan(ctx, "111122223333", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tags(ctx, ref); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("tags of a deleted plan: %v", err)
	}
	if err := s.DeleteResponsePlan(ctx, "111122223333", "a"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

func TestListResponsePlansIsKeyset(t *testing.T) {
	s := open(t, t.TempDir())
	for _, n := range []string{"c", "a", "b", "d"} {
		if err := s.CreateResponsePlan(ctx, plan("111122223333", n), nil); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ListResponsePlans(ctx, "111122223333", "a", 2)
	if err != nil || len(page) != 2 || page[0].Name != "b" || page[1].Name != "c" {
		t.Fatalf("page %v %v", page, err)
	}
}

func TestDeleteAccountData(t *testing.T) {
	s := open(t, t.TempDir())
	now := time.Now().UTC()
	rs := &domain.ReplicationSet{ARN: "arn:aws:ssm-incidents::111122223333:replication-set/x", Account: "111122223333", CreatedTime: now,
		Regions: map[string]*domain.Region{"us-east-1": {SSEKMSKeyID: "DefaultKey", AddedTime: now}}}
	if err := s.CreateReplicationSet(ctx, rs, map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateReplicationSet(ctx, rs, nil); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second set: %v", err)
	}
	s.CreateResponsePlan(ctx, plan("111122223333", "p"), map[string]string{"k": "v"})
	s.CreateResponsePlan(ctx, plan("444455556666", "p"), nil)

	refuse := errors.New("protected")
	if err := s.DeleteAccountData(ctx, "111122223333", func(*domain.ReplicationSet) error { return refuse }); !errors.Is(err, refuse) {
		t.Fatal(err)
	}
	if _, err := s.GetResponsePlan(ctx, "111122223333", "p"); err != nil {
		t.Fatal("a refused delete removed data")
	}
	if err := s.DeleteAccountData(ctx, "111122223333", func(*domain.ReplicationSet) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetReplicationSet(ctx, "111122223333"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := s.GetResponsePlan(ctx, "111122223333", "p"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := s.GetResponsePlan(ctx, "444455556666", "p"); err != nil {
		t.Fatalf("another account's plan went too: %v", err)
	}
}

func TestSecretIsStable(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	a, err := s.Secret(ctx, "k", 32)
	if err != nil || len(a) != 32 {
		t.Fatal(err)
	}
	s.Close()
	s2 := open(t, dir)
	b, _ := s2.Secret(ctx, "k", 32)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("secret changed across restarts")
	}
}

func TestMigrationsAreRecordedAndNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.Close()
	// Opening again applies nothing twice.
	s = open(t, dir)
	s.Close()

	db := openFile(t, dir)
	var n int
	db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	if n == 0 {
		t.Fatal("no migration recorded")
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 'x')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := sqlite.Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("a newer schema was accepted: %v", err)
	}
}

// TestConcurrentTransactionsCommitTogetherAndFailAlone runs many concurrent
// transactions, some of which fail or panic, and checks that exactly the
// successful ones are stored, also after reopening the database.
func TestConcurrentTransactionsCommitTogetherAndFailAlone(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	const n = 300
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- s.Tx(ctx, func(ctx context.Context) error {
				if err := s.CreateResponsePlan(ctx, plan("111122223333", fmt.Sprintf("p%03d", i)), nil); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return fmt.Errorf("refused %d", i)
				case 7:
					panic("boom")
				}
				return nil
			})
		}()
	}
	failed := 0
	for range n {
		if err := <-errs; err != nil {
			failed++
		}
	}
	if failed != 2*n/10 {
		t.Fatalf("%d transactions failed, want %d", failed, 2*n/10)
	}
	s.Close()
	s = open(t, dir)
	all, err := s.ListResponsePlans(ctx, "111122223333", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n-failed {
		t.Fatalf("%d plans stored, want %d", len(all), n-failed)
	}
	for _, p := range all {
		var i int
		fmt.Sscanf(p.Name, "p%03d", &i)
		if i%10 == 3 || i%10 == 7 {
			t.Fatalf("plan %s of a failed transaction was stored", p.Name)
		}
	}
}

// TestNestedFailureRollsBackOnlyItself checks that a failed store call
// inside a transaction leaves nothing behind while the transaction goes on.
func TestNestedFailureRollsBackOnlyItself(t *testing.T) {
	s := open(t, t.TempDir())
	err := s.Tx(ctx, func(ctx context.Context) error {
		if err := s.CreateResponsePlan(ctx, plan("111122223333", "a"), map[string]string{"k": "v"}); err != nil {
			return err
		}
		if err := s.CreateResponsePlan(ctx, plan("111122223333", "a"), map[string]string{"x": "y"}); !errors.Is(err, domain.ErrConflict) {
			return fmt.Errorf("want conflict, got %v", err)
		}
		// The transaction sees its own write.
		_, err := s.GetResponsePlan(ctx, "111122223333", "a")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tags, _ := s.Tags(ctx, domain.ResourceRef{Account: "111122223333", Type: domain.ResourceResponsePlan, ARN: plan("111122223333", "a").ARN, Key: "a"})
	if !reflect.DeepEqual(tags, map[string]string{"k": "v"}) {
		t.Fatalf("tags %v", tags)
	}
}

// A migration numbered below the newest recorded one is applied all the same.
func TestMigrationBelowTheNewestIsApplied(t *testing.T) {
	dir := t.TempDir()
	open(t, dir).Close()
	db := openFile(t, dir)
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = 3; DROP TABLE resource_policies`); err != nil {
		t.Fatal(err)
	}
	open(t, dir).Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE version = 3`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("migration 3 recorded %d times: %v", n, err)
	}
	if _, err := db.Exec(`SELECT COUNT(*) FROM resource_policies`); err != nil {
		t.Fatalf("the re-applied migration's table: %v", err)
	}
}

func policy(account, planName, id string, created time.Time) *domain.ResourcePolicy {
	return &domain.ResourcePolicy{
		ID: id, Account: account, PlanName: planName, Region: "us-east-1", CreatedTime: created,
		Document: `{"Version":"2012-10-17","Statement":[]}`,
		Policy:   domain.Policy{Version: "2012-10-17", Statements: []domain.Statement{{Effect: "Allow", Principals: []string{"*"}, Actions: []string{"ssm-incidents:*"}, Resources: []string{"r"}}}},
	}
}

func TestResourcePolicies(t *testing.T) {
	s := open(t, t.TempDir())
	const a, b = "111122223333", "444455556666"
	t0 := time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, acct := range []string{a, b} {
		if err := s.CreateResponsePlan(ctx, plan(acct, "p"), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Policies list in the order they were added, whatever their ids and times.
	want := []*domain.ResourcePolicy{policy(a, "p", "bb", t0.Add(time.Second)), policy(a, "p", "aa", t0), policy(a, "p", "cc", t0)}
	for _, p := range []*domain.ResourcePolicy{want[0], policy(b, "p", "aa", t0), want[1], policy(a, "q", "cc", t0), want[2]} {
		if err := s.PutResourcePolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutResourcePolicy(ctx, policy(a, "p", "aa", t0)); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
	if n, err := s.CountResourcePolicies(ctx, a, "p"); err != nil || n != 3 {
		t.Fatalf("count = %d, %v; want 3", n, err)
	}
	all, err := s.ListResourcePolicies(ctx, a, "p", 0, 10)
	if err != nil || len(all) != 3 {
		t.Fatalf("list = %+v, %v; want 3 policies", all, err)
	}
	for i, p := range all {
		if p.Seq <= 0 || (i > 0 && p.Seq <= all[i-1].Seq) {
			t.Fatalf("policy %d has seq %d after %+v", i, p.Seq, all)
		}
		want[i].Seq = p.Seq
	}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("list = %+v; want %+v", all, want)
	}
	page, err := s.ListResourcePolicies(ctx, a, "p", all[0].Seq, 1)
	if err != nil || len(page) != 1 || page[0].ID != "aa" {
		t.Fatalf("page after bb = %+v, %v; want aa", page, err)
	}

	if err := s.DeleteResourcePolicy(ctx, a, "p", "zz"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("delete unknown: %v", err)
	}
	if err := s.DeleteResourcePolicy(ctx, a, "p", "aa"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountResourcePolicies(ctx, a, "p"); n != 2 {
		t.Fatalf("count after delete = %d, want 2", n)
	}

	// Deleting the plan deletes its policies, and only its own.
	if err := s.DeleteResponsePlan(ctx, a, "p"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountResourcePolicies(ctx, a, "p"); n != 0 {
		t.Fatalf("%d policies outlived their plan", n)
	}
	if n, _ := s.CountResourcePolicies(ctx, b, "p"); n != 1 {
		t.Fatalf("another account's policies: %d, want 1", n)
	}
	if n, _ := s.CountResourcePolicies(ctx, a, "q"); n != 1 {
		t.Fatalf("another plan's policies: %d, want 1", n)
	}

	// Deleting an account's data deletes its policies.
	rs := &domain.ReplicationSet{ARN: "arn:aws:ssm-incidents::" + a + ":replication-set/x", Account: a, CreatedTime: t0}
	if err := s.CreateReplicationSet(ctx, rs, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccountData(ctx, a, func(*domain.ReplicationSet) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountResourcePolicies(ctx, a, "q"); n != 0 {
		t.Fatalf("%d policies outlived their account's data", n)
	}
	if n, _ := s.CountResourcePolicies(ctx, b, "p"); n != 1 {
		t.Fatalf("another account's policies: %d, want 1", n)
	}
}

// TestPanicInTransaction: a transaction whose function panics fails alone,
// with an error whose first line names the panic value and whose other lines
// are the stack where it panicked; other callers' transactions, concurrent
// and later, commit.
func TestPanicInTransaction(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	const a, n = "111122223333", 20
	var started sync.WaitGroup
	started.Add(n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			started.Done()
			errs <- s.CreateResponsePlan(ctx, plan(a, fmt.Sprintf("p%02d", i)), nil)
		}()
	}
	err := s.Tx(ctx, func(ctx context.Context) error {
		if err := s.CreateResponsePlan(ctx, plan(a, "panicked"), nil); err != nil {
			return err
		}
		// Let the others queue behind this transaction.
		started.Wait()
		time.Sleep(10 * time.Millisecond)
		panic("boom 42")
	})
	if err == nil {
		t.Fatal("a panicking transaction succeeded")
	}
	first, stack, _ := strings.Cut(err.Error(), "\n")
	if first != "sqlite: transaction panicked: boom 42" {
		t.Errorf("first line %q", first)
	}
	if !strings.Contains(stack, "goroutine ") || !strings.Contains(stack, "TestPanicInTransaction") {
		t.Errorf("no stack of the panic after the first line:\n%s", stack)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("a concurrent transaction: %v", err)
		}
	}
	if err := s.CreateResponsePlan(ctx, plan(a, "later"), nil); err != nil {
		t.Fatalf("a later transaction: %v", err)
	}
	s.Close()
	s = open(t, dir)
	all, err := s.ListResponsePlans(ctx, a, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n+1 {
		t.Errorf("%d plans stored, want %d", len(all), n+1)
	}
	if _, err := s.GetResponsePlan(ctx, a, "panicked"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("the panicking transaction's write: %v", err)
	}
}

// TestFilesArePrivate: the database, its log and its shared-memory file are
// created readable and writable by their owner only.
func TestFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.CreateResponsePlan(ctx, plan("111122223333", "a"), nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{sqlite.FileName, sqlite.FileName + "-wal", sqlite.FileName + "-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != 0o600 {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode(), os.FileMode(0o600))
		}
	}
}

// TestOpenInADirectoryWithURICharacters opens a store in a directory whose
// name holds the characters that end a path in an SQLite URI (#, ?, %): the
// database is there, not in a directory named by the path cut short.
func TestOpenInADirectoryWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a#b?c%41d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	if err := s.CreateResponsePlan(context.Background(), &domain.ResponsePlan{ARN: "arn:aws:ssm-incidents::111122223333:response-plan/p", Account: "111122223333", Name: "p"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
		t.Fatalf("the database is not in %s: %v", dir, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Fatalf("beside the data directory: %v", entries)
	}
}

// openFile opens the database file of the data directory dir by itself,
// beside any store, to look at or change what the store wrote; the caller
// closes it.
func openFile(t testing.TB, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return db
}
