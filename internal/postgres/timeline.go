package postgres

import (
	"context"
	"strings"

	"github.com/incidentd/incidentd/internal/domain"
)

// eventRefs returns what the refs column holds of e: each reference's
// resource ARN, or else its related item id.
func eventRefs(e *domain.TimelineEvent) []string {
	refs := []string{}
	for _, r := range e.References {
		switch {
		case r.Resource != nil:
			refs = append(refs, *r.Resource)
		case r.RelatedItemID != nil:
			refs = append(refs, *r.RelatedItemID)
		}
	}
	return refs
}

// AddTimelineEvent implements domain.Store. It does not check that the
// incident exists. Inside a transaction the insert is deferred (txn.go):
// a duplicate event id, which generated ids do not have, is ErrConflict
// and fails the transaction. The INSERT has no ON CONFLICT clause for that:
// its unique violation aborts the transaction, where a conflict that
// inserted nothing would let the COMMIT sent with it commit the rest.
func (s *Store) AddTimelineEvent(ctx context.Context, e *domain.TimelineEvent) error {
	doc, err := marshal(e)
	if err != nil {
		return err
	}
	return s.write(ctx, func(q querier) error {
		return later(ctx, q, mapError, `INSERT INTO timeline_events (account, incident_arn, event_id, event_time, event_type, refs, doc)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			e.Account, e.IncidentARN, e.EventID, ms(e.EventTime), e.EventType, eventRefs(e), doc)
	})
}

// GetTimelineEvent implements domain.Store.
func (s *Store) GetTimelineEvent(ctx context.Context, account, incidentARN, eventID string) (*domain.TimelineEvent, error) {
	defer s.startRead(ctx).stop()
	return getDoc[domain.TimelineEvent](ctx, s.q(ctx), `SELECT doc FROM timeline_events WHERE event_id = $1 AND account = $2 AND incident_arn = $3`,
		eventID, account, incidentARN)
}

// ListTimelineEvents implements domain.Store.
func (s *Store) ListTimelineEvents(ctx context.Context, account, incidentARN string, f domain.TimelineFilter, after *domain.TimelineCursor, limit int) ([]*domain.TimelineEvent, error) {
	defer s.startRead(ctx).stop()
	var p params
	where := []string{"account = " + p.add(account), "incident_arn = " + p.add(incidentARN)}
	for _, t := range f.Before {
		where = append(where, "event_time < "+p.add(ms(t)))
	}
	for _, t := range f.After {
		where = append(where, "event_time > "+p.add(ms(t)))
	}
	for _, types := range f.EventTypes {
		where = append(where, "event_type = ANY("+p.add(types)+"::text[])")
	}
	// An event references one of refs when the two arrays overlap.
	for _, refs := range f.References {
		where = append(where, "refs && "+p.add(refs)+"::text[]")
	}
	order, cmp := "ASC", ">"
	if f.Descending {
		order, cmp = "DESC", "<"
	}
	if after != nil {
		where = append(where, "(event_time, seq) "+cmp+" ("+p.add(ms(after.EventTime))+", "+p.add(after.Seq)+")")
	}
	query := `SELECT seq, doc FROM timeline_events WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY event_time ` + order + `, seq ` + order + ` LIMIT ` + p.add(limit)
	rows, err := s.q(ctx).Query(ctx, query, p...)
	if err != nil {
		return nil, err
	}
	return scanSeqDocs(rows, func(e *domain.TimelineEvent, seq int64) { e.Seq = seq })
}

// UpdateTimelineEvent implements domain.Store: the event's row is read FOR
// UPDATE (see UpdateIncidentRecord).
func (s *Store) UpdateTimelineEvent(ctx context.Context, account, incidentARN, eventID string, fn func(*domain.TimelineEvent) error) error {
	return s.tx1(ctx, func(ctx context.Context, q querier) error {
		e, err := getDoc[domain.TimelineEvent](ctx, q, `SELECT doc FROM timeline_events WHERE event_id = $1 AND account = $2 AND incident_arn = $3`+forChange,
			eventID, account, incidentARN)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
		e.Account, e.IncidentARN, e.EventID = account, incidentARN, eventID
		doc, err := marshal(e)
		if err != nil {
			return err
		}
		// Deferred inside a transaction, as UpdateIncidentRecord's write.
		return later(ctx, q, nil, `UPDATE timeline_events SET event_time = $1, event_type = $2, refs = $3, doc = $4
			WHERE event_id = $5 AND account = $6 AND incident_arn = $7`,
			ms(e.EventTime), e.EventType, eventRefs(e), doc, eventID, account, incidentARN)
	})
}

// DeleteTimelineEvent implements domain.Store; deferred inside a
// transaction (txn.go).
func (s *Store) DeleteTimelineEvent(ctx context.Context, account, incidentARN, eventID string) error {
	return s.write(ctx, func(q querier) error {
		return later(ctx, q, nil, `DELETE FROM timeline_events WHERE event_id = $1 AND account = $2 AND incident_arn = $3`, eventID, account, incidentARN)
	})
}

// TimelineRefs returns what the refs column holds of the timeline event
// whose stored document is doc (the document both engines store).
func TimelineRefs(doc string) ([]string, error) {
	e, err := decode[domain.TimelineEvent]([]byte(doc))
	if err != nil {
		return nil, err
	}
	return eventRefs(e), nil
}
