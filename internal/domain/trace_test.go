package domain_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// TestStoreTrace: a trace sums what is recorded into it from many
// goroutines at once; a context without one yields nil, on which recording
// does nothing.
func TestStoreTrace(t *testing.T) {
	if tr := domain.StoreTraceFrom(context.Background()); tr != nil {
		t.Fatalf("a trace in a bare context: %v", tr)
	}
	var none *domain.StoreTrace
	none.AddRead(time.Second)
	none.AddWrite(domain.StoreWrite{Run: time.Second, Group: 3})
	if got := none.Totals(); got != (domain.StoreTotals{}) {
		t.Fatalf("a nil trace has totals %+v", got)
	}

	ctx, tr := domain.WithStoreTrace(context.Background())
	if domain.StoreTraceFrom(ctx) != tr {
		t.Fatal("StoreTraceFrom does not return the trace WithStoreTrace made")
	}
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			domain.StoreTraceFrom(ctx).AddRead(time.Millisecond)
			domain.StoreTraceFrom(ctx).AddWrite(domain.StoreWrite{Queue: 1, Run: 2, Sync: 3, Group: i + 1})
			tr.Totals()
		})
	}
	wg.Wait()
	want := domain.StoreTotals{Reads: n, ReadTime: n * time.Millisecond, Writes: n, Queue: n, Run: 2 * n, Sync: 3 * n, MaxGroup: n}
	if got := tr.Totals(); got != want {
		t.Fatalf("totals %+v, want %+v", got, want)
	}
	if got, want := want.Time(), n*time.Millisecond+6*n; got != want {
		t.Fatalf("Time() = %v, want %v", got, want)
	}
}
