package service_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/testserver"
)

// riList lists all related items of an incident, maxResults at a time.
func riList(t *testing.T, c *ssmincidents.Client, arn string, maxResults int32) []types.RelatedItem {
	t.Helper()
	return listAll(t, "ListRelatedItems", maxResults, func(token *string) ([]types.RelatedItem, *string, error) {
		page, err := c.ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: &arn, MaxResults: &maxResults, NextToken: token})
		if err != nil {
			return nil, nil, err
		}
		return page.RelatedItems, page.NextToken, nil
	})
}

func riAdd(item types.RelatedItem) *types.RelatedItemsUpdateMemberItemToAdd {
	return &types.RelatedItemsUpdateMemberItemToAdd{Value: item}
}

func riRemove(typ types.ItemType, v types.ItemValue) *types.RelatedItemsUpdateMemberItemToRemove {
	return &types.RelatedItemsUpdateMemberItemToRemove{Value: types.ItemIdentifier{Type: typ, Value: v}}
}

func riUpdate(c *ssmincidents.Client, arn string, u types.RelatedItemsUpdate) error {
	_, err := c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{IncidentRecordArn: &arn, RelatedItemsUpdate: u})
	return err
}

// riEvents returns the incident's "SSM Incident Record Update" events, oldest first.
func riEvents(t *testing.T, c *ssmincidents.Client, arn string) []*types.TimelineEvent {
	t.Helper()
	var out []*types.TimelineEvent
	for _, e := range tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending, Filters: []types.Filter{irFilter("eventType", irStrings(tlUpdate))}}, 100) {
		out = append(out, tlGet(t, c, arn, aws.ToString(e.EventId)))
	}
	return out
}

var riGeneratedID = regexp.MustCompile(`^related-item/[A-Z_]+/[0-9A-F]{32}$`)

func TestUpdateRelatedItemsAddAndRemove(t *testing.T) {
	srv := irServer(t, nil)
	c := srv.A()
	setUp(t, c)
	arn := irStartFrom(t, c, createPlan(t, c, "items"))
	instance := "arn:aws:ec2:us-east-1:" + testserver.AccountA + ":instance/i-0123456789abcdef0"
	items := []types.RelatedItem{
		{Title: aws.String("Runbook"), Identifier: &types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: "https://example.com/runbook"}}},
		{Identifier: &types.ItemIdentifier{Type: types.ItemTypeInvolvedResource, Value: &types.ItemValueMemberArn{Value: instance}}},
		{Title: aws.String("Errors"), Identifier: &types.ItemIdentifier{Type: types.ItemTypeMetric, Value: &types.ItemValueMemberMetricDefinition{Value: `{"namespace":"AWS/ApplicationELB","metricName":"HTTPCode_Target_5XX_Count"}`}}},
		{Title: aws.String("Page"), Identifier: &types.ItemIdentifier{Type: types.ItemTypeTask, Value: &types.ItemValueMemberPagerDutyIncidentDetail{Value: types.PagerDutyIncidentDetail{Id: aws.String("Q1P3AHC3KLGZ"), AutoResolve: aws.Bool(true), SecretId: aws.String("pagerduty-secret")}}}},
	}
	for _, it := range items {
		if err := riUpdate(c, arn, riAdd(it)); err != nil {
			t.Fatalf("add %s: %v", it.Identifier.Type, err)
		}
	}
	got := riList(t, c, arn, 100)
	if len(got) != len(items) {
		t.Fatalf("%d items listed, want %d", len(got), len(items))
	}
	for i, it := range got {
		if !riGeneratedID.MatchString(aws.ToString(it.GeneratedId)) || !regexp.MustCompile("/"+string(items[i].Identifier.Type)+"/").MatchString(*it.GeneratedId) {
			t.Fatalf("generatedId %q", aws.ToString(it.GeneratedId))
		}
		want := items[i]
		want.GeneratedId = it.GeneratedId
		if !reflect.DeepEqual(it, want) {
			t.Fatalf("item %d:\n got %+v\nwant %+v", i, it, want)
		}
	}

	// Each addition wrote an update event naming the item.
	events := riEvents(t, c, arn)
	if len(events) != len(items) {
		t.Fatalf("%d update events, want %d", len(events), len(items))
	}
	var data tlUpdateData
	if err := json.Unmarshal([]byte(aws.ToString(events[0].EventData)), &data); err != nil {
		t.Fatal(err)
	}
	if len(data.ModifiedAttributes) != 1 || aws.ToString(data.ModifiedAttributes[0].AttributeName) != "relatedItems" ||
		aws.ToString(data.ModifiedBy) != "arn:aws:iam::"+testserver.AccountA+":root" || aws.ToString(data.IncidentTitle) != "Title of items" {
		t.Fatalf("eventData %s", aws.ToString(events[0].EventData))
	}
	var added struct {
		ItemToAdd struct {
			GeneratedID string `json:"generatedId"`
			Title       string `json:"title"`
			Identifier  struct {
				Type  string            `json:"type"`
				Value map[string]string `json:"value"`
			} `json:"identifier"`
		} `json:"itemToAdd"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(data.ModifiedAttributes[0].NewValue)), &added); err != nil {
		t.Fatalf("newValue %q: %v", aws.ToString(data.ModifiedAttributes[0].NewValue), err)
	}
	if a := added.ItemToAdd; a.GeneratedID != *got[0].GeneratedId || a.Title != "Runbook" || a.Identifier.Type != "OTHER" || a.Identifier.Value["url"] != "https://example.com/runbook" {
		t.Fatalf("newValue %s", aws.ToString(data.ModifiedAttributes[0].NewValue))
	}
	wantRefs := []types.EventReference{&types.EventReferenceMemberResource{Value: arn}, &types.EventReferenceMemberRelatedItemId{Value: *got[0].GeneratedId}}
	if !reflect.DeepEqual(events[0].EventReferences, wantRefs) {
		t.Fatalf("references %+v", events[0].EventReferences)
	}

	// Removing by type and value; a PagerDuty incident is named by its id.
	if err := riUpdate(c, arn, riRemove(types.ItemTypeInvolvedResource, &types.ItemValueMemberArn{Value: instance})); err != nil {
		t.Fatal(err)
	}
	if err := riUpdate(c, arn, riRemove(types.ItemTypeTask, &types.ItemValueMemberPagerDutyIncidentDetail{Value: types.PagerDutyIncidentDetail{Id: aws.String("Q1P3AHC3KLGZ")}})); err != nil {
		t.Fatal(err)
	}
	left := riList(t, c, arn, 100)
	if len(left) != 2 || *left[0].GeneratedId != *got[0].GeneratedId || *left[1].GeneratedId != *got[2].GeneratedId {
		t.Fatalf("after removals: %+v", left)
	}
	events = riEvents(t, c, arn)
	if len(events) != len(items)+2 {
		t.Fatalf("%d update events after removals", len(events))
	}
	if err := json.Unmarshal([]byte(aws.ToString(events[len(items)].EventData)), &data); err != nil {
		t.Fatal(err)
	}
	if nv := aws.ToString(data.ModifiedAttributes[0].NewValue); !regexp.MustCompile(`^\{"itemToRemove":\{"type":"INVOLVED_RESOURCE","value":\{"arn":"` + regexp.QuoteMeta(instance) + `"\}\}\}$`).MatchString(nv) {
		t.Fatalf("removal newValue %s", nv)
	}
	wantRefs = []types.EventReference{&types.EventReferenceMemberResource{Value: arn}, &types.EventReferenceMemberRelatedItemId{Value: *got[1].GeneratedId}}
	if !reflect.DeepEqual(events[len(items)].EventReferences, wantRefs) {
		t.Fatalf("removal references %+v", events[len(items)].EventReferences)
	}

	// An item removed can be added again, with a new id, at the end.
	if err := riUpdate(c, arn, riAdd(items[1])); err != nil {
		t.Fatal(err)
	}
	again := riList(t, c, arn, 100)
	if len(again) != 3 || *again[2].GeneratedId == *got[1].GeneratedId || again[2].Identifier.Type != types.ItemTypeInvolvedResource {
		t.Fatalf("re-added: %+v", again)
	}
}

func TestUpdateRelatedItemsRefusals(t *testing.T) {
	srv := irServer(t, nil)
	c := srv.A()
	setUp(t, c)
	arn := irStartFrom(t, c, createPlan(t, c, "items"))
	runbook := types.RelatedItem{Title: aws.String("Runbook"), Identifier: &types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: "https://example.com/runbook"}}}
	if err := riUpdate(c, arn, riAdd(runbook)); err != nil {
		t.Fatal(err)
	}
	events := len(riEvents(t, c, arn))

	// The same item again, even under another title: ConflictException.
	dup := runbook
	dup.Title = aws.String("Another title")
	err := riUpdate(c, arn, riAdd(dup))
	conflict := wantAPIError[*types.ConflictException](t, err, "ConflictException")
	if aws.ToString(conflict.ResourceIdentifier) != arn || conflict.ResourceType != types.ResourceTypeIncidentRecord {
		t.Fatalf("conflict names %q %s", aws.ToString(conflict.ResourceIdentifier), conflict.ResourceType)
	}
	// Removing an item the incident does not have.
	err = riUpdate(c, arn, riRemove(types.ItemTypeOther, &types.ItemValueMemberUrl{Value: "https://example.com/other"}))
	irWantNotFound(t, err, arn, types.ResourceTypeIncidentRecord)
	err = riUpdate(c, arn, riRemove(types.ItemTypeAttachment, &types.ItemValueMemberUrl{Value: "https://example.com/runbook"}))
	irWantNotFound(t, err, arn, types.ResourceTypeIncidentRecord)
	// A metric definition is the value of a METRIC item only.
	for _, id := range []types.ItemIdentifier{
		{Type: types.ItemTypeInvolvedResource, Value: &types.ItemValueMemberMetricDefinition{Value: "{}"}},
		{Type: types.ItemTypeOther, Value: &types.ItemValueMemberMetricDefinition{Value: "{}"}},
	} {
		err = riUpdate(c, arn, riAdd(types.RelatedItem{Identifier: &id}))
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	}
	// A missing incident; another account's, which no resource policy
	// shares.
	missing := arn[:len(arn)-4] + "0000"
	err = riUpdate(c, missing, riAdd(runbook))
	irWantNotFound(t, err, missing, types.ResourceTypeIncidentRecord)
	err = riUpdate(srv.B(), arn, riAdd(runbook))
	wantCrossAccountDenied(t, err, testserver.AccountB, "UpdateRelatedItems", arn)

	if n := len(riList(t, c, arn, 100)); n != 1 {
		t.Fatalf("%d items after refused requests, want 1", n)
	}
	if n := len(riEvents(t, c, arn)); n != events {
		t.Fatalf("refused requests wrote events: %d, want %d", n, events)
	}
}

func TestUpdateRelatedItemsIdempotency(t *testing.T) {
	srv := irServer(t, nil)
	c := srv.A()
	setUp(t, c)
	arn := irStartFrom(t, c, createPlan(t, c, "items"))
	in := ssmincidents.UpdateRelatedItemsInput{
		ClientToken:       aws.String("add-once"),
		IncidentRecordArn: &arn,
		RelatedItemsUpdate: riAdd(types.RelatedItem{Identifier: &types.ItemIdentifier{
			Type: types.ItemTypeAnalysis, Value: &types.ItemValueMemberUrl{Value: "https://example.com/analysis"},
		}}),
	}
	for range 2 {
		if _, err := c.UpdateRelatedItems(ctx, &in); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(riList(t, c, arn, 10)); n != 1 {
		t.Fatalf("%d items after a replay, want 1", n)
	}
	if n := len(riEvents(t, c, arn)); n != 1 {
		t.Fatalf("%d events after a replay, want 1", n)
	}
	in.RelatedItemsUpdate = riRemove(types.ItemTypeAnalysis, &types.ItemValueMemberUrl{Value: "https://example.com/analysis"})
	_, err := c.UpdateRelatedItems(ctx, &in)
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
}

func TestListRelatedItemsPages(t *testing.T) {
	srv := irServer(t, nil)
	c := srv.A()
	setUp(t, c)
	plan := createPlan(t, c, "items")
	// Items given to StartIncident come first, in their order; an item
	// listed twice is attached once.
	first := types.RelatedItem{Identifier: &types.ItemIdentifier{Type: types.ItemTypeParent, Value: &types.ItemValueMemberArn{Value: "arn:aws:ssm-incidents::" + testserver.AccountA + ":incident-record/other/1"}}}
	arn := irStart(t, c, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, RelatedItems: []types.RelatedItem{first, first}})
	var want []string
	want = append(want, "PARENT")
	for i := range 7 {
		u := "https://example.com/" + string(rune('a'+i))
		if err := riUpdate(c, arn, riAdd(types.RelatedItem{Identifier: &types.ItemIdentifier{Type: types.ItemTypeAttachment, Value: &types.ItemValueMemberUrl{Value: u}}})); err != nil {
			t.Fatal(err)
		}
		want = append(want, u)
	}
	for _, size := range []int32{1, 2, 3, 100} {
		var got []string
		for _, it := range riList(t, c, arn, size) {
			if u, ok := it.Identifier.Value.(*types.ItemValueMemberUrl); ok {
				got = append(got, u.Value)
			} else {
				got = append(got, string(it.Identifier.Type))
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("maxResults %d: %v, want %v", size, got, want)
		}
	}

	page, err := c.ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: &arn, MaxResults: aws.Int32(2)})
	if err != nil || page.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	forged := *page.NextToken + "x"
	_, err = c.ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: &arn, NextToken: &forged})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	other := irStartFrom(t, c, plan)
	_, err = c.ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: &other, NextToken: page.NextToken})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	_, err = srv.B().ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: &arn})
	wantCrossAccountDenied(t, err, testserver.AccountB, "ListRelatedItems", arn)

	empty, err := c.ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: &other})
	if err != nil || empty.RelatedItems == nil || len(empty.RelatedItems) != 0 || empty.NextToken != nil {
		t.Fatalf("an incident without items: %+v, %v", empty, err)
	}
}

func TestStartIncidentRelatedItemValues(t *testing.T) {
	srv := irServer(t, nil)
	c := srv.A()
	setUp(t, c)
	// Any type takes an arn or a url: a status page as an involved
	// resource, a dashboard link as a metric.
	plan := createPlan(t, c, "items")
	arn := irStart(t, c, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, RelatedItems: []types.RelatedItem{
		{Identifier: &types.ItemIdentifier{Type: types.ItemTypeInvolvedResource, Value: &types.ItemValueMemberUrl{Value: "https://status.example.com"}}},
		{Identifier: &types.ItemIdentifier{Type: types.ItemTypeMetric, Value: &types.ItemValueMemberUrl{Value: "https://grafana.example.com/d/errors"}}},
	}})
	if n := len(riList(t, c, arn, 10)); n != 2 {
		t.Fatalf("%d items attached, want 2", n)
	}
	// A bad item is refused also when the start would return an OPEN
	// incident with the same dedupeString.
	deduped := irPlan(t, c, "deduped", "same-outage")
	first := irStartFrom(t, c, deduped)
	_, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &deduped, RelatedItems: []types.RelatedItem{
		{Identifier: &types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberMetricDefinition{Value: "{}"}}},
	}})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	if again := irStartFrom(t, c, deduped); again != first {
		t.Fatalf("dedupe returned %s, want %s", again, first)
	}
}
