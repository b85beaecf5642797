package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/testserver"
)

func TestReplicationSetLifecycle(t *testing.T) {
	srv := start(t)
	c := srv.A()
	before := time.Now().Add(-time.Second)

	out, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{
		Regions: map[string]types.RegionMapInputValue{
			"us-east-1": {},
			"eu-west-1": {SseKmsKeyId: aws.String("arn:aws:kms:eu-west-1:111122223333:key/abc")},
		},
		Tags: map[string]string{"team": "sre"},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Arn)
	if !strings.HasPrefix(arn, "arn:aws:ssm-incidents::"+testserver.AccountA+":replication-set/") {
		t.Fatalf("arn = %s", arn)
	}

	// The SDK waiter sees it ACTIVE at its first poll.
	w := ssmincidents.NewWaitForReplicationSetActiveWaiter(c)
	if err := w.Wait(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn}, 5*time.Second); err != nil {
		t.Fatalf("WaitForReplicationSetActive: %v", err)
	}

	got, err := c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	rs := got.ReplicationSet
	if aws.ToString(rs.Arn) != arn || rs.Status != types.ReplicationSetStatusActive || aws.ToBool(rs.DeletionProtected) {
		t.Fatalf("replication set = %+v", rs)
	}
	principal := app.RootPrincipal(testserver.AccountA)
	if aws.ToString(rs.CreatedBy) != principal || aws.ToString(rs.LastModifiedBy) != principal {
		t.Fatalf("createdBy %s lastModifiedBy %s", aws.ToString(rs.CreatedBy), aws.ToString(rs.LastModifiedBy))
	}
	if rs.CreatedTime.Before(before) || rs.CreatedTime.After(time.Now().Add(time.Second)) {
		t.Fatalf("createdTime %v", rs.CreatedTime)
	}
	if len(rs.RegionMap) != 2 {
		t.Fatalf("regions %v", rs.RegionMap)
	}
	if r := rs.RegionMap["us-east-1"]; aws.ToString(r.SseKmsKeyId) != "DefaultKey" || r.Status != types.RegionStatusActive || r.StatusUpdateDateTime == nil {
		t.Fatalf("us-east-1 = %+v", r)
	}
	if r := rs.RegionMap["eu-west-1"]; aws.ToString(r.SseKmsKeyId) != "arn:aws:kms:eu-west-1:111122223333:key/abc" {
		t.Fatalf("eu-west-1 = %+v", r)
	}

	list, err := c.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ReplicationSetArns) != 1 || list.ReplicationSetArns[0] != arn || list.NextToken != nil {
		t.Fatalf("list = %+v", list)
	}

	tags, err := c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	if tags.Tags["team"] != "sre" || len(tags.Tags) != 1 {
		t.Fatalf("tags = %v", tags.Tags)
	}

	// A second one in the same account conflicts.
	_, err = c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-west-2": {}}})
	ce := wantAPIError[*types.ConflictException](t, err, "ConflictException")
	if aws.ToString(ce.ResourceIdentifier) != arn || ce.ResourceType != types.ResourceTypeReplicationSet {
		t.Fatalf("conflict = %+v", ce)
	}

	// Add a region, then delete it.
	_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberAddRegionAction{Value: types.AddRegionAction{RegionName: aws.String("ap-southeast-2")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn})
	if len(got.ReplicationSet.RegionMap) != 3 {
		t.Fatalf("after add: %v", got.ReplicationSet.RegionMap)
	}
	// A fourth region is refused; an existing one conflicts.
	_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberAddRegionAction{Value: types.AddRegionAction{RegionName: aws.String("sa-east-1")}},
	}})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberAddRegionAction{Value: types.AddRegionAction{RegionName: aws.String("eu-west-1")}},
	}})
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	// A region that is not there cannot be deleted; a malformed name is refused.
	_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberDeleteRegionAction{Value: types.DeleteRegionAction{RegionName: aws.String("sa-east-1")}},
	}})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")

	for _, region := range []string{"ap-southeast-2", "eu-west-1"} {
		_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
			&types.UpdateReplicationSetActionMemberDeleteRegionAction{Value: types.DeleteRegionAction{RegionName: aws.String(region)}},
		}})
		if err != nil {
			t.Fatalf("delete %s: %v", region, err)
		}
	}
	got, _ = c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn})
	if len(got.ReplicationSet.RegionMap) != 1 || got.ReplicationSet.RegionMap["us-east-1"].Status != types.RegionStatusActive {
		t.Fatalf("after deletes: %v", got.ReplicationSet.RegionMap)
	}

	// Deletion protection blocks deleting the last region and the set.
	if _, err := c.UpdateDeletionProtection(ctx, &ssmincidents.UpdateDeletionProtectionInput{Arn: &arn, DeletionProtected: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn})
	if !aws.ToBool(got.ReplicationSet.DeletionProtected) {
		t.Fatal("deletion protection not on")
	}
	_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberDeleteRegionAction{Value: types.DeleteRegionAction{RegionName: aws.String("us-east-1")}},
	}})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	_, err = c.DeleteReplicationSet(ctx, &ssmincidents.DeleteReplicationSetInput{Arn: &arn})
	ve := wantAPIError[*types.ValidationException](t, err, "ValidationException")
	if !strings.Contains(aws.ToString(ve.Message), "Deletion protection") {
		t.Fatalf("message %q", aws.ToString(ve.Message))
	}
	if _, err := c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn}); err != nil {
		t.Fatalf("set gone after a refused delete: %v", err)
	}

	if _, err := c.UpdateDeletionProtection(ctx, &ssmincidents.UpdateDeletionProtectionInput{Arn: &arn, DeletionProtected: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	createPlan(t, c, "plan-to-vanish")
	if _, err := c.DeleteReplicationSet(ctx, &ssmincidents.DeleteReplicationSetInput{Arn: &arn}); err != nil {
		t.Fatal(err)
	}
	// The SDK's delete waiter succeeds: the set answers 404 now.
	dw := ssmincidents.NewWaitForReplicationSetDeletedWaiter(c)
	if err := dw.Wait(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn}, 5*time.Second); err != nil {
		t.Fatalf("WaitForReplicationSetDeleted: %v", err)
	}
	_, err = c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn})
	nf := wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	if aws.ToString(nf.ResourceIdentifier) != arn || nf.ResourceType != types.ResourceTypeReplicationSet {
		t.Fatalf("not found = %+v", nf)
	}
	// Everything of the account went with it.
	plans, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	if err != nil || len(plans.ResponsePlanSummaries) != 0 {
		t.Fatalf("plans after delete: %+v %v", plans, err)
	}
	list, _ = c.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
	if len(list.ReplicationSetArns) != 0 {
		t.Fatalf("list after delete = %v", list.ReplicationSetArns)
	}
	// And a new one can be created.
	setUp(t, c)
}

func TestDeletingTheLastRegionDeletesTheSet(t *testing.T) {
	srv := start(t)
	c := srv.A()
	arn := setUp(t, c)
	_, err := c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberDeleteRegionAction{Value: types.DeleteRegionAction{RegionName: aws.String("us-east-1")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn})
	wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
}

func TestReplicationSetNotFound(t *testing.T) {
	srv := start(t)
	c := srv.A()
	missing := "arn:aws:ssm-incidents::" + testserver.AccountA + ":replication-set/00000000-0000-0000-0000-000000000000"
	_, err := c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &missing})
	wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	_, err = c.DeleteReplicationSet(ctx, &ssmincidents.DeleteReplicationSetInput{Arn: &missing})
	wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	_, err = c.UpdateDeletionProtection(ctx, &ssmincidents.UpdateDeletionProtectionInput{Arn: &missing, DeletionProtected: aws.Bool(true)})
	wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &missing, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberAddRegionAction{Value: types.AddRegionAction{RegionName: aws.String("us-west-2")}},
	}})
	wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")

	// An existing set is found only by its own ARN.
	arn := setUp(t, c)
	_, err = c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &missing})
	wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	if _, err := c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn}); err != nil {
		t.Fatal(err)
	}
}

func TestMalformedRegionNameIsRefused(t *testing.T) {
	srv := start(t)
	_, err := srv.A().CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{
		Regions: map[string]types.RegionMapInputValue{"Mars": {}},
	})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	list, _ := srv.A().ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
	if len(list.ReplicationSetArns) != 0 {
		t.Fatal("a refused create left a replication set")
	}
}

func TestProvisioningDelayShowsCreatingThenActive(t *testing.T) {
	now := time.Now()
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	clock := func() time.Time { <-mu; defer func() { mu <- struct{}{} }(); return now }
	advance := func(d time.Duration) { <-mu; now = now.Add(d); mu <- struct{}{} }
	srv := testserver.Start(t, func(c *app.Config) {
		c.Service.ProvisioningDelay = time.Minute
		c.Now = clock
	})
	c := srv.A()
	arn := setUp(t, c)
	got, _ := c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn})
	if got.ReplicationSet.Status != types.ReplicationSetStatusCreating || got.ReplicationSet.RegionMap["us-east-1"].Status != types.RegionStatusCreating {
		t.Fatalf("status %s", got.ReplicationSet.Status)
	}
	// Response plans need an ACTIVE set.
	_, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name: aws.String("early"), IncidentTemplate: &types.IncidentTemplate{Title: aws.String("t"), Impact: aws.Int32(1)},
	})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	advance(2 * time.Minute)
	got, _ = c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn})
	if got.ReplicationSet.Status != types.ReplicationSetStatusActive {
		t.Fatalf("status %s", got.ReplicationSet.Status)
	}
	_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberAddRegionAction{Value: types.AddRegionAction{RegionName: aws.String("us-west-2")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn})
	if got.ReplicationSet.Status != types.ReplicationSetStatusUpdating || got.ReplicationSet.RegionMap["us-west-2"].Status != types.RegionStatusCreating {
		t.Fatalf("status %s regions %+v", got.ReplicationSet.Status, got.ReplicationSet.RegionMap)
	}
	// While UPDATING, another update conflicts.
	_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberDeleteRegionAction{Value: types.DeleteRegionAction{RegionName: aws.String("us-west-2")}},
	}})
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	advance(2 * time.Minute)
	_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberDeleteRegionAction{Value: types.DeleteRegionAction{RegionName: aws.String("us-west-2")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn})
	if got.ReplicationSet.RegionMap["us-west-2"].Status != types.RegionStatusDeleting {
		t.Fatalf("regions %+v", got.ReplicationSet.RegionMap)
	}
	advance(2 * time.Minute)
	got, _ = c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &arn})
	if _, ok := got.ReplicationSet.RegionMap["us-west-2"]; ok || got.ReplicationSet.Status != types.ReplicationSetStatusActive {
		t.Fatalf("regions %+v status %s", got.ReplicationSet.RegionMap, got.ReplicationSet.Status)
	}
}

func TestRegionDeleteMinAge(t *testing.T) {
	srv := testserver.Start(t, func(c *app.Config) { c.Service.RegionDeleteMinAge = 24 * time.Hour })
	c := srv.A()
	arn := setUp(t, c)
	_, err := c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberAddRegionAction{Value: types.AddRegionAction{RegionName: aws.String("us-west-2")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &arn, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberDeleteRegionAction{Value: types.DeleteRegionAction{RegionName: aws.String("us-west-2")}},
	}})
	ve := wantAPIError[*types.ValidationException](t, err, "ValidationException")
	if !strings.Contains(aws.ToString(ve.Message), "24h0m0s") {
		t.Fatalf("message %q", aws.ToString(ve.Message))
	}
}
