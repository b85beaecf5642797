package service_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/incidentd/incidentd/internal/testserver"
	"github.com/jackc/pgx/v5"
)

const (
	idemStartEvent  = "SSM Incident Start"
	idemUpdateEvent = "SSM Incident Record Update"
)

// idemStart starts an incident from plan with an explicit clientToken (none
// when token is empty) and, when title is not empty, a title.
func idemStart(c *ssmincidents.Client, plan, token, title string) (string, error) {
	in := &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan)}
	if token != "" {
		in.ClientToken = aws.String(token)
	}
	if title != "" {
		in.Title = aws.String(title)
	}
	out, err := c.StartIncident(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.IncidentRecordArn), nil
}

// idemMustStart is idemStart that fails the test on an error.
func idemMustStart(t *testing.T, c *ssmincidents.Client, plan, token, title string) string {
	t.Helper()
	arn, err := idemStart(c, plan, token, title)
	if err != nil {
		t.Fatalf("StartIncident (token %q, title %q): %v", token, title, err)
	}
	return arn
}

// idemRecords lists the ARNs of every incident record of the client's account.
func idemRecords(t *testing.T, c *ssmincidents.Client) []string {
	t.Helper()
	var arns []string
	for _, s := range irList(t, c, nil, 100) {
		arns = append(arns, aws.ToString(s.Arn))
	}
	return arns
}

// idemEvents lists the timeline events of an incident whose type is
// eventType, filtering on the client side.
func idemEvents(t *testing.T, c *ssmincidents.Client, incident, eventType string) []types.EventSummary {
	t.Helper()
	var events []types.EventSummary
	for _, e := range tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: aws.String(incident)}, 100) {
		if aws.ToString(e.EventType) == eventType {
			events = append(events, e)
		}
	}
	return events
}

// idemUpdatedTitles returns, for each "SSM Incident Record Update" event of
// the incident, the new title it reports ("" when the event did not change
// the title).
func idemUpdatedTitles(t *testing.T, c *ssmincidents.Client, incident string) []string {
	t.Helper()
	var titles []string
	for _, e := range idemEvents(t, c, incident, idemUpdateEvent) {
		got, err := c.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: aws.String(incident), EventId: e.EventId})
		if err != nil {
			t.Fatalf("GetTimelineEvent: %v", err)
		}
		var data tlUpdateData
		if err := json.Unmarshal([]byte(aws.ToString(got.Event.EventData)), &data); err != nil {
			t.Fatalf("eventData %q: %v", aws.ToString(got.Event.EventData), err)
		}
		title := ""
		for _, a := range data.ModifiedAttributes {
			if aws.ToString(a.AttributeName) == "title" {
				title = aws.ToString(a.NewValue)
			}
		}
		titles = append(titles, title)
	}
	return titles
}

// idemNotifyingPlan creates a response plan whose incidents notify an SNS
// topic, so that their changes queue notifications, and returns its ARN.
func idemNotifyingPlan(t *testing.T, c *ssmincidents.Client, name string) string {
	t.Helper()
	out, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name: aws.String(name),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Title of " + name), Impact: aws.Int32(3),
			NotificationTargets: []types.NotificationTargetItem{&types.NotificationTargetItemMemberSnsTopicArn{Value: "arn:aws:sns:us-east-1:" + testserver.AccountA + ":incidents"}}},
	})
	if err != nil {
		t.Fatalf("CreateResponsePlan %s: %v", name, err)
	}
	return aws.ToString(out.Arn)
}

// idemNotifications counts the notifications queued for an incident with
// detail type detailType, reading the server's database, embedded or
// PostgreSQL.
func idemNotifications(t *testing.T, srv *testserver.Server, incident, detailType string) int {
	t.Helper()
	var n int
	if url := srv.Main.Config.DatabaseURL; url != "" {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, `SELECT COUNT(DISTINCT id) FROM deliveries WHERE incident_arn = $1 AND detail_type = $2`, incident, detailType).Scan(&n); err != nil {
			t.Fatalf("count notifications: %v", err)
		}
		return n
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(srv.DataDir, sqlite.FileName)+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT COUNT(DISTINCT id) FROM deliveries WHERE incident_arn = ? AND detail_type = ?`, incident, detailType).Scan(&n); err != nil {
		t.Fatalf("count notifications: %v", err)
	}
	return n
}

func idemCount(values []string, v string) int {
	n := 0
	for _, x := range values {
		if x == v {
			n++
		}
	}
	return n
}

func idemPlan(t *testing.T, c *ssmincidents.Client, arn string) *ssmincidents.GetResponsePlanOutput {
	t.Helper()
	got, err := c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: aws.String(arn)})
	if err != nil {
		t.Fatalf("GetResponsePlan: %v", err)
	}
	return got
}

func idemReplicationSet(t *testing.T, c *ssmincidents.Client, arn string) *types.ReplicationSet {
	t.Helper()
	got, err := c.GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: aws.String(arn)})
	if err != nil {
		t.Fatalf("GetReplicationSet: %v", err)
	}
	return got.ReplicationSet
}

func idemUpdateTitle(c *ssmincidents.Client, incident, token, title string) error {
	in := &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(incident), Title: aws.String(title)}
	if token != "" {
		in.ClientToken = aws.String(token)
	}
	_, err := c.UpdateIncidentRecord(ctx, in)
	return err
}

func idemAddRegion(region string) []types.UpdateReplicationSetAction {
	return []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberAddRegionAction{Value: types.AddRegionAction{RegionName: aws.String(region)}},
	}
}

func TestClientTokenStartIncident(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	plan := idemNotifyingPlan(t, c, "start-token")

	arn := idemMustStart(t, c, plan, "start-token-1", "Disk full")
	again := idemMustStart(t, c, plan, "start-token-1", "Disk full")
	if again != arn {
		t.Fatalf("replay returned %s, first call %s", again, arn)
	}
	if got := idemRecords(t, c); len(got) != 1 || got[0] != arn {
		t.Fatalf("records after a replayed StartIncident: %v, want [%s]", got, arn)
	}
	if n := len(idemEvents(t, c, arn, idemStartEvent)); n != 1 {
		t.Fatalf("%d %q events after a replayed StartIncident, want 1", n, idemStartEvent)
	}
	if n := idemNotifications(t, srv, arn, idemStartEvent); n != 1 {
		t.Fatalf("%d start notifications after a replayed StartIncident, want 1", n)
	}

	// The same token with another title is another request.
	_, err := idemStart(c, plan, "start-token-1", "Disk very full")
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	if got := idemRecords(t, c); len(got) != 1 {
		t.Fatalf("records after a refused token reuse: %v", got)
	}
	if title := aws.ToString(irGet(t, c, arn).Title); title != "Disk full" {
		t.Fatalf("title after a refused token reuse: %q", title)
	}
	// The token still answers its first request.
	if again := idemMustStart(t, c, plan, "start-token-1", "Disk full"); again != arn {
		t.Fatalf("replay after a refused reuse returned %s, want %s", again, arn)
	}

	// Another token is a new incident.
	other := idemMustStart(t, c, plan, "start-token-2", "Disk full")
	if other == arn {
		t.Fatal("a new clientToken returned the first incident")
	}
	if got := idemRecords(t, c); len(got) != 2 {
		t.Fatalf("records after a second token: %v", got)
	}
}

func TestClientTokenFailedRequestIsNotRemembered(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	plan := "arn:aws:ssm-incidents::" + testserver.AccountA + ":response-plan/later"
	_, err := idemStart(c, plan, "failed-first", "")
	wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	if got := createPlan(t, c, "later"); got != plan {
		t.Fatalf("plan %s, want %s", got, plan)
	}
	arn := idemMustStart(t, c, plan, "failed-first", "")
	if got := idemRecords(t, c); len(got) != 1 || got[0] != arn {
		t.Fatalf("records %v, want [%s]", got, arn)
	}
}

func TestClientTokenUpdateIncidentRecord(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	arn := idemMustStart(t, c, idemNotifyingPlan(t, c, "update-token"), "", "")

	if err := idemUpdateTitle(c, arn, "update-1", "Title A"); err != nil {
		t.Fatal(err)
	}
	if err := idemUpdateTitle(c, arn, "update-2", "Title B"); err != nil {
		t.Fatal(err)
	}
	// Applied again, update-1 would set the title back to A and add an event.
	if err := idemUpdateTitle(c, arn, "update-1", "Title A"); err != nil {
		t.Fatalf("replay of update-1: %v", err)
	}
	if title := aws.ToString(irGet(t, c, arn).Title); title != "Title B" {
		t.Fatalf("title after replaying update-1: %q, want %q", title, "Title B")
	}
	titles := idemUpdatedTitles(t, c, arn)
	if len(titles) != 2 || idemCount(titles, "Title A") != 1 || idemCount(titles, "Title B") != 1 {
		t.Fatalf("update events report titles %q, want one for Title A and one for Title B", titles)
	}
	if n := idemNotifications(t, srv, arn, idemUpdateEvent); n != 2 {
		t.Fatalf("%d update notifications, want 2", n)
	}

	// The same token with other parameters.
	err := idemUpdateTitle(c, arn, "update-1", "Title C")
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	_, err = c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{
		Arn: aws.String(arn), Title: aws.String("Title A"), Impact: aws.Int32(1), ClientToken: aws.String("update-1"),
	})
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	rec := irGet(t, c, arn)
	if aws.ToString(rec.Title) != "Title B" || aws.ToInt32(rec.Impact) != 3 {
		t.Fatalf("after refused token reuses: title %q impact %d", aws.ToString(rec.Title), aws.ToInt32(rec.Impact))
	}
	if n := len(idemEvents(t, c, arn, idemUpdateEvent)); n != 2 {
		t.Fatalf("%d update events after refused token reuses, want 2", n)
	}
	if n := idemNotifications(t, srv, arn, idemUpdateEvent); n != 2 {
		t.Fatalf("%d update notifications after refused token reuses, want 2", n)
	}
}

func TestClientTokenCreateReplicationSet(t *testing.T) {
	srv := start(t)
	c := srv.A()
	in := func(region string) *ssmincidents.CreateReplicationSetInput {
		return &ssmincidents.CreateReplicationSetInput{
			Regions:     map[string]types.RegionMapInputValue{region: {}},
			ClientToken: aws.String("create-set-1"),
		}
	}
	first, err := c.CreateReplicationSet(ctx, in("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(first.Arn)
	again, err := c.CreateReplicationSet(ctx, in("us-east-1"))
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if aws.ToString(again.Arn) != arn {
		t.Fatalf("replay returned %s, first call %s", aws.ToString(again.Arn), arn)
	}
	list, err := c.ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
	if err != nil || len(list.ReplicationSetArns) != 1 || list.ReplicationSetArns[0] != arn {
		t.Fatalf("replication sets %v %v", list, err)
	}

	// Without the token, the same request is refused: the set exists.
	_, err = c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}})
	ce := wantAPIError[*types.ConflictException](t, err, "ConflictException")
	if aws.ToString(ce.ResourceIdentifier) != arn {
		t.Fatalf("conflict names %q, want %s", aws.ToString(ce.ResourceIdentifier), arn)
	}

	_, err = c.CreateReplicationSet(ctx, in("us-west-2"))
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	rs := idemReplicationSet(t, c, arn)
	if _, ok := rs.RegionMap["us-west-2"]; ok || len(rs.RegionMap) != 1 {
		t.Fatalf("regions after a refused token reuse: %v", rs.RegionMap)
	}
}

func TestClientTokenCreateResponsePlan(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	in := func(name, title string) *ssmincidents.CreateResponsePlanInput {
		return &ssmincidents.CreateResponsePlanInput{
			Name:             aws.String(name),
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String(title), Impact: aws.Int32(2)},
			ClientToken:      aws.String("create-plan-1"),
		}
	}
	first, err := c.CreateResponsePlan(ctx, in("p", "Title"))
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(first.Arn)
	again, err := c.CreateResponsePlan(ctx, in("p", "Title"))
	if err != nil {
		t.Fatalf("replay of CreateResponsePlan: %v", err)
	}
	if aws.ToString(again.Arn) != arn {
		t.Fatalf("replay returned %s, first call %s", aws.ToString(again.Arn), arn)
	}

	// Without the token, the same request is refused: the plan exists.
	_, err = c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name: aws.String("p"), IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Title"), Impact: aws.Int32(2)},
	})
	wantAPIError[*types.ConflictException](t, err, "ConflictException")

	// The token with another name creates nothing.
	_, err = c.CreateResponsePlan(ctx, in("q", "Title"))
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	_, err = c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: aws.String("arn:aws:ssm-incidents::" + testserver.AccountA + ":response-plan/q")})
	wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	// The token with another title leaves the plan as it was.
	_, err = c.CreateResponsePlan(ctx, in("p", "Other title"))
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	if title := aws.ToString(idemPlan(t, c, arn).IncidentTemplate.Title); title != "Title" {
		t.Fatalf("plan title %q after a refused token reuse", title)
	}
	list, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	if err != nil || len(list.ResponsePlanSummaries) != 1 {
		t.Fatalf("plans %+v %v", list, err)
	}
}

func TestClientTokenUpdateResponsePlan(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	arn := createPlan(t, c, "update-plan")
	update := func(token, title string) error {
		_, err := c.UpdateResponsePlan(ctx, &ssmincidents.UpdateResponsePlanInput{
			Arn: aws.String(arn), IncidentTemplateTitle: aws.String(title), ClientToken: aws.String(token),
		})
		return err
	}
	if err := update("plan-1", "Title A"); err != nil {
		t.Fatal(err)
	}
	if err := update("plan-2", "Title B"); err != nil {
		t.Fatal(err)
	}
	if err := update("plan-1", "Title A"); err != nil {
		t.Fatalf("replay of plan-1: %v", err)
	}
	if title := aws.ToString(idemPlan(t, c, arn).IncidentTemplate.Title); title != "Title B" {
		t.Fatalf("title after replaying plan-1: %q, want %q", title, "Title B")
	}
	err := update("plan-1", "Title C")
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	if title := aws.ToString(idemPlan(t, c, arn).IncidentTemplate.Title); title != "Title B" {
		t.Fatalf("title after a refused token reuse: %q, want %q", title, "Title B")
	}
}

func TestClientTokenUpdateReplicationSet(t *testing.T) {
	srv := start(t)
	c := srv.A()
	arn := setUp(t, c)
	update := func(token, region string) error {
		_, err := c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{
			Arn: aws.String(arn), Actions: idemAddRegion(region), ClientToken: aws.String(token),
		})
		return err
	}
	if err := update("set-1", "us-west-2"); err != nil {
		t.Fatal(err)
	}
	// Applied again, the request would be refused: the Region is there.
	if err := update("set-1", "us-west-2"); err != nil {
		t.Fatalf("replay of an add-Region update: %v", err)
	}
	err := update("set-new", "us-west-2")
	wantAPIError[*types.ConflictException](t, err, "ConflictException")

	err = update("set-1", "eu-west-1")
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	rs := idemReplicationSet(t, c, arn)
	if _, ok := rs.RegionMap["eu-west-1"]; ok || len(rs.RegionMap) != 2 {
		t.Fatalf("regions after a refused token reuse: %v", rs.RegionMap)
	}
}

func TestClientTokenUpdateDeletionProtection(t *testing.T) {
	srv := start(t)
	c := srv.A()
	arn := setUp(t, c)
	protect := func(token string, on bool) error {
		_, err := c.UpdateDeletionProtection(ctx, &ssmincidents.UpdateDeletionProtectionInput{
			Arn: aws.String(arn), DeletionProtected: aws.Bool(on), ClientToken: aws.String(token),
		})
		return err
	}
	if err := protect("protect-on", true); err != nil {
		t.Fatal(err)
	}
	if err := protect("protect-off", false); err != nil {
		t.Fatal(err)
	}
	if err := protect("protect-on", true); err != nil {
		t.Fatalf("replay of protect-on: %v", err)
	}
	if aws.ToBool(idemReplicationSet(t, c, arn).DeletionProtected) {
		t.Fatal("replaying protect-on turned deletion protection on again")
	}
	// The model of UpdateDeletionProtection has no ConflictException.
	err := protect("protect-off", true)
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	if aws.ToBool(idemReplicationSet(t, c, arn).DeletionProtected) {
		t.Fatal("a refused token reuse turned deletion protection on")
	}
}

// TestClientTokenScopedToAccount: two accounts may use the same token, even
// for byte-identical requests.
func TestClientTokenScopedToAccount(t *testing.T) {
	srv := start(t)
	a, b := srv.A(), srv.B()
	setUp(t, a)
	setUp(t, b)
	in := func() *ssmincidents.CreateResponsePlanInput {
		return &ssmincidents.CreateResponsePlanInput{
			Name:             aws.String("shared"),
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String("t"), Impact: aws.Int32(3)},
			ClientToken:      aws.String("shared-token"),
		}
	}
	outA, err := a.CreateResponsePlan(ctx, in())
	if err != nil {
		t.Fatal(err)
	}
	outB, err := b.CreateResponsePlan(ctx, in())
	if err != nil {
		t.Fatalf("account B with account A's token: %v", err)
	}
	planA, planB := aws.ToString(outA.Arn), aws.ToString(outB.Arn)
	if planB != "arn:aws:ssm-incidents::"+testserver.AccountB+":response-plan/shared" {
		t.Fatalf("account B got plan %s", planB)
	}
	idemPlan(t, b, planB)
	again, err := a.CreateResponsePlan(ctx, in())
	if err != nil || aws.ToString(again.Arn) != planA {
		t.Fatalf("account A's replay: %v %v", again, err)
	}

	incA := idemMustStart(t, a, planA, "shared-start", "")
	incB := idemMustStart(t, b, planB, "shared-start", "")
	if !strings.Contains(incB, ":"+testserver.AccountB+":") || incA == incB {
		t.Fatalf("account B's incident %s (account A's %s)", incB, incA)
	}
	if got := idemRecords(t, b); len(got) != 1 || got[0] != incB {
		t.Fatalf("account B's records %v", got)
	}
	if got := idemRecords(t, a); len(got) != 1 || got[0] != incA {
		t.Fatalf("account A's records %v", got)
	}
}

// TestClientTokenScopedToOperation: one token, used once on each operation,
// is a new request every time.
func TestClientTokenScopedToOperation(t *testing.T) {
	srv := start(t)
	c := srv.A()
	tok := aws.String("one-token-everywhere")
	rs, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{
		Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}, ClientToken: tok,
	})
	if err != nil {
		t.Fatal(err)
	}
	setArn := aws.ToString(rs.Arn)
	plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name: aws.String("p"), IncidentTemplate: &types.IncidentTemplate{Title: aws.String("t"), Impact: aws.Int32(3)}, ClientToken: tok,
	})
	if err != nil {
		t.Fatalf("CreateResponsePlan with a token used by CreateReplicationSet: %v", err)
	}
	planArn := aws.ToString(plan.Arn)
	if _, err := c.UpdateResponsePlan(ctx, &ssmincidents.UpdateResponsePlanInput{
		Arn: aws.String(planArn), DisplayName: aws.String("Shown"), ClientToken: tok,
	}); err != nil {
		t.Fatalf("UpdateResponsePlan: %v", err)
	}
	if got := aws.ToString(idemPlan(t, c, planArn).DisplayName); got != "Shown" {
		t.Fatalf("UpdateResponsePlan was not applied: displayName %q", got)
	}
	inc, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(planArn), ClientToken: tok})
	if err != nil {
		t.Fatalf("StartIncident: %v", err)
	}
	incArn := aws.ToString(inc.IncidentRecordArn)
	if !strings.Contains(incArn, ":incident-record/p/") {
		t.Fatalf("StartIncident returned %s", incArn)
	}
	if err := idemUpdateTitle(c, incArn, *tok, "Renamed"); err != nil {
		t.Fatalf("UpdateIncidentRecord: %v", err)
	}
	if got := aws.ToString(irGet(t, c, incArn).Title); got != "Renamed" {
		t.Fatalf("UpdateIncidentRecord was not applied: title %q", got)
	}
	if _, err := c.UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{
		Arn: aws.String(setArn), Actions: idemAddRegion("us-west-2"), ClientToken: tok,
	}); err != nil {
		t.Fatalf("UpdateReplicationSet: %v", err)
	}
	if _, err := c.UpdateDeletionProtection(ctx, &ssmincidents.UpdateDeletionProtectionInput{
		Arn: aws.String(setArn), DeletionProtected: aws.Bool(true), ClientToken: tok,
	}); err != nil {
		t.Fatalf("UpdateDeletionProtection: %v", err)
	}
	got := idemReplicationSet(t, c, setArn)
	if _, ok := got.RegionMap["us-west-2"]; !ok || !aws.ToBool(got.DeletionProtected) {
		t.Fatalf("replication set updates were not applied: regions %v protected %v", got.RegionMap, aws.ToBool(got.DeletionProtected))
	}
}

// idemFlakyClient is the SDK's HTTP client for retry tests: while armed, it
// forwards the first request to the server, keeps the server's answer from
// the SDK and fails the attempt with a retryable error, so that the SDK
// sends the request again. Later requests pass through.
type idemFlakyClient struct {
	next *http.Client
	// fail is "503" (a 503 Service Unavailable answer) or "reset" (a
	// connection reset).
	fail string
	// afterFirst, if set, runs once the server has answered the first
	// request and before the SDK sees the failure.
	afterFirst func()

	mu        sync.Mutex
	armed     bool
	bodies    [][]byte // request bodies sent while armed
	firstBody []byte   // the server's answer to the first request
}

func (f *idemFlakyClient) arm() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.bodies, f.firstBody = true, nil, nil
}

func (f *idemFlakyClient) Do(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	armed := f.armed
	f.mu.Unlock()
	if !armed {
		return f.next.Do(req)
	}
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	first := len(f.bodies) == 1
	f.mu.Unlock()
	resp, err := f.next.Do(req)
	if err != nil || !first {
		return resp, err
	}
	if resp.StatusCode/100 != 2 {
		return resp, nil // the SDK sees the server's error as it is
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.firstBody = answer
	f.mu.Unlock()
	if f.afterFirst != nil {
		f.afterFirst()
	}
	if f.fail == "reset" {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return &http.Response{
		Status:     "503 Service Unavailable",
		StatusCode: http.StatusServiceUnavailable,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(`{"message":"Service Unavailable"}`)),
		ContentLength: -1,
		Request:       req,
	}, nil
}

// tokens returns the clientToken member of each request body sent while armed.
func (f *idemFlakyClient) tokens(t *testing.T) []string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.bodies {
		var m struct {
			ClientToken string `json:"clientToken"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("request body %q: %v", b, err)
		}
		out = append(out, m.ClientToken)
	}
	return out
}

// idemRetryingClient is an account A client whose HTTP client is f, with the
// SDK's standard retryer (no backoff delay, to keep the test fast).
func idemRetryingClient(srv *testserver.Server, f *idemFlakyClient) *ssmincidents.Client {
	return srv.A(func(o *ssmincidents.Options) {
		o.HTTPClient = f
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	})
}

func idemCheckRetried(t *testing.T, f *idemFlakyClient) {
	t.Helper()
	tokens := f.tokens(t)
	if len(tokens) != 2 {
		t.Fatalf("the SDK made %d attempts, want 2", len(tokens))
	}
	if tokens[0] == "" || tokens[0] != tokens[1] {
		t.Fatalf("the attempts carried clientTokens %q and %q, want the same auto-filled token", tokens[0], tokens[1])
	}
}

// TestSDKRetryOfStartIncident: the SDK fills in a clientToken and sends it
// again when it retries; the retry returns the incident the first attempt
// created and creates no other.
func TestSDKRetryOfStartIncident(t *testing.T) {
	for _, fail := range []string{"503", "reset"} {
		t.Run(fail, func(t *testing.T) {
			srv := start(t)
			f := &idemFlakyClient{next: &http.Client{}, fail: fail}
			c := idemRetryingClient(srv, f)
			setUp(t, c)
			plan := idemNotifyingPlan(t, c, "retried")

			f.arm()
			out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan)})
			if err != nil {
				t.Fatalf("StartIncident through a failing connection: %v", err)
			}
			idemCheckRetried(t, f)
			if res, ok := retry.GetAttemptResults(out.ResultMetadata); !ok || len(res.Results) != 2 {
				t.Fatalf("SDK attempt results: %+v %v", res, ok)
			}
			var first struct {
				IncidentRecordArn string `json:"incidentRecordArn"`
			}
			if err := json.Unmarshal(f.firstBody, &first); err != nil || first.IncidentRecordArn == "" {
				t.Fatalf("the first attempt's answer %q: %v", f.firstBody, err)
			}
			arn := aws.ToString(out.IncidentRecordArn)
			if arn != first.IncidentRecordArn {
				t.Fatalf("the retry returned %s, the first attempt created %s", arn, first.IncidentRecordArn)
			}
			if got := idemRecords(t, srv.A()); len(got) != 1 || got[0] != arn {
				t.Fatalf("records after a retried StartIncident: %v, want [%s]", got, arn)
			}
			if n := len(idemEvents(t, srv.A(), arn, idemStartEvent)); n != 1 {
				t.Fatalf("%d start events, want 1", n)
			}
			if n := idemNotifications(t, srv, arn, idemStartEvent); n != 1 {
				t.Fatalf("%d start notifications, want 1", n)
			}
		})
	}
}

// TestSDKRetryOfUpdateIncidentRecord: between the first attempt and the
// SDK's retry another caller changes the title; the retry must not apply the
// first update a second time.
func TestSDKRetryOfUpdateIncidentRecord(t *testing.T) {
	for _, fail := range []string{"503", "reset"} {
		t.Run(fail, func(t *testing.T) {
			srv := start(t)
			plain := srv.A()
			setUp(t, plain)
			arn := idemMustStart(t, plain, idemNotifyingPlan(t, plain, "retried"), "", "")
			f := &idemFlakyClient{next: &http.Client{}, fail: fail, afterFirst: func() {
				if err := idemUpdateTitle(plain, arn, "", "Title B"); err != nil {
					t.Errorf("interleaved update: %v", err)
				}
			}}
			c := idemRetryingClient(srv, f)

			f.arm()
			out, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arn), Title: aws.String("Title A")})
			if err != nil {
				t.Fatalf("UpdateIncidentRecord through a failing connection: %v", err)
			}
			idemCheckRetried(t, f)
			if res, ok := retry.GetAttemptResults(out.ResultMetadata); !ok || len(res.Results) != 2 {
				t.Fatalf("SDK attempt results: %+v %v", res, ok)
			}
			if title := aws.ToString(irGet(t, plain, arn).Title); title != "Title B" {
				t.Fatalf("title %q: the retry applied the update again", title)
			}
			titles := idemUpdatedTitles(t, plain, arn)
			if idemCount(titles, "Title A") != 1 || len(titles) != 2 {
				t.Fatalf("update events report titles %q, want one Title A (and the interleaved Title B)", titles)
			}
			if n := idemNotifications(t, srv, arn, idemUpdateEvent); n != 2 {
				t.Fatalf("%d update notifications, want 2 (Title A and the interleaved Title B)", n)
			}
		})
	}
}

// TestClientTokenConcurrentDuplicates: the same StartIncident sent by 16
// callers at once creates one incident, and every caller gets it. The burst
// is repeated with a new token each round.
func TestClientTokenConcurrentDuplicates(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	plan := idemNotifyingPlan(t, c, "concurrent")
	const (
		n      = 16
		rounds = 20
	)
	var clients [n]*ssmincidents.Client
	for i := range clients {
		clients[i] = srv.A()
	}
	created := map[string]bool{}
	for r := range rounds {
		token := fmt.Sprintf("concurrent-token-%d", r)
		var (
			wg    sync.WaitGroup
			ready = make(chan struct{})
			arns  [n]string
			errs  [n]error
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-ready
				arns[i], errs[i] = idemStart(clients[i], plan, token, "Concurrent")
			}()
		}
		close(ready)
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d, caller %d: %v", r, i, errs[i])
			}
			if arns[i] != arns[0] {
				t.Fatalf("round %d: caller %d got %s, caller 0 got %s", r, i, arns[i], arns[0])
			}
		}
		created[arns[0]] = true
	}
	got := idemRecords(t, c)
	if len(got) != rounds || len(created) != rounds {
		t.Fatalf("%d records (%d distinct answers) after %d rounds of %d concurrent duplicates", len(got), len(created), rounds, n)
	}
	for _, arn := range got {
		if !created[arn] {
			t.Fatalf("record %s was returned to no caller", arn)
		}
		if k := len(idemEvents(t, c, arn, idemStartEvent)); k != 1 {
			t.Fatalf("%s has %d start events, want 1", arn, k)
		}
		if k := idemNotifications(t, srv, arn, idemStartEvent); k != 1 {
			t.Fatalf("%s has %d start notifications, want 1", arn, k)
		}
	}
}

// idemStartWithClock starts a server whose clock is clock and returns it
// with an account A client that signs at that clock.
func idemStartWithClock(t *testing.T, clock *testserver.Clock) (*testserver.Server, *ssmincidents.Client) {
	srv := testserver.Start(t, func(c *app.Config) { c.Now = clock.Now })
	c := srv.A(clock.Signs)
	return srv, c
}

func TestClientTokenExpires(t *testing.T) {
	clock := testserver.NewClock(time.Now().UTC().Truncate(time.Second))
	_, c := idemStartWithClock(t, clock)
	setUp(t, c)
	plan := createPlan(t, c, "expiry")

	first := idemMustStart(t, c, plan, "expiring", "First")
	clock.Advance(service.IdempotencyWindow - time.Second)
	_, err := idemStart(c, plan, "expiring", "Second")
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	if again := idemMustStart(t, c, plan, "expiring", "First"); again != first {
		t.Fatalf("replay just inside the window returned %s, want %s", again, first)
	}
	if got := idemRecords(t, c); len(got) != 1 {
		t.Fatalf("records inside the window: %v", got)
	}

	clock.Advance(2 * time.Second)
	second := idemMustStart(t, c, plan, "expiring", "Second")
	if second == first {
		t.Fatal("an expired token still returned the first incident")
	}
	if got := idemRecords(t, c); len(got) != 2 {
		t.Fatalf("records after the window: %v", got)
	}
	if title := aws.ToString(irGet(t, c, second).Title); title != "Second" {
		t.Fatalf("the new incident's title %q", title)
	}
	// The token now stands for the second request.
	if again := idemMustStart(t, c, plan, "expiring", "Second"); again != second {
		t.Fatalf("replay of the renewed token returned %s, want %s", again, second)
	}
	_, err = idemStart(c, plan, "expiring", "First")
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	if got := idemRecords(t, c); len(got) != 2 {
		t.Fatalf("records at the end: %v", got)
	}
}

func TestPurgeIdempotencyRecords(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Second)
	clock := testserver.NewClock(t0)
	srv, c := idemStartWithClock(t, clock)
	// The SDK fills in a token for both calls: two remembered requests.
	setUp(t, c)
	plan := createPlan(t, c, "purge")
	old := idemMustStart(t, c, plan, "old-token", "Old")

	clock.Advance(service.IdempotencyWindow + time.Hour)
	fresh := idemMustStart(t, c, plan, "fresh-token", "Fresh")

	svc, err := service.New(ctx, srv.Main.Store, service.Config{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	n, err := svc.PurgeIdempotencyRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("purged %d records, want 3 (CreateReplicationSet, CreateResponsePlan, StartIncident old-token)", n)
	}
	if n, err := svc.PurgeIdempotencyRecords(ctx); err != nil || n != 0 {
		t.Fatalf("a second purge removed %d records (%v), want 0", n, err)
	}

	// Back at a time when old-token would still be remembered, it is gone...
	clock.Set(t0.Add(time.Hour))
	renewed := idemMustStart(t, c, plan, "old-token", "Old again")
	if renewed == old {
		t.Fatal("a purged token returned its first incident")
	}
	// ...and fresh-token is kept.
	_, err = idemStart(c, plan, "fresh-token", "Fresh again")
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
	if again := idemMustStart(t, c, plan, "fresh-token", "Fresh"); again != fresh {
		t.Fatalf("replay of a kept token returned %s, want %s", again, fresh)
	}
}

// TestClientTokenTellsEmptyListFromAbsent: an empty list clears a member
// while an absent one leaves it, so the two are different parameters.
func TestClientTokenTellsEmptyListFromAbsent(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	arn := idemMustStart(t, c, createPlan(t, c, "empty-list"), "", "")
	r := srv.Do("POST", "/updateIncidentRecord", []byte(`{"arn":"`+arn+`","clientToken":"clear","notificationTargets":[]}`))
	if r.Status != 204 {
		t.Fatalf("clearing the targets: %d %s", r.Status, r.Body)
	}
	r = srv.Do("POST", "/updateIncidentRecord", []byte(`{"arn":"`+arn+`","clientToken":"clear"}`))
	if r.Status != 409 || r.ErrorType != "ConflictException" {
		t.Fatalf("the token with the list left out: %d %s %s", r.Status, r.ErrorType, r.Body)
	}
	r = srv.Do("POST", "/updateIncidentRecord", []byte(`{"arn":"`+arn+`","clientToken":"clear","notificationTargets":[]}`))
	if r.Status != 204 {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
}

// TestNotificationsOnlyForIncidentsWithTopics checks that a change queues a
// notification only when the incident names an SNS topic at the time of
// the change: there is no one else to deliver it to.
func TestNotificationsOnlyForIncidentsWithTopics(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	arn := idemMustStart(t, c, createPlan(t, c, "quiet"), "", "")
	if err := idemUpdateTitle(c, arn, "", "Title A"); err != nil {
		t.Fatal(err)
	}
	if n := idemNotifications(t, srv, arn, idemStartEvent) + idemNotifications(t, srv, arn, idemUpdateEvent); n != 0 {
		t.Fatalf("%d notifications queued for an incident without topics", n)
	}
	topic := "arn:aws:sns:us-east-1:" + testserver.AccountA + ":incidents"
	if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arn),
		NotificationTargets: []types.NotificationTargetItem{&types.NotificationTargetItemMemberSnsTopicArn{Value: topic}}}); err != nil {
		t.Fatal(err)
	}
	if err := idemUpdateTitle(c, arn, "", "Title B"); err != nil {
		t.Fatal(err)
	}
	if n := idemNotifications(t, srv, arn, idemUpdateEvent); n != 2 {
		t.Fatalf("%d update notifications once the incident names a topic, want 2", n)
	}
}
