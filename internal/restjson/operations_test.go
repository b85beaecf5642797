package restjson_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/testserver"
)

// statusRecorder remembers the HTTP status of the last answer to each path.
type statusRecorder struct {
	mu     sync.Mutex
	status map[string]int
}

func (r *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.status[req.Method+" "+req.URL.Path] = res.StatusCode
		r.mu.Unlock()
	}
	return res, err
}

// TestEveryOperationAnswersForReal runs a meaningful, valid request of every
// operation of the official model through the AWS SDK for Go v2, in an order
// that builds what the next one needs, and checks that each succeeds with
// the model's status code: no operation answers "not implemented".
func TestEveryOperationAnswersForReal(t *testing.T) {
	m := loadBotocoreModel(t)
	srv := testserver.Start(t)
	rec := &statusRecorder{status: map[string]int{}}
	c := srv.A(func(o *ssmincidents.Options) { o.HTTPClient = &http.Client{Transport: rec} })
	ctx := context.Background()
	done := map[string]bool{}
	// call records that op answered with the model's success status.
	call := func(op string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		o, ok := m.Operations[op]
		if !ok {
			t.Fatalf("%s is not an operation of the model", op)
		}
		path := o.HTTP.RequestURI
		if i := strings.IndexAny(path, "?{"); i >= 0 {
			path = path[:i]
		}
		var status int
		rec.mu.Lock()
		for k, v := range rec.status {
			if strings.HasPrefix(k, o.HTTP.Method+" "+path) {
				status = v
			}
		}
		clear(rec.status)
		rec.mu.Unlock()
		if status != o.HTTP.ResponseCode {
			t.Fatalf("%s answered %d, the model says %d", op, status, o.HTTP.ResponseCode)
		}
		done[op] = true
	}

	rs, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}})
	call("CreateReplicationSet", err)
	_, err = c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: rs.Arn})
	call("GetReplicationSet", err)
	_, err = c.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
	call("ListReplicationSets", err)
	_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: rs.Arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberAddRegionAction{Value: types.AddRegionAction{RegionName: aws.String("eu-west-1")}},
	}})
	call("UpdateReplicationSet", err)
	_, err = c.UpdateDeletionProtection(ctx, &ssmincidents.UpdateDeletionProtectionInput{Arn: rs.Arn, DeletionProtected: aws.Bool(false)})
	call("UpdateDeletionProtection", err)

	plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("every-operation"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Checkout is down"), Impact: aws.Int32(2)},
	})
	call("CreateResponsePlan", err)
	_, err = c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: plan.Arn})
	call("GetResponsePlan", err)
	_, err = c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	call("ListResponsePlans", err)
	_, err = c.UpdateResponsePlan(ctx, &ssmincidents.UpdateResponsePlanInput{Arn: plan.Arn, DisplayName: aws.String("Checkout")})
	call("UpdateResponsePlan", err)
	_, err = c.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: plan.Arn, Tags: map[string]string{"team": "payments"}})
	call("TagResource", err)
	_, err = c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: plan.Arn})
	call("ListTagsForResource", err)
	_, err = c.UntagResource(ctx, &ssmincidents.UntagResourceInput{ResourceArn: plan.Arn, TagKeys: []string{"team"}})
	call("UntagResource", err)

	policy, err := c.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: plan.Arn, Policy: aws.String(`{
		"Version": "2012-10-17",
		"Statement": [{
			"Sid": "ShareWithOps",
			"Effect": "Allow",
			"Principal": {"AWS": "arn:aws:iam::444455556666:root"},
			"Action": ["ssm-incidents:GetResponsePlan", "ssm-incidents:StartIncident", "ssm-incidents:GetIncidentRecord"],
			"Resource": ["` + aws.ToString(plan.Arn) + `", "arn:aws:ssm-incidents::111122223333:incident-record/every-operation/*"]
		}]
	}`)})
	call("PutResourcePolicy", err)
	_, err = c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: plan.Arn})
	call("GetResourcePolicies", err)

	inc, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn})
	call("StartIncident", err)
	_, err = c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: inc.IncidentRecordArn})
	call("GetIncidentRecord", err)
	_, err = c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: inc.IncidentRecordArn, Status: types.IncidentRecordStatusResolved})
	call("UpdateIncidentRecord", err)
	_, err = c.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{})
	call("ListIncidentRecords", err)
	_, err = c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{IncidentRecordArn: inc.IncidentRecordArn, RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToAdd{
		Value: types.RelatedItem{Identifier: &types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: "https://example.com/runbook"}}},
	}})
	call("UpdateRelatedItems", err)
	_, err = c.ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: inc.IncidentRecordArn})
	call("ListRelatedItems", err)
	ev, err := c.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{
		IncidentRecordArn: inc.IncidentRecordArn, EventTime: aws.Time(time.Now()), EventType: aws.String("Note"), EventData: aws.String("Rolled back."),
	})
	call("CreateTimelineEvent", err)
	_, err = c.UpdateTimelineEvent(ctx, &ssmincidents.UpdateTimelineEventInput{IncidentRecordArn: inc.IncidentRecordArn, EventId: ev.EventId, EventData: aws.String("Rolled back at 20:09.")})
	call("UpdateTimelineEvent", err)
	_, err = c.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: inc.IncidentRecordArn, EventId: ev.EventId})
	call("GetTimelineEvent", err)
	_, err = c.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: inc.IncidentRecordArn})
	call("ListTimelineEvents", err)
	_, err = c.DeleteTimelineEvent(ctx, &ssmincidents.DeleteTimelineEventInput{IncidentRecordArn: inc.IncidentRecordArn, EventId: ev.EventId})
	call("DeleteTimelineEvent", err)
	_, err = c.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: inc.IncidentRecordArn})
	call("ListIncidentFindings", err)
	_, err = c.BatchGetIncidentFindings(ctx, &ssmincidents.BatchGetIncidentFindingsInput{IncidentRecordArn: inc.IncidentRecordArn, FindingIds: []string{"unknown"}})
	call("BatchGetIncidentFindings", err)

	_, err = c.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: plan.Arn, PolicyId: policy.PolicyId})
	call("DeleteResourcePolicy", err)
	_, err = c.DeleteIncidentRecord(ctx, &ssmincidents.DeleteIncidentRecordInput{Arn: inc.IncidentRecordArn})
	call("DeleteIncidentRecord", err)
	_, err = c.DeleteResponsePlan(ctx, &ssmincidents.DeleteResponsePlanInput{Arn: plan.Arn})
	call("DeleteResponsePlan", err)
	_, err = c.DeleteReplicationSet(ctx, &ssmincidents.DeleteReplicationSetInput{Arn: rs.Arn})
	call("DeleteReplicationSet", err)

	for _, op := range m.operationNames() {
		if !done[op] {
			t.Errorf("%s has no request in this test", op)
		}
	}
}
