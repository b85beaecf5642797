package sqlite

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu                         sync.Mutex
	groups, txs, pages         int
	commit, sync               time.Duration
	rolledBack, failed         int
	checkpoints, checkpointErr int
}

func (r *recorder) Committed(n, pages int, commit, sync time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.groups++
	r.txs += n
	r.pages += pages
	r.commit += commit
	r.sync += sync
}

func (r *recorder) RolledBack() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rolledBack++
}

func (r *recorder) Failed(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed += n
}

func (r *recorder) Checkpointed(_ time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkpoints++
	if err != nil {
		r.checkpointErr++
	}
}

func (r *recorder) get() recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return recorder{groups: r.groups, txs: r.txs, pages: r.pages, commit: r.commit, sync: r.sync, rolledBack: r.rolledBack,
		failed: r.failed, checkpoints: r.checkpoints, checkpointErr: r.checkpointErr}
}

func testPlan(name string) *domain.ResponsePlan {
	return &domain.ResponsePlan{ARN: "arn:aws:ssm-incidents::111122223333:response-plan/" + name, Account: "111122223333", Name: name}
}

// TestObserver: the observer hears of every durable commit group and its
// transactions, of a transaction rolled back alone, of checkpoints, and of
// the transactions lost to a failed fsync.
func TestObserver(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	s, err := Open(ctx, t.TempDir(), WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.CreateResponsePlan(ctx, testPlan(string(rune('a'+i))), nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.CreateResponsePlan(ctx, testPlan("a"), nil); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	got := rec.get()
	// Each group writes at least a page of the table it changed.
	if got.txs != n+1 || got.groups < 1 || got.groups > n+1 || got.sync <= 0 || got.commit <= 0 || got.pages < got.groups {
		t.Errorf("after %d writes and a duplicate: %d groups of %d transactions, %d pages, commit %v, sync %v", n, got.groups, got.txs, got.pages, got.commit, got.sync)
	}
	if got.rolledBack != 1 || got.failed != 0 {
		t.Errorf("rolled back %d, failed %d; want 1 and 0", got.rolledBack, got.failed)
	}
	deadline := time.Now().Add(5 * time.Second)
	for rec.get().checkpoints == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := rec.get(); got.checkpoints == 0 || got.checkpointErr != 0 {
		t.Errorf("%d checkpoints, %d failed", got.checkpoints, got.checkpointErr)
	}

	syncLog = func(*os.File) error { return errors.New("EIO") }
	defer func() { syncLog = datasync }()
	if err := s.CreateResponsePlan(ctx, testPlan("lost"), nil); err == nil {
		t.Fatal("a write acknowledged after a failed fsync")
	}
	syncLog = datasync
	if err := s.CreateResponsePlan(ctx, testPlan("later"), nil); err == nil {
		t.Fatal("a write acknowledged on a broken store")
	}
	if got := rec.get(); got.failed != 2 || got.txs != n+1 {
		t.Errorf("after a failed fsync: failed %d (want 2), committed %d (want %d)", got.failed, got.txs, n+1)
	}
}

// TestStoreTrace: a request's trace gets each write with its waits and its
// group, and each read outside a transaction; what runs inside a Tx counts
// as that one write.
func TestStoreTrace(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, trace := domain.WithStoreTrace(context.Background())
	if err := s.CreateResponsePlan(ctx, testPlan("a"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetResponsePlan(ctx, "111122223333", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListResponsePlans(ctx, "111122223333", "", 10); err != nil {
		t.Fatal(err)
	}
	err = s.Tx(ctx, func(ctx context.Context) error {
		if _, err := s.GetResponsePlan(ctx, "111122223333", "a"); err != nil {
			return err
		}
		return s.CreateResponsePlan(ctx, testPlan("b"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	got := trace.Totals()
	if got.Writes != 2 || got.Reads != 2 || got.MaxGroup != 1 {
		t.Errorf("totals %+v: want 2 writes, 2 reads, groups of 1", got)
	}
	if got.Run <= 0 || got.Sync <= 0 || got.ReadTime <= 0 || got.Queue < 0 {
		t.Errorf("totals %+v: a time is not positive", got)
	}

	// Without a trace in the context, nothing is recorded anywhere.
	if err := s.CreateResponsePlan(context.Background(), testPlan("c"), nil); err != nil {
		t.Fatal(err)
	}
	if after := trace.Totals(); after != got {
		t.Errorf("a write without the trace changed it: %+v, was %+v", after, got)
	}
}

// TestStoreTraceConcurrentWrites: writes made at once for one request share
// its trace without a race, and their commit groups are seen.
func TestStoreTraceConcurrentWrites(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, trace := domain.WithStoreTrace(context.Background())
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.CreateResponsePlan(ctx, testPlan(strings.Repeat("p", i+1)), nil); err != nil {
				t.Error(err)
			}
			// Each reads the plan it wrote: a read after its own write.
			if _, err := s.GetResponsePlan(ctx, "111122223333", strings.Repeat("p", i+1)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := trace.Totals()
	if got.Writes != n || got.Reads != n || got.MaxGroup < 1 || got.MaxGroup > n {
		t.Errorf("totals %+v after %d writes and reads", got, n)
	}
}
