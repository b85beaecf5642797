package service_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/testserver"
)

// Principals of account A: the root key, and Alice, an IAM user with a key
// of her own, so that a test can tell who created a record from who
// changed it.
const (
	irRootA       = "arn:aws:iam::" + testserver.AccountA + ":root"
	irRootB       = "arn:aws:iam::" + testserver.AccountB + ":root"
	irAlice       = "arn:aws:iam::" + testserver.AccountA + ":user/alice"
	irAliceKey    = "AKIDALICEOFA"
	irAliceSecret = "secret-of-alice"
	irCustom      = "aws.ssm-incidents.custom"
)

var irARNPattern = regexp.MustCompile(`^arn:aws:ssm-incidents::([0-9]{12}):incident-record/([a-zA-Z0-9_-]+)/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// irClock is a server clock that moves only when told to. It starts at the
// current second plus 123 ms, so that a timestamp cut to the second differs
// from one kept to the millisecond, and stays near real time, as SigV4's
// 15-minute window requires.
type irClock struct {
	mu  sync.Mutex
	now time.Time
}

func newIRClock() *irClock {
	return &irClock{now: time.Now().UTC().Truncate(time.Second).Add(123 * time.Millisecond)}
}

func (c *irClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d and returns the new time.
func (c *irClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// irServer starts a server that also knows Alice's key. With a clock, the
// server reads the time from it.
func irServer(t *testing.T, clock *irClock) *testserver.Server {
	t.Helper()
	creds := filepath.Join(t.TempDir(), "keys")
	lines := testserver.KeyB + " " + testserver.SecretB + " " + testserver.AccountB + "\n" +
		irAliceKey + " " + irAliceSecret + " " + testserver.AccountA + " " + irAlice + "\n"
	if err := os.WriteFile(creds, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	return testserver.Start(t, func(c *app.Config) {
		c.CredentialsFile = creds
		if clock != nil {
			c.Now = clock.Now
		}
	})
}

func irAliceClient(srv *testserver.Server) *ssmincidents.Client {
	return srv.Client(irAliceKey, irAliceSecret)
}

// irPlan creates a response plan with a full template (see fullPlanInput)
// whose dedupeString is dedupe (none when empty) and returns its ARN.
func irPlan(t testing.TB, c *ssmincidents.Client, name, dedupe string) string {
	t.Helper()
	in := fullPlanInput(name)
	in.IncidentTemplate.DedupeString = nil
	if dedupe != "" {
		in.IncidentTemplate.DedupeString = aws.String(dedupe)
	}
	out, err := c.CreateResponsePlan(ctx, in)
	if err != nil {
		t.Fatalf("CreateResponsePlan %s: %v", name, err)
	}
	return aws.ToString(out.Arn)
}

func irStart(t testing.TB, c *ssmincidents.Client, in *ssmincidents.StartIncidentInput) string {
	t.Helper()
	out, err := c.StartIncident(ctx, in)
	if err != nil {
		t.Fatalf("StartIncident: %v", err)
	}
	return aws.ToString(out.IncidentRecordArn)
}

func irStartFrom(t testing.TB, c *ssmincidents.Client, plan string) string {
	t.Helper()
	return irStart(t, c, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan)})
}

func irGet(t testing.TB, c *ssmincidents.Client, arn string) *types.IncidentRecord {
	t.Helper()
	out, err := c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: aws.String(arn)})
	if err != nil {
		t.Fatalf("GetIncidentRecord %s: %v", arn, err)
	}
	return out.IncidentRecord
}

func irUpdate(t testing.TB, c *ssmincidents.Client, in ssmincidents.UpdateIncidentRecordInput) {
	t.Helper()
	if _, err := c.UpdateIncidentRecord(ctx, &in); err != nil {
		t.Fatalf("UpdateIncidentRecord: %v", err)
	}
}

func irTags(t testing.TB, c *ssmincidents.Client, arn string) map[string]string {
	t.Helper()
	out, err := c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource %s: %v", arn, err)
	}
	return out.Tags
}

// irWantNotFound asserts a ResourceNotFoundException about id of type typ.
func irWantNotFound(t *testing.T, err error, id string, typ types.ResourceType) {
	t.Helper()
	nf := wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	if aws.ToString(nf.ResourceIdentifier) != id || nf.ResourceType != typ {
		t.Fatalf("not found names %q (%s), want %q (%s)", aws.ToString(nf.ResourceIdentifier), nf.ResourceType, id, typ)
	}
}

// wantCrossAccountDenied checks that err is the 403 AccessDeniedException
// AWS answers when the root of account caller calls op on arn, a resource
// of another account that no resource policy shares with the caller.
func wantCrossAccountDenied(t *testing.T, err error, caller, op, arn string) {
	t.Helper()
	tlWantCode(t, err, "AccessDeniedException", 403)
	want := "User: arn:aws:iam::" + caller + ":root is not authorized to perform: ssm-incidents:" + op + " on resource: " + arn +
		" because no resource-based policy allows the ssm-incidents:" + op + " action"
	if got := accessDenied(t, op, err); got != want {
		t.Fatalf("%s:\n got %s\nwant %s", op, got, want)
	}
}

func irUTC(p *time.Time) *time.Time {
	if p == nil {
		return nil
	}
	u := p.UTC()
	return &u
}

// irComparable is r with its timestamps in UTC and without lastModifiedTime,
// for comparing two reads of a record member by member.
func irComparable(r *types.IncidentRecord) types.IncidentRecord {
	c := *r
	c.CreationTime, c.ResolvedTime, c.LastModifiedTime = irUTC(r.CreationTime), irUTC(r.ResolvedTime), nil
	src := *r.IncidentRecordSource
	c.IncidentRecordSource = &src
	return c
}

func irSameTime(got *time.Time, want time.Time) bool {
	return got != nil && got.Equal(want)
}

func irTopic(name string) string { return "arn:aws:sns:us-east-1:" + testserver.AccountA + ":" + name }

func irTargets(names ...string) []types.NotificationTargetItem {
	out := []types.NotificationTargetItem{}
	for _, n := range names {
		out = append(out, &types.NotificationTargetItemMemberSnsTopicArn{Value: irTopic(n)})
	}
	return out
}

func irChat(names ...string) types.ChatChannel {
	topics := []string{}
	for _, n := range names {
		topics = append(topics, irTopic(n))
	}
	return &types.ChatChannelMemberChatbotSns{Value: topics}
}

func TestStartIncidentCopiesTheTemplate(t *testing.T) {
	srv := irServer(t, nil)
	c := srv.A()
	setUp(t, c)
	cases := []struct {
		name       string
		title      *string
		impact     *int32
		wantTitle  string
		wantImpact int32
	}{
		{"template", nil, nil, "Database down", 1},
		{"title-override", aws.String("Replica down"), nil, "Replica down", 1},
		{"impact-override", nil, aws.Int32(4), "Database down", 4},
		{"both-overrides", aws.String("Disk full"), aws.Int32(5), "Disk full", 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := irPlan(t, c, tc.name, "dedupe-"+tc.name)
			arn := irStart(t, c, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, Title: tc.title, Impact: tc.impact})
			m := irARNPattern.FindStringSubmatch(arn)
			if m == nil || m[1] != testserver.AccountA || m[2] != tc.name {
				t.Fatalf("ARN %s is not arn:aws:ssm-incidents::%s:incident-record/%s/UUID", arn, testserver.AccountA, tc.name)
			}
			r := irGet(t, c, arn)
			if aws.ToString(r.Arn) != arn || aws.ToString(r.Title) != tc.wantTitle || aws.ToInt32(r.Impact) != tc.wantImpact {
				t.Fatalf("arn %s title %q impact %d", aws.ToString(r.Arn), aws.ToString(r.Title), aws.ToInt32(r.Impact))
			}
			if aws.ToString(r.Summary) != "The primary database does not answer." {
				t.Fatalf("summary %q", aws.ToString(r.Summary))
			}
			if aws.ToString(r.DedupeString) != "dedupe-"+tc.name {
				t.Fatalf("dedupeString %q", aws.ToString(r.DedupeString))
			}
			if !reflect.DeepEqual(r.NotificationTargets, irTargets("oncall")) {
				t.Fatalf("notificationTargets %#v", r.NotificationTargets)
			}
			if !reflect.DeepEqual(r.ChatChannel, irChat("chat")) {
				t.Fatalf("chatChannel %#v", r.ChatChannel)
			}
			// The template's incidentTags become the record's tags; the
			// plan's own tags stay on the plan.
			if tags := irTags(t, c, arn); !reflect.DeepEqual(tags, map[string]string{"service": "db"}) {
				t.Fatalf("record tags %v", tags)
			}
			if tags := irTags(t, c, plan); !reflect.DeepEqual(tags, map[string]string{"owner": "sre"}) {
				t.Fatalf("plan tags %v", tags)
			}
		})
	}
}

func TestStartIncidentWithoutTemplateExtras(t *testing.T) {
	srv := irServer(t, nil)
	c := srv.A()
	setUp(t, c)
	plan := createPlan(t, c, "bare")
	first := irStartFrom(t, c, plan)
	second := irStartFrom(t, c, plan)
	if first == second {
		t.Fatal("a plan without dedupeString deduplicated two incidents")
	}
	r1, r2 := irGet(t, c, first), irGet(t, c, second)
	// A record always has a dedupeString: a generated one when the
	// template has none, distinct per record.
	if aws.ToString(r1.DedupeString) == "" || aws.ToString(r2.DedupeString) == "" || aws.ToString(r1.DedupeString) == aws.ToString(r2.DedupeString) {
		t.Fatalf("dedupeStrings %q %q", aws.ToString(r1.DedupeString), aws.ToString(r2.DedupeString))
	}
	if r1.Summary != nil || r1.ChatChannel != nil || len(r1.NotificationTargets) != 0 {
		t.Fatalf("members the plan does not have: %+v", r1)
	}
	if tags := irTags(t, c, first); len(tags) != 0 {
		t.Fatalf("tags %v", tags)
	}
}

func TestStartIncidentRecordSource(t *testing.T) {
	srv := irServer(t, nil)
	setUp(t, srv.A())
	plan := createPlan(t, srv.A(), "src")
	alarm := "arn:aws:cloudwatch:us-east-1:" + testserver.AccountA + ":alarm:HighCPU"
	cases := []struct {
		name    string
		client  *ssmincidents.Client
		trigger *types.TriggerDetails
		want    types.IncidentRecordSource
	}{
		{"by hand, root", srv.A(), nil,
			types.IncidentRecordSource{CreatedBy: aws.String(irRootA), InvokedBy: aws.String(irRootA), Source: aws.String(irCustom)}},
		{"by hand, IAM user", irAliceClient(srv), nil,
			types.IncidentRecordSource{CreatedBy: aws.String(irAlice), InvokedBy: aws.String(irAlice), Source: aws.String(irCustom)}},
		{"trigger with ARN", srv.A(),
			&types.TriggerDetails{Source: aws.String("aws.cloudwatch"), Timestamp: aws.Time(time.Now()), TriggerArn: aws.String(alarm)},
			types.IncidentRecordSource{CreatedBy: aws.String(irRootA), Source: aws.String("aws.cloudwatch"), ResourceArn: aws.String(alarm)}},
		{"trigger without ARN", srv.A(),
			&types.TriggerDetails{Source: aws.String("com.example.monitor"), Timestamp: aws.Time(time.Now())},
			types.IncidentRecordSource{CreatedBy: aws.String(irRootA), Source: aws.String("com.example.monitor")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			arn := irStart(t, tc.client, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, TriggerDetails: tc.trigger})
			got := *irGet(t, srv.A(), arn).IncidentRecordSource
			if tc.trigger != nil {
				// Who invoked a triggered start is the service's business;
				// the creator, source and resource are fixed.
				got.InvokedBy = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("incidentRecordSource\n got %s\nwant %s", irSourceString(got), irSourceString(tc.want))
			}
		})
	}
}

func irSourceString(s types.IncidentRecordSource) string {
	return fmt.Sprintf("{createdBy %q invokedBy %q source %q resourceArn %q}",
		aws.ToString(s.CreatedBy), aws.ToString(s.InvokedBy), aws.ToString(s.Source), aws.ToString(s.ResourceArn))
}

func irCount(t *testing.T, c *ssmincidents.Client) int {
	t.Helper()
	return len(irList(t, c, nil, 100))
}

func TestStartIncidentDeduplicatesWhileOpen(t *testing.T) {
	srv := irServer(t, nil)
	a := srv.A()
	setUp(t, a)
	plan := irPlan(t, a, "dedupe", "db-down")
	other := irPlan(t, a, "dedupe-too", "db-down")

	first := irStartFrom(t, a, plan)
	again := irStart(t, a, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, Title: aws.String("Another title"), Impact: aws.Int32(5)})
	if again != first {
		t.Fatalf("second start while OPEN: %s, want %s", again, first)
	}
	// The same dedupeString from another plan of the account also finds it.
	if fromOther := irStartFrom(t, a, other); fromOther != first {
		t.Fatalf("start from another plan with the same dedupeString: %s, want %s", fromOther, first)
	}
	if r := irGet(t, a, first); aws.ToString(r.Title) != "Database down" || aws.ToInt32(r.Impact) != 1 {
		t.Fatalf("a deduplicated start changed the record: %q %d", aws.ToString(r.Title), aws.ToInt32(r.Impact))
	}
	if n := irCount(t, a); n != 1 {
		t.Fatalf("%d records after deduplicated starts", n)
	}

	// Once resolved, the dedupeString starts a new incident.
	irUpdate(t, a, ssmincidents.UpdateIncidentRecordInput{Arn: &first, Status: types.IncidentRecordStatusResolved})
	second := irStartFrom(t, a, plan)
	if second == first {
		t.Fatal("a start after the incident was resolved returned the resolved incident")
	}
	if third := irStartFrom(t, a, plan); third != second {
		t.Fatalf("start while the new incident is OPEN: %s, want %s", third, second)
	}
	if n := irCount(t, a); n != 2 {
		t.Fatalf("%d records, want 2", n)
	}

	// Deduplication stays within the account.
	b := srv.B()
	setUp(t, b)
	planB := irPlan(t, b, "dedupe", "db-down")
	if inB := irStartFrom(t, b, planB); inB == second || inB == first {
		t.Fatalf("account B got account A's incident %s", inB)
	}
}

func TestStartIncidentDeduplicatesConcurrentStarts(t *testing.T) {
	srv := irServer(t, nil)
	setUp(t, srv.A())
	plan := irPlan(t, srv.A(), "storm", "alarm-storm")
	const n = 16
	arns := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		c := srv.A()
		wg.Go(func() {
			out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan})
			errs[i] = err
			if err == nil {
				arns[i] = aws.ToString(out.IncidentRecordArn)
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		if arns[i] != arns[0] {
			t.Fatalf("concurrent starts with one dedupeString made several incidents: %v", arns)
		}
	}
	if got := irCount(t, srv.A()); got != 1 {
		t.Fatalf("%d records", got)
	}
}

func TestStartIncidentErrors(t *testing.T) {
	srv := irServer(t, nil)
	a, b := srv.A(), srv.B()
	setUp(t, a)
	setUp(t, b)
	planA := createPlan(t, a, "mine")
	record := irStartFrom(t, a, planA)
	missing := "arn:aws:ssm-incidents::" + testserver.AccountA + ":response-plan/nope"

	_, err := a.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &missing})
	irWantNotFound(t, err, missing, types.ResourceTypeResponsePlan)

	// Account B cannot start from account A's plan: no resource policy
	// shares it.
	_, err = b.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &planA})
	wantCrossAccountDenied(t, err, testserver.AccountB, "StartIncident", planA)

	// An ARN that is not a response plan's.
	_, err = a.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &record})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")

	// Impact outside 1–5.
	for _, impact := range []int32{0, 6} {
		_, err = a.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &planA, Impact: aws.Int32(impact)})
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	}
	if n := irCount(t, a); n != 1 {
		t.Fatalf("refused starts created records: %d", n)
	}
	if n := irCount(t, b); n != 0 {
		t.Fatalf("B has %d records", n)
	}
}

// An account without a replication set has not set Incident Manager up:
// StartIncident says so (ValidationException), as CreateResponsePlan does,
// instead of reporting the plan as missing.
func TestStartIncidentWithoutReplicationSetIsValidationError(t *testing.T) {
	srv := irServer(t, nil)
	plan := "arn:aws:ssm-incidents::" + testserver.AccountA + ":response-plan/p"
	_, err := srv.A().StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
}

func TestStartIncidentAttachesRelatedItems(t *testing.T) {
	srv := irServer(t, nil)
	c := srv.A()
	setUp(t, c)
	plan := createPlan(t, c, "items")
	dashboard := "https://example.com/dashboards/db"
	instance := "arn:aws:ec2:us-east-1:" + testserver.AccountA + ":instance/i-0123456789abcdef0"
	arn := irStart(t, c, &ssmincidents.StartIncidentInput{
		ResponsePlanArn: &plan,
		RelatedItems: []types.RelatedItem{
			{Title: aws.String("Dashboard"), Identifier: &types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: dashboard}}},
			{Identifier: &types.ItemIdentifier{Type: types.ItemTypeInvolvedResource, Value: &types.ItemValueMemberArn{Value: instance}}},
		},
	})
	items, err := srv.Main.Store.ListRelatedItems(ctx, testserver.AccountA, arn, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("%d related items stored", len(items))
	}
	want := []struct{ typ, title, value string }{{"OTHER", "Dashboard", dashboard}, {"INVOLVED_RESOURCE", "", instance}}
	for i, it := range items {
		value := aws.ToString(it.Value.URL) + aws.ToString(it.Value.ARN)
		if it.Type != want[i].typ || aws.ToString(it.Title) != want[i].title || value != want[i].value {
			t.Fatalf("item %d: %+v", i, it)
		}
		if !regexp.MustCompile(`^related-item/` + want[i].typ + `/[0-9A-F]{32}$`).MatchString(it.GeneratedID) {
			t.Fatalf("generatedId %q", it.GeneratedID)
		}
	}
}

// The sample request of the StartIncident API reference, byte for byte.
func TestStartIncidentAPIReferenceSample(t *testing.T) {
	srv := irServer(t, nil)
	setUp(t, srv.A())
	createPlan(t, srv.A(), "example-response")
	body := "{\n\t\"responsePlanArn\": \"arn:aws:ssm-incidents::111122223333:response-plan/example-response\",\n\t\"clientToken\": \"aa1b2cde-27e3-42ff-9cac-99380EXAMPLE\"\n}"
	resp := srv.Do("POST", "/startIncident", []byte(body))
	if resp.Status != 200 {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	m := regexp.MustCompile(`^\{"incidentRecordArn":"(arn:[^"]+)"\}$`).FindSubmatch(resp.Body)
	if m == nil || !irARNPattern.Match(m[1]) || !strings.Contains(string(m[1]), ":incident-record/example-response/") {
		t.Fatalf("body %s", resp.Body)
	}
}

func TestGetIncidentRecordReturnsEveryMember(t *testing.T) {
	srv := irServer(t, nil)
	c := srv.A()
	setUp(t, c)
	plan := irPlan(t, c, "db-down", "db-down")
	before := time.Now().Truncate(time.Millisecond)
	arn := irStartFrom(t, c, plan)
	after := time.Now()
	r := irGet(t, c, arn)

	if aws.ToString(r.Arn) != arn {
		t.Errorf("arn %q", aws.ToString(r.Arn))
	}
	if aws.ToString(r.Title) != "Database down" {
		t.Errorf("title %q", aws.ToString(r.Title))
	}
	if aws.ToString(r.Summary) != "The primary database does not answer." {
		t.Errorf("summary %q", aws.ToString(r.Summary))
	}
	if r.Status != types.IncidentRecordStatusOpen {
		t.Errorf("status %q", r.Status)
	}
	if aws.ToInt32(r.Impact) != 1 {
		t.Errorf("impact %d", aws.ToInt32(r.Impact))
	}
	if r.CreationTime == nil || r.CreationTime.Before(before) || r.CreationTime.After(after) {
		t.Errorf("creationTime %v outside [%v, %v]", r.CreationTime, before, after)
	}
	if r.LastModifiedTime == nil || !r.LastModifiedTime.Equal(aws.ToTime(r.CreationTime)) {
		t.Errorf("lastModifiedTime %v, creationTime %v", r.LastModifiedTime, r.CreationTime)
	}
	if r.ResolvedTime != nil {
		t.Errorf("resolvedTime %v on an OPEN incident", r.ResolvedTime)
	}
	if aws.ToString(r.LastModifiedBy) != irRootA {
		t.Errorf("lastModifiedBy %q", aws.ToString(r.LastModifiedBy))
	}
	if aws.ToString(r.DedupeString) != "db-down" {
		t.Errorf("dedupeString %q", aws.ToString(r.DedupeString))
	}
	wantSource := types.IncidentRecordSource{CreatedBy: aws.String(irRootA), InvokedBy: aws.String(irRootA), Source: aws.String(irCustom)}
	if r.IncidentRecordSource == nil || !reflect.DeepEqual(*r.IncidentRecordSource, wantSource) {
		t.Errorf("incidentRecordSource %+v", r.IncidentRecordSource)
	}
	if !reflect.DeepEqual(r.ChatChannel, irChat("chat")) {
		t.Errorf("chatChannel %#v", r.ChatChannel)
	}
	if !reflect.DeepEqual(r.NotificationTargets, irTargets("oncall")) {
		t.Errorf("notificationTargets %#v", r.NotificationTargets)
	}
	if len(r.AutomationExecutions) != 0 {
		t.Errorf("automationExecutions %+v", r.AutomationExecutions)
	}

	// Unset members are left out of the answer, never null; empty lists
	// are there, as in AWS's get-incident-record example
	// ("automationExecutions": [], "notificationTargets": []).
	bare := irStartFrom(t, c, createPlan(t, c, "bare"))
	resp := srv.Do("GET", "/getIncidentRecord?arn="+url.QueryEscape(bare), nil)
	if resp.Status != 200 {
		t.Fatalf("raw GetIncidentRecord: %d %s", resp.Status, resp.Body)
	}
	for _, absent := range []string{"null", `"resolvedTime"`, `"summary"`, `"chatChannel"`} {
		if strings.Contains(string(resp.Body), absent) {
			t.Errorf("raw GetIncidentRecord of a bare record has %s: %s", absent, resp.Body)
		}
	}
	for _, empty := range []string{`"notificationTargets":[]`, `"automationExecutions":[]`} {
		if !strings.Contains(string(resp.Body), empty) {
			t.Errorf("raw GetIncidentRecord of a bare record lacks %s: %s", empty, resp.Body)
		}
	}
}

func TestGetIncidentRecordRefusals(t *testing.T) {
	srv := irServer(t, nil)
	a, b := srv.A(), srv.B()
	setUp(t, a)
	plan := createPlan(t, a, "p")
	live := irStartFrom(t, a, plan)
	deleted := irStartFrom(t, a, plan)
	if _, err := a.DeleteIncidentRecord(ctx, &ssmincidents.DeleteIncidentRecordInput{Arn: &deleted}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		arn  string
	}{
		{"unknown", "arn:aws:ssm-incidents::" + testserver.AccountA + ":incident-record/p/1abd9b35-ff4c-eb47-f20f-712a6c4c88cc"},
		{"deleted", deleted},
		{"response plan ARN", plan},
		{"no id after the plan name", "arn:aws:ssm-incidents::" + testserver.AccountA + ":incident-record/p"},
		{"another service", irTopic("oncall")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: aws.String(tc.arn)})
			irWantNotFound(t, err, tc.arn, types.ResourceTypeIncidentRecord)
		})
	}
	t.Run("account A's record read by B", func(t *testing.T) {
		_, err := b.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &live})
		wantCrossAccountDenied(t, err, testserver.AccountB, "GetIncidentRecord", live)
	})
	irGet(t, a, live)
}

func TestUpdateIncidentRecordMemberByMember(t *testing.T) {
	clock := newIRClock()
	srv := irServer(t, clock)
	root, alice := srv.A(), irAliceClient(srv)
	setUp(t, root)
	plan := irPlan(t, root, "db-down", "db-down")
	arn := irStartFrom(t, root, plan)
	five := irChat("c1", "c2", "c3", "c4", "c5")
	steps := []struct {
		name  string
		in    ssmincidents.UpdateIncidentRecordInput
		apply func(r *types.IncidentRecord, now time.Time)
	}{
		{"title", ssmincidents.UpdateIncidentRecordInput{Title: aws.String("Replica lag")},
			func(r *types.IncidentRecord, _ time.Time) { r.Title = aws.String("Replica lag") }},
		{"summary", ssmincidents.UpdateIncidentRecordInput{Summary: aws.String("Replication is 10 minutes behind.")},
			func(r *types.IncidentRecord, _ time.Time) {
				r.Summary = aws.String("Replication is 10 minutes behind.")
			}},
		{"impact 2", ssmincidents.UpdateIncidentRecordInput{Impact: aws.Int32(2)},
			func(r *types.IncidentRecord, _ time.Time) { r.Impact = aws.Int32(2) }},
		{"impact 3", ssmincidents.UpdateIncidentRecordInput{Impact: aws.Int32(3)},
			func(r *types.IncidentRecord, _ time.Time) { r.Impact = aws.Int32(3) }},
		{"impact 4", ssmincidents.UpdateIncidentRecordInput{Impact: aws.Int32(4)},
			func(r *types.IncidentRecord, _ time.Time) { r.Impact = aws.Int32(4) }},
		{"impact 5", ssmincidents.UpdateIncidentRecordInput{Impact: aws.Int32(5)},
			func(r *types.IncidentRecord, _ time.Time) { r.Impact = aws.Int32(5) }},
		{"impact 1", ssmincidents.UpdateIncidentRecordInput{Impact: aws.Int32(1)},
			func(r *types.IncidentRecord, _ time.Time) { r.Impact = aws.Int32(1) }},
		{"resolve", ssmincidents.UpdateIncidentRecordInput{Status: types.IncidentRecordStatusResolved},
			func(r *types.IncidentRecord, now time.Time) {
				r.Status, r.ResolvedTime = types.IncidentRecordStatusResolved, &now
			}},
		{"resolve again keeps resolvedTime", ssmincidents.UpdateIncidentRecordInput{Status: types.IncidentRecordStatusResolved},
			func(*types.IncidentRecord, time.Time) {}},
		{"reopen clears resolvedTime", ssmincidents.UpdateIncidentRecordInput{Status: types.IncidentRecordStatusOpen},
			func(r *types.IncidentRecord, _ time.Time) {
				r.Status, r.ResolvedTime = types.IncidentRecordStatusOpen, nil
			}},
		{"chatChannel one topic", ssmincidents.UpdateIncidentRecordInput{ChatChannel: irChat("c1")},
			func(r *types.IncidentRecord, _ time.Time) { r.ChatChannel = irChat("c1") }},
		{"chatChannel five topics", ssmincidents.UpdateIncidentRecordInput{ChatChannel: five},
			func(r *types.IncidentRecord, _ time.Time) { r.ChatChannel = five }},
		{"chatChannel empty", ssmincidents.UpdateIncidentRecordInput{ChatChannel: &types.ChatChannelMemberEmpty{}},
			func(r *types.IncidentRecord, _ time.Time) { r.ChatChannel = &types.ChatChannelMemberEmpty{} }},
		{"notificationTargets replaced", ssmincidents.UpdateIncidentRecordInput{NotificationTargets: irTargets("a", "b")},
			func(r *types.IncidentRecord, _ time.Time) { r.NotificationTargets = irTargets("a", "b") }},
		{"notificationTargets cleared", ssmincidents.UpdateIncidentRecordInput{NotificationTargets: []types.NotificationTargetItem{}},
			func(r *types.IncidentRecord, _ time.Time) { r.NotificationTargets = []types.NotificationTargetItem{} }},
		{"several members at once", ssmincidents.UpdateIncidentRecordInput{
			Title: aws.String("Primary failed over"), Impact: aws.Int32(2), Status: types.IncidentRecordStatusResolved,
			NotificationTargets: irTargets("c"),
		}, func(r *types.IncidentRecord, now time.Time) {
			r.Title, r.Impact, r.Status, r.ResolvedTime = aws.String("Primary failed over"), aws.Int32(2), types.IncidentRecordStatusResolved, &now
			r.NotificationTargets = irTargets("c")
		}},
		{"nothing given", ssmincidents.UpdateIncidentRecordInput{}, func(*types.IncidentRecord, time.Time) {}},
		{"nothing changes", ssmincidents.UpdateIncidentRecordInput{Title: aws.String("Primary failed over"), Impact: aws.Int32(2)},
			func(*types.IncidentRecord, time.Time) {}},
	}
	for i, st := range steps {
		caller, callerARN := root, irRootA
		if i%2 == 1 {
			caller, callerARN = alice, irAlice
		}
		before := irGet(t, root, arn)
		now := clock.Advance(1500 * time.Millisecond)
		in := st.in
		in.Arn = &arn
		if _, err := caller.UpdateIncidentRecord(ctx, &in); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		after := irGet(t, root, arn)
		want := irComparable(before)
		st.apply(&want, now)
		want.LastModifiedBy = aws.String(callerARN)
		if got := irComparable(after); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", st.name, got, want)
		}
		if !irSameTime(after.LastModifiedTime, now) {
			t.Fatalf("%s: lastModifiedTime %v, want %v", st.name, after.LastModifiedTime, now)
		}
	}
}

func TestUpdateIncidentRecordAnswers204(t *testing.T) {
	srv := irServer(t, nil)
	setUp(t, srv.A())
	arn := irStartFrom(t, srv.A(), createPlan(t, srv.A(), "p"))
	resp := srv.Do("POST", "/updateIncidentRecord", []byte(`{"arn":"`+arn+`","title":"Renamed"}`))
	if resp.Status != 204 || len(resp.Body) != 0 {
		t.Fatalf("status %d body %q", resp.Status, resp.Body)
	}
	if r := irGet(t, srv.A(), arn); aws.ToString(r.Title) != "Renamed" {
		t.Fatalf("title %q", aws.ToString(r.Title))
	}
}

// The sample request of the UpdateIncidentRecord API reference, byte for
// byte, against a record with the sample's ARN.
func TestUpdateIncidentRecordAPIReferenceSample(t *testing.T) {
	srv := irServer(t, nil)
	setUp(t, srv.A())
	arn := "arn:aws:ssm-incidents::111122223333:incident-record/example-response/1abd9b35-ff4c-eb47-f20f-712a6c4c88cc"
	now := irSeed(t, srv, arn)
	body := "{\n\t\"arn\": \"arn:aws:ssm-incidents::111122223333:incident-record/example-response/1abd9b35-ff4c-eb47-f20f-712a6c4c88cc\",\n\t\"status\": \"RESOLVED\",\n\t\"clientToken\": \"aa1b2cde-27e3-42ff-9cac-99380EXAMPLE\"\n}"
	resp := srv.Do("POST", "/updateIncidentRecord", []byte(body))
	if resp.Status != 204 || len(resp.Body) != 0 {
		t.Fatalf("status %d body %q", resp.Status, resp.Body)
	}
	r := irGet(t, srv.A(), arn)
	if r.Status != types.IncidentRecordStatusResolved || r.ResolvedTime == nil || r.ResolvedTime.Before(now) {
		t.Fatalf("status %s resolvedTime %v", r.Status, r.ResolvedTime)
	}
	events := tlList(t, srv.A(), ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
	if len(events) != 1 || aws.ToString(events[0].EventType) != "SSM Incident Record Update" {
		t.Fatalf("timeline %+v", events)
	}
}

// irSeed stores an OPEN record of account A under arn, with no tags,
// timeline or related items, straight into the server's store, and
// returns its creation time.
func irSeed(t *testing.T, srv *testserver.Server, arn string) time.Time {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, ok := service.ParseARN(arn)
	if !ok {
		t.Fatalf("bad ARN %s", arn)
	}
	plan, _, _ := strings.Cut(a.ID, "/")
	seed := &domain.IncidentRecord{
		ARN: arn, Account: testserver.AccountA, PlanName: plan, Title: "Seeded", Status: domain.IncidentOpen,
		Impact: 3, CreationTime: now, LastModifiedBy: irRootA, LastModifiedTime: now, DedupeString: "seeded " + arn,
		Source: domain.IncidentRecordSource{CreatedBy: irRootA, InvokedBy: aws.String(irRootA), Source: irCustom},
	}
	if err := srv.Main.Store.CreateIncidentRecord(ctx, seed, nil, nil); err != nil {
		t.Fatal(err)
	}
	return now
}

func TestUpdateIncidentRecordRefusals(t *testing.T) {
	srv := irServer(t, nil)
	a, b := srv.A(), srv.B()
	setUp(t, a)
	plan := irPlan(t, a, "db-down", "db-down")
	arn := irStartFrom(t, a, plan)
	six := irChat("c1", "c2", "c3", "c4", "c5", "c6")
	eleven := irTargets("t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11")
	invalid := []struct {
		name string
		in   ssmincidents.UpdateIncidentRecordInput
	}{
		{"impact 0", ssmincidents.UpdateIncidentRecordInput{Impact: aws.Int32(0)}},
		{"impact 6", ssmincidents.UpdateIncidentRecordInput{Impact: aws.Int32(6)}},
		{"impact 0 beside a valid title", ssmincidents.UpdateIncidentRecordInput{Title: aws.String("x"), Impact: aws.Int32(0)}},
		{"status CLOSED", ssmincidents.UpdateIncidentRecordInput{Status: "CLOSED"}},
		{"six chat topics", ssmincidents.UpdateIncidentRecordInput{ChatChannel: six}},
		{"no chat topics", ssmincidents.UpdateIncidentRecordInput{ChatChannel: &types.ChatChannelMemberChatbotSns{Value: []string{}}}},
		{"eleven notification targets", ssmincidents.UpdateIncidentRecordInput{NotificationTargets: eleven}},
		{"title too long", ssmincidents.UpdateIncidentRecordInput{Title: aws.String(strings.Repeat("t", 201))}},
	}
	before := irGet(t, a, arn)
	eventsBefore := len(tlList(t, a, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100))
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Arn = &arn
			_, err := a.UpdateIncidentRecord(ctx, &in)
			wantAPIError[*types.ValidationException](t, err, "ValidationException")
		})
	}

	unknown := "arn:aws:ssm-incidents::" + testserver.AccountA + ":incident-record/db-down/00000000-0000-4000-8000-000000000000"
	_, err := a.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &unknown, Title: aws.String("x")})
	irWantNotFound(t, err, unknown, types.ResourceTypeIncidentRecord)
	_, err = a.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &plan, Title: aws.String("x")})
	irWantNotFound(t, err, plan, types.ResourceTypeIncidentRecord)
	_, err = b.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Title: aws.String("hijack")})
	wantCrossAccountDenied(t, err, testserver.AccountB, "UpdateIncidentRecord", arn)

	after := irGet(t, a, arn)
	if !reflect.DeepEqual(irComparable(after), irComparable(before)) || !after.LastModifiedTime.Equal(*before.LastModifiedTime) {
		t.Fatalf("a refused update changed the record:\n got %+v\nwant %+v", after, before)
	}
	if n := len(tlList(t, a, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)); n != eventsBefore {
		t.Fatalf("refused updates added timeline events: %d, was %d", n, eventsBefore)
	}
}

// Every goroutine owns one member of one record (or one tag key of it)
// and writes it many times, all at once; afterwards the record holds the
// last value of every goroutine.
func TestConcurrentUpdatesLoseNoWrite(t *testing.T) {
	srv := irServer(t, nil)
	setUp(t, srv.A())
	plan := irPlan(t, srv.A(), "busy", "")
	arn := irStartFrom(t, srv.A(), plan)
	const (
		rounds     = 13
		tagWriters = 26
	)
	type writer struct {
		name   string
		update func(n int) *ssmincidents.UpdateIncidentRecordInput
	}
	status := func(n int) types.IncidentRecordStatus {
		if n%2 == 0 {
			return types.IncidentRecordStatusResolved
		}
		return types.IncidentRecordStatusOpen
	}
	members := []writer{
		{"title", func(n int) *ssmincidents.UpdateIncidentRecordInput {
			return &ssmincidents.UpdateIncidentRecordInput{Title: aws.String(fmt.Sprintf("title %d", n))}
		}},
		{"summary", func(n int) *ssmincidents.UpdateIncidentRecordInput {
			return &ssmincidents.UpdateIncidentRecordInput{Summary: aws.String(fmt.Sprintf("summary %d", n))}
		}},
		{"impact", func(n int) *ssmincidents.UpdateIncidentRecordInput {
			return &ssmincidents.UpdateIncidentRecordInput{Impact: aws.Int32(int32((n+1)%5 + 1))}
		}},
		{"status", func(n int) *ssmincidents.UpdateIncidentRecordInput {
			return &ssmincidents.UpdateIncidentRecordInput{Status: status(n)}
		}},
		{"chatChannel", func(n int) *ssmincidents.UpdateIncidentRecordInput {
			return &ssmincidents.UpdateIncidentRecordInput{ChatChannel: irChat(fmt.Sprintf("chat-%d", n))}
		}},
		{"notificationTargets", func(n int) *ssmincidents.UpdateIncidentRecordInput {
			return &ssmincidents.UpdateIncidentRecordInput{NotificationTargets: irTargets(fmt.Sprintf("t-%d", n), "always")}
		}},
	}
	errs := make(chan error, len(members)+tagWriters)
	var wg sync.WaitGroup
	for _, w := range members {
		c := srv.A()
		wg.Go(func() {
			for n := range rounds {
				in := w.update(n)
				in.Arn = &arn
				if _, err := c.UpdateIncidentRecord(ctx, in); err != nil {
					errs <- fmt.Errorf("%s round %d: %w", w.name, n, err)
					return
				}
			}
		})
	}
	for k := range tagWriters {
		c := srv.A()
		wg.Go(func() {
			for n := range rounds {
				_, err := c.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &arn,
					Tags: map[string]string{fmt.Sprintf("k%02d", k): fmt.Sprintf("v%d", n)}})
				if err != nil {
					errs <- fmt.Errorf("tag k%02d round %d: %w", k, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	last := rounds - 1
	r := irGet(t, srv.A(), arn)
	if got, want := aws.ToString(r.Title), fmt.Sprintf("title %d", last); got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if got, want := aws.ToString(r.Summary), fmt.Sprintf("summary %d", last); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if got, want := aws.ToInt32(r.Impact), int32((last+1)%5+1); got != want {
		t.Errorf("impact %d, want %d", got, want)
	}
	if r.Status != status(last) || (r.ResolvedTime != nil) != (status(last) == types.IncidentRecordStatusResolved) {
		t.Errorf("status %s resolvedTime %v, want %s", r.Status, r.ResolvedTime, status(last))
	}
	if want := irChat(fmt.Sprintf("chat-%d", last)); !reflect.DeepEqual(r.ChatChannel, want) {
		t.Errorf("chatChannel %#v", r.ChatChannel)
	}
	if want := irTargets(fmt.Sprintf("t-%d", last), "always"); !reflect.DeepEqual(r.NotificationTargets, want) {
		t.Errorf("notificationTargets %#v", r.NotificationTargets)
	}
	tags := irTags(t, srv.A(), arn)
	want := map[string]string{"service": "db"}
	for k := range tagWriters {
		want[fmt.Sprintf("k%02d", k)] = fmt.Sprintf("v%d", last)
	}
	if !reflect.DeepEqual(tags, want) {
		t.Errorf("tags\n got %v\nwant %v", tags, want)
	}
	// Every update changed its member, so each wrote one timeline event.
	events := tlList(t, srv.A(), ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
	if want := 1 + len(members)*rounds; len(events) != want {
		t.Errorf("%d timeline events, want %d", len(events), want)
	}
}

// irRec is what a test knows about a record it made.
type irRec struct {
	arn, title, createdBy string
	impact                int32
	resolved              bool
	created               time.Time
	resolvedAt            time.Time
}

// irList lists every record matching filters, maxResults at a time, and
// checks the page sizes.
func irList(t *testing.T, c *ssmincidents.Client, filters []types.Filter, maxResults int32) []types.IncidentRecordSummary {
	t.Helper()
	return listAll(t, "ListIncidentRecords", maxResults, func(token *string) ([]types.IncidentRecordSummary, *string, error) {
		page, err := c.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{Filters: filters, MaxResults: aws.Int32(maxResults), NextToken: token})
		if err != nil {
			return nil, nil, err
		}
		return page.IncidentRecordSummaries, page.NextToken, nil
	})
}

func irStrings(values ...string) types.Condition {
	return &types.ConditionMemberEquals{Value: &types.AttributeValueListMemberStringValues{Value: values}}
}

func irInts(values ...int32) types.Condition {
	return &types.ConditionMemberEquals{Value: &types.AttributeValueListMemberIntegerValues{Value: values}}
}

func irFilter(key string, cond types.Condition) types.Filter {
	return types.Filter{Key: aws.String(key), Condition: cond}
}

func TestListIncidentRecords(t *testing.T) {
	clock := newIRClock()
	srv := irServer(t, clock)
	root, alice := srv.A(), irAliceClient(srv)
	setUp(t, root)
	plans := []string{createPlan(t, root, "web"), createPlan(t, root, "db")}

	const n = 30
	recs := make([]*irRec, n)
	var mid time.Time
	for i := range n {
		now := clock.Advance(20 * time.Millisecond)
		c, by := root, irRootA
		if i%3 == 2 {
			c, by = alice, irAlice
		}
		title := fmt.Sprintf("incident %02d", i)
		impact := int32(i%5 + 1)
		arn := irStart(t, c, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plans[i%2], Title: &title, Impact: &impact})
		recs[i] = &irRec{arn: arn, title: title, createdBy: by, impact: impact, created: now}
		if i == n/2-1 {
			mid = clock.Advance(10 * time.Millisecond)
		}
	}
	for i, r := range recs {
		if i%4 == 0 || i == 9 {
			r.resolvedAt = clock.Advance(20 * time.Millisecond)
			r.resolved = true
			irUpdate(t, root, ssmincidents.UpdateIncidentRecordInput{Arn: &r.arn, Status: types.IncidentRecordStatusResolved})
		}
	}
	// Record 9 is reopened: OPEN again, without resolvedTime.
	recs[9].resolved = false
	irUpdate(t, alice, ssmincidents.UpdateIncidentRecordInput{Arn: &recs[9].arn, Status: types.IncidentRecordStatusOpen})

	// Newest first: the reverse of the order of creation.
	newestFirst := slices.Clone(recs)
	slices.Reverse(newestFirst)
	expect := func(keep func(r *irRec) bool) []string {
		var arns []string
		for _, r := range newestFirst {
			if keep(r) {
				arns = append(arns, r.arn)
			}
		}
		return arns
	}
	arnsOf := func(sums []types.IncidentRecordSummary) []string {
		var arns []string
		for _, s := range sums {
			arns = append(arns, aws.ToString(s.Arn))
		}
		return arns
	}

	// Summaries carry what the records hold.
	all := irList(t, root, nil, 100)
	if got, want := arnsOf(all), expect(func(*irRec) bool { return true }); !reflect.DeepEqual(got, want) {
		t.Fatalf("unfiltered list, newest first:\n got %v\nwant %v", got, want)
	}
	for i, s := range all {
		r := newestFirst[i]
		wantStatus := types.IncidentRecordStatusOpen
		if r.resolved {
			wantStatus = types.IncidentRecordStatusResolved
		}
		wantSource := types.IncidentRecordSource{CreatedBy: aws.String(r.createdBy), InvokedBy: aws.String(r.createdBy), Source: aws.String(irCustom)}
		switch {
		case aws.ToString(s.Title) != r.title, aws.ToInt32(s.Impact) != r.impact, s.Status != wantStatus:
			t.Fatalf("summary %d: title %q impact %d status %s, want %q %d %s", i, aws.ToString(s.Title), aws.ToInt32(s.Impact), s.Status, r.title, r.impact, wantStatus)
		case !irSameTime(s.CreationTime, r.created):
			t.Fatalf("summary %d: creationTime %v, want %v", i, s.CreationTime, r.created)
		case r.resolved && !irSameTime(s.ResolvedTime, r.resolvedAt), !r.resolved && s.ResolvedTime != nil:
			t.Fatalf("summary %d (%s): resolvedTime %v, want %v (resolved %v)", i, s.Status, s.ResolvedTime, r.resolvedAt, r.resolved)
		case s.IncidentRecordSource == nil || !reflect.DeepEqual(*s.IncidentRecordSource, wantSource):
			t.Fatalf("summary %d: incidentRecordSource %+v", i, s.IncidentRecordSource)
		}
	}

	cases := []struct {
		name    string
		filters []types.Filter
		keep    func(r *irRec) bool
	}{
		{"status RESOLVED", []types.Filter{irFilter("status", irStrings("RESOLVED"))},
			func(r *irRec) bool { return r.resolved }},
		{"status OPEN", []types.Filter{irFilter("status", irStrings("OPEN"))},
			func(r *irRec) bool { return !r.resolved }},
		{"status OPEN or RESOLVED", []types.Filter{irFilter("status", irStrings("OPEN", "RESOLVED"))},
			func(r *irRec) bool { return true }},
		{"impact 1", []types.Filter{irFilter("impact", irInts(1))},
			func(r *irRec) bool { return r.impact == 1 }},
		{"impact 1, 2 or 5", []types.Filter{irFilter("impact", irInts(1, 2, 5))},
			func(r *irRec) bool { return r.impact == 1 || r.impact == 2 || r.impact == 5 }},
		{"createdBy root", []types.Filter{irFilter("createdBy", irStrings(irRootA))},
			func(r *irRec) bool { return r.createdBy == irRootA }},
		{"createdBy alice", []types.Filter{irFilter("createdBy", irStrings(irAlice))},
			func(r *irRec) bool { return r.createdBy == irAlice }},
		{"createdBy root or alice", []types.Filter{irFilter("createdBy", irStrings(irAlice, irRootA))},
			func(r *irRec) bool { return true }},
		{"createdBy another account", []types.Filter{irFilter("createdBy", irStrings(irRootB))},
			func(r *irRec) bool { return false }},
		{"creationTime before", []types.Filter{irFilter("creationTime", &types.ConditionMemberBefore{Value: mid})},
			func(r *irRec) bool { return r.created.Before(mid) }},
		{"creationTime after", []types.Filter{irFilter("creationTime", &types.ConditionMemberAfter{Value: mid})},
			func(r *irRec) bool { return r.created.After(mid) }},
		{"creationTime window", []types.Filter{
			irFilter("creationTime", &types.ConditionMemberAfter{Value: recs[4].created}),
			irFilter("creationTime", &types.ConditionMemberBefore{Value: recs[11].created}),
		}, func(r *irRec) bool { return r.created.After(recs[4].created) && r.created.Before(recs[11].created) }},
		{"status OPEN and impact 2 or 3", []types.Filter{irFilter("status", irStrings("OPEN")), irFilter("impact", irInts(2, 3))},
			func(r *irRec) bool { return !r.resolved && (r.impact == 2 || r.impact == 3) }},
		{"after, by root, RESOLVED", []types.Filter{
			irFilter("creationTime", &types.ConditionMemberAfter{Value: mid}),
			irFilter("createdBy", irStrings(irRootA)),
			irFilter("status", irStrings("RESOLVED")),
		}, func(r *irRec) bool { return r.created.After(mid) && r.createdBy == irRootA && r.resolved }},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := expect(tc.keep)
			if !slices.Contains([]string{"status OPEN or RESOLVED", "createdBy root or alice", "createdBy another account"}, tc.name) && (len(want) == 0 || len(want) == n) {
				t.Fatalf("the data does not exercise this filter: %d of %d records match", len(want), n)
			}
			for _, size := range []int32{100, int32(i%7 + 1)} {
				if got := arnsOf(irList(t, root, tc.filters, size)); !reflect.DeepEqual(got, want) {
					t.Fatalf("maxResults %d:\n got %v\nwant %v", size, got, want)
				}
			}
		})
	}

	t.Run("pagination", func(t *testing.T) {
		open := []types.Filter{irFilter("status", irStrings("OPEN"))}
		for size := int32(1); size <= 7; size++ {
			if got, want := arnsOf(irList(t, root, nil, size)), expect(func(*irRec) bool { return true }); !reflect.DeepEqual(got, want) {
				t.Fatalf("maxResults %d:\n got %v\nwant %v", size, got, want)
			}
			if got, want := arnsOf(irList(t, root, open, size)), expect(func(r *irRec) bool { return !r.resolved }); !reflect.DeepEqual(got, want) {
				t.Fatalf("status OPEN, maxResults %d:\n got %v\nwant %v", size, got, want)
			}
		}
	})

	t.Run("a record started while paging does not shift the pages", func(t *testing.T) {
		var got []string
		var token, late *string
		for page := 0; ; page++ {
			out, err := root.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(4), NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, arnsOf(out.IncidentRecordSummaries)...)
			if page == 1 {
				clock.Advance(20 * time.Millisecond)
				late = aws.String(irStartFrom(t, root, plans[0]))
			}
			if token = out.NextToken; token == nil {
				break
			}
		}
		if _, err := root.DeleteIncidentRecord(ctx, &ssmincidents.DeleteIncidentRecordInput{Arn: late}); err != nil {
			t.Fatal(err)
		}
		if want := expect(func(*irRec) bool { return true }); !reflect.DeepEqual(got, want) {
			t.Fatalf("\n got %v\nwant %v", got, want)
		}
	})

	t.Run("account B sees none of A's records", func(t *testing.T) {
		setUp(t, srv.B())
		if got := irList(t, srv.B(), nil, 100); len(got) != 0 {
			t.Fatalf("B lists %d records", len(got))
		}
		if got := irList(t, srv.B(), []types.Filter{irFilter("createdBy", irStrings(irRootA))}, 100); len(got) != 0 {
			t.Fatalf("B lists %d of A's records by createdBy", len(got))
		}
	})
}

func TestListIncidentRecordsRefusals(t *testing.T) {
	srv := irServer(t, nil)
	a := srv.A()
	setUp(t, a)
	plan := createPlan(t, a, "p")
	for range 3 {
		irStartFrom(t, a, plan)
	}
	cases := []struct {
		name    string
		filters []types.Filter
	}{
		{"unknown key", []types.Filter{irFilter("severity", irInts(1))}},
		{"creationTime with equals", []types.Filter{irFilter("creationTime", irInts(1))}},
		{"impact with stringValues", []types.Filter{irFilter("impact", irStrings("1"))}},
		{"impact with before", []types.Filter{irFilter("impact", &types.ConditionMemberBefore{Value: time.Now()})}},
		{"impact outside 1-5", []types.Filter{irFilter("impact", irInts(0))}},
		{"status with integerValues", []types.Filter{irFilter("status", irInts(1))}},
		{"status CLOSED", []types.Filter{irFilter("status", irStrings("CLOSED"))}},
		{"status with after", []types.Filter{irFilter("status", &types.ConditionMemberAfter{Value: time.Now()})}},
		{"createdBy with integerValues", []types.Filter{irFilter("createdBy", irInts(1))}},
		{"empty status values", []types.Filter{irFilter("status", irStrings())}},
		{"empty impact values", []types.Filter{irFilter("impact", irInts())}},
		{"empty createdBy values", []types.Filter{irFilter("createdBy", irStrings())}},
		{"six filters", []types.Filter{
			irFilter("status", irStrings("OPEN")), irFilter("status", irStrings("OPEN")), irFilter("status", irStrings("OPEN")),
			irFilter("status", irStrings("OPEN")), irFilter("status", irStrings("OPEN")), irFilter("status", irStrings("OPEN")),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{Filters: tc.filters})
			wantAPIError[*types.ValidationException](t, err, "ValidationException")
		})
	}
	for _, size := range []int32{0, 101} {
		_, err := a.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(size)})
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	}

	first, err := a.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("%+v %v", first, err)
	}
	tok := aws.ToString(first.NextToken)
	createPlan(t, a, "q")
	plans, err := a.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{MaxResults: aws.Int32(1)})
	if err != nil || plans.NextToken == nil {
		t.Fatalf("%+v %v", plans, err)
	}
	record := aws.ToString(first.IncidentRecordSummaries[0].Arn)
	irUpdate(t, a, ssmincidents.UpdateIncidentRecordInput{Arn: &record, Title: aws.String("renamed")})
	events, err := a.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &record, MaxResults: aws.Int32(1)})
	if err != nil || events.NextToken == nil {
		t.Fatalf("%+v %v", events, err)
	}
	badTokens := []struct{ name, token string }{
		{"made up", "garbage"},
		{"altered", tok[:len(tok)-1] + string(tok[len(tok)-1]^1)},
		{"extended", tok + "x"},
		{"ListResponsePlans token", aws.ToString(plans.NextToken)},
		{"ListTimelineEvents token", aws.ToString(events.NextToken)},
	}
	for _, bt := range badTokens {
		t.Run("nextToken "+bt.name, func(t *testing.T) {
			_, err := a.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{NextToken: aws.String(bt.token)})
			wantAPIError[*types.ValidationException](t, err, "ValidationException")
		})
	}
	t.Run("nextToken of another account", func(t *testing.T) {
		setUp(t, srv.B())
		_, err := srv.B().ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{NextToken: &tok})
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	})
	// The genuine token still works.
	if _, err := a.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{NextToken: &tok}); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteIncidentRecord(t *testing.T) {
	srv := irServer(t, nil)
	a, b := srv.A(), srv.B()
	setUp(t, a)
	plan := irPlan(t, a, "db-down", "db-down")
	arn := irStart(t, a, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, RelatedItems: []types.RelatedItem{
		{Identifier: &types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: "https://example.com"}}},
	}})
	irUpdate(t, a, ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Title: aws.String("renamed")})
	events := tlList(t, a, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
	if len(events) != 2 || len(irTags(t, a, arn)) != 1 {
		t.Fatalf("setup: %d events, tags %v", len(events), irTags(t, a, arn))
	}
	other := irStartFrom(t, a, createPlan(t, a, "other"))

	// Account B may not delete A's record, and deletes nothing.
	_, err := b.DeleteIncidentRecord(ctx, &ssmincidents.DeleteIncidentRecordInput{Arn: &arn})
	wantCrossAccountDenied(t, err, testserver.AccountB, "DeleteIncidentRecord", arn)
	irGet(t, a, arn)

	resp := srv.Do("POST", "/deleteIncidentRecord", []byte(`{"arn":"`+arn+`"}`))
	if resp.Status != 204 || len(resp.Body) != 0 {
		t.Fatalf("status %d body %q", resp.Status, resp.Body)
	}
	_, err = a.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &arn})
	irWantNotFound(t, err, arn, types.ResourceTypeIncidentRecord)
	_, err = a.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn})
	tlWantCode(t, err, "ResourceNotFoundException", 404)
	_, err = a.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: &arn, EventId: events[0].EventId})
	irWantNotFound(t, err, arn, types.ResourceTypeIncidentRecord)
	_, err = a.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &arn})
	irWantNotFound(t, err, arn, types.ResourceTypeIncidentRecord)
	_, err = a.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"k": "v"}})
	irWantNotFound(t, err, arn, types.ResourceTypeIncidentRecord)
	_, err = a.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Title: aws.String("x")})
	irWantNotFound(t, err, arn, types.ResourceTypeIncidentRecord)
	if items, err := srv.Main.Store.ListRelatedItems(ctx, testserver.AccountA, arn, nil, 0); err != nil || len(items) != 0 {
		t.Fatalf("related items after delete: %v %v", items, err)
	}
	if got := irList(t, a, nil, 100); len(got) != 1 || aws.ToString(got[0].Arn) != other {
		t.Fatalf("list after delete: %+v", got)
	}
	irGet(t, a, other)

	// Deleting again, or deleting a record that never was, succeeds.
	unknown := "arn:aws:ssm-incidents::" + testserver.AccountA + ":incident-record/db-down/00000000-0000-4000-8000-000000000000"
	for _, gone := range []string{arn, unknown} {
		resp := srv.Do("POST", "/deleteIncidentRecord", []byte(`{"arn":"`+gone+`"}`))
		if resp.Status != 204 || len(resp.Body) != 0 {
			t.Fatalf("delete %s: status %d body %q", gone, resp.Status, resp.Body)
		}
	}
	// The deleted OPEN record no longer deduplicates a new start.
	if again := irStartFrom(t, a, plan); again == arn {
		t.Fatal("a start after the delete returned the deleted record")
	}
	// A record stored again under the deleted ARN inherits neither the
	// old timeline nor the old tags.
	irSeed(t, srv, arn)
	if got := tlList(t, a, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100); len(got) != 0 {
		t.Fatalf("the deleted record's timeline survived: %+v", got)
	}
	if got := irTags(t, a, arn); len(got) != 0 {
		t.Fatalf("the deleted record's tags survived: %v", got)
	}
	if items, err := srv.Main.Store.ListRelatedItems(ctx, testserver.AccountA, arn, nil, 0); err != nil || len(items) != 0 {
		t.Fatalf("the deleted record's related items survived: %v %v", items, err)
	}
}

func TestTagsOnIncidentRecords(t *testing.T) {
	srv := irServer(t, nil)
	a, b := srv.A(), srv.B()
	setUp(t, a)
	plan := irPlan(t, a, "tagged", "")
	arn := irStartFrom(t, a, plan)
	sibling := irStartFrom(t, a, plan)

	if _, err := a.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"team": "db", "sev": "1"}}); err != nil {
		t.Fatal(err)
	}
	if got := irTags(t, a, arn); !reflect.DeepEqual(got, map[string]string{"service": "db", "team": "db", "sev": "1"}) {
		t.Fatalf("after tag: %v", got)
	}
	if _, err := a.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"sev": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UntagResource(ctx, &ssmincidents.UntagResourceInput{ResourceArn: &arn, TagKeys: []string{"service", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if got := irTags(t, a, arn); !reflect.DeepEqual(got, map[string]string{"team": "db", "sev": "2"}) {
		t.Fatalf("after overwrite and untag: %v", got)
	}
	// Tags belong to one record: its sibling and the plan keep theirs.
	if got := irTags(t, a, sibling); !reflect.DeepEqual(got, map[string]string{"service": "db"}) {
		t.Fatalf("sibling: %v", got)
	}
	if got := irTags(t, a, plan); !reflect.DeepEqual(got, map[string]string{"owner": "sre"}) {
		t.Fatalf("plan: %v", got)
	}
	// Changing the template's tags later leaves existing records alone.
	if _, err := a.UpdateResponsePlan(ctx, &ssmincidents.UpdateResponsePlanInput{Arn: &plan, IncidentTemplateTags: map[string]string{"service": "cache"}}); err != nil {
		t.Fatal(err)
	}
	if got := irTags(t, a, sibling); !reflect.DeepEqual(got, map[string]string{"service": "db"}) {
		t.Fatalf("sibling after the template changed: %v", got)
	}
	if got := irTags(t, a, irStartFrom(t, a, plan)); !reflect.DeepEqual(got, map[string]string{"service": "cache"}) {
		t.Fatalf("new record after the template changed: %v", got)
	}

	_, err := a.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"aws:reserved": "x"}})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	many := map[string]string{}
	for i := range 49 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err = a.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &arn, Tags: many})
	qe := wantAPIError[*types.ServiceQuotaExceededException](t, err, "ServiceQuotaExceededException")
	if aws.ToString(qe.ResourceIdentifier) != arn || qe.ResourceType != types.ResourceTypeIncidentRecord {
		t.Fatalf("quota error %+v", qe)
	}
	if got := irTags(t, a, arn); len(got) != 2 {
		t.Fatalf("a refused tagging changed the tags: %v", got)
	}

	setUp(t, b)
	_, err = b.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &arn})
	wantCrossAccountDenied(t, err, testserver.AccountB, "ListTagsForResource", arn)
	_, err = b.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"k": "v"}})
	wantCrossAccountDenied(t, err, testserver.AccountB, "TagResource", arn)
	_, err = b.UntagResource(ctx, &ssmincidents.UntagResourceInput{ResourceArn: &arn, TagKeys: []string{"team"}})
	wantCrossAccountDenied(t, err, testserver.AccountB, "UntagResource", arn)
	if got := irTags(t, a, arn); !reflect.DeepEqual(got, map[string]string{"team": "db", "sev": "2"}) {
		t.Fatalf("after B's attempts: %v", got)
	}

	// The ARN travels URL-encoded in the path.
	resp := srv.Do("GET", "/tags/"+url.PathEscape(arn), nil)
	if resp.Status != 200 || !strings.Contains(string(resp.Body), `"team":"db"`) {
		t.Fatalf("raw ListTagsForResource: %d %s", resp.Status, resp.Body)
	}
}

// Records started at one same instant list by ARN, descending, and pages
// split between them lose or repeat none.
func TestListIncidentRecordsSameInstant(t *testing.T) {
	clock := newIRClock()
	srv := irServer(t, clock)
	c := srv.A()
	setUp(t, c)
	plan := createPlan(t, c, "burst")
	var want []string
	for range 8 {
		want = append(want, irStartFrom(t, c, plan))
	}
	slices.Sort(want)
	slices.Reverse(want)
	for size := int32(1); size <= 3; size++ {
		var got []string
		for _, s := range irList(t, c, nil, size) {
			if !s.CreationTime.Equal(clock.Now()) {
				t.Fatalf("creationTime %v, want %v", s.CreationTime, clock.Now())
			}
			got = append(got, aws.ToString(s.Arn))
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("maxResults %d:\n got %v\nwant %v", size, got, want)
		}
	}
}

// TestStartIncidentDeduplicatesTheSameAlarmOrEvent: without a dedupeString,
// starts triggered by the same CloudWatch alarm, or by the same EventBridge
// event (its rule and its event id), while the incident is OPEN return
// that incident ("By default, Incident Manager automatically deduplicates
// multiple incidents created by the same Amazon CloudWatch alarm or Amazon
// EventBridge event", the IncidentTemplate reference).
func TestStartIncidentDeduplicatesTheSameAlarmOrEvent(t *testing.T) {
	srv := irServer(t, nil)
	a := srv.A()
	setUp(t, a)
	plan := createPlan(t, a, "alarms")
	const (
		alarm      = "arn:aws:cloudwatch:us-east-1:" + testserver.AccountA + ":alarm:db-cpu"
		otherAlarm = "arn:aws:cloudwatch:us-east-1:" + testserver.AccountA + ":alarm:db-disk"
		rule       = "arn:aws:events:us-east-1:" + testserver.AccountA + ":rule/db-events"
	)
	byAlarm := func(arn string) string {
		return irStart(t, a, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, TriggerDetails: &types.TriggerDetails{
			Source: aws.String("aws.cloudwatch"), TriggerArn: aws.String(arn), Timestamp: aws.Time(time.Now()),
			RawData: aws.String(`{"alarmName":"` + arn + `","state":{"value":"ALARM"}}`),
		}})
	}
	byEvent := func(id string) string {
		return irStart(t, a, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, TriggerDetails: &types.TriggerDetails{
			Source: aws.String("aws.events"), TriggerArn: aws.String(rule), Timestamp: aws.Time(time.Now()),
			RawData: aws.String(`{"version":"0","id":"` + id + `","detail-type":"RDS DB Instance Event","source":"aws.rds","detail":{}}`),
		}})
	}

	first := byAlarm(alarm)
	if again := byAlarm(alarm); again != first {
		t.Fatalf("the same alarm while its incident is OPEN started %s, want %s", again, first)
	}
	other := byAlarm(otherAlarm)
	if other == first {
		t.Fatal("another alarm returned the first alarm's incident")
	}
	event := byEvent("7bf73129-1428-4cd3-a780-95db273d1602")
	if again := byEvent("7bf73129-1428-4cd3-a780-95db273d1602"); again != event {
		t.Fatalf("the same EventBridge event again started %s, want %s", again, event)
	}
	if next := byEvent("0a8b0b52-53d8-4f7a-a53a-3a1bd8f5e2a1"); next == event {
		t.Fatal("another event of the same rule returned the first event's incident")
	}
	// Starts by hand are not deduplicated without a dedupeString.
	if irStartFrom(t, a, plan) == irStartFrom(t, a, plan) {
		t.Fatal("two starts by hand without a dedupeString returned one incident")
	}
	if n := irCount(t, a); n != 6 {
		t.Fatalf("%d records, want 6", n)
	}
	// Once resolved, the alarm starts a new incident.
	irUpdate(t, a, ssmincidents.UpdateIncidentRecordInput{Arn: &first, Status: types.IncidentRecordStatusResolved})
	if next := byAlarm(alarm); next == first {
		t.Fatal("the alarm returned its resolved incident")
	}
	// A plan's own dedupeString still decides for the plan's starts.
	deduped := irPlan(t, a, "alarms-deduped", "db")
	start := func(arn string) string {
		return irStart(t, a, &ssmincidents.StartIncidentInput{ResponsePlanArn: &deduped, TriggerDetails: &types.TriggerDetails{
			Source: aws.String("aws.cloudwatch"), TriggerArn: aws.String(arn), Timestamp: aws.Time(time.Now()),
		}})
	}
	if start(alarm) != start(otherAlarm) {
		t.Fatal("two alarms on a plan with one dedupeString started two incidents")
	}
}
