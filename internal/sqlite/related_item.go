package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/incidentd/incidentd/internal/domain"
)

// AddRelatedItem implements domain.Store. The item takes the incident's
// next position, which no item took before (see migration 0005).
func (s *Store) AddRelatedItem(ctx context.Context, account, incidentARN string, it domain.RelatedItem) error {
	doc, err := json.Marshal(it)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		var seq int64
		err := tx.QueryRowContext(ctx, `UPDATE incident_records SET next_item_seq = next_item_seq + 1
			WHERE account = ? AND arn = ? RETURNING next_item_seq - 1`, account, incidentARN).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO related_items (account, incident_arn, generated_id, seq, doc) VALUES (?, ?, ?, ?, ?)`,
			account, incidentARN, it.GeneratedID, seq, string(doc))
		if isUniqueViolation(err) {
			return domain.ErrConflict
		}
		return err
	})
}

// RemoveRelatedItem implements domain.Store.
func (s *Store) RemoveRelatedItem(ctx context.Context, account, incidentARN, generatedID string) error {
	return s.execOne(ctx, `DELETE FROM related_items WHERE account = ? AND incident_arn = ? AND generated_id = ?`,
		account, incidentARN, generatedID)
}

// ListRelatedItems implements domain.Store.
func (s *Store) ListRelatedItems(ctx context.Context, account, incidentARN string, after *domain.RelatedItemCursor, limit int) ([]domain.RelatedItem, error) {
	defer startRead(ctx).stop()
	query := `SELECT seq, doc FROM related_items WHERE account = ? AND incident_arn = ?`
	args := []any{account, incidentARN}
	if after != nil {
		query += ` AND (seq, generated_id) > (?, ?)`
		args = append(args, after.Seq, after.GeneratedID)
	}
	query += ` ORDER BY seq, generated_id`
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.q(ctx).QueryContext(ctx, query, args...)
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
