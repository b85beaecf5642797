package service

import (
	"context"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// The operations below are part of the API but not provided by incidentd yet.
// Each answers with a NotImplementedError naming it, after its input has
// passed the model's validation; none pretends to succeed.

// StartIncident is not provided yet. Errors: NotImplementedError.
func (s *Service) StartIncident(ctx context.Context, in *model.StartIncidentInput) (*model.StartIncidentOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "StartIncident"}
}

// GetIncidentRecord is not provided yet. Errors: NotImplementedError.
func (s *Service) GetIncidentRecord(ctx context.Context, in *model.GetIncidentRecordInput) (*model.GetIncidentRecordOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "GetIncidentRecord"}
}

// UpdateIncidentRecord is not provided yet. Errors: NotImplementedError.
func (s *Service) UpdateIncidentRecord(ctx context.Context, in *model.UpdateIncidentRecordInput) (*model.UpdateIncidentRecordOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "UpdateIncidentRecord"}
}

// ListIncidentRecords is not provided yet. Errors: NotImplementedError.
func (s *Service) ListIncidentRecords(ctx context.Context, in *model.ListIncidentRecordsInput) (*model.ListIncidentRecordsOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "ListIncidentRecords"}
}

// DeleteIncidentRecord is not provided yet. Errors: NotImplementedError.
func (s *Service) DeleteIncidentRecord(ctx context.Context, in *model.DeleteIncidentRecordInput) (*model.DeleteIncidentRecordOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "DeleteIncidentRecord"}
}

// ListTimelineEvents is not provided yet. Errors: NotImplementedError.
func (s *Service) ListTimelineEvents(ctx context.Context, in *model.ListTimelineEventsInput) (*model.ListTimelineEventsOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "ListTimelineEvents"}
}

// GetTimelineEvent is not provided yet. Errors: NotImplementedError.
func (s *Service) GetTimelineEvent(ctx context.Context, in *model.GetTimelineEventInput) (*model.GetTimelineEventOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "GetTimelineEvent"}
}

// CreateTimelineEvent is not provided yet. Errors: NotImplementedError.
func (s *Service) CreateTimelineEvent(ctx context.Context, in *model.CreateTimelineEventInput) (*model.CreateTimelineEventOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "CreateTimelineEvent"}
}

// UpdateTimelineEvent is not provided yet. Errors: NotImplementedError.
func (s *Service) UpdateTimelineEvent(ctx context.Context, in *model.UpdateTimelineEventInput) (*model.UpdateTimelineEventOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "UpdateTimelineEvent"}
}

// DeleteTimelineEvent is not provided yet. Errors: NotImplementedError.
func (s *Service) DeleteTimelineEvent(ctx context.Context, in *model.DeleteTimelineEventInput) (*model.DeleteTimelineEventOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "DeleteTimelineEvent"}
}

// UpdateRelatedItems is not provided yet. Errors: NotImplementedError.
func (s *Service) UpdateRelatedItems(ctx context.Context, in *model.UpdateRelatedItemsInput) (*model.UpdateRelatedItemsOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "UpdateRelatedItems"}
}

// ListRelatedItems is not provided yet. Errors: NotImplementedError.
func (s *Service) ListRelatedItems(ctx context.Context, in *model.ListRelatedItemsInput) (*model.ListRelatedItemsOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "ListRelatedItems"}
}

// PutResourcePolicy is not provided yet. Errors: NotImplementedError.
func (s *Service) PutResourcePolicy(ctx context.Context, in *model.PutResourcePolicyInput) (*model.PutResourcePolicyOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "PutResourcePolicy"}
}

// GetResourcePolicies is not provided yet. Errors: NotImplementedError.
func (s *Service) GetResourcePolicies(ctx context.Context, in *model.GetResourcePoliciesInput) (*model.GetResourcePoliciesOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "GetResourcePolicies"}
}

// DeleteResourcePolicy is not provided yet. Errors: NotImplementedError.
func (s *Service) DeleteResourcePolicy(ctx context.Context, in *model.DeleteResourcePolicyInput) (*model.DeleteResourcePolicyOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "DeleteResourcePolicy"}
}

// ListIncidentFindings is not provided yet. Errors: NotImplementedError.
func (s *Service) ListIncidentFindings(ctx context.Context, in *model.ListIncidentFindingsInput) (*model.ListIncidentFindingsOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "ListIncidentFindings"}
}

// BatchGetIncidentFindings is not provided yet. Errors: NotImplementedError.
func (s *Service) BatchGetIncidentFindings(ctx context.Context, in *model.BatchGetIncidentFindingsInput) (*model.BatchGetIncidentFindingsOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "BatchGetIncidentFindings"}
}
