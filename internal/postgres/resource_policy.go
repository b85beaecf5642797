package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/incidentd/incidentd/internal/domain"
)

// PutResourcePolicy implements domain.Store.
func (s *Store) PutResourcePolicy(ctx context.Context, p *domain.ResourcePolicy) error {
	doc, err := marshal(p)
	if err != nil {
		return err
	}
	return s.write(ctx, func(q querier) error {
		return execInsert(ctx, q, `INSERT INTO resource_policies (account, plan_name, policy_id, created_time, doc) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, p.Account, p.PlanName, p.ID, ms(p.CreatedTime), doc)
	})
}

// CountResourcePolicies implements domain.Store. Inside a Tx it first locks
// the plan's row, so that a concurrent count-then-put of the plan waits, and
// so does a DeleteResponsePlan of it (which then deletes the policy put).
// A plan that does not exist has a lock row instead.
func (s *Store) CountResourcePolicies(ctx context.Context, account, planName string) (int, error) {
	defer s.startRead(ctx).stop()
	q := s.q(ctx)
	if tx, ok := s.ambient(ctx); ok {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM response_plans WHERE account = $1 AND name = $2`+forChange, account, planName).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			err = lock(ctx, tx, account, lockResourcePolicies, planName)
		}
		if err != nil {
			return 0, err
		}
	}
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM resource_policies WHERE account = $1 AND plan_name = $2`, account, planName).Scan(&n)
	return n, err
}

// ListResourcePolicies implements domain.Store.
func (s *Store) ListResourcePolicies(ctx context.Context, account, planName string, after int64, limit int) ([]*domain.ResourcePolicy, error) {
	defer s.startRead(ctx).stop()
	rows, err := s.q(ctx).Query(ctx, `SELECT seq, doc FROM resource_policies
		WHERE account = $1 AND plan_name = $2 AND seq > $3 ORDER BY seq LIMIT $4`, account, planName, after, limit)
	if err != nil {
		return nil, err
	}
	return scanSeqDocs(rows, func(p *domain.ResourcePolicy, seq int64) { p.Seq = seq })
}

// DeleteResourcePolicy implements domain.Store.
func (s *Store) DeleteResourcePolicy(ctx context.Context, account, planName, id string) error {
	return s.execOne(ctx, `DELETE FROM resource_policies WHERE account = $1 AND plan_name = $2 AND policy_id = $3`, account, planName, id)
}
