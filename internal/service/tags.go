package service

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// MaxTagsPerResource is how many tags one resource may carry.
const MaxTagsPerResource = 50

// QuotaCodeTags is the quotaCode of ServiceQuotaExceededException for tags.
const QuotaCodeTags = "tags-per-resource"

// taggable resolves arn to one of the caller's taggable resources.
func taggable(ctx context.Context, arn string) (domain.ResourceRef, error) {
	a, ok := ParseARN(arn)
	if !ok {
		return domain.ResourceRef{}, domain.Invalid("%s is not the ARN of a replication set, response plan or incident record", arn)
	}
	r := resourceRef(a, arn)
	if a.Account != caller(ctx).Account {
		return r, tagTargetNotFound(r)
	}
	return r, nil
}

// resourceRef names the taggable resource of a, whose ARN is arn.
func resourceRef(a ARN, arn string) domain.ResourceRef {
	r := domain.ResourceRef{Account: a.Account, ARN: arn, Key: arn}
	switch a.Type {
	case "replication-set":
		r.Type = domain.ResourceReplicationSet
	case "response-plan":
		r.Type, r.Key = domain.ResourceResponsePlan, a.ID
	case "incident-record":
		r.Type = domain.ResourceIncidentRecord
	}
	return r
}

func tagTargetNotFound(r domain.ResourceRef) error {
	return domain.NotFound(r.Type, r.ARN, "Resource %s not found", r.ARN)
}

// TagResource adds tags to a resource, replacing the values of keys it has.
// Errors: NotFoundError; QuotaExceededError beyond 50 tags.
func (s *Service) TagResource(ctx context.Context, in *model.TagResourceRequest) (*model.TagResourceResponse, error) {
	ctx, err := s.authorizeAccess(ctx, &access{op: "TagResource", resource: *in.ResourceArn, requestTags: in.Tags, tagKeys: slices.Collect(maps.Keys(in.Tags)), hasTagKeys: true})
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "TagResource", nil, in, func(ctx context.Context) (*model.TagResourceResponse, error) {
		return s.tagResource(ctx, in)
	})
}

func (s *Service) tagResource(ctx context.Context, in *model.TagResourceRequest) (*model.TagResourceResponse, error) {
	r, err := taggable(ctx, *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	err = s.store.UpdateTags(ctx, r, func(tags map[string]string) error {
		for k, v := range in.Tags {
			tags[k] = v
		}
		if len(tags) > MaxTagsPerResource {
			return &domain.QuotaExceededError{
				Message:            "A resource can have at most 50 tags.",
				QuotaCode:          QuotaCodeTags,
				ResourceIdentifier: r.ARN,
				ResourceType:       r.Type,
			}
		}
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return nil, tagTargetNotFound(r)
	}
	if err != nil {
		return nil, err
	}
	return &model.TagResourceResponse{}, nil
}

// UntagResource removes tag keys from a resource; absent keys are ignored.
// Errors: NotFoundError.
func (s *Service) UntagResource(ctx context.Context, in *model.UntagResourceRequest) (*model.UntagResourceResponse, error) {
	ctx, err := s.authorizeAccess(ctx, &access{op: "UntagResource", resource: *in.ResourceArn, tagKeys: in.TagKeys, hasTagKeys: true})
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "UntagResource", nil, in, func(ctx context.Context) (*model.UntagResourceResponse, error) {
		return s.untagResource(ctx, in)
	})
}

func (s *Service) untagResource(ctx context.Context, in *model.UntagResourceRequest) (*model.UntagResourceResponse, error) {
	r, err := taggable(ctx, *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	err = s.store.UpdateTags(ctx, r, func(tags map[string]string) error {
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return nil, tagTargetNotFound(r)
	}
	if err != nil {
		return nil, err
	}
	return &model.UntagResourceResponse{}, nil
}

// ListTagsForResource returns a resource's tags.
// Errors: NotFoundError.
func (s *Service) ListTagsForResource(ctx context.Context, in *model.ListTagsForResourceRequest) (*model.ListTagsForResourceResponse, error) {
	ctx, err := s.authorize(ctx, "ListTagsForResource", *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	r, err := taggable(ctx, *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	tags, err := s.store.Tags(ctx, r)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, tagTargetNotFound(r)
	}
	if err != nil {
		return nil, err
	}
	return &model.ListTagsForResourceResponse{Tags: tags}, nil
}
