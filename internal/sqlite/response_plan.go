package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/incidentd/incidentd/internal/domain"
)

// CreateResponsePlan implements domain.Store.
func (s *Store) CreateResponsePlan(ctx context.Context, p *domain.ResponsePlan, tags map[string]string) error {
	return s.insertDoc(ctx, `INSERT INTO response_plans (account, name, doc) VALUES (?, ?, ?)`, p, p.Account, p.ARN, tags, p.Account, p.Name)
}

// GetResponsePlan implements domain.Store.
func (s *Store) GetResponsePlan(ctx context.Context, account, name string) (*domain.ResponsePlan, error) {
	defer startRead(ctx).stop()
	return getDoc[domain.ResponsePlan](ctx, s.q(ctx), `SELECT doc FROM response_plans WHERE account = ? AND name = ?`, account, name)
}

// ListResponsePlans implements domain.Store.
func (s *Store) ListResponsePlans(ctx context.Context, account, after string, limit int) ([]*domain.ResponsePlan, error) {
	defer startRead(ctx).stop()
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT doc FROM response_plans WHERE account = ? AND name > ? ORDER BY name LIMIT ?`, account, after, limit)
	if err != nil {
		return nil, err
	}
	return scanDocs[domain.ResponsePlan](rows)
}

// UpdateResponsePlan implements domain.Store.
func (s *Store) UpdateResponsePlan(ctx context.Context, account, name string, fn func(*domain.ResponsePlan) error) error {
	return updateDoc(ctx, s, `SELECT doc FROM response_plans WHERE account = ? AND name = ?`, `UPDATE response_plans SET doc = ? WHERE account = ? AND name = ?`, fn, account, name)
}

// DeleteResponsePlan implements domain.Store.
func (s *Store) DeleteResponsePlan(ctx context.Context, account, name string) error {
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		var arn string
		err := tx.QueryRowContext(ctx, `DELETE FROM response_plans WHERE account = ? AND name = ? RETURNING json_extract(doc, '$.arn')`, account, name).Scan(&arn)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE account = ? AND resource_arn = ?`, account, arn); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM resource_policies WHERE account = ? AND plan_name = ?`, account, name)
		return err
	})
}
