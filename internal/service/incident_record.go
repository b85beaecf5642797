package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

func incidentNotFound(arn string) error {
	return domain.NotFound(domain.ResourceIncidentRecord, arn, "Incident record %s not found", arn)
}

// notFoundAs turns the store's domain.ErrNotFound into the typed answer
// notFound(id) (a *domain.NotFoundError naming the resource) and returns any
// other error, or nil, as it is. Reads and writes both go through it: a
// resource can vanish between the read and the write of an update once the
// two are not serialised by one writer (another storage engine or node), and
// the write's not-found must answer 404 as the read's does, not 500.
func notFoundAs(err error, notFound func(id string) error, id string) error {
	if err != nil && errors.Is(err, domain.ErrNotFound) {
		return notFound(id)
	}
	return err
}

// incidentARN returns the parsed ARN when it names an incident record of
// the caller's account; anything else is answered as not found.
func incidentARN(ctx context.Context, arn string) (ARN, error) {
	a, ok := ParseARN(arn)
	if !ok || a.Type != "incident-record" || a.Account != owner(ctx) || !strings.Contains(a.ID, "/") {
		return ARN{}, incidentNotFound(arn)
	}
	return a, nil
}

// incidentRecord loads the caller's incident record that arn names.
func (s *Service) incidentRecord(ctx context.Context, arn string) (*domain.IncidentRecord, error) {
	if _, err := incidentARN(ctx, arn); err != nil {
		return nil, err
	}
	r, err := s.store.GetIncidentRecord(ctx, owner(ctx), arn)
	if err != nil {
		return nil, notFoundAs(err, incidentNotFound, arn)
	}
	return r, nil
}

// StartIncident starts an incident from a response plan. While an OPEN
// incident with the same dedupeString exists in the account, its ARN is
// returned and nothing is created; without a dedupeString in the plan, a
// CloudWatch alarm or EventBridge event trigger gives one
// (triggerDedupeString).
// Errors: NotFoundError for a missing plan; ValidationError without an
// ACTIVE replication set; ConflictError for a clientToken reused with other
// parameters.
func (s *Service) StartIncident(ctx context.Context, in *model.StartIncidentInput) (*model.StartIncidentOutput, error) {
	ctx, err := s.authorize(ctx, "StartIncident", *in.ResponsePlanArn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "StartIncident", in.ClientToken, in, func(ctx context.Context) (*model.StartIncidentOutput, error) {
		return s.startIncident(ctx, in)
	})
}

func (s *Service) startIncident(ctx context.Context, in *model.StartIncidentInput) (*model.StartIncidentOutput, error) {
	c := caller(ctx)
	// A plan shared from another account starts the incident there.
	account := owner(ctx)
	if err := s.requireActiveReplicationSet(ctx, account); err != nil {
		return nil, err
	}
	items := make([]domain.RelatedItem, 0, len(in.RelatedItems))
	for i, it := range in.RelatedItems {
		item, err := relatedItemIn(it, fmt.Sprintf("relatedItems.%d.member", i+1))
		if err != nil {
			return nil, err
		}
		// An item listed twice is attached once.
		if !slices.ContainsFunc(items, func(o domain.RelatedItem) bool { return o.Identifies(item.Type, item.Value) }) {
			items = append(items, item)
		}
	}
	plan, err := s.responsePlan(ctx, *in.ResponsePlanArn)
	if err != nil {
		return nil, err
	}
	t := plan.Template
	dedupe := deref(t.DedupeString)
	if dedupe == "" {
		dedupe = triggerDedupeString(in.TriggerDetails)
	}
	if dedupe != "" {
		open, err := s.store.FindOpenIncident(ctx, account, dedupe)
		// Across accounts only the incidents of the shared plan are
		// shown: the ARN of another plan's incident would say what the
		// plan's owner did not share.
		if err == nil && account != c.Account && open.PlanName != plan.Name {
			err = domain.ErrNotFound
		}
		if err == nil {
			return &model.StartIncidentOutput{IncidentRecordArn: &open.ARN}, nil
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return nil, err
		}
	}
	now := s.clock()
	// A UUID of version 7, ordered by time: a new record's keys land at the
	// end of the store's indexes, not on a page at random.
	id := uuid.Must(uuid.NewV7()).String()
	r := &domain.IncidentRecord{
		ARN:                 makeARN(account, "incident-record", plan.Name+"/"+id),
		Account:             account,
		PlanName:            plan.Name,
		Title:               t.Title,
		Summary:             t.Summary,
		Status:              domain.IncidentOpen,
		Impact:              t.Impact,
		CreationTime:        now,
		LastModifiedBy:      c.Principal,
		LastModifiedTime:    now,
		DedupeString:        dedupe,
		ChatChannel:         plan.ChatChannel,
		NotificationTargets: t.NotificationTargets,
		Source: domain.IncidentRecordSource{
			CreatedBy: c.Principal,
			InvokedBy: ptr(c.Principal),
			Source:    domain.SourceCustom,
		},
	}
	if in.Title != nil {
		r.Title = *in.Title
	}
	if in.Impact != nil {
		r.Impact = *in.Impact
	}
	if r.DedupeString == "" {
		// Unique to the incident, as a random one would be.
		r.DedupeString = id
	}
	if td := in.TriggerDetails; td != nil {
		r.Source.Source = *td.Source
		r.Source.ResourceARN = td.TriggerArn
	}
	if err := s.store.CreateIncidentRecord(ctx, r, t.IncidentTags, items); err != nil {
		return nil, err
	}
	if err := s.recordStart(ctx, r, in.TriggerDetails, now); err != nil {
		return nil, err
	}
	return &model.StartIncidentOutput{IncidentRecordArn: &r.ARN}, nil
}

// triggerNamespace is the namespace of the dedupeStrings derived from
// triggers (name-based UUIDs, RFC 9562 version 5).
var triggerNamespace = uuid.MustParse("9671f22e-92cf-4d76-a83e-ba6f60687447")

// triggerDedupeString is the dedupeString of an incident whose trigger
// Incident Manager deduplicates by itself, "the same Amazon CloudWatch alarm
// or Amazon EventBridge event", or "" for any other start: a UUID derived
// from the alarm's ARN (arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME), or
// from the rule's ARN (arn:aws:events:REGION:ACCOUNT:rule/NAME) and the id
// of the event in rawData, which EventBridge keeps when it delivers an
// event again.
func triggerDedupeString(td *model.TriggerDetails) string {
	if td == nil || td.TriggerArn == nil {
		return ""
	}
	arn := *td.TriggerArn
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	switch service, resource := parts[2], parts[5]; {
	case service == "cloudwatch" && strings.HasPrefix(resource, "alarm:"):
		return uuid.NewSHA1(triggerNamespace, []byte("alarm "+arn)).String()
	case service == "events" && strings.HasPrefix(resource, "rule/"):
		var event struct {
			ID string `json:"id"`
		}
		if td.RawData == nil || json.Unmarshal([]byte(*td.RawData), &event) != nil || event.ID == "" {
			return ""
		}
		return uuid.NewSHA1(triggerNamespace, []byte("event "+arn+" "+event.ID)).String()
	}
	return ""
}

// GetIncidentRecord returns every member of an incident record.
// Errors: NotFoundError.
func (s *Service) GetIncidentRecord(ctx context.Context, in *model.GetIncidentRecordInput) (*model.GetIncidentRecordOutput, error) {
	ctx, err := s.authorize(ctx, "GetIncidentRecord", *in.Arn)
	if err != nil {
		return nil, err
	}
	r, err := s.incidentRecord(ctx, *in.Arn)
	if err != nil {
		return nil, err
	}
	out := &model.IncidentRecord{
		Arn:                  &r.ARN,
		Title:                &r.Title,
		Summary:              r.Summary,
		Status:               &r.Status,
		Impact:               &r.Impact,
		CreationTime:         model.NewTimestamp(r.CreationTime),
		LastModifiedBy:       &r.LastModifiedBy,
		LastModifiedTime:     model.NewTimestamp(r.LastModifiedTime),
		DedupeString:         &r.DedupeString,
		IncidentRecordSource: sourceOut(r.Source),
		ChatChannel:          chatChannelOut(r.ChatChannel),
		// The lists are there also when empty, as AWS shows them.
		NotificationTargets:  append([]model.NotificationTargetItem{}, notificationItems(r.NotificationTargets)...),
		AutomationExecutions: make([]model.AutomationExecution, 0, len(r.AutomationExecutions)),
	}
	if r.ResolvedTime != nil {
		out.ResolvedTime = model.NewTimestamp(*r.ResolvedTime)
	}
	for _, e := range r.AutomationExecutions {
		out.AutomationExecutions = append(out.AutomationExecutions, model.AutomationExecution{SsmExecutionArn: ptr(e)})
	}
	return &model.GetIncidentRecordOutput{IncidentRecord: out}, nil
}

func sourceOut(src domain.IncidentRecordSource) *model.IncidentRecordSource {
	return &model.IncidentRecordSource{CreatedBy: ptr(src.CreatedBy), InvokedBy: src.InvokedBy, ResourceArn: src.ResourceARN, Source: ptr(src.Source)}
}

// attributeChange is one member an update changed, as timeline events and
// notifications report it.
type attributeChange struct {
	AttributeName string `json:"attributeName"`
	NewValue      string `json:"newValue"`
	OldValue      string `json:"oldValue,omitempty"`
}

// chatChannelValue is a chat channel as an attribute value: its JSON, or
// empty when there is none.
func chatChannelValue(c *domain.ChatChannel) string {
	if c == nil {
		return ""
	}
	b, _ := json.Marshal(chatChannelOut(c))
	return string(b)
}

// targetsValue is a list of notification targets as an attribute value.
func targetsValue(arns []string) string {
	b, _ := json.Marshal(append([]model.NotificationTargetItem{}, notificationItems(arns)...))
	return string(b)
}

// UpdateIncidentRecord changes the members present in the request and no
// others. Resolving sets resolvedTime; reopening clears it. Each update that
// changes something adds an "SSM Incident Record Update" timeline event and
// queues a notification, in the same transaction.
// Errors: NotFoundError; ConflictError for a clientToken reused with other
// parameters.
func (s *Service) UpdateIncidentRecord(ctx context.Context, in *model.UpdateIncidentRecordInput) (*model.UpdateIncidentRecordOutput, error) {
	ctx, err := s.authorize(ctx, "UpdateIncidentRecord", *in.Arn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "UpdateIncidentRecord", in.ClientToken, in, func(ctx context.Context) (*model.UpdateIncidentRecordOutput, error) {
		return s.updateIncidentRecord(ctx, in)
	})
}

func (s *Service) updateIncidentRecord(ctx context.Context, in *model.UpdateIncidentRecordInput) (*model.UpdateIncidentRecordOutput, error) {
	c := caller(ctx)
	if _, err := incidentARN(ctx, *in.Arn); err != nil {
		return nil, err
	}
	now := s.clock()
	var (
		changes []attributeChange
		updated *domain.IncidentRecord
	)
	// The change is made on the record as it is stored when the update
	// runs: concurrent updates of other members are kept.
	err := s.store.UpdateIncidentRecord(ctx, owner(ctx), *in.Arn, func(r *domain.IncidentRecord) error {
		changes = applyUpdate(r, in, c.Principal, now)
		updated = r
		return nil
	})
	if err != nil {
		return nil, notFoundAs(err, incidentNotFound, *in.Arn)
	}
	if len(changes) > 0 {
		if err := s.recordUpdate(ctx, updated, changes, now); err != nil {
			return nil, notFoundAs(err, incidentNotFound, updated.ARN)
		}
	}
	return &model.UpdateIncidentRecordOutput{}, nil
}

// applyUpdate changes the members of r that the request gives, as principal
// at now, and returns the changes it made.
func applyUpdate(r *domain.IncidentRecord, in *model.UpdateIncidentRecordInput, principal string, now time.Time) []attributeChange {
	var changes []attributeChange
	change := func(name, old, new string) {
		if old != new {
			changes = append(changes, attributeChange{AttributeName: name, NewValue: new, OldValue: old})
		}
	}
	if in.Title != nil {
		change("title", r.Title, *in.Title)
		r.Title = *in.Title
	}
	if in.Summary != nil {
		change("summary", deref(r.Summary), *in.Summary)
		r.Summary = in.Summary
	}
	if in.Impact != nil {
		change("impact", strconv.Itoa(int(r.Impact)), strconv.Itoa(int(*in.Impact)))
		r.Impact = *in.Impact
	}
	if in.Status != nil {
		change("status", r.Status, *in.Status)
		switch {
		case *in.Status == domain.IncidentResolved && r.Status != domain.IncidentResolved:
			r.ResolvedTime = &now
		case *in.Status == domain.IncidentOpen:
			r.ResolvedTime = nil
		}
		r.Status = *in.Status
	}
	if in.ChatChannel != nil {
		cc := chatChannelIn(in.ChatChannel)
		change("chatChannel", chatChannelValue(r.ChatChannel), chatChannelValue(cc))
		r.ChatChannel = cc
	}
	if in.NotificationTargets != nil {
		targets := snsTargets(in.NotificationTargets)
		if len(targets) == 0 {
			targets = nil
		}
		change("notificationTargets", targetsValue(r.NotificationTargets), targetsValue(targets))
		r.NotificationTargets = targets
	}
	r.LastModifiedBy = principal
	r.LastModifiedTime = now
	return changes
}

// incidentConditions checks the filters of ListIncidentRecords.
func incidentConditions(filters []model.Filter) ([]domain.IncidentCondition, error) {
	var conds []domain.IncidentCondition
	for _, f := range filters {
		key, cond := *f.Key, f.Condition
		c := domain.IncidentCondition{Key: key}
		switch key {
		case "creationTime":
			if cond.Equals != nil {
				return nil, domain.Invalid("The filter creationTime takes a before or after condition, not equals.")
			}
			if cond.Before != nil {
				c.Before = ptr(cond.Before.Time())
			}
			if cond.After != nil {
				c.After = ptr(cond.After.Time())
			}
		case "impact":
			if cond.Equals == nil || cond.Equals.IntegerValues == nil {
				return nil, domain.Invalid("The filter impact takes an equals condition with integerValues.")
			}
			if len(cond.Equals.IntegerValues) == 0 {
				return nil, domain.Invalid("The filter impact needs at least one value.")
			}
			for _, v := range cond.Equals.IntegerValues {
				if v < 1 || v > 5 {
					return nil, domain.Invalid("The filter impact takes values from 1 to 5, not %d.", v)
				}
			}
			c.Ints = cond.Equals.IntegerValues
		case "status", "createdBy":
			if cond.Equals == nil || cond.Equals.StringValues == nil {
				return nil, domain.Invalid("The filter %s takes an equals condition with stringValues.", key)
			}
			if len(cond.Equals.StringValues) == 0 {
				return nil, domain.Invalid("The filter %s needs at least one value.", key)
			}
			if key == "status" {
				for _, v := range cond.Equals.StringValues {
					if v != domain.IncidentOpen && v != domain.IncidentResolved {
						return nil, domain.Invalid("The filter status takes OPEN or RESOLVED, not %s.", v)
					}
				}
				if slices.Contains(cond.Equals.StringValues, domain.IncidentOpen) && slices.Contains(cond.Equals.StringValues, domain.IncidentResolved) {
					continue // every record matches
				}
			}
			c.Strings = cond.Equals.StringValues
		default:
			return nil, domain.Invalid("Unknown filter key %s: use creationTime, impact, status or createdBy.", key)
		}
		conds = append(conds, c)
	}
	return conds, nil
}

// ListIncidentRecords lists the account's incident records, newest first,
// filtered on creationTime, impact, status and createdBy.
// Errors: ValidationError for a bad filter or nextToken.
func (s *Service) ListIncidentRecords(ctx context.Context, in *model.ListIncidentRecordsInput) (*model.ListIncidentRecordsOutput, error) {
	ctx, err := s.authorize(ctx, "ListIncidentRecords", "*")
	if err != nil {
		return nil, err
	}
	c := caller(ctx)
	conds, err := incidentConditions(in.Filters)
	if err != nil {
		return nil, err
	}
	l := listing{op: "ListIncidentRecords", account: c.Account}
	after, err := resumeAt[domain.IncidentCursor](s.tokens, l, in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := pageSize(in.MaxResults, defaultPageSize)
	recs, err := s.store.ListIncidentRecords(ctx, c.Account, conds, after, limit+1)
	if err != nil {
		return nil, err
	}
	out := &model.ListIncidentRecordsOutput{IncidentRecordSummaries: make([]model.IncidentRecordSummary, 0, min(len(recs), limit))}
	recs, out.NextToken = page(s.tokens, l, recs, limit, func(r *domain.IncidentRecord) any {
		return domain.IncidentCursor{CreationTime: r.CreationTime, ARN: r.ARN}
	})
	for _, r := range recs {
		sum := model.IncidentRecordSummary{
			Arn:                  ptr(r.ARN),
			Title:                ptr(r.Title),
			Status:               ptr(r.Status),
			Impact:               ptr(r.Impact),
			CreationTime:         model.NewTimestamp(r.CreationTime),
			IncidentRecordSource: sourceOut(r.Source),
		}
		if r.ResolvedTime != nil {
			sum.ResolvedTime = model.NewTimestamp(*r.ResolvedTime)
		}
		out.IncidentRecordSummaries = append(out.IncidentRecordSummaries, sum)
	}
	return out, nil
}

// DeleteIncidentRecord deletes an incident record with its timeline,
// related items and tags. Deleting a record that does not exist succeeds.
func (s *Service) DeleteIncidentRecord(ctx context.Context, in *model.DeleteIncidentRecordInput) (*model.DeleteIncidentRecordOutput, error) {
	ctx, err := s.authorize(ctx, "DeleteIncidentRecord", *in.Arn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "DeleteIncidentRecord", nil, in, func(ctx context.Context) (*model.DeleteIncidentRecordOutput, error) {
		return s.deleteIncidentRecord(ctx, in)
	})
}

func (s *Service) deleteIncidentRecord(ctx context.Context, in *model.DeleteIncidentRecordInput) (*model.DeleteIncidentRecordOutput, error) {
	if _, err := incidentARN(ctx, *in.Arn); err == nil {
		if err := s.store.DeleteIncidentRecord(ctx, caller(ctx).Account, *in.Arn); err != nil {
			return nil, err
		}
	}
	return &model.DeleteIncidentRecordOutput{}, nil
}
