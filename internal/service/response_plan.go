package service

import (
	"context"
	"errors"
	"maps"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// defaultPageSize is the page size of list operations called without maxResults.
const defaultPageSize = 100

func responsePlanNotFound(arn string) error {
	return domain.NotFound(domain.ResourceResponsePlan, arn, "Response plan %s not found", arn)
}

// CreateResponsePlan creates a response plan named in.Name.
// Errors: ValidationError without an ACTIVE replication set; ConflictError
// when the account has a plan of that name.
func (s *Service) CreateResponsePlan(ctx context.Context, in *model.CreateResponsePlanInput) (*model.CreateResponsePlanOutput, error) {
	ctx, err := s.authorizeCreate(ctx, "CreateResponsePlan", makeARN(caller(ctx).Account, "response-plan", *in.Name), in.Tags)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "CreateResponsePlan", in.ClientToken, in, func(ctx context.Context) (*model.CreateResponsePlanOutput, error) {
		return s.createResponsePlan(ctx, in)
	})
}

func (s *Service) createResponsePlan(ctx context.Context, in *model.CreateResponsePlanInput) (*model.CreateResponsePlanOutput, error) {
	c := caller(ctx)
	if err := s.requireActiveReplicationSet(ctx, c.Account); err != nil {
		return nil, err
	}
	now := s.clock()
	t := in.IncidentTemplate
	p := &domain.ResponsePlan{
		ARN:         makeARN(c.Account, "response-plan", *in.Name),
		Account:     c.Account,
		Name:        *in.Name,
		DisplayName: in.DisplayName,
		Template: domain.IncidentTemplate{
			Title:               *t.Title,
			Impact:              *t.Impact,
			Summary:             t.Summary,
			DedupeString:        t.DedupeString,
			NotificationTargets: snsTargets(t.NotificationTargets),
			IncidentTags:        maps.Clone(t.IncidentTags),
		},
		ChatChannel:      chatChannelIn(in.ChatChannel),
		Engagements:      in.Engagements,
		Actions:          actionsIn(in.Actions),
		Integrations:     integrationsIn(in.Integrations),
		CreatedTime:      now,
		LastModifiedTime: now,
	}
	err := s.store.CreateResponsePlan(ctx, p, in.Tags)
	if err == nil {
		err = s.notifyPlanTopics(ctx, p, nil, s.clock())
	}
	if errors.Is(err, domain.ErrConflict) {
		return nil, domain.Conflict(domain.ResourceResponsePlan, p.ARN, "A response plan named %s already exists.", p.Name)
	}
	if err != nil {
		return nil, err
	}
	return &model.CreateResponsePlanOutput{Arn: &p.ARN}, nil
}

// responsePlan loads the caller's plan that arn names.
func (s *Service) responsePlan(ctx context.Context, arn string) (*domain.ResponsePlan, error) {
	a, err := responsePlanName(arn)
	if err != nil {
		return nil, err
	}
	account := owner(ctx)
	if a.Account != account {
		return nil, responsePlanNotFound(arn)
	}
	p, err := s.store.GetResponsePlan(ctx, account, a.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, responsePlanNotFound(arn)
	}
	return p, err
}

// GetResponsePlan returns the plan arn names.
// Errors: NotFoundError; ValidationError for an ARN that is not a plan's.
func (s *Service) GetResponsePlan(ctx context.Context, in *model.GetResponsePlanInput) (*model.GetResponsePlanOutput, error) {
	ctx, err := s.authorize(ctx, "GetResponsePlan", *in.Arn)
	if err != nil {
		return nil, err
	}
	p, err := s.responsePlan(ctx, *in.Arn)
	if err != nil {
		return nil, err
	}
	t := p.Template
	return &model.GetResponsePlanOutput{
		Arn:         &p.ARN,
		Name:        &p.Name,
		DisplayName: p.DisplayName,
		IncidentTemplate: &model.IncidentTemplate{
			Title:               &t.Title,
			Impact:              &t.Impact,
			Summary:             t.Summary,
			DedupeString:        t.DedupeString,
			NotificationTargets: notificationItems(t.NotificationTargets),
			IncidentTags:        t.IncidentTags,
		},
		ChatChannel:  chatChannelOut(p.ChatChannel),
		Engagements:  p.Engagements,
		Actions:      actionsOut(p.Actions),
		Integrations: integrationsOut(p.Integrations),
	}, nil
}

// ListResponsePlans lists the account's plans by name.
// Errors: ValidationError for a bad nextToken.
func (s *Service) ListResponsePlans(ctx context.Context, in *model.ListResponsePlansInput) (*model.ListResponsePlansOutput, error) {
	ctx, err := s.authorize(ctx, "ListResponsePlans", "*")
	if err != nil {
		return nil, err
	}
	c := caller(ctx)
	l := listing{op: "ListResponsePlans", account: c.Account}
	var after string
	if _, err := s.tokens.resume(l, in.NextToken, &after); err != nil {
		return nil, err
	}
	limit := pageSize(in.MaxResults, defaultPageSize)
	plans, err := s.store.ListResponsePlans(ctx, c.Account, after, limit+1)
	if err != nil {
		return nil, err
	}
	out := &model.ListResponsePlansOutput{ResponsePlanSummaries: []model.ResponsePlanSummary{}}
	plans, out.NextToken = page(s.tokens, l, plans, limit, func(p *domain.ResponsePlan) any { return p.Name })
	for _, p := range plans {
		out.ResponsePlanSummaries = append(out.ResponsePlanSummaries, model.ResponsePlanSummary{Arn: ptr(p.ARN), Name: ptr(p.Name), DisplayName: p.DisplayName})
	}
	return out, nil
}

// UpdateResponsePlan changes the members given and leaves the others.
// incidentTemplateTags replaces the template's tags (an empty map clears
// them); a chatChannel of {"empty":{}} removes the chat channel.
// Errors: NotFoundError; ValidationError for an ARN that is not a plan's.
func (s *Service) UpdateResponsePlan(ctx context.Context, in *model.UpdateResponsePlanInput) (*model.UpdateResponsePlanOutput, error) {
	ctx, err := s.authorize(ctx, "UpdateResponsePlan", *in.Arn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "UpdateResponsePlan", in.ClientToken, in, func(ctx context.Context) (*model.UpdateResponsePlanOutput, error) {
		return s.updateResponsePlan(ctx, in)
	})
}

func (s *Service) updateResponsePlan(ctx context.Context, in *model.UpdateResponsePlanInput) (*model.UpdateResponsePlanOutput, error) {
	a, err := responsePlanName(*in.Arn)
	if err != nil {
		return nil, err
	}
	c := caller(ctx)
	if a.Account != c.Account {
		return nil, responsePlanNotFound(*in.Arn)
	}
	now := s.clock()
	var before, after *domain.ResponsePlan
	err = s.store.UpdateResponsePlan(ctx, c.Account, a.ID, func(p *domain.ResponsePlan) error {
		old := *p
		before, after = &old, p
		if in.DisplayName != nil {
			p.DisplayName = in.DisplayName
		}
		t := &p.Template
		if in.IncidentTemplateTitle != nil {
			t.Title = *in.IncidentTemplateTitle
		}
		if in.IncidentTemplateImpact != nil {
			t.Impact = *in.IncidentTemplateImpact
		}
		if in.IncidentTemplateSummary != nil {
			t.Summary = in.IncidentTemplateSummary
		}
		if in.IncidentTemplateDedupeString != nil {
			t.DedupeString = in.IncidentTemplateDedupeString
		}
		if in.IncidentTemplateNotificationTargets != nil {
			t.NotificationTargets = snsTargets(in.IncidentTemplateNotificationTargets)
		}
		if in.IncidentTemplateTags != nil {
			t.IncidentTags = maps.Clone(in.IncidentTemplateTags)
			if len(t.IncidentTags) == 0 {
				t.IncidentTags = nil
			}
		}
		if in.ChatChannel != nil {
			p.ChatChannel = chatChannelIn(in.ChatChannel)
		}
		if in.Engagements != nil {
			p.Engagements = in.Engagements
		}
		if in.Actions != nil {
			p.Actions = actionsIn(in.Actions)
		}
		if in.Integrations != nil {
			p.Integrations = integrationsIn(in.Integrations)
		}
		p.LastModifiedTime = now
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return nil, responsePlanNotFound(*in.Arn)
	}
	if err == nil {
		err = s.notifyPlanTopics(ctx, after, before, now)
	}
	if err != nil {
		return nil, err
	}
	return &model.UpdateResponsePlanOutput{}, nil
}

// DeleteResponsePlan deletes the plan; deleting a plan that does not exist
// succeeds. Errors: ValidationError for an ARN that is not a plan's.
func (s *Service) DeleteResponsePlan(ctx context.Context, in *model.DeleteResponsePlanInput) (*model.DeleteResponsePlanOutput, error) {
	ctx, err := s.authorize(ctx, "DeleteResponsePlan", *in.Arn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "DeleteResponsePlan", nil, in, func(ctx context.Context) (*model.DeleteResponsePlanOutput, error) {
		return s.deleteResponsePlan(ctx, in)
	})
}

func (s *Service) deleteResponsePlan(ctx context.Context, in *model.DeleteResponsePlanInput) (*model.DeleteResponsePlanOutput, error) {
	a, err := responsePlanName(*in.Arn)
	if err != nil {
		return nil, err
	}
	c := caller(ctx)
	if a.Account == c.Account {
		if err := s.store.DeleteResponsePlan(ctx, c.Account, a.ID); err != nil {
			return nil, err
		}
	}
	return &model.DeleteResponsePlanOutput{}, nil
}
