package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/incidentd/incidentd/internal/domain"
)

// CreateResponsePlan implements domain.Store.
func (s *Store) CreateResponsePlan(ctx context.Context, p *domain.ResponsePlan, tags map[string]string) error {
	return s.insertDoc(ctx, `INSERT INTO response_plans (account, name, doc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		p, p.Account, p.ARN, tags, p.Account, p.Name)
}

// GetResponsePlan implements domain.Store.
func (s *Store) GetResponsePlan(ctx context.Context, account, name string) (*domain.ResponsePlan, error) {
	defer s.startRead(ctx).stop()
	return getDoc[domain.ResponsePlan](ctx, s.q(ctx), `SELECT doc FROM response_plans WHERE account = $1 AND name = $2`+s.inTx(ctx, forRead), account, name)
}

// ListResponsePlans implements domain.Store.
func (s *Store) ListResponsePlans(ctx context.Context, account, after string, limit int) ([]*domain.ResponsePlan, error) {
	defer s.startRead(ctx).stop()
	return scanDocs[domain.ResponsePlan](s.q(ctx).Query(ctx, `SELECT doc FROM response_plans WHERE account = $1 AND name > $2 ORDER BY name LIMIT $3`,
		account, after, limit))
}

// UpdateResponsePlan implements domain.Store.
func (s *Store) UpdateResponsePlan(ctx context.Context, account, name string, fn func(*domain.ResponsePlan) error) error {
	return updateDoc(ctx, s, `SELECT doc FROM response_plans WHERE account = $1 AND name = $2`+forChange,
		`UPDATE response_plans SET doc = $1 WHERE account = $2 AND name = $3`, fn, account, name)
}

// DeleteResponsePlan implements domain.Store. Deleting the plan's row waits
// for the transactions that read it (forRead) or count its policies; its
// tags and policies are deleted in later statements, which see what they
// wrote.
func (s *Store) DeleteResponsePlan(ctx context.Context, account, name string) error {
	return s.tx(ctx, func(ctx context.Context, q querier) error {
		var doc []byte
		err := q.QueryRow(ctx, `DELETE FROM response_plans WHERE account = $1 AND name = $2 RETURNING doc`, account, name).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		p, err := decode[domain.ResponsePlan](doc)
		if err != nil {
			return err
		}
		// Deferred inside a transaction (txn.go).
		if err := later(ctx, q, nil, `DELETE FROM tags WHERE account = $1 AND resource_arn = $2`, account, p.ARN); err != nil {
			return err
		}
		return later(ctx, q, nil, `DELETE FROM resource_policies WHERE account = $1 AND plan_name = $2`, account, name)
	})
}
