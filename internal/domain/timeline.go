package domain

import "time"

// Event types incidentd writes by itself; they cannot be edited.
const (
	EventIncidentStart   = "SSM Incident Start"
	EventIncidentTrigger = "SSM Incident Trigger"
	EventRecordUpdate    = "SSM Incident Record Update"
)

// TimelineEvent is one entry of an incident's timeline.
type TimelineEvent struct {
	Account          string           `json:"account"`
	IncidentARN      string           `json:"incidentRecordArn"`
	EventID          string           `json:"eventId"`
	EventTime        time.Time        `json:"eventTime"`
	EventUpdatedTime time.Time        `json:"eventUpdatedTime"`
	EventType        string           `json:"eventType"`
	EventData        string           `json:"eventData"`
	References       []EventReference `json:"eventReferences,omitempty"`
	Automatic        bool             `json:"automatic"`
	// Seq orders events of the same EventTime as they were written; the
	// store assigns it.
	Seq int64 `json:"-"`
}

// EventReference points at a resource ARN or at a related item of the incident.
type EventReference struct {
	Resource      *string `json:"resource,omitempty"`
	RelatedItemID *string `json:"relatedItemId,omitempty"`
}

// TimelineFilter selects timeline events; Before and After bound eventTime,
// EventTypes (ORed) the type, References (ORed) what the event references:
// a resource ARN or a related item id among its EventReferences.
type TimelineFilter struct {
	Before, After []time.Time // every bound applies
	EventTypes    [][]string  // each list ORed, lists ANDed
	References    [][]string  // each list ORed, lists ANDed
	Descending    bool
}

// TimelineCursor is where a page of timeline events ends.
type TimelineCursor struct {
	EventTime time.Time
	Seq       int64
}
