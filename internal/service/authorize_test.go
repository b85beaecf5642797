package service_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/aws/smithy-go"
	"github.com/incidentd/incidentd/internal/model"
	"github.com/incidentd/incidentd/internal/testserver"
)

// world is what the calls of everyOperation act on: resources of account A.
type world struct {
	rs, plan, incident, event string
}

// call is one operation called with valid arguments on w, and the resource
// it is authorized on.
type call struct {
	op       string
	resource func(w world) string
	run      func(c *ssmincidents.Client, w world) error
}

func onRecord(w world) string   { return w.incident }
func onPlan(w world) string     { return w.plan }
func onSet(w world) string      { return w.rs }
func onNothing(world) string    { return "*" }
func tagsOf() map[string]string { return map[string]string{"team": "ops"} }

// everyOperation calls each operation of the model once, the deletions
// last, so that a caller allowed everything leaves each call something to
// act on.
var everyOperation = []call{
	{"GetReplicationSet", onSet, func(c *ssmincidents.Client, w world) error {
		_, err := c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &w.rs})
		return err
	}},
	{"ListReplicationSets", onNothing, func(c *ssmincidents.Client, w world) error {
		_, err := c.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
		return err
	}},
	{"CreateReplicationSet", onNothing, func(c *ssmincidents.Client, w world) error {
		_, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}})
		return err
	}},
	{"UpdateReplicationSet", onSet, func(c *ssmincidents.Client, w world) error {
		_, err := c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &w.rs,
			Actions: []types.UpdateReplicationSetAction{&types.UpdateReplicationSetActionMemberAddRegionAction{Value: types.AddRegionAction{RegionName: aws.String("eu-west-1")}}}})
		return err
	}},
	{"UpdateDeletionProtection", onSet, func(c *ssmincidents.Client, w world) error {
		_, err := c.UpdateDeletionProtection(ctx, &ssmincidents.UpdateDeletionProtectionInput{Arn: &w.rs, DeletionProtected: aws.Bool(false)})
		return err
	}},
	{"CreateResponsePlan", onNothing, func(c *ssmincidents.Client, w world) error {
		_, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String("another"),
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String("t"), Impact: aws.Int32(3)}})
		return err
	}},
	{"GetResponsePlan", onPlan, func(c *ssmincidents.Client, w world) error {
		_, err := c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &w.plan})
		return err
	}},
	{"ListResponsePlans", onNothing, func(c *ssmincidents.Client, w world) error {
		_, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
		return err
	}},
	{"UpdateResponsePlan", onPlan, func(c *ssmincidents.Client, w world) error {
		_, err := c.UpdateResponsePlan(ctx, &ssmincidents.UpdateResponsePlanInput{Arn: &w.plan, IncidentTemplateTitle: aws.String("renamed")})
		return err
	}},
	{"PutResourcePolicy", onPlan, func(c *ssmincidents.Client, w world) error {
		_, err := c.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: &w.plan, Policy: aws.String(sharePolicy(w.plan))})
		return err
	}},
	{"GetResourcePolicies", onPlan, func(c *ssmincidents.Client, w world) error {
		_, err := c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &w.plan})
		return err
	}},
	{"DeleteResourcePolicy", onPlan, func(c *ssmincidents.Client, w world) error {
		_, err := c.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &w.plan, PolicyId: aws.String(strings.Repeat("0", 32))})
		return err
	}},
	{"StartIncident", onPlan, func(c *ssmincidents.Client, w world) error {
		_, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &w.plan})
		return err
	}},
	{"GetIncidentRecord", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &w.incident})
		return err
	}},
	{"ListIncidentRecords", onNothing, func(c *ssmincidents.Client, w world) error {
		_, err := c.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{})
		return err
	}},
	{"UpdateIncidentRecord", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &w.incident, Impact: aws.Int32(2)})
		return err
	}},
	{"CreateTimelineEvent", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{IncidentRecordArn: &w.incident,
			EventData: aws.String(`"note"`), EventTime: aws.Time(time.Now()), EventType: aws.String("Custom Event")})
		return err
	}},
	{"GetTimelineEvent", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: &w.incident, EventId: &w.event})
		return err
	}},
	{"ListTimelineEvents", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &w.incident})
		return err
	}},
	{"UpdateTimelineEvent", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.UpdateTimelineEvent(ctx, &ssmincidents.UpdateTimelineEventInput{IncidentRecordArn: &w.incident, EventId: &w.event, EventData: aws.String(`"edited"`)})
		return err
	}},
	{"UpdateRelatedItems", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{IncidentRecordArn: &w.incident,
			RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToAdd{Value: types.RelatedItem{
				Identifier: &types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: fmt.Sprintf("https://example.com/%d", time.Now().UnixNano())}}}}})
		return err
	}},
	{"ListRelatedItems", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: &w.incident})
		return err
	}},
	{"ListIncidentFindings", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &w.incident})
		return err
	}},
	{"BatchGetIncidentFindings", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.BatchGetIncidentFindings(ctx, &ssmincidents.BatchGetIncidentFindingsInput{IncidentRecordArn: &w.incident, FindingIds: []string{"none"}})
		return err
	}},
	{"TagResource", onPlan, func(c *ssmincidents.Client, w world) error {
		_, err := c.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &w.plan, Tags: tagsOf()})
		return err
	}},
	{"ListTagsForResource", onPlan, func(c *ssmincidents.Client, w world) error {
		_, err := c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &w.plan})
		return err
	}},
	{"UntagResource", onPlan, func(c *ssmincidents.Client, w world) error {
		_, err := c.UntagResource(ctx, &ssmincidents.UntagResourceInput{ResourceArn: &w.plan, TagKeys: []string{"team"}})
		return err
	}},
	{"DeleteTimelineEvent", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.DeleteTimelineEvent(ctx, &ssmincidents.DeleteTimelineEventInput{IncidentRecordArn: &w.incident, EventId: &w.event})
		return err
	}},
	{"DeleteIncidentRecord", onRecord, func(c *ssmincidents.Client, w world) error {
		_, err := c.DeleteIncidentRecord(ctx, &ssmincidents.DeleteIncidentRecordInput{Arn: &w.incident})
		return err
	}},
	{"DeleteResponsePlan", onPlan, func(c *ssmincidents.Client, w world) error {
		_, err := c.DeleteResponsePlan(ctx, &ssmincidents.DeleteResponsePlanInput{Arn: &w.plan})
		return err
	}},
	{"DeleteReplicationSet", onSet, func(c *ssmincidents.Client, w world) error {
		_, err := c.DeleteReplicationSet(ctx, &ssmincidents.DeleteReplicationSetInput{Arn: &w.rs})
		return err
	}},
}

// newWorld creates, as A's root, a replication set, a plan, an incident
// and a custom timeline event of it.
func newWorld(t *testing.T, s *testserver.Server) world {
	t.Helper()
	a := s.A()
	w := world{rs: setUp(t, a), plan: createPlan(t, a, "shared")}
	started, err := a.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &w.plan})
	if err != nil {
		t.Fatal(err)
	}
	w.incident = aws.ToString(started.IncidentRecordArn)
	ev, err := a.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{IncidentRecordArn: &w.incident,
		EventData: aws.String(`"first"`), EventTime: aws.Time(time.Now()), EventType: aws.String("Custom Event")})
	if err != nil {
		t.Fatal(err)
	}
	w.event = aws.ToString(ev.EventId)
	return w
}

// accessDenied returns the message of an AccessDeniedException, failing
// the test for anything else.
func accessDenied(t *testing.T, op string, err error) string {
	t.Helper()
	var denied *types.AccessDeniedException
	if !errors.As(err, &denied) {
		t.Fatalf("%s: want AccessDeniedException, got %v", op, err)
	}
	return denied.ErrorMessage()
}

func isAccessDenied(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException"
}

func TestEveryOperationIsCovered(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range everyOperation {
		seen[c.op] = true
	}
	for _, op := range model.Operations {
		if !seen[op.Name] {
			t.Errorf("everyOperation does not call %s", op.Name)
		}
	}
	if len(seen) != len(model.Operations) {
		t.Errorf("everyOperation calls %d operations, the model has %d", len(seen), len(model.Operations))
	}
}

func TestUserWithoutPolicyIsRefusedEveryOperation(t *testing.T) {
	s := start(t)
	w := newWorld(t, s)
	alice := s.UserClient(testserver.AccountA, "alice")
	principal := "arn:aws:iam::" + testserver.AccountA + ":user/alice"
	for _, c := range everyOperation {
		msg := accessDenied(t, c.op, c.run(alice, w))
		want := "User: " + principal + " is not authorized to perform: ssm-incidents:" + c.op + " on resource: " + c.resource(w) +
			" because no identity-based policy allows the ssm-incidents:" + c.op + " action"
		if msg != want {
			t.Errorf("%s:\n got %s\nwant %s", c.op, msg, want)
		}
	}
	// Nothing was changed by the refused calls.
	got, err := s.A().GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &w.incident})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(got.IncidentRecord.Impact) != 3 {
		t.Errorf("a refused update changed the impact to %d", aws.ToInt32(got.IncidentRecord.Impact))
	}
	if !strings.Contains(s.Log.String(), `msg=authorization`) || !strings.Contains(s.Log.String(), `decision=deny reason=implicit-deny statement="implicit deny"`) {
		t.Errorf("the log has no audit line of a refusal:\n%s", s.Log.String())
	}
}

func TestUserAllowedEverythingIsRefusedNothing(t *testing.T) {
	s := start(t)
	w := newWorld(t, s)
	bob := s.UserClient(testserver.AccountA, "bob", `{"Version": "2012-10-17", "Statement": {"Sid": "All", "Effect": "Allow", "Action": "ssm-incidents:*", "Resource": "*"}}`)
	for _, c := range everyOperation {
		if err := c.run(bob, w); isAccessDenied(err) {
			t.Errorf("%s: %v", c.op, err)
		}
	}
}

func TestExplicitDenyWinsOverAllow(t *testing.T) {
	s := start(t)
	w := newWorld(t, s)
	carol := s.UserClient(testserver.AccountA, "carol",
		`{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ssm-incidents:*", "Resource": "*"}}`,
		`{"Version": "2012-10-17", "Statement": {"Sid": "NoDeletes", "Effect": "Deny", "Action": "ssm-incidents:Delete*", "Resource": "*"}}`)
	for _, c := range everyOperation {
		err := c.run(carol, w)
		if !strings.HasPrefix(c.op, "Delete") {
			if isAccessDenied(err) {
				t.Errorf("%s: %v", c.op, err)
			}
			continue
		}
		msg := accessDenied(t, c.op, err)
		want := "User: arn:aws:iam::" + testserver.AccountA + ":user/carol is not authorized to perform: ssm-incidents:" + c.op +
			" on resource: " + c.resource(w) + " with an explicit deny in an identity-based policy"
		if msg != want {
			t.Errorf("%s:\n got %s\nwant %s", c.op, msg, want)
		}
	}
}

func TestResourceLevelPermissionsAndConditions(t *testing.T) {
	s := start(t)
	w := newWorld(t, s)
	if _, err := s.A().TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &w.plan, Tags: map[string]string{"team": "payments"}}); err != nil {
		t.Fatal(err)
	}
	dave := s.UserClient(testserver.AccountA, "dave", `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadRecordsOfShared", "Effect": "Allow", "Action": ["ssm-incidents:Get*", "ssm-incidents:List*"],
     "Resource": "arn:aws:ssm-incidents::`+testserver.AccountA+`:incident-record/shared/*"},
    {"Sid": "PaymentsPlans", "Effect": "Allow", "Action": "ssm-incidents:StartIncident", "Resource": "*",
     "Condition": {"StringEquals": {"aws:ResourceTag/team": "payments"}}},
    {"Sid": "FromLoopback", "Effect": "Allow", "NotAction": ["ssm-incidents:Delete*", "ssm-incidents:Get*", "ssm-incidents:List*", "ssm-incidents:StartIncident"],
     "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}, "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}
  ]
}`)
	if _, err := dave.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &w.incident}); err != nil {
		t.Errorf("GetIncidentRecord under incident-record/shared/*: %v", err)
	}
	if _, err := dave.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &w.plan}); !isAccessDenied(err) {
		t.Errorf("GetResponsePlan outside the statement's resources: want AccessDeniedException, got %v", err)
	}
	if _, err := dave.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &w.plan, Title: aws.String("tagged")}); err != nil {
		t.Errorf("StartIncident on a plan tagged team=payments: %v", err)
	}
	if _, err := s.A().TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &w.plan, Tags: map[string]string{"team": "search"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dave.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &w.plan, Title: aws.String("retagged")}); !isAccessDenied(err) {
		t.Errorf("StartIncident on a plan tagged team=search: want AccessDeniedException, got %v", err)
	}
	// NotAction with conditions on the address and the time: the test
	// client is on the loopback.
	if _, err := dave.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &w.incident, Title: aws.String("from loopback")}); err != nil {
		t.Errorf("UpdateIncidentRecord from 127.0.0.1: %v", err)
	}
	if _, err := dave.DeleteIncidentRecord(ctx, &ssmincidents.DeleteIncidentRecordInput{Arn: &w.incident}); !isAccessDenied(err) {
		t.Errorf("DeleteIncidentRecord, left out by NotAction: want AccessDeniedException, got %v", err)
	}
	erin := s.UserClient(testserver.AccountA, "erin", `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "NotAction": "ssm-incidents:Delete*",
		"Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}}`)
	if _, err := erin.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &w.incident}); !isAccessDenied(err) {
		t.Errorf("GetIncidentRecord from 127.0.0.1 under NotIpAddress 127.0.0.0/8: want AccessDeniedException, got %v", err)
	}
}

func TestRequestTagConditions(t *testing.T) {
	s := start(t)
	setUp(t, s.A())
	frank := s.UserClient(testserver.AccountA, "frank", `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["ssm-incidents:CreateResponsePlan", "ssm-incidents:TagResource"], "Resource": "*",
     "Condition": {"StringEquals": {"aws:RequestTag/team": "ops"}, "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "tier"]}}}
  ]
}`)
	create := func(name string, tags map[string]string) error {
		_, err := frank.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String(name), Tags: tags,
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String("t"), Impact: aws.Int32(3)}})
		return err
	}
	if err := create("ops-plan", map[string]string{"team": "ops", "tier": "1"}); err != nil {
		t.Errorf("CreateResponsePlan with team=ops: %v", err)
	}
	if err := create("other-plan", map[string]string{"team": "dev"}); !isAccessDenied(err) {
		t.Errorf("CreateResponsePlan with team=dev: want AccessDeniedException, got %v", err)
	}
	if err := create("extra-key", map[string]string{"team": "ops", "owner": "me"}); !isAccessDenied(err) {
		t.Errorf("CreateResponsePlan with a tag key outside ForAllValues: want AccessDeniedException, got %v", err)
	}
	if err := create("untagged", nil); !isAccessDenied(err) {
		t.Errorf("CreateResponsePlan without the tag: want AccessDeniedException, got %v", err)
	}
}

func TestAccessKeyDeactivatedStopsWorkingAtOnce(t *testing.T) {
	s := start(t)
	setUp(t, s.A())
	key, secret := s.User(testserver.AccountA, "gina", `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ssm-incidents:List*", "Resource": "*"}}`)
	gina := s.Client(key, secret)
	if _, err := gina.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Main.Directory.SetKeyActive(ctx, testserver.AccountA, key, false); err != nil {
		t.Fatal(err)
	}
	_, err := gina.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "UnrecognizedClientException" {
		t.Fatalf("a deactivated key: want UnrecognizedClientException, got %v", err)
	}
	if err := s.Main.Directory.SetKeyActive(ctx, testserver.AccountA, key, true); err != nil {
		t.Fatal(err)
	}
	if _, err := gina.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{}); err != nil {
		t.Fatalf("a key activated again: %v", err)
	}
	if err := s.Main.Directory.DeleteKey(ctx, testserver.AccountA, key); err != nil {
		t.Fatal(err)
	}
	if _, err := gina.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{}); !errors.As(err, &api) || api.ErrorCode() != "UnrecognizedClientException" {
		t.Fatalf("a deleted key: want UnrecognizedClientException, got %v", err)
	}
}

func TestSharingAResponsePlanAcrossAccounts(t *testing.T) {
	s := start(t)
	a, b := s.A(), s.B()
	setUp(t, a)
	plan := createPlan(t, a, "shared")
	rootB := "arn:aws:iam::" + testserver.AccountB + ":root"

	_, err := b.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan})
	want := "User: " + rootB + " is not authorized to perform: ssm-incidents:StartIncident on resource: " + plan +
		" because no resource-based policy allows the ssm-incidents:StartIncident action"
	if msg := accessDenied(t, "StartIncident", err); msg != want {
		t.Errorf("before sharing:\n got %s\nwant %s", msg, want)
	}

	// An incident started before the plan is shared is shared with it.
	earlier, err := a.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, Title: aws.String("earlier")})
	if err != nil {
		t.Fatal(err)
	}
	id := putPolicy(t, a, plan, sharePolicy(plan))
	if _, err := b.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: earlier.IncidentRecordArn}); err != nil {
		t.Errorf("GetIncidentRecord of an incident started before the sharing: %v", err)
	}

	started, err := b.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, Title: aws.String("from B")})
	if err != nil {
		t.Fatalf("StartIncident from a shared plan: %v", err)
	}
	arn := aws.ToString(started.IncidentRecordArn)
	if !strings.HasPrefix(arn, "arn:aws:ssm-incidents::"+testserver.AccountA+":incident-record/shared/") {
		t.Fatalf("the incident started from A's plan is %s, not A's", arn)
	}
	if _, err := b.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Impact: aws.Int32(1)}); err != nil {
		t.Fatalf("UpdateIncidentRecord of a shared incident: %v", err)
	}
	got, err := a.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &arn})
	if err != nil {
		t.Fatalf("A reads the incident B started: %v", err)
	}
	r := got.IncidentRecord
	if aws.ToInt32(r.Impact) != 1 || aws.ToString(r.LastModifiedBy) != rootB || aws.ToString(r.IncidentRecordSource.CreatedBy) != rootB {
		t.Errorf("A reads impact %d, lastModifiedBy %s, createdBy %s; want 1 and B's root", aws.ToInt32(r.Impact),
			aws.ToString(r.LastModifiedBy), aws.ToString(r.IncidentRecordSource.CreatedBy))
	}
	ev, err := b.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{IncidentRecordArn: &arn,
		EventData: aws.String(`"B was here"`), EventTime: aws.Time(time.Now()), EventType: aws.String("Custom Event")})
	if err != nil {
		t.Fatalf("CreateTimelineEvent on a shared incident: %v", err)
	}
	if _, err := b.UpdateTimelineEvent(ctx, &ssmincidents.UpdateTimelineEventInput{IncidentRecordArn: &arn, EventId: ev.EventId, EventData: aws.String(`"edited by B"`)}); err != nil {
		t.Errorf("UpdateTimelineEvent: %v", err)
	}
	if _, err := b.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{IncidentRecordArn: &arn,
		RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToAdd{Value: types.RelatedItem{
			Identifier: &types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: "https://example.com/runbook"}}}}}); err != nil {
		t.Errorf("UpdateRelatedItems: %v", err)
	}
	items, err := a.ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: &arn})
	if err != nil || len(items.RelatedItems) != 1 {
		t.Errorf("A lists the related items B added: %v, %d items", err, len(items.RelatedItems))
	}
	events, err := b.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn})
	if err != nil || len(events.EventSummaries) < 2 {
		t.Errorf("B lists the timeline of the shared incident: %v, %d events", err, len(events.EventSummaries))
	}
	if _, err := b.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Status: types.IncidentRecordStatusResolved}); err != nil {
		t.Errorf("B resolves the shared incident: %v", err)
	}

	// Lists in B show B's own records only; tags and deletion stay A's.
	listed, err := b.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{})
	if err != nil || len(listed.IncidentRecordSummaries) != 0 {
		t.Errorf("B lists %v records (%v); want none of A's", len(listed.IncidentRecordSummaries), err)
	}
	if _, err := b.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &arn, Tags: tagsOf()}); !isAccessDenied(err) {
		t.Errorf("B tags A's incident: want AccessDeniedException, got %v", err)
	}
	if _, err := b.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &plan}); !isAccessDenied(err) {
		t.Errorf("B lists the tags of A's plan: want AccessDeniedException, got %v", err)
	}
	if _, err := b.DeleteIncidentRecord(ctx, &ssmincidents.DeleteIncidentRecordInput{Arn: &arn}); !isAccessDenied(err) {
		t.Errorf("B deletes A's incident: want AccessDeniedException, got %v", err)
	}

	// A user of B needs an identity-based policy too.
	userB := s.UserClient(testserver.AccountB, "responder")
	_, err = userB.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &arn})
	want = "User: arn:aws:iam::" + testserver.AccountB + ":user/responder is not authorized to perform: ssm-incidents:GetIncidentRecord on resource: " + arn +
		" because no identity-based policy allows the ssm-incidents:GetIncidentRecord action"
	if msg := accessDenied(t, "GetIncidentRecord", err); msg != want {
		t.Errorf("a user of B without a policy:\n got %s\nwant %s", msg, want)
	}
	allowedB := s.UserClient(testserver.AccountB, "lead", `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ssm-incidents:*IncidentRecord", "Resource": "*"}}`)
	if _, err := allowedB.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &arn}); err != nil {
		t.Errorf("a user of B that both policies allow: %v", err)
	}

	// Deleting the policy ends the sharing at once.
	if _, err := a.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &plan, PolicyId: &id}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &arn}); !isAccessDenied(err) {
		t.Errorf("GetIncidentRecord once the policy is deleted: want AccessDeniedException, got %v", err)
	}
}

// TestBoto3SeesAccessDeniedAndSharing: boto3 raises AccessDeniedException
// with AWS's message for a user without a policy, and starts and resolves
// an incident from a plan another account shares with its account.
func TestBoto3SeesAccessDeniedAndSharing(t *testing.T) {
	python := testserver.RequireTool(t, "python3", "install Python 3 with boto3 (pip install boto3)")
	s := start(t)
	a := s.A()
	setUp(t, a)
	plan := createPlan(t, a, "shared")
	putPolicy(t, a, plan, sharePolicy(plan))
	key, secret := s.User(testserver.AccountA, "viewer")
	script := `
import sys, boto3, botocore.config, botocore.exceptions
endpoint, plan, user_key, user_secret, b_key, b_secret = sys.argv[1:]
def client(k, s):
    return boto3.client("ssm-incidents", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=k, aws_secret_access_key=s, config=botocore.config.Config(retries={"total_max_attempts": 1}))
try:
    client(user_key, user_secret).get_response_plan(arn=plan)
    print("viewer allowed")
except botocore.exceptions.ClientError as e:
    print(e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"])
b = client(b_key, b_secret)
arn = b.start_incident(responsePlanArn=plan, title="from boto3")["incidentRecordArn"]
b.update_incident_record(arn=arn, status="RESOLVED")
r = b.get_incident_record(arn=arn)["incidentRecord"]
print(arn.split(":")[4], r["status"], r["incidentRecordSource"]["createdBy"])
`
	out, err := exec.Command(python, "-c", script, s.Endpoint, plan, key, secret, testserver.KeyB, testserver.SecretB).CombinedOutput()
	if strings.Contains(string(out), "No module named") {
		testserver.MissingTool(t, "boto3 is not installed: pip install boto3")
	}
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	want := "AccessDeniedException 403 User: arn:aws:iam::" + testserver.AccountA + ":user/viewer is not authorized to perform: ssm-incidents:GetResponsePlan on resource: " + plan +
		" because no identity-based policy allows the ssm-incidents:GetResponsePlan action\n" +
		testserver.AccountA + " RESOLVED arn:aws:iam::" + testserver.AccountB + ":root"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("boto3 printed\n%s\nwant\n%s", got, want)
	}
}

// TestSharingWithAnOrganization: a resource policy naming everyone on
// condition of aws:PrincipalOrgID, as AWS's user guide shares a plan with
// an organisation, lets the accounts of that organisation in and no other.
func TestSharingWithAnOrganization(t *testing.T) {
	s := start(t)
	a := s.A()
	setUp(t, a)
	plan := createPlan(t, a, "org-wide")
	const org, accountC = "o-a1b2c3d4e5", "777788889999"
	d := s.Main.Directory
	if err := d.SetOrganization(ctx, testserver.AccountB, org); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateAccount(ctx, accountC, "o-zzzzzzzzzz"); err != nil {
		t.Fatal(err)
	}
	keyC, err := d.CreateKey(ctx, accountC, "")
	if err != nil {
		t.Fatal(err)
	}
	putPolicy(t, a, plan, `{"Version": "2012-10-17", "Statement": [{"Sid": "Org", "Effect": "Allow", "Principal": "*",
		"Action": ["ssm-incidents:StartIncident", "ssm-incidents:GetIncidentRecord"],
		"Resource": ["`+plan+`", "arn:aws:ssm-incidents::`+testserver.AccountA+`:incident-record/org-wide/*"],
		"Condition": {"StringEquals": {"aws:PrincipalOrgID": "`+org+`"}}}]}`)
	started, err := s.B().StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan})
	if err != nil {
		t.Fatalf("an account of the organisation: %v", err)
	}
	c := s.Client(keyC.ID, keyC.SecretAccessKey)
	_, err = c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: started.IncidentRecordArn})
	want := "User: arn:aws:iam::" + accountC + ":root is not authorized to perform: ssm-incidents:GetIncidentRecord on resource: " +
		aws.ToString(started.IncidentRecordArn) + " because no resource-based policy allows the ssm-incidents:GetIncidentRecord action"
	if msg := accessDenied(t, "GetIncidentRecord", err); msg != want {
		t.Errorf("an account of another organisation:\n got %s\nwant %s", msg, want)
	}
}

// TestDecisionsAreCounted: the metric of decisions counts allows and
// denials by action and reason.
func TestDecisionsAreCounted(t *testing.T) {
	s := testserver.Start(t, testserver.WithMetrics)
	setUp(t, s.A())
	viewer := s.UserClient(testserver.AccountA, "viewer", `{"Version": "2012-10-17", "Statement": {"Sid": "Plans", "Effect": "Allow", "Action": "ssm-incidents:ListResponsePlans", "Resource": "*"}}`)
	for range 2 {
		if _, err := viewer.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := viewer.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{}); !isAccessDenied(err) {
		t.Fatalf("want AccessDeniedException, got %v", err)
	}
	resp, err := http.Get(s.Metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`incidentd_authorization_decisions_total{action="ssm-incidents:ListResponsePlans",decision="allow",reason="identity-policy"} 2`,
		`incidentd_authorization_decisions_total{action="ssm-incidents:ListIncidentRecords",decision="deny",reason="implicit-deny"} 1`,
		`incidentd_authorization_decisions_total{action="ssm-incidents:CreateReplicationSet",decision="allow",reason="root"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the metrics lack %s", want)
		}
	}
	if log := s.Log.String(); !strings.Contains(log, `action=ssm-incidents:ListResponsePlans resource=* decision=allow reason=identity-policy statement="user/viewer/policy-1 Plans"`) {
		t.Errorf("no audit line names the deciding statement:\n%s", log)
	}
}

// TestSharedStartShowsNoOtherPlansIncident: a start from a shared plan
// that dedupes against an open incident of a plan that is not shared
// starts an incident of its own rather than show the other one's ARN.
func TestSharedStartShowsNoOtherPlansIncident(t *testing.T) {
	s := start(t)
	a, b := s.A(), s.B()
	setUp(t, a)
	private, shared := createPlan(t, a, "private"), createPlan(t, a, "shared")
	putPolicy(t, a, shared, sharePolicy(shared))
	alarm := &types.TriggerDetails{Source: aws.String("aws.cloudwatch"), Timestamp: aws.Time(time.Now()),
		TriggerArn: aws.String("arn:aws:cloudwatch:us-east-1:" + testserver.AccountA + ":alarm:checkout-5xx")}
	mine, err := a.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &private, TriggerDetails: alarm})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := b.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &shared, TriggerDetails: alarm})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(theirs.IncidentRecordArn); got == aws.ToString(mine.IncidentRecordArn) || !strings.Contains(got, ":incident-record/shared/") {
		t.Fatalf("B's start from the shared plan answered %s (A's private incident is %s)", got, aws.ToString(mine.IncidentRecordArn))
	}
}

// TestCreatingWithTagsNeedsTagResource: as AWS's reference lists it,
// creating a plan with tags also needs ssm-incidents:TagResource.
func TestCreatingWithTagsNeedsTagResource(t *testing.T) {
	s := start(t)
	setUp(t, s.A())
	planner := s.UserClient(testserver.AccountA, "planner", `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ssm-incidents:CreateResponsePlan", "Resource": "*"}}`)
	create := func(name string, tags map[string]string) error {
		_, err := planner.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String(name), Tags: tags,
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String("t"), Impact: aws.Int32(3)}})
		return err
	}
	if err := create("untagged", nil); err != nil {
		t.Fatalf("without tags: %v", err)
	}
	arn := "arn:aws:ssm-incidents::" + testserver.AccountA + ":response-plan/tagged"
	want := "User: arn:aws:iam::" + testserver.AccountA + ":user/planner is not authorized to perform: ssm-incidents:TagResource on resource: " + arn +
		" because no identity-based policy allows the ssm-incidents:TagResource action"
	if msg := accessDenied(t, "CreateResponsePlan", create("tagged", tagsOf())); msg != want {
		t.Errorf("with tags:\n got %s\nwant %s", msg, want)
	}
	if _, err := s.A().GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &arn}); err == nil {
		t.Error("the refused creation created the plan")
	}
}
