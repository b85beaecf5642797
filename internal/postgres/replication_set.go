package postgres

import (
	"context"

	"github.com/incidentd/incidentd/internal/domain"
)

// CreateReplicationSet implements domain.Store.
func (s *Store) CreateReplicationSet(ctx context.Context, rs *domain.ReplicationSet, tags map[string]string) error {
	return s.insertDoc(ctx, `INSERT INTO replication_sets (account, arn, doc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		rs, rs.Account, rs.ARN, tags, rs.Account, rs.ARN)
}

// GetReplicationSet implements domain.Store.
func (s *Store) GetReplicationSet(ctx context.Context, account string) (*domain.ReplicationSet, error) {
	defer s.startRead(ctx).stop()
	return getDoc[domain.ReplicationSet](ctx, s.q(ctx), `SELECT doc FROM replication_sets WHERE account = $1`+s.inTx(ctx, forRead), account)
}

// UpdateReplicationSet implements domain.Store.
func (s *Store) UpdateReplicationSet(ctx context.Context, account string, fn func(*domain.ReplicationSet) error) error {
	return updateDoc(ctx, s, `SELECT doc FROM replication_sets WHERE account = $1`+forChange,
		`UPDATE replication_sets SET doc = $1 WHERE account = $2`, fn, account)
}

// accountTables are the tables that hold an account's data, in the order
// DeleteAccountData deletes them: a resource before what belongs to it, so
// that a transaction that wrote under a resource it had read (forRead) has
// ended, and its writes are seen, by the time these are deleted. The
// deliveries are not among them: they outlive the account's data.
var accountTables = []string{"replication_sets", "response_plans", "incident_records", "tags", "timeline_events",
	"related_items", "resource_policies", "idempotency_records", "findings", "locks"}

// DeleteAccountData implements domain.Store. The set's row is locked first,
// from the check until the transaction ends: a transaction that read the
// set (forRead) before ends before the deletes start, one that reads it
// after finds none.
func (s *Store) DeleteAccountData(ctx context.Context, account string, check func(*domain.ReplicationSet) error) error {
	return s.tx(ctx, func(ctx context.Context, q querier) error {
		rs, err := getDoc[domain.ReplicationSet](ctx, q, `SELECT doc FROM replication_sets WHERE account = $1 FOR UPDATE`, account)
		if err != nil {
			return err
		}
		if err := check(rs); err != nil {
			return err
		}
		// Deferred inside a transaction (txn.go): sent in one batch, the
		// deletes still run one after the other, in this order.
		for _, table := range accountTables {
			if err := later(ctx, q, nil, `DELETE FROM `+table+` WHERE account = $1`, account); err != nil {
				return err
			}
		}
		return nil
	})
}
