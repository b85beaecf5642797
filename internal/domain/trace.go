package domain

import (
	"context"
	"sync"
	"time"
)

// StoreTrace gathers what a storage engine measured of the Store calls made
// for one request, for that request's debug log line. A request carries one
// only when someone will read it (see WithStoreTrace); engines record into
// it optionally (see Store). It is safe for concurrent use, and its methods
// do nothing on a nil *StoreTrace, so that an engine may call them on
// whatever StoreTraceFrom returns.
type StoreTrace struct {
	mu     sync.Mutex
	totals StoreTotals
}

// StoreWrite is what an engine measured of one write transaction.
type StoreWrite struct {
	Queue time.Duration // waiting for the engine to start it
	Run   time.Duration // running its statements
	Sync  time.Duration // waiting, once run, for its commit to be durable
	Group int           // transactions committed together with it, itself included
}

// StoreTotals sums what a StoreTrace recorded.
type StoreTotals struct {
	Reads    int           // reads outside a transaction
	ReadTime time.Duration // time spent in them
	Writes   int           // write transactions
	// Queue, Run and Sync add up the StoreWrite times of the writes.
	Queue, Run, Sync time.Duration
	// MaxGroup is the largest commit group a write joined.
	MaxGroup int
}

// Time is the time spent inside the store: reads and writes, waits included.
func (t StoreTotals) Time() time.Duration { return t.ReadTime + t.Queue + t.Run + t.Sync }

type storeTraceKey struct{}

// WithStoreTrace returns ctx carrying a new, empty StoreTrace, and the trace.
func WithStoreTrace(ctx context.Context) (context.Context, *StoreTrace) {
	t := new(StoreTrace)
	return context.WithValue(ctx, storeTraceKey{}, t), t
}

// StoreTraceFrom returns the StoreTrace ctx carries, or nil.
func StoreTraceFrom(ctx context.Context) *StoreTrace {
	t, _ := ctx.Value(storeTraceKey{}).(*StoreTrace)
	return t
}

// AddRead records a read made outside a transaction that took d.
func (t *StoreTrace) AddRead(d time.Duration) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.totals.Reads++
	t.totals.ReadTime += d
}

// AddWrite records a write transaction.
func (t *StoreTrace) AddWrite(w StoreWrite) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.totals.Writes++
	t.totals.Queue += w.Queue
	t.totals.Run += w.Run
	t.totals.Sync += w.Sync
	t.totals.MaxGroup = max(t.totals.MaxGroup, w.Group)
}

// Totals returns what t recorded so far.
func (t *StoreTrace) Totals() StoreTotals {
	if t == nil {
		return StoreTotals{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.totals
}
