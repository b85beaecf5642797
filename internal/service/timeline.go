package service

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// automaticEvent builds an event incidentd writes by itself: eventTime and
// eventUpdatedTime to the millisecond (as AWS's list-timeline-events
// example shows them), a reference to the incident.
func automaticEvent(r *domain.IncidentRecord, eventType string, eventTime time.Time, data any, now time.Time) *domain.TimelineEvent {
	b, _ := json.Marshal(data)
	return &domain.TimelineEvent{
		Account:          r.Account,
		IncidentARN:      r.ARN,
		EventID:          newEventID(),
		EventTime:        eventTime.Truncate(time.Millisecond),
		EventUpdatedTime: now.Truncate(time.Millisecond),
		EventType:        eventType,
		EventData:        string(b),
		References:       []domain.EventReference{{Resource: ptr(r.ARN)}},
		Automatic:        true,
	}
}

// newEventID returns a timeline event id: a UUID of version 7, which is
// ordered by time, so that new ids land at the end of the store's index.
func newEventID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// startEventData is the eventData of "SSM Incident Start" and "SSM Incident Trigger".
type startEventData struct {
	CreatedIncident string `json:"createdIncident"`
	IncidentTitle   string `json:"incidentTitle"`
	IncidentSource  string `json:"incidentSource"`
	CreatedBy       string `json:"createdBy"`
	Impact          int32  `json:"impact"`
	TriggerArn      string `json:"triggerArn,omitempty"`
	RawData         string `json:"rawData,omitempty"`
}

// updateEventData is the eventData of "SSM Incident Record Update".
type updateEventData struct {
	ModifiedBy         string            `json:"modifiedBy"`
	ModifiedAttributes []attributeChange `json:"modifiedAttributes"`
	IncidentTitle      string            `json:"incidentTitle"`
}

// recordStart writes the start event of a new incident and queues its
// notification.
func (s *Service) recordStart(ctx context.Context, r *domain.IncidentRecord, td *model.TriggerDetails, now time.Time) error {
	data := startEventData{
		CreatedIncident: r.ARN,
		IncidentTitle:   r.Title,
		IncidentSource:  r.Source.Source,
		CreatedBy:       r.Source.CreatedBy,
		Impact:          r.Impact,
	}
	eventType, eventTime := domain.EventIncidentStart, now
	if td != nil {
		eventType, eventTime = domain.EventIncidentTrigger, td.Timestamp.Time()
		data.TriggerArn, data.RawData = deref(td.TriggerArn), deref(td.RawData)
	}
	if err := s.store.AddTimelineEvent(ctx, automaticEvent(r, eventType, eventTime, data, now)); err != nil {
		return err
	}
	return s.notify(ctx, r, domain.EventIncidentStart, nil, now)
}

// recordUpdate writes the update event of an incident and queues its notification.
func (s *Service) recordUpdate(ctx context.Context, r *domain.IncidentRecord, changes []attributeChange, now time.Time) error {
	data := updateEventData{ModifiedBy: r.LastModifiedBy, ModifiedAttributes: changes, IncidentTitle: r.Title}
	if err := s.store.AddTimelineEvent(ctx, automaticEvent(r, domain.EventRecordUpdate, now, data, now)); err != nil {
		return err
	}
	return s.notify(ctx, r, domain.EventRecordUpdate, changes, now)
}

func timelineEventNotFound(id string) error {
	return domain.NotFound(domain.ResourceTimelineEvent, id, "Timeline event %s not found", id)
}

func referencesOut(refs []domain.EventReference) []model.EventReference {
	if refs == nil {
		return nil
	}
	out := make([]model.EventReference, 0, len(refs))
	for _, r := range refs {
		out = append(out, model.EventReference{Resource: r.Resource, RelatedItemId: r.RelatedItemID})
	}
	return out
}

// GetTimelineEvent returns one event of an incident's timeline.
// Errors: NotFoundError for a missing incident or event.
func (s *Service) GetTimelineEvent(ctx context.Context, in *model.GetTimelineEventInput) (*model.GetTimelineEventOutput, error) {
	ctx, err := s.authorize(ctx, "GetTimelineEvent", *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	r, err := s.incidentRecord(ctx, *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	e, err := s.store.GetTimelineEvent(ctx, r.Account, r.ARN, *in.EventId)
	if err != nil {
		return nil, notFoundAs(err, timelineEventNotFound, *in.EventId)
	}
	return &model.GetTimelineEventOutput{Event: &model.TimelineEvent{
		EventId:           &e.EventID,
		IncidentRecordArn: &e.IncidentARN,
		EventTime:         model.NewTimestamp(e.EventTime),
		EventUpdatedTime:  model.NewTimestamp(e.EventUpdatedTime),
		EventType:         &e.EventType,
		EventData:         &e.EventData,
		EventReferences:   referencesOut(e.References),
	}}, nil
}

// timelineFilter checks the filters and sort of ListTimelineEvents.
func timelineFilter(in *model.ListTimelineEventsInput) (domain.TimelineFilter, error) {
	// Events are listed newest first unless sortOrder says ASCENDING, as
	// AWS's list-timeline-events example, which gives no sortOrder, shows
	// them.
	f := domain.TimelineFilter{Descending: deref(in.SortOrder) != "ASCENDING"}
	for _, fl := range in.Filters {
		cond := fl.Condition
		switch *fl.Key {
		case "eventTime":
			if cond.Equals != nil {
				return f, domain.Invalid("The filter eventTime takes a before or after condition, not equals.")
			}
			if cond.Before != nil {
				f.Before = append(f.Before, cond.Before.Time())
			}
			if cond.After != nil {
				f.After = append(f.After, cond.After.Time())
			}
		case "eventType":
			if cond.Equals == nil || len(cond.Equals.StringValues) == 0 {
				return f, domain.Invalid("The filter eventType takes an equals condition with at least one of stringValues.")
			}
			f.EventTypes = append(f.EventTypes, cond.Equals.StringValues)
		case "eventReference":
			if cond.Equals == nil || len(cond.Equals.StringValues) == 0 {
				return f, domain.Invalid("The filter eventReference takes an equals condition with at least one of stringValues: resource ARNs or related item ids.")
			}
			f.References = append(f.References, cond.Equals.StringValues)
		default:
			return f, domain.Invalid("Unknown filter key %s: use eventReference, eventTime or eventType.", *fl.Key)
		}
	}
	return f, nil
}

// ListTimelineEvents lists the events of an incident's timeline by
// eventTime, newest first unless sortOrder is ASCENDING.
// Errors: NotFoundError for a missing incident; ValidationError for a bad
// filter or nextToken.
func (s *Service) ListTimelineEvents(ctx context.Context, in *model.ListTimelineEventsInput) (*model.ListTimelineEventsOutput, error) {
	ctx, err := s.authorize(ctx, "ListTimelineEvents", *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	r, err := s.incidentRecord(ctx, *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	f, err := timelineFilter(in)
	if err != nil {
		return nil, err
	}
	// A token resumes one listing: same incident, same order.
	l := listing{op: "ListTimelineEvents", account: r.Account, scope: r.ARN + " ascending", params: "incidentRecordArn and sortOrder"}
	if f.Descending {
		l.scope = r.ARN + " descending"
	}
	after, err := resumeAt[domain.TimelineCursor](s.tokens, l, in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := pageSize(in.MaxResults, defaultPageSize)
	events, err := s.store.ListTimelineEvents(ctx, r.Account, r.ARN, f, after, limit+1)
	if err != nil {
		return nil, err
	}
	out := &model.ListTimelineEventsOutput{EventSummaries: make([]model.EventSummary, 0, min(len(events), limit))}
	events, out.NextToken = page(s.tokens, l, events, limit, func(e *domain.TimelineEvent) any {
		return domain.TimelineCursor{EventTime: e.EventTime, Seq: e.Seq}
	})
	for _, e := range events {
		out.EventSummaries = append(out.EventSummaries, model.EventSummary{
			EventId:           ptr(e.EventID),
			IncidentRecordArn: ptr(e.IncidentARN),
			EventTime:         model.NewTimestamp(e.EventTime),
			EventUpdatedTime:  model.NewTimestamp(e.EventUpdatedTime),
			EventType:         ptr(e.EventType),
			EventReferences:   referencesOut(e.References),
		})
	}
	return out, nil
}

// Event types callers create; only these can be edited and deleted.
const (
	eventTypeCustom = "Custom Event"
	eventTypeNote   = "Note"
)

func checkCustomEventType(t string) error {
	if t != eventTypeCustom && t != eventTypeNote {
		return domain.Invalid("eventType %s is not one a caller can create: use %q or %q.", t, eventTypeCustom, eventTypeNote)
	}
	return nil
}

// referencesIn checks the references of a custom event: a relatedItemId
// must name a related item of the incident.
func (s *Service) referencesIn(ctx context.Context, r *domain.IncidentRecord, refs []model.EventReference) ([]domain.EventReference, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	var items []domain.RelatedItem
	out := make([]domain.EventReference, 0, len(refs))
	for i, ref := range refs {
		if id := ref.RelatedItemId; id != nil {
			if items == nil {
				var err error
				if items, err = s.store.ListRelatedItems(ctx, r.Account, r.ARN, nil, 0); err != nil {
					return nil, err
				}
			}
			if !slices.ContainsFunc(items, func(it domain.RelatedItem) bool { return it.GeneratedID == *id }) {
				return nil, domain.Invalid("eventReferences.%d.member.relatedItemId: %s is not a related item of the incident %s.", i+1, *id, r.ARN)
			}
		}
		out = append(out, domain.EventReference{Resource: ref.Resource, RelatedItemID: ref.RelatedItemId})
	}
	return out, nil
}

// CreateTimelineEvent adds a custom event ("Custom Event" or "Note") to an
// incident's timeline.
// Errors: NotFoundError for a missing incident; ValidationError for another
// event type or a reference to a related item the incident does not have;
// ConflictError for a clientToken reused with other parameters.
func (s *Service) CreateTimelineEvent(ctx context.Context, in *model.CreateTimelineEventInput) (*model.CreateTimelineEventOutput, error) {
	ctx, err := s.authorize(ctx, "CreateTimelineEvent", *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "CreateTimelineEvent", in.ClientToken, in, func(ctx context.Context) (*model.CreateTimelineEventOutput, error) {
		r, err := s.incidentRecord(ctx, *in.IncidentRecordArn)
		if err != nil {
			return nil, err
		}
		if err := checkCustomEventType(*in.EventType); err != nil {
			return nil, err
		}
		refs, err := s.referencesIn(ctx, r, in.EventReferences)
		if err != nil {
			return nil, err
		}
		e := &domain.TimelineEvent{
			Account:          r.Account,
			IncidentARN:      r.ARN,
			EventID:          newEventID(),
			EventTime:        in.EventTime.Time().Truncate(time.Millisecond),
			EventUpdatedTime: s.clock().Truncate(time.Millisecond),
			EventType:        *in.EventType,
			EventData:        *in.EventData,
			References:       refs,
		}
		// The incident may have been deleted since it was read (see notFoundAs).
		if err := s.store.AddTimelineEvent(ctx, e); err != nil {
			return nil, notFoundAs(err, incidentNotFound, r.ARN)
		}
		return &model.CreateTimelineEventOutput{EventId: &e.EventID, IncidentRecordArn: &e.IncidentARN}, nil
	})
}

// customEvent loads an event a caller may change.
func (s *Service) customEvent(ctx context.Context, account, incidentARN, eventID string) (*domain.TimelineEvent, error) {
	e, err := s.store.GetTimelineEvent(ctx, account, incidentARN, eventID)
	if err != nil {
		return nil, notFoundAs(err, timelineEventNotFound, eventID)
	}
	if e.Automatic {
		return nil, automaticEventError(e)
	}
	return e, nil
}

// automaticEventError refuses a change of an event incidentd wrote.
func automaticEventError(e *domain.TimelineEvent) error {
	return domain.Invalid("The timeline event %s (%s) was written by Incident Manager and cannot be changed; only events of type %q and %q can.", e.EventID, e.EventType, eventTypeCustom, eventTypeNote)
}

// UpdateTimelineEvent changes the members of a custom event present in the
// request; eventReferences, when present, replace the old ones.
// Errors: NotFoundError for a missing incident or event; ValidationError for
// an automatic event, another event type or a reference to a related item
// the incident does not have; ConflictError for a clientToken reused with
// other parameters.
func (s *Service) UpdateTimelineEvent(ctx context.Context, in *model.UpdateTimelineEventInput) (*model.UpdateTimelineEventOutput, error) {
	ctx, err := s.authorize(ctx, "UpdateTimelineEvent", *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "UpdateTimelineEvent", in.ClientToken, in, func(ctx context.Context) (*model.UpdateTimelineEventOutput, error) {
		r, err := s.incidentRecord(ctx, *in.IncidentRecordArn)
		if err != nil {
			return nil, err
		}
		if in.EventType != nil {
			if err := checkCustomEventType(*in.EventType); err != nil {
				return nil, err
			}
		}
		var refs []domain.EventReference
		if in.EventReferences != nil {
			if refs, err = s.referencesIn(ctx, r, in.EventReferences); err != nil {
				return nil, err
			}
		}
		updated := s.clock().Truncate(time.Millisecond)
		// The event is changed as it is stored when the update runs. It (or
		// its incident) may have been deleted since the incident was read,
		// where the read and the write are not serialised by one writer:
		// that is a 404 too.
		err = s.store.UpdateTimelineEvent(ctx, r.Account, r.ARN, *in.EventId, func(e *domain.TimelineEvent) error {
			if e.Automatic {
				return automaticEventError(e)
			}
			if in.EventType != nil {
				e.EventType = *in.EventType
			}
			if in.EventTime != nil {
				e.EventTime = in.EventTime.Time().Truncate(time.Millisecond)
			}
			if in.EventData != nil {
				e.EventData = *in.EventData
			}
			if in.EventReferences != nil {
				e.References = refs
			}
			e.EventUpdatedTime = updated
			return nil
		})
		if err != nil {
			return nil, notFoundAs(err, timelineEventNotFound, *in.EventId)
		}
		return &model.UpdateTimelineEventOutput{}, nil
	})
}

// DeleteTimelineEvent deletes a custom event. Deleting an event or incident
// that does not exist succeeds.
// Errors: ValidationError for an automatic event.
func (s *Service) DeleteTimelineEvent(ctx context.Context, in *model.DeleteTimelineEventInput) (*model.DeleteTimelineEventOutput, error) {
	ctx, err := s.authorize(ctx, "DeleteTimelineEvent", *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "DeleteTimelineEvent", nil, in, func(ctx context.Context) (*model.DeleteTimelineEventOutput, error) {
		return s.deleteTimelineEvent(ctx, in)
	})
}

func (s *Service) deleteTimelineEvent(ctx context.Context, in *model.DeleteTimelineEventInput) (*model.DeleteTimelineEventOutput, error) {
	if _, err := incidentARN(ctx, *in.IncidentRecordArn); err != nil {
		return &model.DeleteTimelineEventOutput{}, nil
	}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		e, err := s.customEvent(ctx, owner(ctx), *in.IncidentRecordArn, *in.EventId)
		var nf *domain.NotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.store.DeleteTimelineEvent(ctx, e.Account, e.IncidentARN, e.EventID)
	})
	if err != nil {
		return nil, err
	}
	return &model.DeleteTimelineEventOutput{}, nil
}
