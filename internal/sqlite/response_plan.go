package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/incidentd/incidentd/internal/domain"
)

// CreateResponsePlan implements domain.Store.
func (s *Store) CreateResponsePlan(ctx context.Context, p *domain.ResponsePlan, tags map[string]string) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO response_plans (account, name, doc) VALUES (?, ?, ?)`, p.Account, p.Name, string(doc))
		if isUniqueViolation(err) {
			return domain.ErrConflict
		}
		if err != nil {
			return err
		}
		return putTags(ctx, tx, p.Account, p.ARN, tags)
	})
}

// GetResponsePlan implements domain.Store.
func (s *Store) GetResponsePlan(ctx context.Context, account, name string) (*domain.ResponsePlan, error) {
	return getDoc[domain.ResponsePlan](ctx, s.q(ctx), `SELECT doc FROM response_plans WHERE account = ? AND name = ?`, account, name)
}

// ListResponsePlans implements domain.Store.
func (s *Store) ListResponsePlans(ctx context.Context, account, after string, limit int) ([]*domain.ResponsePlan, error) {
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT doc FROM response_plans WHERE account = ? AND name > ? ORDER BY name LIMIT ?`, account, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*domain.ResponsePlan
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		p := new(domain.ResponsePlan)
		if err := json.Unmarshal([]byte(doc), p); err != nil {
			return nil, fmt.Errorf("decode stored document: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdateResponsePlan implements domain.Store.
func (s *Store) UpdateResponsePlan(ctx context.Context, account, name string, fn func(*domain.ResponsePlan) error) error {
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		p, err := getDoc[domain.ResponsePlan](ctx, tx, `SELECT doc FROM response_plans WHERE account = ? AND name = ?`, account, name)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		doc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE response_plans SET doc = ? WHERE account = ? AND name = ?`, string(doc), account, name)
		return err
	})
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
		_, err = tx.ExecContext(ctx, `DELETE FROM tags WHERE account = ? AND resource_arn = ?`, account, arn)
		return err
	})
}
