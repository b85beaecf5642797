package restjson

import (
	"context"

	"github.com/incidentd/incidentd/internal/model"
	"github.com/incidentd/incidentd/internal/service"
)

// opFunc runs one operation on its decoded, validated input.
type opFunc func(ctx context.Context, in model.Input) (any, error)

// bind adapts a service method to an opFunc.
func bind[I any, O any](f func(context.Context, *I) (*O, error)) opFunc {
	return func(ctx context.Context, in model.Input) (any, error) {
		out, err := f(ctx, any(in).(*I))
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// operations maps every operation of the model to the service method of the
// same name.
func operations(s *service.Service) map[string]opFunc {
	return map[string]opFunc{
		"BatchGetIncidentFindings": bind(s.BatchGetIncidentFindings),
		"CreateReplicationSet":     bind(s.CreateReplicationSet),
		"CreateResponsePlan":       bind(s.CreateResponsePlan),
		"CreateTimelineEvent":      bind(s.CreateTimelineEvent),
		"DeleteIncidentRecord":     bind(s.DeleteIncidentRecord),
		"DeleteReplicationSet":     bind(s.DeleteReplicationSet),
		"DeleteResourcePolicy":     bind(s.DeleteResourcePolicy),
		"DeleteResponsePlan":       bind(s.DeleteResponsePlan),
		"DeleteTimelineEvent":      bind(s.DeleteTimelineEvent),
		"GetIncidentRecord":        bind(s.GetIncidentRecord),
		"GetReplicationSet":        bind(s.GetReplicationSet),
		"GetResourcePolicies":      bind(s.GetResourcePolicies),
		"GetResponsePlan":          bind(s.GetResponsePlan),
		"GetTimelineEvent":         bind(s.GetTimelineEvent),
		"ListIncidentFindings":     bind(s.ListIncidentFindings),
		"ListIncidentRecords":      bind(s.ListIncidentRecords),
		"ListRelatedItems":         bind(s.ListRelatedItems),
		"ListReplicationSets":      bind(s.ListReplicationSets),
		"ListResponsePlans":        bind(s.ListResponsePlans),
		"ListTagsForResource":      bind(s.ListTagsForResource),
		"ListTimelineEvents":       bind(s.ListTimelineEvents),
		"PutResourcePolicy":        bind(s.PutResourcePolicy),
		"StartIncident":            bind(s.StartIncident),
		"TagResource":              bind(s.TagResource),
		"UntagResource":            bind(s.UntagResource),
		"UpdateDeletionProtection": bind(s.UpdateDeletionProtection),
		"UpdateIncidentRecord":     bind(s.UpdateIncidentRecord),
		"UpdateRelatedItems":       bind(s.UpdateRelatedItems),
		"UpdateReplicationSet":     bind(s.UpdateReplicationSet),
		"UpdateResponsePlan":       bind(s.UpdateResponsePlan),
		"UpdateTimelineEvent":      bind(s.UpdateTimelineEvent),
	}
}
