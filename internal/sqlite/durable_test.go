package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// TestWritesAreAcknowledgedAfterTheirSync: no write is acknowledged before a
// sync of the log that began once the write was committed has returned.
//
// The sync of the log is wrapped: before each real sync the wrapper reads,
// through a pool of its own, which of the test's findings are committed, and
// once the sync has returned it counts those as on disk. Each writer checks,
// the moment its write is acknowledged, that the write counts as on disk. A
// write answered without a sync, before its sync returned or before it was
// committed fails the test.
func TestWritesAreAcknowledgedAfterTheirSync(t *testing.T) {
	const (
		account = "111122223333"
		writers = 16
		each    = 50
	)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	// Opened lazily: it first connects in the first sync, after Open
	// created the database.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var (
		mu     sync.Mutex
		onDisk = map[string]bool{}
		syncs  int
	)
	committed := func() ([]string, error) {
		rows, err := db.Query(`SELECT id FROM findings WHERE account = ?`, account)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	}
	syncLog = func(f *os.File) error {
		if f.Name() != path+"-wal" {
			return fmt.Errorf("test: synced %s, not the log", f.Name())
		}
		ids, err := committed()
		if err != nil {
			return fmt.Errorf("test: reading the committed findings: %v", err)
		}
		// A slow disk: callers answered before the sync run meanwhile.
		time.Sleep(time.Millisecond)
		if err := datasync(f); err != nil {
			return err
		}
		mu.Lock()
		for _, id := range ids {
			onDisk[id] = true
		}
		syncs++
		mu.Unlock()
		return nil
	}
	defer func() { syncLog = datasync }()

	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	var early atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%02d-%03d", w, i)
				f := &domain.Finding{Account: account, ID: id, CreationTime: t0, LastModifiedTime: t0, StartTime: t0}
				if err := s.PutFinding(ctx, f); err != nil {
					t.Errorf("put %s: %v", id, err)
					return
				}
				mu.Lock()
				ok := onDisk[id]
				mu.Unlock()
				if !ok && early.Add(1) <= 5 {
					t.Errorf("%s was acknowledged before a sync covered it", id)
				}
			}
		})
	}
	wg.Wait()
	if n := early.Load(); n > 0 {
		t.Fatalf("%d of %d writes were acknowledged before a sync covered them", n, writers*each)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d writes, %d syncs", writers*each, syncs)
}
