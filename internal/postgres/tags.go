package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/incidentd/incidentd/internal/domain"
)

// resourceExists returns ErrNotFound unless r exists; with forUpdate it
// locks r's row until the transaction ends.
func resourceExists(ctx context.Context, q querier, r domain.ResourceRef, forUpdate bool) error {
	var query string
	switch r.Type {
	case domain.ResourceReplicationSet:
		query = `SELECT 1 FROM replication_sets WHERE account = $1 AND arn = $2`
	case domain.ResourceResponsePlan:
		query = `SELECT 1 FROM response_plans WHERE account = $1 AND name = $2`
	case domain.ResourceIncidentRecord:
		query = `SELECT 1 FROM incident_records WHERE account = $1 AND arn = $2`
	default:
		return domain.ErrNotFound
	}
	if forUpdate {
		query += forChange
	}
	var one int
	if err := q.QueryRow(ctx, query, r.Account, r.Key).Scan(&one); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.ErrNotFound
		}
		return err
	}
	return nil
}

func readTags(ctx context.Context, q querier, account, arn string) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT key, value FROM tags WHERE account = $1 AND resource_arn = $2`, account, arn)
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

// putTags stores tags of the resource arn, in one statement, an upsert:
// deferred inside a transaction (txn.go).
func putTags(ctx context.Context, q querier, account, arn string, tags map[string]string) error {
	if len(tags) == 0 {
		return nil
	}
	keys, values := make([]string, 0, len(tags)), make([]string, 0, len(tags))
	for k, v := range tags {
		keys, values = append(keys, k), append(values, v)
	}
	return later(ctx, q, nil, `INSERT INTO tags (account, resource_arn, key, value)
		SELECT $1, $2, t.key, t.value FROM unnest($3::text[], $4::text[]) AS t (key, value)
		ON CONFLICT (account, resource_arn, key) DO UPDATE SET value = excluded.value`, account, arn, keys, values)
}

// Tags implements domain.Store.
func (s *Store) Tags(ctx context.Context, r domain.ResourceRef) (map[string]string, error) {
	defer s.startRead(ctx).stop()
	if err := resourceExists(ctx, s.q(ctx), r, false); err != nil {
		return nil, err
	}
	return readTags(ctx, s.q(ctx), r.Account, r.ARN)
}

// UpdateTags implements domain.Store. The resource's row stays locked until
// the transaction ends. Its writes, after fn, are deferred inside a
// transaction (txn.go).
func (s *Store) UpdateTags(ctx context.Context, r domain.ResourceRef, fn func(map[string]string) error) error {
	return s.tx(ctx, func(ctx context.Context, q querier) error {
		if err := resourceExists(ctx, q, r, true); err != nil {
			return err
		}
		tags, err := readTags(ctx, q, r.Account, r.ARN)
		if err != nil {
			return err
		}
		if err := fn(tags); err != nil {
			return err
		}
		if err := later(ctx, q, nil, `DELETE FROM tags WHERE account = $1 AND resource_arn = $2`, r.Account, r.ARN); err != nil {
			return err
		}
		return putTags(ctx, q, r.Account, r.ARN, tags)
	})
}
