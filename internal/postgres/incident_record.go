package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/incidentd/incidentd/internal/domain"
)

// CreateIncidentRecord implements domain.Store.
func (s *Store) CreateIncidentRecord(ctx context.Context, r *domain.IncidentRecord, tags map[string]string, items []domain.RelatedItem) error {
	doc, err := marshal(r)
	if err != nil {
		return err
	}
	ids, seqs, docs := make([]string, len(items)), make([]int64, len(items)), make([]string, len(items))
	for i, it := range items {
		if docs[i], err = marshal(it); err != nil {
			return err
		}
		ids[i], seqs[i] = it.GeneratedID, int64(i)
	}
	return s.tx(ctx, func(ctx context.Context, q querier) error {
		if err := execInsert(ctx, q, `INSERT INTO incident_records (account, arn, status, impact, created_by, creation_time, dedupe_string, doc, next_item_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
			r.Account, r.ARN, r.Status, r.Impact, r.Source.CreatedBy, ms(r.CreationTime), r.DedupeString, doc, len(items)); err != nil {
			return err
		}
		if err := putTags(ctx, q, r.Account, r.ARN, tags); err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		// Deferred inside a transaction, as the tags are (txn.go).
		return later(ctx, q, nil, `INSERT INTO related_items (account, incident_arn, generated_id, seq, doc)
			SELECT $1, $2, i.id, i.seq, i.doc FROM unnest($3::text[], $4::bigint[], $5::text[]) AS i (id, seq, doc)
			ON CONFLICT DO NOTHING`, r.Account, r.ARN, ids, seqs, docs)
	})
}

// GetIncidentRecord implements domain.Store.
func (s *Store) GetIncidentRecord(ctx context.Context, account, arn string) (*domain.IncidentRecord, error) {
	defer s.startRead(ctx).stop()
	return getDoc[domain.IncidentRecord](ctx, s.q(ctx), `SELECT doc FROM incident_records WHERE account = $1 AND arn = $2`+s.inTx(ctx, forRead), account, arn)
}

// UpdateIncidentRecord implements domain.Store. The record's row is read
// FOR UPDATE: a concurrent update waits until this transaction ends, then
// reads what it wrote.
func (s *Store) UpdateIncidentRecord(ctx context.Context, account, arn string, fn func(*domain.IncidentRecord) error) error {
	// One statement writes, after fn: a failing fn has written nothing, so
	// inside another transaction no savepoint is needed.
	return s.tx1(ctx, func(ctx context.Context, q querier) error {
		r, err := getDoc[domain.IncidentRecord](ctx, q, `SELECT doc FROM incident_records WHERE account = $1 AND arn = $2`+forChange, account, arn)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
		r.Account, r.ARN = account, arn
		doc, err := marshal(r)
		if err != nil {
			return err
		}
		// The row is locked, and no unique key changes: the write cannot
		// fail on the data, and is deferred inside a transaction (txn.go).
		return later(ctx, q, nil, `UPDATE incident_records SET status = $1, impact = $2, created_by = $3, creation_time = $4, dedupe_string = $5, doc = $6
			WHERE account = $7 AND arn = $8`, r.Status, r.Impact, r.Source.CreatedBy, ms(r.CreationTime), r.DedupeString, doc, account, arn)
	})
}

// DeleteIncidentRecord implements domain.Store. Deleting the record's row
// waits for the transactions that read it (forRead); what belongs to it is
// deleted by the next statement, which sees what they wrote. (One statement
// would not: all of it reads one snapshot, taken before the wait.) Both
// statements are deferred inside a transaction (txn.go): sent in one batch,
// they still run one after the other, each with its own snapshot.
func (s *Store) DeleteIncidentRecord(ctx context.Context, account, arn string) error {
	return s.tx(ctx, func(ctx context.Context, q querier) error {
		if err := later(ctx, q, nil, `DELETE FROM incident_records WHERE account = $1 AND arn = $2`, account, arn); err != nil {
			return err
		}
		return later(ctx, q, nil, `WITH
			e AS (DELETE FROM timeline_events WHERE account = $1 AND incident_arn = $2),
			i AS (DELETE FROM related_items WHERE account = $1 AND incident_arn = $2)
			DELETE FROM tags WHERE account = $1 AND resource_arn = $2`, account, arn)
	})
}

// FindOpenIncident implements domain.Store. Inside a Tx it first takes the
// lock row of (account, dedupe) and only then reads: a transaction that
// looks up the same dedupeString meanwhile waits for this one to end, and
// its read, a statement that starts after that, sees what this one wrote.
func (s *Store) FindOpenIncident(ctx context.Context, account, dedupe string) (*domain.IncidentRecord, error) {
	defer s.startRead(ctx).stop()
	if tx, ok := s.ambient(ctx); ok {
		if err := lock(ctx, tx, account, lockDedupe, dedupe); err != nil {
			return nil, err
		}
	}
	return getDoc[domain.IncidentRecord](ctx, s.q(ctx), `SELECT doc FROM incident_records
		WHERE account = $1 AND dedupe_string = $2 AND status = 'OPEN' ORDER BY creation_time, arn LIMIT 1`, account, dedupe)
}

// ListIncidentRecords implements domain.Store.
func (s *Store) ListIncidentRecords(ctx context.Context, account string, conds []domain.IncidentCondition, after *domain.IncidentCursor, limit int) ([]*domain.IncidentRecord, error) {
	defer s.startRead(ctx).stop()
	var p params
	where := []string{"account = " + p.add(account)}
	for _, c := range conds {
		switch c.Key {
		case "creationTime":
			if c.Before != nil {
				where = append(where, "creation_time < "+p.add(ms(*c.Before)))
			}
			if c.After != nil {
				where = append(where, "creation_time > "+p.add(ms(*c.After)))
			}
		case "impact":
			where = append(where, "impact = ANY("+p.add(c.Ints)+"::integer[])")
		case "status":
			where = append(where, "status = ANY("+p.add(c.Strings)+"::text[])")
		case "createdBy":
			where = append(where, "created_by = ANY("+p.add(c.Strings)+"::text[])")
		default:
			return nil, fmt.Errorf("postgres: unknown incident filter %q", c.Key)
		}
	}
	if after != nil {
		where = append(where, "(creation_time, arn) < ("+p.add(ms(after.CreationTime))+", "+p.add(after.ARN)+")")
	}
	query := `SELECT doc FROM incident_records WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY creation_time DESC, arn DESC LIMIT ` + p.add(limit)
	return scanDocs[domain.IncidentRecord](s.q(ctx).Query(ctx, query, p...))
}

// nextItemSeq takes the incident's next related item position, locking the
// incident's row; ErrNotFound when there is no such incident.
func nextItemSeq(ctx context.Context, q querier, account, arn string) (int64, error) {
	var seq int64
	err := q.QueryRow(ctx, `UPDATE incident_records SET next_item_seq = next_item_seq + 1
		WHERE account = $1 AND arn = $2 RETURNING next_item_seq - 1`, account, arn).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, domain.ErrNotFound
	}
	return seq, err
}
