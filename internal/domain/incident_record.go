package domain

import "time"

// Incident record statuses.
const (
	IncidentOpen     = "OPEN"
	IncidentResolved = "RESOLVED"
)

// SourceCustom is the source of an incident started by hand (StartIncident
// without triggerDetails).
const SourceCustom = "aws.ssm-incidents.custom"

// IncidentRecord is one incident.
type IncidentRecord struct {
	ARN                  string               `json:"arn"`
	Account              string               `json:"account"`
	PlanName             string               `json:"planName"`
	Title                string               `json:"title"`
	Summary              *string              `json:"summary,omitempty"`
	Status               string               `json:"status"`
	Impact               int32                `json:"impact"`
	CreationTime         time.Time            `json:"creationTime"`
	ResolvedTime         *time.Time           `json:"resolvedTime,omitempty"`
	LastModifiedBy       string               `json:"lastModifiedBy"`
	LastModifiedTime     time.Time            `json:"lastModifiedTime"`
	DedupeString         string               `json:"dedupeString"`
	Source               IncidentRecordSource `json:"incidentRecordSource"`
	ChatChannel          *ChatChannel         `json:"chatChannel,omitempty"`
	NotificationTargets  []string             `json:"notificationTargets,omitempty"`
	AutomationExecutions []string             `json:"automationExecutions,omitempty"` // SSM execution ARNs
}

// IncidentRecordSource tells who or what started an incident.
type IncidentRecordSource struct {
	CreatedBy   string  `json:"createdBy"`
	InvokedBy   *string `json:"invokedBy,omitempty"`
	ResourceARN *string `json:"resourceArn,omitempty"`
	Source      string  `json:"source"`
}

// IncidentCondition is one filter of ListIncidentRecords. Conditions are
// ANDed; the values of one condition are ORed.
type IncidentCondition struct {
	Key     string // creationTime, impact, status, createdBy
	Before  *time.Time
	After   *time.Time
	Ints    []int32
	Strings []string
}

// IncidentCursor is where a page of incident records ends: records are
// listed newest first, ties broken by ARN.
type IncidentCursor struct {
	CreationTime time.Time
	ARN          string
}

// RelatedItem is a resource, link or metric attached to an incident.
type RelatedItem struct {
	GeneratedID string    `json:"generatedId"`
	Type        string    `json:"type"`
	Value       ItemValue `json:"value"`
	Title       *string   `json:"title,omitempty"`
	// Seq orders the items of an incident as they were added; the store
	// assigns it.
	Seq int64 `json:"-"`
}

// Identifies reports whether the item is the one that type t and value v
// name: same type and same value (a PagerDuty incident by its id alone).
func (it RelatedItem) Identifies(t string, v ItemValue) bool {
	if it.Type != t {
		return false
	}
	a, b := it.Value, v
	switch {
	case a.PagerDutyIncidentDetail != nil || b.PagerDutyIncidentDetail != nil:
		return a.PagerDutyIncidentDetail != nil && b.PagerDutyIncidentDetail != nil &&
			a.PagerDutyIncidentDetail.ID == b.PagerDutyIncidentDetail.ID
	case a.ARN != nil || b.ARN != nil:
		return a.ARN != nil && b.ARN != nil && *a.ARN == *b.ARN
	case a.URL != nil || b.URL != nil:
		return a.URL != nil && b.URL != nil && *a.URL == *b.URL
	case a.MetricDefinition != nil || b.MetricDefinition != nil:
		return a.MetricDefinition != nil && b.MetricDefinition != nil && *a.MetricDefinition == *b.MetricDefinition
	}
	return true
}

// RelatedItemCursor is where a page of related items ends.
type RelatedItemCursor struct {
	Seq         int64
	GeneratedID string
}

// ItemValue is the one value of a related item.
type ItemValue struct {
	ARN                     *string                  `json:"arn,omitempty"`
	URL                     *string                  `json:"url,omitempty"`
	MetricDefinition        *string                  `json:"metricDefinition,omitempty"`
	PagerDutyIncidentDetail *PagerDutyIncidentDetail `json:"pagerDutyIncidentDetail,omitempty"`
}

// PagerDutyIncidentDetail names a PagerDuty incident.
type PagerDutyIncidentDetail struct {
	ID          string  `json:"id"`
	AutoResolve *bool   `json:"autoResolve,omitempty"`
	SecretID    *string `json:"secretId,omitempty"`
}
