package sqlite

import (
	"context"
	"slices"
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
		res, err := tx.ExecContext(ctx, `INSERT INTO timeline_events (incident, event_id, event_time, event_type, doc)
			SELECT id, ?, ?, ?, ? FROM incident_records WHERE account = ? AND arn = ?`,
			e.EventID, ms(e.EventTime), e.EventType, string(doc), e.Account, e.IncidentARN)
		if isUniqueViolation(err) {
			return domain.ErrConflict
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return domain.ErrNotFound // the record is gone
	})
}

// ofIncident is the condition on timeline_events that selects the events
// of the record (account, arn), the two arguments it takes.
const ofIncident = `incident = (SELECT id FROM incident_records WHERE account = ? AND arn = ?)`

// GetTimelineEvent implements domain.Store.
func (s *Store) GetTimelineEvent(ctx context.Context, account, incidentARN, eventID string) (*domain.TimelineEvent, error) {
	defer startRead(ctx).stop()
	return scanOne(s.q(ctx).QueryRowContext(ctx, `SELECT `+eventColumns+` FROM timeline_events WHERE event_id = ? AND `+ofIncident,
		eventID, account, incidentARN), scanEvent(account, incidentARN))
}

// ListTimelineEvents implements domain.Store.
func (s *Store) ListTimelineEvents(ctx context.Context, account, incidentARN string, f domain.TimelineFilter, after *domain.TimelineCursor, limit int) ([]*domain.TimelineEvent, error) {
	defer startRead(ctx).stop()
	where := []string{ofIncident}
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
	// A reference is {"resource": ARN} or {"relatedItemId": ID}. An
	// automatic event whose document leaves its references out references
	// its incident.
	for _, refs := range f.References {
		cond := `EXISTS (SELECT 1 FROM json_each(timeline_events.doc, '$.eventReferences') AS r
			WHERE coalesce(json_extract(r.value, '$.resource'), json_extract(r.value, '$.relatedItemId')) IN (` + placeholders(len(refs)) + `))`
		if slices.Contains(refs, incidentARN) {
			cond = "(" + cond + " OR " + eventDefaultReferences + ")"
		}
		where = append(where, cond)
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
	return scanAll(rows, scanEvent(account, incidentARN))
}

// UpdateTimelineEvent implements domain.Store.
func (s *Store) UpdateTimelineEvent(ctx context.Context, account, incidentARN, eventID string, fn func(*domain.TimelineEvent) error) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		e, err := scanOne(tx.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM timeline_events WHERE event_id = ? AND `+ofIncident,
			eventID, account, incidentARN), scanEvent(account, incidentARN))
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
		_, err = tx.ExecContext(ctx, `UPDATE timeline_events SET event_time = ?, event_type = ?, doc = ? WHERE event_id = ? AND `+ofIncident,
			ms(e.EventTime), e.EventType, string(doc), eventID, account, incidentARN)
		return err
	})
}

// DeleteTimelineEvent implements domain.Store.
func (s *Store) DeleteTimelineEvent(ctx context.Context, account, incidentARN, eventID string) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM timeline_events WHERE event_id = ? AND `+ofIncident, eventID, account, incidentARN)
		return err
	})
}

// placeholders returns n comma-separated placeholders for an IN list.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
