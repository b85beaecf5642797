package service

import (
	"context"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// The operations below are part of the API but not provided by incidentd yet.
// Each answers with a NotImplementedError naming it, after its input has
// passed the model's validation; none pretends to succeed.

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
