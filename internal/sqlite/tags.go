package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/incidentd/incidentd/internal/domain"
)

func resourceExists(ctx context.Context, q querier, r domain.ResourceRef) error {
	var query string
	switch r.Type {
	case domain.ResourceReplicationSet:
		query = `SELECT 1 FROM replication_sets WHERE account = ? AND arn = ?`
	case domain.ResourceResponsePlan:
		query = `SELECT 1 FROM response_plans WHERE account = ? AND name = ?`
	case domain.ResourceIncidentRecord:
		query = `SELECT 1 FROM incident_records WHERE account = ? AND arn = ?`
	default:
		return domain.ErrNotFound
	}
	var one int
	if err := q.QueryRowContext(ctx, query, r.Account, r.Key).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return domain.ErrNotFound
		}
		return err
	}
	return nil
}

func readTags(ctx context.Context, q querier, account, arn string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM tags WHERE account = ? AND resource_arn = ?`, account, arn)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tags := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		tags[k] = v
	}
	return tags, rows.Err()
}

func putTags(ctx context.Context, tx *wtx, account, arn string, tags map[string]string) error {
	for k, v := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tags (account, resource_arn, key, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (account, resource_arn, key) DO UPDATE SET value = excluded.value`, account, arn, k, v); err != nil {
			return err
		}
	}
	return nil
}

// Tags implements domain.Store.
func (s *Store) Tags(ctx context.Context, r domain.ResourceRef) (map[string]string, error) {
	defer startRead(ctx).stop()
	if err := resourceExists(ctx, s.q(ctx), r); err != nil {
		return nil, err
	}
	return readTags(ctx, s.q(ctx), r.Account, r.ARN)
}

// UpdateTags implements domain.Store.
func (s *Store) UpdateTags(ctx context.Context, r domain.ResourceRef, fn func(map[string]string) error) error {
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		if err := resourceExists(ctx, tx, r); err != nil {
			return err
		}
		tags, err := readTags(ctx, tx, r.Account, r.ARN)
		if err != nil {
			return err
		}
		if err := fn(tags); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE account = ? AND resource_arn = ?`, r.Account, r.ARN); err != nil {
			return err
		}
		return putTags(ctx, tx, r.Account, r.ARN, tags)
	})
}
