package postgres

import (
	"context"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// What a call records in the StoreTrace of its context: a read made outside
// a transaction its time (startRead); a transaction (run) the wait for its
// connection as Queue, fn (whose first statement carries BEGIN) as Run, the
// batch of its deferred writes and COMMIT as Sync, and Group 1, since every
// transaction commits alone; an autocommit write (write) its statement as
// Run. Calls made inside a Tx record nothing of their own.

// readTimer times a read for the StoreTrace of its context. It is the zero
// value, and costs nothing, when there is no trace to fill or when the read
// is part of a transaction (whose run time counts it).
type readTimer struct {
	trace *domain.StoreTrace
	start time.Time
}

// startRead starts timing a read made with ctx; stop it when it is done:
//
//	defer s.startRead(ctx).stop()
func (s *Store) startRead(ctx context.Context) readTimer {
	t := domain.StoreTraceFrom(ctx)
	if t == nil {
		return readTimer{}
	}
	if _, ok := s.ambient(ctx); ok {
		return readTimer{}
	}
	return readTimer{trace: t, start: time.Now()}
}

func (r readTimer) stop() {
	if r.trace != nil {
		r.trace.AddRead(time.Since(r.start))
	}
}
