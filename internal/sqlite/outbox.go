package sqlite

import (
	"context"

	"github.com/incidentd/incidentd/internal/domain"
)

// AddOutboxMessage implements domain.Store.
func (s *Store) AddOutboxMessage(ctx context.Context, m *domain.OutboxMessage) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO outbox (account, incident_arn, detail_type, payload, created_at) VALUES (?, ?, ?, ?, ?)`,
			m.Account, m.IncidentARN, m.DetailType, m.Payload, ms(m.CreatedTime))
		return err
	})
}
