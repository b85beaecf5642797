package postgres

import (
	"context"

	"github.com/incidentd/incidentd/internal/domain"
)

// AddOutboxMessage implements domain.Store; deferred inside a transaction
// (txn.go): the message's key is generated.
func (s *Store) AddOutboxMessage(ctx context.Context, m *domain.OutboxMessage) error {
	return s.write(ctx, func(q querier) error {
		return later(ctx, q, nil, `INSERT INTO outbox (account, incident_arn, detail_type, payload, created_at) VALUES ($1, $2, $3, $4, $5)`,
			m.Account, m.IncidentARN, m.DetailType, nonNil(m.Payload), ms(m.CreatedTime))
	})
}
