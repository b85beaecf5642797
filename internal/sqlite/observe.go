package sqlite

import (
	"context"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// Observer is told what the store does, for its metrics. The store calls it
// from its own goroutines: its methods must be safe for concurrent use and
// return quickly.
type Observer interface {
	// Committed reports a group of n transactions committed together and
	// made durable: the COMMIT wrote pages pages to the log and took commit,
	// and the fsync of the log after it took sync.
	Committed(n, pages int, commit, sync time.Duration)
	// RolledBack reports a transaction whose work returned an error and was
	// undone alone, in its savepoint; its group went on. Refusals such as a
	// duplicate or a missing resource are among them.
	RolledBack()
	// Failed reports n transactions answered with an error of the store
	// itself: their group was rolled back, its commit failed, or the log
	// could not be synced to disk.
	Failed(n int)
	// Checkpointed reports a checkpoint of the log into the database, one
	// that copied frames or failed (not one that found nothing to copy), that
	// took d; err is why it failed, or nil.
	Checkpointed(d time.Duration, err error)
}

// Option configures a Store at Open.
type Option func(*Store)

// WithObserver has the store report its work to o.
func WithObserver(o Observer) Option {
	return func(s *Store) {
		if o != nil {
			s.obs = o
		}
	}
}

// nopObserver is the Observer of a store opened without one.
type nopObserver struct{}

func (nopObserver) Committed(int, int, time.Duration, time.Duration) {}
func (nopObserver) RolledBack()                                      {}
func (nopObserver) Failed(int)                                       {}
func (nopObserver) Checkpointed(time.Duration, error)                {}

// readTimer times a read for the StoreTrace of its context. It is the zero
// value, and costs nothing, when there is no trace to fill or when the read
// is part of a transaction (whose run time counts it).
type readTimer struct {
	trace *domain.StoreTrace
	start time.Time
}

// startRead starts timing a read made with ctx; stop it when it is done:
//
//	defer startRead(ctx).stop()
func startRead(ctx context.Context) readTimer {
	t := domain.StoreTraceFrom(ctx)
	if t == nil || ctx.Value(txKey{}) != nil {
		return readTimer{}
	}
	return readTimer{trace: t, start: time.Now()}
}

func (r readTimer) stop() {
	if r.trace != nil {
		r.trace.AddRead(time.Since(r.start))
	}
}
