package postgres

import (
	"context"
	"crypto/rand"
)

// Secret implements domain.Store. The first node to ask creates the secret;
// a node that asks at the same time waits for that insert and reads it, so
// every node gets the same value.
func (s *Store) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	fresh := make([]byte, size)
	rand.Read(fresh)
	var v []byte
	err := s.tx1(ctx, func(ctx context.Context, q querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	})
	return v, err
}
