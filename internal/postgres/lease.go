package postgres

import (
	"context"
	"time"
)

// AcquireLease implements domain.Store: one statement, so that of nodes
// that ask at once one takes the lease and the others wait for its row and
// find it held.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	var held bool
	err := s.tx1(ctx, func(ctx context.Context, q querier) error {
		tag, err := q.Exec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE leases.holder = excluded.holder OR leases.expires_at <= $4`, name, holder, until.UnixMilli(), now.UnixMilli())
		held = tag.RowsAffected() == 1
		return err
	})
	return held, err
}
