package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

func ms(t time.Time) int64 { return t.UnixMilli() }

// CreateIncidentRecord implements domain.Store.
func (s *Store) CreateIncidentRecord(ctx context.Context, r *domain.IncidentRecord, tags map[string]string, items []domain.RelatedItem) error {
	doc, err := recordDoc(r)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO incident_records (account, arn, status, impact, created_by, creation_time, dedupe_string, doc, next_item_seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Account, r.ARN, r.Status, r.Impact, r.Source.CreatedBy, ms(r.CreationTime), r.DedupeString, string(doc), len(items))
		if isUniqueViolation(err) {
			return domain.ErrConflict
		}
		if err != nil {
			return err
		}
		if err := putTags(ctx, tx, r.Account, r.ARN, tags); err != nil {
			return err
		}
		for i, it := range items {
			doc, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO related_items (account, incident_arn, generated_id, seq, doc) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT DO NOTHING`, r.Account, r.ARN, it.GeneratedID, i, string(doc)); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetIncidentRecord implements domain.Store.
func (s *Store) GetIncidentRecord(ctx context.Context, account, arn string) (*domain.IncidentRecord, error) {
	defer startRead(ctx).stop()
	return scanOne(s.q(ctx).QueryRowContext(ctx, `SELECT `+recordColumns+` FROM incident_records WHERE account = ? AND arn = ?`, account, arn), scanRecord)
}

// UpdateIncidentRecord implements domain.Store. The writer runs one
// transaction at a time, so the record read is the record written back.
func (s *Store) UpdateIncidentRecord(ctx context.Context, account, arn string, fn func(*domain.IncidentRecord) error) error {
	// One statement writes, after fn: a failing fn has written nothing, so
	// inside another transaction no savepoint is needed.
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		r, err := scanOne(tx.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM incident_records WHERE account = ? AND arn = ?`, account, arn), scanRecord)
		if err != nil {
			return err
		}
		status, impact, dedupe, created, createdBy := r.Status, r.Impact, r.DedupeString, r.CreationTime, r.Source.CreatedBy
		if err := fn(r); err != nil {
			return err
		}
		r.Account, r.ARN = account, arn
		doc, err := recordDoc(r)
		if err != nil {
			return err
		}
		// Only the columns whose values change are set: SQLite rewrites
		// the entries of every index on a column that an UPDATE sets, and
		// most updates change none of them.
		set, args := []string{"doc = ?"}, []any{string(doc)}
		if r.Status != status {
			set, args = append(set, "status = ?"), append(args, r.Status)
		}
		if r.Impact != impact {
			set, args = append(set, "impact = ?"), append(args, r.Impact)
		}
		if r.DedupeString != dedupe {
			set, args = append(set, "dedupe_string = ?"), append(args, r.DedupeString)
		}
		if !r.CreationTime.Equal(created) {
			set, args = append(set, "creation_time = ?"), append(args, ms(r.CreationTime))
		}
		if r.Source.CreatedBy != createdBy {
			set, args = append(set, "created_by = ?"), append(args, r.Source.CreatedBy)
		}
		_, err = tx.ExecContext(ctx, `UPDATE incident_records SET `+strings.Join(set, ", ")+` WHERE account = ? AND arn = ?`, append(args, account, arn)...)
		return err
	})
}

// DeleteIncidentRecord implements domain.Store.
func (s *Store) DeleteIncidentRecord(ctx context.Context, account, arn string) error {
	return s.tx(ctx, func(ctx context.Context, tx *wtx) error {
		// The events first: they name the record by its id.
		for _, q := range []string{
			`DELETE FROM timeline_events WHERE ` + ofIncident,
			`DELETE FROM incident_records WHERE account = ? AND arn = ?`,
			`DELETE FROM related_items WHERE account = ? AND incident_arn = ?`,
			`DELETE FROM tags WHERE account = ? AND resource_arn = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, account, arn); err != nil {
				return err
			}
		}
		return nil
	})
}

// FindOpenIncident implements domain.Store.
func (s *Store) FindOpenIncident(ctx context.Context, account, dedupe string) (*domain.IncidentRecord, error) {
	defer startRead(ctx).stop()
	return scanOne(s.q(ctx).QueryRowContext(ctx, `SELECT `+recordColumns+` FROM incident_records
		WHERE account = ? AND dedupe_string = ? AND status = 'OPEN' ORDER BY creation_time, arn LIMIT 1`, account, dedupe), scanRecord)
}

// ListIncidentRecords implements domain.Store.
func (s *Store) ListIncidentRecords(ctx context.Context, account string, conds []domain.IncidentCondition, after *domain.IncidentCursor, limit int) ([]*domain.IncidentRecord, error) {
	defer startRead(ctx).stop()
	var (
		where = []string{"account = ?"}
		args  = []any{account}
	)
	in := func(col string, n int) string {
		return col + " IN (" + placeholders(n) + ")"
	}
	for _, c := range conds {
		switch c.Key {
		case "creationTime":
			if c.Before != nil {
				where, args = append(where, "creation_time < ?"), append(args, ms(*c.Before))
			}
			if c.After != nil {
				where, args = append(where, "creation_time > ?"), append(args, ms(*c.After))
			}
		case "impact":
			where = append(where, in("impact", len(c.Ints)))
			for _, v := range c.Ints {
				args = append(args, v)
			}
		case "status", "createdBy":
			col := map[string]string{"status": "status", "createdBy": "created_by"}[c.Key]
			where = append(where, in(col, len(c.Strings)))
			for _, v := range c.Strings {
				args = append(args, v)
			}
		default:
			return nil, fmt.Errorf("sqlite: unknown incident filter %q", c.Key)
		}
	}
	if after != nil {
		where = append(where, "(creation_time, arn) < (?, ?)")
		args = append(args, ms(after.CreationTime), after.ARN)
	}
	args = append(args, limit)
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+recordColumns+` FROM incident_records WHERE `+strings.Join(where, " AND ")+
		` ORDER BY creation_time DESC, arn DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanRecord)
}
