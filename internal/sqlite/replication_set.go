package sqlite

import (
	"context"
	"encoding/json"

	"github.com/incidentd/incidentd/internal/domain"
)

// CreateReplicationSet implements domain.Store.
func (s *Store) CreateReplicationSet(ctx context.Context, rs *domain.ReplicationSet, tags map[string]string) error {
	doc, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO replication_sets (account, arn, doc) VALUES (?, ?, ?)`, rs.Account, rs.ARN, string(doc))
		if isUniqueViolation(err) {
			return domain.ErrConflict
		}
		if err != nil {
			return err
		}
		return putTags(ctx, tx, rs.Account, rs.ARN, tags)
	})
}

// GetReplicationSet implements domain.Store.
func (s *Store) GetReplicationSet(ctx context.Context, account string) (*domain.ReplicationSet, error) {
	return getDoc[domain.ReplicationSet](ctx, s.q(ctx), `SELECT doc FROM replication_sets WHERE account = ?`, account)
}

// UpdateReplicationSet implements domain.Store.
func (s *Store) UpdateReplicationSet(ctx context.Context, account string, fn func(*domain.ReplicationSet) error) error {
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		rs, err := getDoc[domain.ReplicationSet](ctx, tx, `SELECT doc FROM replication_sets WHERE account = ?`, account)
		if err != nil {
			return err
		}
		if err := fn(rs); err != nil {
			return err
		}
		doc, err := json.Marshal(rs)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE replication_sets SET doc = ? WHERE account = ?`, string(doc), account)
		return err
	})
}

// DeleteAccountData implements domain.Store.
func (s *Store) DeleteAccountData(ctx context.Context, account string, check func(*domain.ReplicationSet) error) error {
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		rs, err := getDoc[domain.ReplicationSet](ctx, tx, `SELECT doc FROM replication_sets WHERE account = ?`, account)
		if err != nil {
			return err
		}
		if err := check(rs); err != nil {
			return err
		}
		for _, table := range []string{"replication_sets", "response_plans", "tags", "incident_records", "timeline_events", "related_items", "idempotency_records", "outbox"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE account = ?`, account); err != nil {
				return err
			}
		}
		return nil
	})
}
