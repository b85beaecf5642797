package sqlite

import (
	"context"

	"github.com/incidentd/incidentd/internal/domain"
)

// PutResourcePolicy implements domain.Store.
func (s *Store) PutResourcePolicy(ctx context.Context, p *domain.ResourcePolicy) error {
	return s.insertRow(ctx, `INSERT INTO resource_policies (account, plan_name, policy_id, created_time, doc) VALUES (?, ?, ?, ?, ?)`,
		p, p.Account, p.PlanName, p.ID, ms(p.CreatedTime))
}

// CountResourcePolicies implements domain.Store.
func (s *Store) CountResourcePolicies(ctx context.Context, account, planName string) (int, error) {
	defer startRead(ctx).stop()
	var n int
	err := s.q(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM resource_policies WHERE account = ? AND plan_name = ?`, account, planName).Scan(&n)
	return n, err
}

// ListResourcePolicies implements domain.Store.
func (s *Store) ListResourcePolicies(ctx context.Context, account, planName string, after int64, limit int) ([]*domain.ResourcePolicy, error) {
	defer startRead(ctx).stop()
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT seq, doc FROM resource_policies
		WHERE account = ? AND plan_name = ? AND seq > ? ORDER BY seq LIMIT ?`, account, planName, after, limit)
	if err != nil {
		return nil, err
	}
	return scanSeqDocs(rows, func(p *domain.ResourcePolicy, seq int64) { p.Seq = seq })
}

// DeleteResourcePolicy implements domain.Store.
func (s *Store) DeleteResourcePolicy(ctx context.Context, account, planName, id string) error {
	return s.execOne(ctx, `DELETE FROM resource_policies WHERE account = ? AND plan_name = ? AND policy_id = ?`, account, planName, id)
}
