package notify_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/testserver"
)

// apiCallEvent is what a rule's target receives of an API-call event.
type apiCallEvent struct {
	DetailType string                   `json:"detail-type"`
	Source     string                   `json:"source"`
	Detail     service.CloudTrailRecord `json:"detail"`
}

func decodeAPICall(t *testing.T, body string) apiCallEvent {
	t.Helper()
	var e apiCallEvent
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("an event that does not decode: %v: %s", err, body)
	}
	return e
}

// params decodes the request parameters of an event.
func params(t *testing.T, e apiCallEvent) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(e.Detail.RequestParameters, &p); err != nil {
		t.Fatalf("requestParameters %s: %v", e.Detail.RequestParameters, err)
	}
	return p
}

// TestAPICallEventsMatchRulesWrittenForAWS: with --eventbridge-bus, the
// calls that change state reach moto's EventBridge (found through the
// standard AWS_ENDPOINT_URL_EVENTBRIDGE) as "AWS API Call via CloudTrail"
// events: a rule of the kind users wrote against AWS, eventName
// UpdateIncidentRecord with requestParameters.status RESOLVED, matches
// the resolution and nothing else, and a rule for every call of the
// service receives them all, those of the incident in the order of its
// calls, once each.
func TestAPICallEventsMatchRulesWrittenForAWS(t *testing.T) {
	moto := testserver.StartMoto(t)
	resolved := moto.RuleWithQueue("incidents", "resolved", `{"source": ["aws.ssm-incidents"], "detail-type": ["AWS API Call via CloudTrail"],
		"detail": {"eventSource": ["ssm-incidents.amazonaws.com"], "eventName": ["UpdateIncidentRecord"], "requestParameters": {"status": ["RESOLVED"]}}}`)
	all := moto.RuleWithQueue("incidents", "all", `{"source": ["aws.ssm-incidents"]}`)
	t.Setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", moto.Endpoint)
	srv, c := startNotifying(t, moto.Endpoint, testserver.WithMetrics, func(c *app.Config) { c.Service.EventBus = "incidents" })
	plan := planNotifying(t, c, "eventful", nil, nil)
	out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan), Title: aws.String("Checkout is down")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.IncidentRecordArn)
	if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Impact: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Status: types.IncidentRecordStatusResolved}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{IncidentRecordArn: &arn, EventType: aws.String("Note"),
		EventData: aws.String(`{"content": "resolved by a rollback"}`), EventTime: aws.Time(time.Now())}); err != nil {
		t.Fatal(err)
	}
	// Reads and refused calls are no events.
	if _, err := c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &arn}); err != nil {
		t.Fatal(err)
	}
	missing := strings.Replace(arn, "eventful/", "eventful/0", 1)
	if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &missing, Status: types.IncidentRecordStatusResolved}); err == nil {
		t.Fatal("an update of a missing incident succeeded")
	}

	got := moto.ReceiveBodies(resolved, 2, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("the rule for resolutions received %d events, want 1: %q", len(got), got)
	}
	e := decodeAPICall(t, got[0])
	if e.Source != "aws.ssm-incidents" || e.DetailType != "AWS API Call via CloudTrail" {
		t.Errorf("source %q, detail-type %q", e.Source, e.DetailType)
	}
	d := e.Detail
	if d.EventName != "UpdateIncidentRecord" || d.EventSource != "ssm-incidents.amazonaws.com" || d.EventType != "AwsApiCall" || d.ReadOnly {
		t.Errorf("eventName %q, eventSource %q, eventType %q, readOnly %v", d.EventName, d.EventSource, d.EventType, d.ReadOnly)
	}
	if p := params(t, e); p["arn"] != arn || p["status"] != "RESOLVED" {
		t.Errorf("requestParameters %v, want the incident's arn and status RESOLVED", p)
	}
	wantIdentity := service.UserIdentity{Type: "Root", PrincipalID: testserver.AccountA, ARN: "arn:aws:iam::" + testserver.AccountA + ":root",
		AccountID: testserver.AccountA, AccessKeyID: testserver.KeyA}
	if d.UserIdentity != wantIdentity {
		t.Errorf("userIdentity %+v, want %+v", d.UserIdentity, wantIdentity)
	}
	if d.SourceIPAddress != "127.0.0.1" || !strings.Contains(d.UserAgent, "aws-sdk-go-v2") || d.RequestID == "" || d.RecipientAccountID != testserver.AccountA {
		t.Errorf("sourceIPAddress %q, userAgent %q, requestID %q, recipientAccountId %q", d.SourceIPAddress, d.UserAgent, d.RequestID, d.RecipientAccountID)
	}
	if _, err := time.Parse(time.RFC3339, d.EventTime); err != nil {
		t.Errorf("eventTime %q: %v", d.EventTime, err)
	}

	// Every call: the replication set, the plan, and the incident's four.
	bodies := moto.ReceiveBodies(all, 6, 10*time.Second)
	var names, ofIncident []string
	for _, b := range bodies {
		e := decodeAPICall(t, b)
		names = append(names, e.Detail.EventName)
		p := params(t, e)
		var resp map[string]any
		json.Unmarshal(e.Detail.ResponseElements, &resp)
		if p["arn"] == arn || p["incidentRecordArn"] == arn || resp["incidentRecordArn"] == arn {
			ofIncident = append(ofIncident, e.Detail.EventName)
		}
	}
	slices.Sort(names)
	want := []string{"CreateReplicationSet", "CreateResponsePlan", "CreateTimelineEvent", "StartIncident", "UpdateIncidentRecord", "UpdateIncidentRecord"}
	if !slices.Equal(names, want) {
		t.Errorf("the rule for every call received %v, want %v", names, want)
	}
	if want := []string{"StartIncident", "UpdateIncidentRecord", "UpdateIncidentRecord", "CreateTimelineEvent"}; !slices.Equal(ofIncident, want) {
		t.Errorf("the incident's events arrived as %v, want %v", ofIncident, want)
	}
	if more := moto.ReceiveBodies(all, 1, 2*time.Second); len(more) > 0 {
		t.Errorf("more events than calls: %q", more)
	}
	if got := attempts(t, srv, "eventbridge"); got["sent"] != 6 || got["retried"] != 0 || got["parked"] != 0 {
		t.Errorf("incidentd_notification_attempts_total{destination=\"eventbridge\"}: %v, want 6 sent", got)
	}
}

// TestEveryCallThatChangesStateIsAnEvent calls every operation of the
// model that changes state (all but Get*, List* and BatchGet*) and checks
// that each successful call, and nothing else, is queued as an API-call
// event for the bus, with its request parameters, those of the URI and
// query string too, and the answer's members.
func TestEveryCallThatChangesStateIsAnEvent(t *testing.T) {
	// No endpoint and no credentials: the events stay queued.
	srv := testserver.Start(t, func(c *app.Config) { c.Service.EventBus = "audit" })
	c := srv.A()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}))
	set, err := c.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	rs := &set.ReplicationSetArns[0]
	must(c.UpdateDeletionProtection(ctx, &ssmincidents.UpdateDeletionProtectionInput{Arn: rs, DeletionProtected: aws.Bool(false)}))
	must(c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: rs, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberAddRegionAction{Value: types.AddRegionAction{RegionName: aws.String("us-west-2")}}}}))
	plan := planNotifying(t, c, "audited", nil, nil)
	must(c.UpdateResponsePlan(ctx, &ssmincidents.UpdateResponsePlanInput{Arn: &plan, DisplayName: aws.String("Audited")}))
	policy, err := c.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: &plan, Policy: aws.String(`{"Version": "2012-10-17",
		"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::` + testserver.AccountB + `:root"}, "Action": "ssm-incidents:GetResponsePlan", "Resource": "` + plan + `"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	must(c.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &plan, PolicyId: policy.PolicyId}))
	started, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan})
	if err != nil {
		t.Fatal(err)
	}
	arn := started.IncidentRecordArn
	must(c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: arn, Impact: aws.Int32(1)}))
	must(c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{IncidentRecordArn: arn, RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToAdd{
		Value: types.RelatedItem{Identifier: &types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: "https://status.example.com"}}}}}))
	ev, err := c.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{IncidentRecordArn: arn, EventType: aws.String("Custom Event"),
		EventData: aws.String(`"rolled back"`), EventTime: aws.Time(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	must(c.UpdateTimelineEvent(ctx, &ssmincidents.UpdateTimelineEventInput{IncidentRecordArn: arn, EventId: ev.EventId, EventData: aws.String(`"rolled back at last"`)}))
	must(c.DeleteTimelineEvent(ctx, &ssmincidents.DeleteTimelineEventInput{IncidentRecordArn: arn, EventId: ev.EventId}))
	must(c.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &plan, Tags: map[string]string{"team": "payments"}}))
	must(c.UntagResource(ctx, &ssmincidents.UntagResourceInput{ResourceArn: &plan, TagKeys: []string{"team", "absent"}}))
	must(c.DeleteIncidentRecord(ctx, &ssmincidents.DeleteIncidentRecordInput{Arn: arn}))
	must(c.DeleteResponsePlan(ctx, &ssmincidents.DeleteResponsePlanInput{Arn: &plan}))
	must(c.DeleteReplicationSet(ctx, &ssmincidents.DeleteReplicationSetInput{Arn: rs}))
	// A refused call and reads: no events.
	if _, err := c.DeleteReplicationSet(ctx, &ssmincidents.DeleteReplicationSetInput{Arn: rs}); err == nil {
		t.Fatal("deleting a deleted replication set succeeded")
	}
	must(c.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{}))

	ds, err := srv.Main.Store.ListDeliveries(ctx, domain.DeliveryFilter{Topic: service.EventBusDestination("audit")}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	events := map[string]apiCallEvent{}
	var got []string
	for _, d := range ds {
		e := decodeAPICall(t, string(d.Message))
		if d.DetailType != service.APICallDetailType || d.State != domain.DeliveryPending {
			t.Errorf("delivery %s: detail type %q, state %q", d.ID, d.DetailType, d.State)
		}
		got = append(got, e.Detail.EventName)
		events[e.Detail.EventName] = e
	}
	var want []string
	for _, op := range model.Operations {
		if !strings.HasPrefix(op.Name, "Get") && !strings.HasPrefix(op.Name, "List") && !strings.HasPrefix(op.Name, "BatchGet") {
			want = append(want, op.Name)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("events %v,\nwant one of each call that changes state: %v", got, want)
	}
	// Members of the URI and the query string are parameters too.
	if p := params(t, events["UntagResource"]); p["resourceArn"] != plan || !slices.Equal(sortedStrings(p["tagKeys"]), []string{"absent", "team"}) {
		t.Errorf("UntagResource's requestParameters %v", p)
	}
	if p := params(t, events["TagResource"]); p["resourceArn"] != plan || p["tags"].(map[string]any)["team"] != "payments" {
		t.Errorf("TagResource's requestParameters %v", p)
	}
	var resp map[string]any
	if err := json.Unmarshal(events["StartIncident"].Detail.ResponseElements, &resp); err != nil || resp["incidentRecordArn"] != *arn {
		t.Errorf("StartIncident's responseElements %s", events["StartIncident"].Detail.ResponseElements)
	}
	if r := events["UpdateIncidentRecord"].Detail.ResponseElements; string(r) != "null" {
		t.Errorf("UpdateIncidentRecord's responseElements %s, want null (an answer without members)", r)
	}
}

// TestRepeatedClientTokenIsACallToo: a repeat of a call with its
// clientToken changes nothing, but it is a call, as CloudTrail records
// one; a call refused for a clientToken reused with other parameters is
// not.
func TestRepeatedClientTokenIsACallToo(t *testing.T) {
	srv := testserver.Start(t, func(c *app.Config) {
		c.Service.EventBus = "arn:aws:events:us-east-1:" + testserver.AccountA + ":event-bus/audit"
	})
	c := srv.A()
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	plan := planNotifying(t, c, "repeated", nil, nil)
	in := &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, ClientToken: aws.String("once")}
	first, err := c.StartIncident(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.StartIncident(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(first.IncidentRecordArn) != aws.ToString(again.IncidentRecordArn) {
		t.Fatal("the repeat started another incident")
	}
	if _, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, ClientToken: aws.String("once"), Title: aws.String("other")}); err == nil {
		t.Fatal("a clientToken reused with other parameters was accepted")
	}
	ds, err := srv.Main.Store.ListDeliveries(ctx, domain.DeliveryFilter{IncidentARN: aws.ToString(first.IncidentRecordArn)}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, d := range ds {
		if d.Topic != "arn:aws:events:us-east-1:"+testserver.AccountA+":event-bus/audit" || decodeAPICall(t, string(d.Message)).Detail.EventName != "StartIncident" {
			t.Errorf("delivery to %s of %s", d.Topic, d.Message)
		}
		seqs = append(seqs, d.Seq)
	}
	slices.Sort(seqs)
	if !slices.Equal(seqs, []int64{1, 2}) {
		t.Errorf("the incident's API-call events are numbered %v, want [1 2]", seqs)
	}
}

// sortedStrings are the strings of a decoded JSON array, sorted.
func sortedStrings(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	slices.Sort(out)
	return out
}

// TestMissingEventBusIsParkedAndDelaysNoNotification: events for a bus
// that does not exist get their attempts and are parked with the bus's
// answer; the SNS notifications of the same calls arrive without waiting
// for them.
func TestMissingEventBusIsParkedAndDelaysNoNotification(t *testing.T) {
	moto := testserver.StartMoto(t)
	topic, queue := moto.TopicWithQueue("incidents")
	t.Setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", moto.Endpoint)
	srv, c := startNotifying(t, moto.Endpoint, func(c *app.Config) {
		c.Service.EventBus = "absent"
		c.NotificationAttempts = 2
	})
	change(t, c, planNotifying(t, c, "unheard", []string{topic}, nil))
	if got := moto.Receive(queue, 4, 30*time.Second); len(got) != 4 {
		t.Fatalf("%d notifications arrived, want 4", len(got))
	}
	// CreateReplicationSet, CreateResponsePlan and the four calls of change.
	deadline := time.Now().Add(30 * time.Second)
	for {
		parked, err := srv.Main.Store.ListDeliveries(ctx, domain.DeliveryFilter{State: domain.DeliveryParked, Topic: service.EventBusDestination("absent")}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(parked) == 6 {
			for _, d := range parked {
				if d.Attempts != 2 || !strings.Contains(d.LastError, "ResourceNotFoundException") {
					t.Errorf("parked event %s: %d attempts, last error %q", d.ID, d.Attempts, d.LastError)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events parked, want 6", len(parked))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
