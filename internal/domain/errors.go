package domain

import (
	"errors"
	"fmt"
	"time"
)

// ResourceType names a kind of resource in errors, as the AWS model spells it.
type ResourceType string

const (
	ResourceResponsePlan   ResourceType = "RESPONSE_PLAN"
	ResourceIncidentRecord ResourceType = "INCIDENT_RECORD"
	ResourceTimelineEvent  ResourceType = "TIMELINE_EVENT"
	ResourceReplicationSet ResourceType = "REPLICATION_SET"
	ResourceResourcePolicy ResourceType = "RESOURCE_POLICY"
)

// Storage engines report these two conditions; the service turns them into
// the typed errors below, with the resource they concern.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// ValidationError is a request that is well formed but not acceptable
// (AWS ValidationException).
type ValidationError struct{ Message string }

func (e *ValidationError) Error() string { return e.Message }

// Invalid returns a *ValidationError with a formatted message.
func Invalid(format string, args ...any) error {
	return &ValidationError{Message: fmt.Sprintf(format, args...)}
}

// NotFoundError is a missing resource (AWS ResourceNotFoundException).
type NotFoundError struct {
	Message            string
	ResourceIdentifier string
	ResourceType       ResourceType
}

func (e *NotFoundError) Error() string { return e.Message }

// NotFound returns a *NotFoundError for the resource id of kind t.
func NotFound(t ResourceType, id string, format string, args ...any) error {
	return &NotFoundError{Message: fmt.Sprintf(format, args...), ResourceIdentifier: id, ResourceType: t}
}

// ConflictError is a request that clashes with the current state
// (AWS ConflictException).
type ConflictError struct {
	Message            string
	ResourceIdentifier string
	ResourceType       ResourceType
	RetryAfter         *time.Time
}

func (e *ConflictError) Error() string { return e.Message }

// Conflict returns a *ConflictError for the resource id of kind t.
func Conflict(t ResourceType, id string, format string, args ...any) error {
	return &ConflictError{Message: fmt.Sprintf(format, args...), ResourceIdentifier: id, ResourceType: t}
}

// QuotaExceededError is a resource count above its quota
// (AWS ServiceQuotaExceededException).
type QuotaExceededError struct {
	Message            string
	QuotaCode          string
	ResourceIdentifier string
	ResourceType       ResourceType
}

func (e *QuotaExceededError) Error() string { return e.Message }

// ThrottlingError is a request above the caller's rate (AWS ThrottlingException).
type ThrottlingError struct {
	Message   string
	QuotaCode string
	// RetryAfter, when positive, is how long the caller should wait before
	// it retries.
	RetryAfter time.Duration
}

func (e *ThrottlingError) Error() string { return e.Message }

// AccessDeniedError is a caller without permission (AWS AccessDeniedException).
type AccessDeniedError struct{ Message string }

func (e *AccessDeniedError) Error() string { return e.Message }
