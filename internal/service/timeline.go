package service

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// automaticEvent builds an event incidentd writes by itself: eventTime in
// whole seconds, eventUpdatedTime to the millisecond, a reference to the
// incident.
func automaticEvent(r *domain.IncidentRecord, eventType string, eventTime time.Time, data any, now time.Time) *domain.TimelineEvent {
	b, _ := json.Marshal(data)
	return &domain.TimelineEvent{
		Account:          r.Account,
		IncidentARN:      r.ARN,
		EventID:          newEventID(),
		EventTime:        eventTime.Truncate(time.Second),
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
	return s.queueNotification(ctx, r, domain.EventIncidentStart, data, now)
}

// recordUpdate writes the update event of an incident and queues its notification.
func (s *Service) recordUpdate(ctx context.Context, r *domain.IncidentRecord, changes []attributeChange, now time.Time) error {
	data := updateEventData{ModifiedBy: r.LastModifiedBy, ModifiedAttributes: changes, IncidentTitle: r.Title}
	if err := s.store.AddTimelineEvent(ctx, automaticEvent(r, domain.EventRecordUpdate, now, data, now)); err != nil {
		return err
	}
	return s.queueNotification(ctx, r, domain.EventRecordUpdate, data, now)
}

// notificationDetail is the detail of a queued notification: the event's
// data plus the record's notification targets and chat channel as they
// were when the change happened.
type notificationDetail struct {
	Event               any      `json:"event"`
	NotificationTargets []string `json:"notificationTargets,omitempty"`
	ChatbotSns          []string `json:"chatbotSns,omitempty"`
}

func (s *Service) queueNotification(ctx context.Context, r *domain.IncidentRecord, detailType string, data any, now time.Time) error {
	d := notificationDetail{Event: data, NotificationTargets: r.NotificationTargets}
	if r.ChatChannel != nil {
		d.ChatbotSns = r.ChatChannel.ChatbotSNS
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return s.store.AddOutboxMessage(ctx, &domain.OutboxMessage{
		Account: r.Account, IncidentARN: r.ARN, DetailType: detailType, Payload: b, CreatedTime: now,
	})
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
	r, err := s.incidentRecord(ctx, *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	e, err := s.store.GetTimelineEvent(ctx, r.Account, r.ARN, *in.EventId)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, timelineEventNotFound(*in.EventId)
	}
	if err != nil {
		return nil, err
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
	// Events are listed oldest first unless sortOrder says DESCENDING.
	f := domain.TimelineFilter{Descending: deref(in.SortOrder) == "DESCENDING"}
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
		default:
			return f, domain.Invalid("Unknown filter key %s: use eventTime or eventType.", *fl.Key)
		}
	}
	return f, nil
}

// ListTimelineEvents lists the events of an incident's timeline by
// eventTime, ascending unless sortOrder is DESCENDING.
// Errors: NotFoundError for a missing incident; ValidationError for a bad
// filter or nextToken.
func (s *Service) ListTimelineEvents(ctx context.Context, in *model.ListTimelineEventsInput) (*model.ListTimelineEventsOutput, error) {
	r, err := s.incidentRecord(ctx, *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	f, err := timelineFilter(in)
	if err != nil {
		return nil, err
	}
	// A token resumes one listing: same incident, same order.
	type timelineCursor struct {
		Incident   string
		Descending bool
		domain.TimelineCursor
	}
	var after *domain.TimelineCursor
	var cursor timelineCursor
	if found, err := s.tokens.resume(in.NextToken, "ListTimelineEvents", r.Account, &cursor); err != nil {
		return nil, err
	} else if found {
		if cursor.Incident != r.ARN || cursor.Descending != f.Descending {
			return nil, domain.Invalid("The nextToken is not valid for this ListTimelineEvents request: pass it with the same incidentRecordArn and sortOrder.")
		}
		after = &cursor.TimelineCursor
	}
	limit := pageSize(in.MaxResults, defaultPageSize)
	events, err := s.store.ListTimelineEvents(ctx, r.Account, r.ARN, f, after, limit+1)
	if err != nil {
		return nil, err
	}
	out := &model.ListTimelineEventsOutput{EventSummaries: make([]model.EventSummary, 0, min(len(events), limit))}
	if len(events) > limit {
		events = events[:limit]
		last := events[limit-1]
		out.NextToken = s.tokens.issue("ListTimelineEvents", r.Account, timelineCursor{r.ARN, f.Descending, domain.TimelineCursor{EventTime: last.EventTime, Seq: last.Seq}})
	}
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
