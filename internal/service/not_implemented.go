package service

import (
	"context"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// The operations below are part of the API but not provided by incidentd yet.
// Each answers with a NotImplementedError naming it, after its input has
// passed the model's validation; none pretends to succeed.

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

// ListIncidentFindings is not provided yet. Errors: NotImplementedError.
func (s *Service) ListIncidentFindings(ctx context.Context, in *model.ListIncidentFindingsInput) (*model.ListIncidentFindingsOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "ListIncidentFindings"}
}

// BatchGetIncidentFindings is not provided yet. Errors: NotImplementedError.
func (s *Service) BatchGetIncidentFindings(ctx context.Context, in *model.BatchGetIncidentFindingsInput) (*model.BatchGetIncidentFindingsOutput, error) {
	return nil, &domain.NotImplementedError{Operation: "BatchGetIncidentFindings"}
}
