package service_test

import (
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/testserver"
)

func fullPlanInput(name string) *ssmincidents.CreateResponsePlanInput {
	return &ssmincidents.CreateResponsePlanInput{
		Name:        aws.String(name),
		DisplayName: aws.String("Display " + name),
		IncidentTemplate: &types.IncidentTemplate{
			Title:        aws.String("Database down"),
			Impact:       aws.Int32(1),
			Summary:      aws.String("The primary database does not answer."),
			DedupeString: aws.String("db-down"),
			NotificationTargets: []types.NotificationTargetItem{
				&types.NotificationTargetItemMemberSnsTopicArn{Value: "arn:aws:sns:us-east-1:111122223333:oncall"},
			},
			IncidentTags: map[string]string{"service": "db"},
		},
		ChatChannel: &types.ChatChannelMemberChatbotSns{Value: []string{"arn:aws:sns:us-east-1:111122223333:chat"}},
		Engagements: []string{"arn:aws:ssm-contacts:us-east-1:111122223333:contact/oncall-primary"},
		Actions: []types.Action{&types.ActionMemberSsmAutomation{Value: types.SsmAutomation{
			DocumentName:    aws.String("AWSIncidents-CriticalIncidentRunbookTemplate"),
			DocumentVersion: aws.String("$DEFAULT"),
			RoleArn:         aws.String("arn:aws:iam::111122223333:role/runbook"),
			TargetAccount:   types.SsmTargetAccountResponsePlanOwnerAccount,
			Parameters:      map[string][]string{"Env": {"prod", "eu"}},
			DynamicParameters: map[string]types.DynamicSsmParameterValue{
				"IncidentRecordArn": &types.DynamicSsmParameterValueMemberVariable{Value: types.VariableTypeIncidentRecordArn},
			},
		}}},
		Integrations: []types.Integration{&types.IntegrationMemberPagerDutyConfiguration{Value: types.PagerDutyConfiguration{
			Name:                           aws.String("pd"),
			SecretId:                       aws.String("pagerduty-secret"),
			PagerDutyIncidentConfiguration: &types.PagerDutyIncidentConfiguration{ServiceId: aws.String("PSERVICE")},
		}}},
		Tags: map[string]string{"owner": "sre"},
	}
}

func TestResponsePlanRoundTrip(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	in := fullPlanInput("db-down")
	out, err := c.CreateResponsePlan(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Arn)
	if arn != "arn:aws:ssm-incidents::"+testserver.AccountA+":response-plan/db-down" {
		t.Fatalf("arn %s", arn)
	}
	got, err := c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Arn) != arn || aws.ToString(got.Name) != "db-down" || aws.ToString(got.DisplayName) != "Display db-down" {
		t.Fatalf("plan %+v", got)
	}
	if !reflect.DeepEqual(got.IncidentTemplate, in.IncidentTemplate) {
		t.Fatalf("template\n got %+v\nwant %+v", got.IncidentTemplate, in.IncidentTemplate)
	}
	if !reflect.DeepEqual(got.ChatChannel, in.ChatChannel) || !reflect.DeepEqual(got.Engagements, in.Engagements) ||
		!reflect.DeepEqual(got.Actions, in.Actions) || !reflect.DeepEqual(got.Integrations, in.Integrations) {
		t.Fatalf("plan members differ:\n got %#v %#v %#v %#v", got.ChatChannel, got.Engagements, got.Actions, got.Integrations)
	}
	tags, err := c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &arn})
	if err != nil || !reflect.DeepEqual(tags.Tags, map[string]string{"owner": "sre"}) {
		t.Fatalf("tags %v %v", tags, err)
	}

	_, err = c.CreateResponsePlan(ctx, fullPlanInput("db-down"))
	ce := wantAPIError[*types.ConflictException](t, err, "ConflictException")
	if aws.ToString(ce.ResourceIdentifier) != arn || ce.ResourceType != types.ResourceTypeResponsePlan {
		t.Fatalf("conflict %+v", ce)
	}
}

func TestUpdateResponsePlanChangesOnlyWhatIsGiven(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	in := fullPlanInput("p")
	out, err := c.CreateResponsePlan(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Arn)
	get := func() *ssmincidents.GetResponsePlanOutput {
		t.Helper()
		got, err := c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &arn})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// Nothing given: nothing changes.
	before := get()
	if _, err := c.UpdateResponsePlan(ctx, &ssmincidents.UpdateResponsePlanInput{Arn: &arn}); err != nil {
		t.Fatal(err)
	}
	if after := get(); !reflect.DeepEqual(before.IncidentTemplate, after.IncidentTemplate) || !reflect.DeepEqual(before.Actions, after.Actions) {
		t.Fatal("an empty update changed the plan")
	}

	steps := []struct {
		name   string
		update ssmincidents.UpdateResponsePlanInput
		check  func(g *ssmincidents.GetResponsePlanOutput) bool
	}{
		{"title", ssmincidents.UpdateResponsePlanInput{IncidentTemplateTitle: aws.String("New title")},
			func(g *ssmincidents.GetResponsePlanOutput) bool {
				return aws.ToString(g.IncidentTemplate.Title) == "New title"
			}},
		{"impact", ssmincidents.UpdateResponsePlanInput{IncidentTemplateImpact: aws.Int32(4)},
			func(g *ssmincidents.GetResponsePlanOutput) bool { return aws.ToInt32(g.IncidentTemplate.Impact) == 4 }},
		{"summary", ssmincidents.UpdateResponsePlanInput{IncidentTemplateSummary: aws.String("s2")},
			func(g *ssmincidents.GetResponsePlanOutput) bool {
				return aws.ToString(g.IncidentTemplate.Summary) == "s2"
			}},
		{"dedupe", ssmincidents.UpdateResponsePlanInput{IncidentTemplateDedupeString: aws.String("d2")},
			func(g *ssmincidents.GetResponsePlanOutput) bool {
				return aws.ToString(g.IncidentTemplate.DedupeString) == "d2"
			}},
		{"displayName", ssmincidents.UpdateResponsePlanInput{DisplayName: aws.String("Shown")},
			func(g *ssmincidents.GetResponsePlanOutput) bool { return aws.ToString(g.DisplayName) == "Shown" }},
		{"notificationTargets", ssmincidents.UpdateResponsePlanInput{IncidentTemplateNotificationTargets: []types.NotificationTargetItem{
			&types.NotificationTargetItemMemberSnsTopicArn{Value: "arn:aws:sns:us-east-1:111122223333:a"},
			&types.NotificationTargetItemMemberSnsTopicArn{Value: "arn:aws:sns:us-east-1:111122223333:b"},
		}}, func(g *ssmincidents.GetResponsePlanOutput) bool {
			return len(g.IncidentTemplate.NotificationTargets) == 2
		}},
		{"tags replace", ssmincidents.UpdateResponsePlanInput{IncidentTemplateTags: map[string]string{"x": "1"}},
			func(g *ssmincidents.GetResponsePlanOutput) bool {
				return reflect.DeepEqual(g.IncidentTemplate.IncidentTags, map[string]string{"x": "1"})
			}},
		{"tags clear", ssmincidents.UpdateResponsePlanInput{IncidentTemplateTags: map[string]string{}},
			func(g *ssmincidents.GetResponsePlanOutput) bool { return len(g.IncidentTemplate.IncidentTags) == 0 }},
		{"engagements", ssmincidents.UpdateResponsePlanInput{Engagements: []string{"arn:aws:ssm-contacts:us-east-1:111122223333:contact/b"}},
			func(g *ssmincidents.GetResponsePlanOutput) bool {
				return reflect.DeepEqual(g.Engagements, []string{"arn:aws:ssm-contacts:us-east-1:111122223333:contact/b"})
			}},
		{"chat channel empty", ssmincidents.UpdateResponsePlanInput{ChatChannel: &types.ChatChannelMemberEmpty{Value: types.EmptyChatChannel{}}},
			func(g *ssmincidents.GetResponsePlanOutput) bool {
				_, ok := g.ChatChannel.(*types.ChatChannelMemberEmpty)
				return ok
			}},
		{"actions", ssmincidents.UpdateResponsePlanInput{Actions: []types.Action{}},
			func(g *ssmincidents.GetResponsePlanOutput) bool { return len(g.Actions) == 0 }},
		{"integrations", ssmincidents.UpdateResponsePlanInput{Integrations: []types.Integration{}},
			func(g *ssmincidents.GetResponsePlanOutput) bool { return len(g.Integrations) == 0 }},
	}
	for _, st := range steps {
		before := get()
		u := st.update
		u.Arn = &arn
		if _, err := c.UpdateResponsePlan(ctx, &u); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		after := get()
		if !st.check(after) {
			t.Fatalf("%s: not applied: %+v", st.name, after)
		}
		// Everything else stays: undo the intended change on a copy and compare.
		if st.name == "title" && (aws.ToInt32(after.IncidentTemplate.Impact) != aws.ToInt32(before.IncidentTemplate.Impact) ||
			aws.ToString(after.IncidentTemplate.Summary) != aws.ToString(before.IncidentTemplate.Summary) ||
			!reflect.DeepEqual(after.Actions, before.Actions) || !reflect.DeepEqual(after.ChatChannel, before.ChatChannel)) {
			t.Fatalf("%s changed other members", st.name)
		}
		if st.name == "impact" && aws.ToString(after.IncidentTemplate.Title) != "New title" {
			t.Fatalf("impact update lost the title")
		}
	}

	missing := "arn:aws:ssm-incidents::" + testserver.AccountA + ":response-plan/nope"
	_, err = c.UpdateResponsePlan(ctx, &ssmincidents.UpdateResponsePlanInput{Arn: &missing, DisplayName: aws.String("x")})
	nf := wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	if aws.ToString(nf.ResourceIdentifier) != missing || nf.ResourceType != types.ResourceTypeResponsePlan {
		t.Fatalf("not found %+v", nf)
	}
}

func TestDeleteResponsePlan(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	arn := createPlan(t, c, "gone")
	if _, err := c.DeleteResponsePlan(ctx, &ssmincidents.DeleteResponsePlanInput{Arn: &arn}); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &arn})
	wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	_, err = c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &arn})
	wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	// Deleting again succeeds: DeleteResponsePlan is idempotent.
	if _, err := c.DeleteResponsePlan(ctx, &ssmincidents.DeleteResponsePlanInput{Arn: &arn}); err != nil {
		t.Fatal(err)
	}
	// A plan re-created under the name starts without the old tags.
	createPlan(t, c, "gone")
	tags, err := c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &arn})
	if err != nil || len(tags.Tags) != 0 {
		t.Fatalf("tags %v %v", tags, err)
	}
	// An ARN that is not a response plan's is refused.
	bad := "arn:aws:ssm-incidents::" + testserver.AccountA + ":replication-set/x"
	_, err = c.DeleteResponsePlan(ctx, &ssmincidents.DeleteResponsePlanInput{Arn: &bad})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
}

func TestCreateResponsePlanNeedsReplicationSet(t *testing.T) {
	srv := start(t)
	_, err := srv.A().CreateResponsePlan(ctx, fullPlanInput("early"))
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
}

func TestListResponsePlansPaginates(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	var want []string
	for i := range 23 {
		name := fmt.Sprintf("plan-%02d", i)
		createPlan(t, c, name)
		want = append(want, name)
	}
	var got []string
	pages := 0
	p := ssmincidents.NewListResponsePlansPaginator(c, &ssmincidents.ListResponsePlansInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.ResponsePlanSummaries) > 5 {
			t.Fatalf("page of %d", len(page.ResponsePlanSummaries))
		}
		for _, s := range page.ResponsePlanSummaries {
			got = append(got, aws.ToString(s.Name))
			if aws.ToString(s.Arn) != "arn:aws:ssm-incidents::"+testserver.AccountA+":response-plan/"+aws.ToString(s.Name) {
				t.Fatalf("summary %+v", s)
			}
		}
		// A plan added mid-listing before the cursor does not shift pages.
		if pages == 2 {
			createPlan(t, c, "aaa-early")
		}
	}
	if pages != 5 || !sort.StringsAreSorted(got) || !reflect.DeepEqual(got, want) {
		t.Fatalf("pages %d got %v", pages, got)
	}

	// Tokens are verified: forged, altered and foreign tokens are refused.
	first, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{MaxResults: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("%v %v", first, err)
	}
	tok := aws.ToString(first.NextToken)
	for _, bad := range []string{"garbage", tok + "x", "x" + tok} {
		_, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{NextToken: aws.String(bad)})
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	}
	_, err = c.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{NextToken: &tok})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	setUp(t, srv.B())
	_, err = srv.B().ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{NextToken: &tok})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
}

func TestAccountsAreIsolated(t *testing.T) {
	srv := start(t)
	a, b := srv.A(), srv.B()
	rsA := setUp(t, a)
	planA := createPlan(t, a, "shared-name")

	// B may neither read nor change A's resources: no resource policy
	// shares them.
	_, err := b.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: &rsA})
	wantCrossAccountDenied(t, err, testserver.AccountB, "GetReplicationSet", rsA)
	_, err = b.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &planA})
	wantCrossAccountDenied(t, err, testserver.AccountB, "GetResponsePlan", planA)
	_, err = b.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &planA})
	wantCrossAccountDenied(t, err, testserver.AccountB, "ListTagsForResource", planA)
	_, err = b.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &planA, Tags: map[string]string{"k": "v"}})
	wantCrossAccountDenied(t, err, testserver.AccountB, "TagResource", planA)
	_, err = b.UpdateResponsePlan(ctx, &ssmincidents.UpdateResponsePlanInput{Arn: &planA, DisplayName: aws.String("hijack")})
	wantCrossAccountDenied(t, err, testserver.AccountB, "UpdateResponsePlan", planA)
	_, err = b.DeleteReplicationSet(ctx, &ssmincidents.DeleteReplicationSetInput{Arn: &rsA})
	wantCrossAccountDenied(t, err, testserver.AccountB, "DeleteReplicationSet", rsA)
	_, err = b.DeleteResponsePlan(ctx, &ssmincidents.DeleteResponsePlanInput{Arn: &planA})
	wantCrossAccountDenied(t, err, testserver.AccountB, "DeleteResponsePlan", planA)
	lb, _ := b.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
	pb, _ := b.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	if len(lb.ReplicationSetArns) != 0 || len(pb.ResponsePlanSummaries) != 0 {
		t.Fatalf("B lists A's resources: %v %v", lb.ReplicationSetArns, pb.ResponsePlanSummaries)
	}

	// B has its own set and its own plan of the same name.
	rsB := setUp(t, b)
	planB := createPlan(t, b, "shared-name")
	if rsB == rsA || planB == planA {
		t.Fatal("accounts share ARNs")
	}
	// A's plan is untouched by all of it.
	got, err := a.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &planA})
	if err != nil || got.DisplayName != nil {
		t.Fatalf("A's plan: %+v %v", got, err)
	}
	tags, _ := a.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &planA})
	if len(tags.Tags) != 0 {
		t.Fatalf("A's plan got B's tags: %v", tags.Tags)
	}
}
