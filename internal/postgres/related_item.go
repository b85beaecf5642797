package postgres

import (
	"context"

	"github.com/incidentd/incidentd/internal/domain"
)

// AddRelatedItem implements domain.Store. The item takes the incident's
// next position, which no item took before; taking it locks the incident's
// row, so the items of one incident get their positions in the order their
// transactions commit.
func (s *Store) AddRelatedItem(ctx context.Context, account, incidentARN string, it domain.RelatedItem) error {
	doc, err := marshal(it)
	if err != nil {
		return err
	}
	// Two statements write, and the second can refuse a duplicate: inside
	// another transaction, a savepoint undoes the first.
	return s.tx(ctx, func(ctx context.Context, q querier) error {
		seq, err := nextItemSeq(ctx, q, account, incidentARN)
		if err != nil {
			return err
		}
		return execInsert(ctx, q, `INSERT INTO related_items (account, incident_arn, generated_id, seq, doc) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, account, incidentARN, it.GeneratedID, seq, doc)
	})
}

// RemoveRelatedItem implements domain.Store.
func (s *Store) RemoveRelatedItem(ctx context.Context, account, incidentARN, generatedID string) error {
	return s.execOne(ctx, `DELETE FROM related_items WHERE account = $1 AND incident_arn = $2 AND generated_id = $3`,
		account, incidentARN, generatedID)
}

// ListRelatedItems implements domain.Store. Inside a Tx it first locks the
// incident's row (forChange, as AddRelatedItem does), so that transactions
// that list an incident's items and then add one, having found it missing,
// run one after another.
func (s *Store) ListRelatedItems(ctx context.Context, account, incidentARN string, after *domain.RelatedItemCursor, limit int) ([]domain.RelatedItem, error) {
	defer s.startRead(ctx).stop()
	if t, ok := s.ambient(ctx); ok {
		// Queued: it goes in one batch with the read below (txn.go).
		if err := later(ctx, t, nil, `SELECT FROM incident_records WHERE account = $1 AND arn = $2`+forChange, account, incidentARN); err != nil {
			return nil, err
		}
	}
	var p params
	query := `SELECT seq, doc FROM related_items WHERE account = ` + p.add(account) + ` AND incident_arn = ` + p.add(incidentARN)
	if after != nil {
		query += ` AND (seq, generated_id) > (` + p.add(after.Seq) + `, ` + p.add(after.GeneratedID) + `)`
	}
	query += ` ORDER BY seq, generated_id`
	if limit > 0 {
		query += ` LIMIT ` + p.add(limit)
	}
	rows, err := s.q(ctx).Query(ctx, query, p...)
	if err != nil {
		return nil, err
	}
	items, err := scanSeqDocs(rows, func(it *domain.RelatedItem, seq int64) { it.Seq = seq })
	if err != nil {
		return nil, err
	}
	out := make([]domain.RelatedItem, len(items))
	for i, it := range items {
		out[i] = *it
	}
	return out, nil
}
