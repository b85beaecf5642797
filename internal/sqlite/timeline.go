package sqlite

import (
	"context"
	"strings"

	"github.com/incidentd/incidentd/internal/domain"
)

// AddTimelineEvent implements domain.Store.
func (s *Store) AddTimelineEvent(ctx context.Context, e *domain.TimelineEvent) error {
	doc, err := eventDoc(e)
	if err != nil {
		return err
	}
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		return execInsert(ctx, tx, `INSERT INTO timeline_events (account, incident_arn, event_id, event_time, event_type, doc) VALUES (?, ?, ?, ?, ?, ?)`,
			doc, []any{e.Account, e.IncidentARN, e.EventID, ms(e.EventTime), e.EventType})
	})
}

// GetTimelineEvent implements domain.Store.
func (s *Store) GetTimelineEvent(ctx context.Context, account, incidentARN, eventID string) (*domain.TimelineEvent, error) {
	defer startRead(ctx).stop()
	return scanOne(s.q(ctx).QueryRowContext(ctx, `SELECT `+eventColumns+` FROM timeline_events WHERE event_id = ? AND account = ? AND incident_arn = ?`,
		eventID, account, incidentARN), scanEvent)
}

// ListTimelineEvents implements domain.Store.
func (s *Store) ListTimelineEvents(ctx context.Context, account, incidentARN string, f domain.TimelineFilter, after *domain.TimelineCursor, limit int) ([]*domain.TimelineEvent, error) {
	defer startRead(ctx).stop()
	where := []string{"account = ?", "incident_arn = ?"}
	args := []any{account, incidentARN}
	for _, t := range f.Before {
		where, args = append(where, "event_time < ?"), append(args, ms(t))
	}
	for _, t := range f.After {
		where, args = append(where, "event_time > ?"), append(args, ms(t))
	}
	for _, types := range f.EventTypes {
		where = append(where, "event_type IN ("+placeholders(len(types))+")")
		for _, t := range types {
			args = append(args, t)
		}
	}
	// A reference is {"resource": ARN} or {"relatedItemId": ID}.
	for _, refs := range f.References {
		where = append(where, `EXISTS (SELECT 1 FROM json_each(timeline_events.doc, '$.eventReferences') AS r
			WHERE coalesce(json_extract(r.value, '$.resource'), json_extract(r.value, '$.relatedItemId')) IN (`+placeholders(len(refs))+`))`)
		for _, r := range refs {
			args = append(args, r)
		}
	}
	order, cmp := "ASC", ">"
	if f.Descending {
		order, cmp = "DESC", "<"
	}
	if after != nil {
		where = append(where, "(event_time, seq) "+cmp+" (?, ?)")
		args = append(args, ms(after.EventTime), after.Seq)
	}
	args = append(args, limit)
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+eventColumns+` FROM timeline_events WHERE `+strings.Join(where, " AND ")+
		` ORDER BY event_time `+order+`, seq `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanEvent)
}

// UpdateTimelineEvent implements domain.Store.
func (s *Store) UpdateTimelineEvent(ctx context.Context, account, incidentARN, eventID string, fn func(*domain.TimelineEvent) error) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		e, err := scanOne(tx.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM timeline_events WHERE event_id = ? AND account = ? AND incident_arn = ?`,
			eventID, account, incidentARN), scanEvent)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
		e.Account, e.IncidentARN, e.EventID = account, incidentARN, eventID
		doc, err := eventDoc(e)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE timeline_events SET event_time = ?, event_type = ?, doc = ? WHERE event_id = ? AND account = ? AND incident_arn = ?`,
			ms(e.EventTime), e.EventType, string(doc), eventID, account, incidentARN)
		return err
	})
}

// DeleteTimelineEvent implements domain.Store.
func (s *Store) DeleteTimelineEvent(ctx context.Context, account, incidentARN, eventID string) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM timeline_events WHERE event_id = ? AND account = ? AND incident_arn = ?`, eventID, account, incidentARN)
		return err
	})
}

// placeholders returns n comma-separated placeholders for an IN list.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
