package sqlite

import (
	"context"

	"github.com/incidentd/incidentd/internal/domain"
)

// CreateReplicationSet implements domain.Store.
func (s *Store) CreateReplicationSet(ctx context.Context, rs *domain.ReplicationSet, tags map[string]string) error {
	return s.insertDoc(ctx, `INSERT INTO replication_sets (account, arn, doc) VALUES (?, ?, ?)`, rs, rs.Account, rs.ARN, tags, rs.Account, rs.ARN)
}

// GetReplicationSet implements domain.Store.
func (s *Store) GetReplicationSet(ctx context.Context, account string) (*domain.ReplicationSet, error) {
	defer startRead(ctx).stop()
	return getDoc[domain.ReplicationSet](ctx, s.q(ctx), `SELECT doc FROM replication_sets WHERE account = ?`, account)
}

// UpdateReplicationSet implements domain.Store.
func (s *Store) UpdateReplicationSet(ctx context.Context, account string, fn func(*domain.ReplicationSet) error) error {
	return updateDoc(ctx, s, `SELECT doc FROM replication_sets WHERE account = ?`, `UPDATE replication_sets SET doc = ? WHERE account = ?`, fn, account)
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
		// Timeline events name their record by its id: they go first.
		if _, err := tx.ExecContext(ctx, `DELETE FROM timeline_events WHERE incident IN (SELECT id FROM incident_records WHERE account = ?)`, account); err != nil {
			return err
		}
		for _, table := range []string{"replication_sets", "response_plans", "tags", "incident_records", "related_items", "idempotency_records", "findings", "resource_policies"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE account = ?`, account); err != nil {
				return err
			}
		}
		return nil
	})
}
