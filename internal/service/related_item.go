package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// generatedID returns a related item id: related-item/TYPE/32 upper-case hex digits.
func generatedID(itemType string) string {
	var b [16]byte
	rand.Read(b[:])
	return "related-item/" + itemType + "/" + strings.ToUpper(hex.EncodeToString(b[:]))
}

// itemIdentifierIn converts a related item's type and value; path names the
// identifier in messages. A metricDefinition describes a CloudWatch metric,
// so only an item of type METRIC takes one; every type takes an arn (an AWS
// resource), a url (anything else) or a pagerDutyIncidentDetail.
func itemIdentifierIn(id *model.ItemIdentifier, path string) (string, domain.ItemValue, error) {
	t, v := *id.Type, id.Value
	if v.MetricDefinition != nil && t != "METRIC" {
		return "", domain.ItemValue{}, domain.Invalid("%s.value: a metricDefinition is the value of a related item of type METRIC, not %s; give an arn or a url.", path, t)
	}
	out := domain.ItemValue{ARN: v.Arn, URL: v.Url, MetricDefinition: v.MetricDefinition}
	if p := v.PagerDutyIncidentDetail; p != nil {
		out.PagerDutyIncidentDetail = &domain.PagerDutyIncidentDetail{ID: *p.Id, AutoResolve: p.AutoResolve, SecretID: p.SecretId}
	}
	return t, out, nil
}

// relatedItemIn converts a related item of a request, giving it a new
// generatedId; path names the item in messages.
func relatedItemIn(it model.RelatedItem, path string) (domain.RelatedItem, error) {
	t, v, err := itemIdentifierIn(it.Identifier, path+".identifier")
	if err != nil {
		return domain.RelatedItem{}, err
	}
	return domain.RelatedItem{GeneratedID: generatedID(t), Type: t, Title: it.Title, Value: v}, nil
}

func relatedItemOut(it domain.RelatedItem) model.RelatedItem {
	v := &model.ItemValue{Arn: it.Value.ARN, Url: it.Value.URL, MetricDefinition: it.Value.MetricDefinition}
	if p := it.Value.PagerDutyIncidentDetail; p != nil {
		v.PagerDutyIncidentDetail = &model.PagerDutyIncidentDetail{Id: ptr(p.ID), AutoResolve: p.AutoResolve, SecretId: p.SecretID}
	}
	return model.RelatedItem{
		GeneratedId: ptr(it.GeneratedID),
		Identifier:  &model.ItemIdentifier{Type: ptr(it.Type), Value: v},
		Title:       it.Title,
	}
}

// UpdateRelatedItems adds one related item to an incident or removes one,
// and writes an "SSM Incident Record Update" timeline event for it.
// Errors: NotFoundError for a missing incident; ConflictError when the item
// to add is there already; NotFoundError (INCIDENT_RECORD, naming the item)
// when the item to remove is not; ValidationError for a value that does not
// suit the item's type; ConflictError for a clientToken reused with other
// parameters.
func (s *Service) UpdateRelatedItems(ctx context.Context, in *model.UpdateRelatedItemsInput) (*model.UpdateRelatedItemsOutput, error) {
	ctx, err := s.authorize(ctx, "UpdateRelatedItems", *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "UpdateRelatedItems", in.ClientToken, in, func(ctx context.Context) (*model.UpdateRelatedItemsOutput, error) {
		return s.updateRelatedItems(ctx, in)
	})
}

func (s *Service) updateRelatedItems(ctx context.Context, in *model.UpdateRelatedItemsInput) (*model.UpdateRelatedItemsOutput, error) {
	r, err := s.incidentRecord(ctx, *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	items, err := s.store.ListRelatedItems(ctx, r.Account, r.ARN, nil, 0)
	if err != nil {
		return nil, err
	}
	var (
		item   domain.RelatedItem
		update any
	)
	switch u := in.RelatedItemsUpdate; {
	case u.ItemToAdd != nil:
		if item, err = relatedItemIn(*u.ItemToAdd, "relatedItemsUpdate.itemToAdd"); err != nil {
			return nil, err
		}
		for _, it := range items {
			if it.Identifies(item.Type, item.Value) {
				return nil, domain.Conflict(domain.ResourceIncidentRecord, r.ARN,
					"The incident already has this %s related item (%s); remove it before adding it again.", it.Type, it.GeneratedID)
			}
		}
		if err := s.store.AddRelatedItem(ctx, r.Account, r.ARN, item); err != nil {
			return nil, err
		}
		out := relatedItemOut(item)
		update = map[string]model.RelatedItem{"itemToAdd": out}
	default:
		t, v, err := itemIdentifierIn(u.ItemToRemove, "relatedItemsUpdate.itemToRemove")
		if err != nil {
			return nil, err
		}
		found := false
		for _, it := range items {
			if it.Identifies(t, v) {
				item, found = it, true
				break
			}
		}
		noItem := func(string) error {
			return domain.NotFound(domain.ResourceIncidentRecord, r.ARN, "The incident %s has no %s related item with that value.", r.ARN, t)
		}
		if !found {
			return nil, noItem(r.ARN)
		}
		// The item may have gone since it was read (see notFoundAs).
		if err := s.store.RemoveRelatedItem(ctx, r.Account, r.ARN, item.GeneratedID); err != nil {
			return nil, notFoundAs(err, noItem, r.ARN)
		}
		update = map[string]*model.ItemIdentifier{"itemToRemove": u.ItemToRemove}
	}
	b, err := json.Marshal(update)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	data := updateEventData{
		ModifiedBy:         caller(ctx).Principal,
		ModifiedAttributes: []attributeChange{{AttributeName: "relatedItems", NewValue: string(b)}},
		IncidentTitle:      r.Title,
	}
	e := automaticEvent(r, domain.EventRecordUpdate, now, data, now)
	e.References = append(e.References, domain.EventReference{RelatedItemID: ptr(item.GeneratedID)})
	if err := s.store.AddTimelineEvent(ctx, e); err != nil {
		return nil, notFoundAs(err, incidentNotFound, r.ARN)
	}
	if err := s.notify(ctx, r, domain.EventRecordUpdate, data.ModifiedAttributes, now); err != nil {
		return nil, notFoundAs(err, incidentNotFound, r.ARN)
	}
	return &model.UpdateRelatedItemsOutput{}, nil
}

// ListRelatedItems lists the related items of an incident in the order they
// were added.
// Errors: NotFoundError for a missing incident; ValidationError for a bad
// nextToken.
func (s *Service) ListRelatedItems(ctx context.Context, in *model.ListRelatedItemsInput) (*model.ListRelatedItemsOutput, error) {
	ctx, err := s.authorize(ctx, "ListRelatedItems", *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	r, err := s.incidentRecord(ctx, *in.IncidentRecordArn)
	if err != nil {
		return nil, err
	}
	// A token resumes the listing of one incident.
	l := listing{op: "ListRelatedItems", account: r.Account, scope: r.ARN, params: "incidentRecordArn"}
	after, err := resumeAt[domain.RelatedItemCursor](s.tokens, l, in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := pageSize(in.MaxResults, defaultPageSize)
	items, err := s.store.ListRelatedItems(ctx, r.Account, r.ARN, after, limit+1)
	if err != nil {
		return nil, err
	}
	out := &model.ListRelatedItemsOutput{RelatedItems: make([]model.RelatedItem, 0, min(len(items), limit))}
	items, out.NextToken = page(s.tokens, l, items, limit, func(it domain.RelatedItem) any {
		return domain.RelatedItemCursor{Seq: it.Seq, GeneratedID: it.GeneratedID}
	})
	for _, it := range items {
		out.RelatedItems = append(out.RelatedItems, relatedItemOut(it))
	}
	return out, nil
}
