package sqlite

import (
	"context"
	"encoding/json"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// PutFinding implements domain.Store.
func (s *Store) PutFinding(ctx context.Context, f *domain.Finding) error {
	doc, err := json.Marshal(f)
	if err != nil {
		return err
	}
	var end *int64
	if f.EndTime != nil {
		end = new(ms(*f.EndTime))
	}
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO findings (account, id, start_time, end_time, doc) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (account, id) DO UPDATE SET start_time = excluded.start_time, end_time = excluded.end_time, doc = excluded.doc`,
			f.Account, f.ID, ms(f.StartTime), end, string(doc))
		return err
	})
}

// GetFindings implements domain.Store.
func (s *Store) GetFindings(ctx context.Context, account string, ids []string) ([]*domain.Finding, error) {
	defer startRead(ctx).stop()
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, account)
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT doc FROM findings WHERE account = ? AND id IN (`+
		placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, err
	}
	return scanDocs[domain.Finding](rows)
}

// ListFindings implements domain.Store. A finding overlaps [from, to] when
// it starts by to and ends (or, in progress, is still going at now) at from
// or later; ended and in-progress findings are read through an index each.
func (s *Store) ListFindings(ctx context.Context, account string, from, to, now time.Time, after *domain.FindingCursor, limit int) ([]*domain.Finding, error) {
	defer startRead(ctx).stop()
	query := `SELECT doc FROM (
		SELECT start_time, id, doc FROM findings
			WHERE account = ? AND end_time IS NOT NULL AND end_time >= ? AND start_time <= ?
		UNION ALL
		SELECT start_time, id, doc FROM findings
			WHERE account = ? AND end_time IS NULL AND start_time <= ? AND ? >= ?
	)`
	args := []any{account, ms(from), ms(to), account, ms(to), ms(now), ms(from)}
	if after != nil {
		query += ` WHERE (start_time, id) > (?, ?)`
		args = append(args, ms(after.StartTime), after.ID)
	}
	query += ` ORDER BY start_time, id LIMIT ?`
	args = append(args, limit)
	rows, err := s.q(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanDocs[domain.Finding](rows)
}
