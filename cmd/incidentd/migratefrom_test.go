package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/testserver"
)

// recordFinding posts a change to POST /x/findings, as the README says.
func recordFinding(t *testing.T, endpoint string, body string) {
	t.Helper()
	if resp := signedPost(t, endpoint, "/x/findings", body, testKey, testSecret); resp.Status != 200 {
		t.Fatalf("POST /x/findings: %d %s", resp.Status, resp.Body)
	}
}

// deploymentState reads everything of the test's account through the SDK,
// each answer as JSON by what it is.
func deploymentState(t *testing.T, c *ssmincidents.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	state := map[string]string{}
	put := func(key string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		state[key] = string(b)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	sets, err := c.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
	must("ListReplicationSets", err)
	put("replication sets", sets.ReplicationSetArns)
	for _, arn := range sets.ReplicationSetArns {
		rs, err := c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: aws.String(arn)})
		must("GetReplicationSet", err)
		put("replication set "+arn, rs.ReplicationSet)
	}
	var plans []types.ResponsePlanSummary
	for p := ssmincidents.NewListResponsePlansPaginator(c, &ssmincidents.ListResponsePlansInput{MaxResults: aws.Int32(1)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		must("ListResponsePlans", err)
		plans = append(plans, out.ResponsePlanSummaries...)
	}
	put("plans", plans)
	for _, s := range plans {
		plan, err := c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: s.Arn})
		must("GetResponsePlan", err)
		plan.ResultMetadata = ssmincidents.GetResponsePlanOutput{}.ResultMetadata
		put("plan "+*s.Arn, plan)
		tags, err := c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: s.Arn})
		must("ListTagsForResource", err)
		put("tags "+*s.Arn, tags.Tags)
		pol, err := c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: s.Arn})
		must("GetResourcePolicies", err)
		put("policies "+*s.Arn, pol.ResourcePolicies)
	}
	var incidents []types.IncidentRecordSummary
	for p := ssmincidents.NewListIncidentRecordsPaginator(c, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(2)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		must("ListIncidentRecords", err)
		incidents = append(incidents, out.IncidentRecordSummaries...)
	}
	put("incidents", incidents)
	for _, s := range incidents {
		arn := s.Arn
		r, err := c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: arn})
		must("GetIncidentRecord", err)
		put("incident "+*arn, r.IncidentRecord)
		var events []types.EventSummary
		for p := ssmincidents.NewListTimelineEventsPaginator(c, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: arn, MaxResults: aws.Int32(2)}); p.HasMorePages(); {
			out, err := p.NextPage(ctx)
			must("ListTimelineEvents", err)
			events = append(events, out.EventSummaries...)
		}
		put("timeline "+*arn, events)
		for _, e := range events {
			ev, err := c.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: arn, EventId: e.EventId})
			must("GetTimelineEvent", err)
			put("event "+*e.EventId, ev.Event)
		}
		var items []types.RelatedItem
		for p := ssmincidents.NewListRelatedItemsPaginator(c, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: arn, MaxResults: aws.Int32(1)}); p.HasMorePages(); {
			out, err := p.NextPage(ctx)
			must("ListRelatedItems", err)
			items = append(items, out.RelatedItems...)
		}
		put("related items "+*arn, items)
		fs, err := c.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: arn})
		must("ListIncidentFindings", err)
		put("findings "+*arn, fs.Findings)
		if len(fs.Findings) > 0 {
			var ids []string
			for _, f := range fs.Findings {
				ids = append(ids, *f.Id)
			}
			got, err := c.BatchGetIncidentFindings(ctx, &ssmincidents.BatchGetIncidentFindingsInput{IncidentRecordArn: arn, FindingIds: ids})
			must("BatchGetIncidentFindings", err)
			put("finding details "+*arn, got.Findings)
		}
	}
	return state
}

func relatedURL(u string) types.ItemIdentifier {
	return types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: u}}
}

// TestMigrateFromSQLiteKeepsEverything builds a deployment on the embedded
// database, copies it with incidentd migrate --from-sqlite into a fresh
// PostgreSQL database, and serves it from there: everything reads back the
// same, page tokens and clientTokens given out before keep working, and new
// writes take new sequence numbers.
func TestMigrateFromSQLiteKeepsEverything(t *testing.T) {
	url := testserver.PostgresDatabase(t)
	ctx := context.Background()
	data := dataDir(t)
	p := startServerArgs(t, data, freeAddr(t), unlimited, rootEnv()...)
	c := client(p.endpoint, testKey, testSecret)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	_, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}})
	must("CreateReplicationSet", err)
	var planARNs []string
	for i, name := range []string{"web", "db", "queue"} {
		out, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
			Name:             aws.String(name),
			DisplayName:      aws.String("Plan " + name),
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String(name + " is down"), Impact: aws.Int32(int32(i + 1)), Summary: aws.String("summary of " + name)},
			Tags:             map[string]string{"team": "ops", "plan": name},
			ClientToken:      aws.String("plan-" + name),
		})
		must("CreateResponsePlan", err)
		planARNs = append(planARNs, *out.Arn)
	}
	for _, plan := range planARNs[:2] {
		for _, sid := range []string{"ShareOne", "ShareTwo"} {
			_, err := c.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: aws.String(plan), Policy: aws.String(`{
  "Version": "2012-10-17",
  "Statement": [{"Sid": "` + sid + `", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
    "Action": ["ssm-incidents:GetResponsePlan", "ssm-incidents:StartIncident"], "Resource": ["` + plan + `"]}]
}`)})
			must("PutResourcePolicy", err)
		}
	}
	recordFinding(t, p.endpoint, fmt.Sprintf(`{"codeDeployDeployment": {"deploymentGroupArn": "arn:aws:codedeploy:us-east-1:%s:deploymentgroup:shop/web",
		"deploymentId": "d-A1B2C3D4E", "startTime": %d}}`, testAccount, time.Now().Add(-10*time.Minute).Unix()))
	recordFinding(t, p.endpoint, fmt.Sprintf(`{"cloudFormationStackUpdate": {"stackArn": "arn:aws:cloudformation:us-east-1:%s:stack/shop/1a2b3c4d-0000-0000-0000-000000000000",
		"startTime": %d, "endTime": %d}}`, testAccount, time.Now().Add(-20*time.Minute).Unix(), time.Now().Add(-5*time.Minute).Unix()))

	startInput := func(i int) *ssmincidents.StartIncidentInput {
		return &ssmincidents.StartIncidentInput{
			ResponsePlanArn: aws.String(planARNs[i%len(planARNs)]),
			Title:           aws.String(fmt.Sprintf("incident %d", i)),
			ClientToken:     aws.String(fmt.Sprintf("start-%d", i)),
			RelatedItems:    []types.RelatedItem{{Identifier: ptr(relatedURL(fmt.Sprintf("https://example.com/start/%d", i))), Title: aws.String("first")}},
		}
	}
	var incidents []string
	var eventInput *ssmincidents.CreateTimelineEventInput // replayed on PostgreSQL
	var eventID string                                    // its answer
	for i := range 7 {
		out, err := c.StartIncident(ctx, startInput(i))
		must("StartIncident", err)
		incidents = append(incidents, *out.IncidentRecordArn)
	}
	for i, arn := range incidents {
		_, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arn), Summary: aws.String(fmt.Sprintf("now %d", i)),
			ClientToken: aws.String(fmt.Sprintf("update-%d", i))})
		must("UpdateIncidentRecord", err)
		for j := range 3 {
			in := &ssmincidents.CreateTimelineEventInput{IncidentRecordArn: aws.String(arn), EventTime: aws.Time(time.Now().Add(-time.Duration(j) * time.Minute)),
				EventType: aws.String("Custom Event"), EventData: aws.String(fmt.Sprintf("note %d of %d", j, i)),
				EventReferences: []types.EventReference{&types.EventReferenceMemberResource{Value: planARNs[0]}},
				ClientToken:     aws.String(fmt.Sprintf("event-%d-%d", i, j))}
			out, err := c.CreateTimelineEvent(ctx, in)
			must("CreateTimelineEvent", err)
			if i == 1 && j == 0 {
				eventInput, eventID = in, *out.EventId
			}
		}
		for j := range 3 {
			_, err := c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{IncidentRecordArn: aws.String(arn), ClientToken: aws.String(fmt.Sprintf("item-%d-%d", i, j)),
				RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToAdd{Value: types.RelatedItem{
					Identifier: ptr(relatedURL(fmt.Sprintf("https://example.com/%d/%d", i, j))), Title: aws.String(fmt.Sprintf("item %d", j))}}})
			must("UpdateRelatedItems", err)
		}
		// The last item removed: positions are not reused after it.
		_, err = c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{IncidentRecordArn: aws.String(arn),
			RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToRemove{Value: relatedURL(fmt.Sprintf("https://example.com/%d/2", i))}})
		must("UpdateRelatedItems remove", err)
		if i%3 == 0 {
			_, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arn), Status: types.IncidentRecordStatusResolved})
			must("resolve", err)
		}
	}
	first, err := c.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(1)})
	must("ListIncidentRecords", err)
	if first.NextToken == nil {
		t.Fatal("ListIncidentRecords of one gave no page token")
	}
	pageToken := *first.NextToken
	second, err := c.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(1), NextToken: aws.String(pageToken)})
	must("ListIncidentRecords page 2", err)
	before := deploymentState(t, c)
	stop(t, p)

	// Refusals first: they leave the target empty.
	if _, stderr, code := incidentd(t, []string{"INCIDENTD_DATABASE_URL="}, "migrate", "--from-sqlite", data); code != 2 || !strings.Contains(stderr, "--database-url") {
		t.Errorf("--from-sqlite without --database-url: exit %d, stderr %q", code, stderr)
	}
	empty := dataDir(t)
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := incidentd(t, nil, "migrate", "--from-sqlite", empty, "--database-url", url); code != 1 || !strings.Contains(stderr, "no database") {
		t.Errorf("--from-sqlite of a directory without a database: exit %d, stderr %q", code, stderr)
	}

	began := time.Now()
	stdout, stderr, code := incidentd(t, nil, "migrate", "--from-sqlite", data, "--database-url", url)
	if code != 0 {
		t.Fatalf("migrate --from-sqlite: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("migrate --from-sqlite took %v:\n%s", time.Since(began), stdout)
	for _, table := range []string{"replication_sets", "response_plans", "tags", "secrets", "incident_records", "timeline_events",
		"related_items", "idempotency_records", "deliveries", "resource_policies", "findings", "leases"} {
		if !strings.Contains(stdout, "incidentd: "+table+" ") {
			t.Errorf("the summary has no line of %s:\n%s", table, stdout)
		}
	}

	pg := startServerArgs(t, dataDir(t), freeAddr(t), append(slices.Clone(unlimited), "--database-url", url), rootEnv()...)
	c = client(pg.endpoint, testKey, testSecret)
	after := deploymentState(t, c)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s on PostgreSQL:\n got %s\nwant %s", k, after[k], v)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s appeared on PostgreSQL: %s", k, after[k])
		}
	}

	// The page token given out on SQLite resumes the listing.
	again, err := c.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(1), NextToken: aws.String(pageToken)})
	must("ListIncidentRecords with the old page token", err)
	if !reflect.DeepEqual(again.IncidentRecordSummaries, second.IncidentRecordSummaries) || aws.ToString(again.NextToken) == "" {
		t.Errorf("the old page token gives %+v, want %+v", again.IncidentRecordSummaries, second.IncidentRecordSummaries)
	}
	// A replayed clientToken answers as the first time, and changes nothing.
	replay, err := c.StartIncident(ctx, startInput(3))
	must("StartIncident replayed", err)
	if *replay.IncidentRecordArn != incidents[3] {
		t.Errorf("the replayed StartIncident answers %s, want %s", *replay.IncidentRecordArn, incidents[3])
	}
	ev, err := c.CreateTimelineEvent(ctx, eventInput)
	must("CreateTimelineEvent replayed", err)
	if *ev.EventId != eventID {
		t.Errorf("the replayed CreateTimelineEvent answers %s, want %s", *ev.EventId, eventID)
	}
	if now := deploymentState(t, c); !reflect.DeepEqual(now, before) {
		for k, v := range before {
			if now[k] != v {
				t.Errorf("after the replays, %s changed:\n got %s\nwant %s", k, now[k], v)
			}
		}
	}

	// New writes take new sequence numbers.
	fresh, err := c.StartIncident(ctx, startInput(100))
	must("StartIncident on PostgreSQL", err)
	for j := range 3 {
		_, err := c.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{IncidentRecordArn: aws.String(incidents[j]), EventTime: aws.Time(time.Now()),
			EventType: aws.String("Custom Event"), EventData: aws.String("after the move")})
		must("CreateTimelineEvent on PostgreSQL", err)
	}
	for j := range 3 {
		out, err := c.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: aws.String(incidents[j]),
			SortBy: types.TimelineEventSortEventTime, SortOrder: types.SortOrderDescending, MaxResults: aws.Int32(1)})
		must("ListTimelineEvents", err)
		if len(out.EventSummaries) != 1 || *out.EventSummaries[0].EventType != "Custom Event" {
			t.Errorf("the newest event of %s: %+v", incidents[j], out.EventSummaries)
		}
	}
	_, err = c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{IncidentRecordArn: aws.String(incidents[0]),
		RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToAdd{Value: types.RelatedItem{Identifier: ptr(relatedURL("https://example.com/after")), Title: aws.String("after")}}})
	must("UpdateRelatedItems on PostgreSQL", err)
	_, err = c.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: aws.String(planARNs[2]), Policy: aws.String(`{
  "Version": "2012-10-17",
  "Statement": [{"Sid": "After", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
    "Action": ["ssm-incidents:GetResponsePlan"], "Resource": ["` + planARNs[2] + `"]}]
}`)})
	must("PutResourcePolicy on PostgreSQL", err)
	pols, err := c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: aws.String(planARNs[2])})
	must("GetResourcePolicies", err)
	if len(pols.ResourcePolicies) != 1 {
		t.Errorf("the new plan's policies: %+v", pols.ResourcePolicies)
	}
	items, err := c.ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: aws.String(incidents[0])})
	must("ListRelatedItems", err)
	if n := len(items.RelatedItems); n != 4 { // first, item 0, item 1, after
		t.Errorf("incident 0 has %d related items after the move, want 4: %+v", n, items.RelatedItems)
	}
	list, err := c.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{})
	must("ListIncidentRecords", err)
	if len(list.IncidentRecordSummaries) != len(incidents)+1 || !slices.ContainsFunc(list.IncidentRecordSummaries, func(s types.IncidentRecordSummary) bool { return *s.Arn == *fresh.IncidentRecordArn }) {
		t.Errorf("after a new incident the list holds %d", len(list.IncidentRecordSummaries))
	}
	stop(t, pg)

	// The target is no longer empty: a second copy is refused.
	if _, stderr, code := incidentd(t, nil, "migrate", "--from-sqlite", data, "--database-url", url); code != 1 || !strings.Contains(stderr, "not empty") {
		t.Errorf("a second migrate --from-sqlite into the same database: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(data); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestMigrateFromSQLiteRefusesNewerSchema: a database written by a newer
// incidentd is not copied, and the target stays empty of data.
func TestMigrateFromSQLiteRefusesNewerSchema(t *testing.T) {
	url := testserver.PostgresDatabase(t)
	data, path := newerDatabase(t)
	sum := sha256.Sum256(mustRead(t, path))
	_, errOut, code := incidentd(t, nil, "migrate", "--from-sqlite", data, "--database-url", url)
	if code != 1 || !strings.Contains(errOut, "database schema version 9999 is newer than this incidentd knows (") {
		t.Errorf("migrate --from-sqlite of a newer database: exit %d\n%s", code, errOut)
	}
	if sha256.Sum256(mustRead(t, path)) != sum {
		t.Error("the refused database changed")
	}
}
