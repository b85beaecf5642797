package postgres

import (
	"context"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// PutFinding implements domain.Store: an upsert, deferred inside a
// transaction (txn.go).
func (s *Store) PutFinding(ctx context.Context, f *domain.Finding) error {
	doc, err := marshal(f)
	if err != nil {
		return err
	}
	var end *int64
	if f.EndTime != nil {
		end = new(ms(*f.EndTime))
	}
	return s.write(ctx, func(q querier) error {
		return later(ctx, q, nil, `INSERT INTO findings (account, id, start_time, end_time, doc) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (account, id) DO UPDATE SET start_time = excluded.start_time, end_time = excluded.end_time, doc = excluded.doc`,
			f.Account, f.ID, ms(f.StartTime), end, doc)
	})
}

// GetFindings implements domain.Store.
func (s *Store) GetFindings(ctx context.Context, account string, ids []string) ([]*domain.Finding, error) {
	defer s.startRead(ctx).stop()
	if len(ids) == 0 {
		return nil, nil
	}
	return scanDocs[domain.Finding](s.q(ctx).Query(ctx, `SELECT doc FROM findings WHERE account = $1 AND id = ANY($2::text[])`, account, ids))
}

// ListFindings implements domain.Store. A finding overlaps [from, to] when
// it starts by to and ends (or, in progress, is still going at now) at from
// or later; ended and in-progress findings are read through an index each.
func (s *Store) ListFindings(ctx context.Context, account string, from, to, now time.Time, after *domain.FindingCursor, limit int) ([]*domain.Finding, error) {
	defer s.startRead(ctx).stop()
	var p params
	a, f, t := p.add(account), p.add(ms(from)), p.add(ms(to))
	query := `SELECT doc FROM (
		SELECT start_time, id, doc FROM findings
			WHERE account = ` + a + ` AND end_time IS NOT NULL AND end_time >= ` + f + ` AND start_time <= ` + t + `
		UNION ALL
		SELECT start_time, id, doc FROM findings
			WHERE account = ` + a + ` AND end_time IS NULL AND start_time <= ` + t + ` AND ` + p.add(ms(now)) + `::bigint >= ` + f + `
	) AS f`
	if after != nil {
		query += ` WHERE (start_time, id) > (` + p.add(ms(after.StartTime)) + `, ` + p.add(after.ID) + `)`
	}
	query += ` ORDER BY start_time, id LIMIT ` + p.add(limit)
	return scanDocs[domain.Finding](s.q(ctx).Query(ctx, query, p...))
}
