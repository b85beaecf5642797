package service_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/testserver"
)

const (
	fdGroup = "arn:aws:codedeploy:us-east-1:" + testserver.AccountA + ":deploymentgroup:shop/web"
	fdStack = "arn:aws:cloudformation:us-east-1:" + testserver.AccountA + ":stack/shop/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
)

// fdFinding is the answer of POST /x/findings.
type fdFinding struct {
	ID               string                     `json:"id"`
	CreationTime     float64                    `json:"creationTime"`
	LastModifiedTime float64                    `json:"lastModifiedTime"`
	Details          map[string]json.RawMessage `json:"details"`
}

// fdServer starts a server whose clock is clock; configure adjusts its
// configuration further.
func fdServer(t *testing.T, clock *irClock, configure ...func(*app.Config)) *testserver.Server {
	t.Helper()
	return testserver.Start(t, append([]func(*app.Config){func(c *app.Config) { c.Now = clock.Now }}, configure...)...)
}

// fdIncident sets up account A with a plan and starts an incident; it
// returns the incident's ARN and creation time.
func fdIncident(t *testing.T, c *ssmincidents.Client) (string, time.Time) {
	t.Helper()
	setUp(t, c)
	arn := irStartFrom(t, c, createPlan(t, c, "deploys"))
	return arn, aws.ToTime(irGet(t, c, arn).CreationTime)
}

// fdEpoch writes t as epoch seconds with milliseconds, as the wire carries it.
func fdEpoch(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

func fdTime(sec float64) time.Time {
	return time.UnixMilli(int64(sec*1000 + 0.5)).UTC()
}

// fdDeployment is the body that records deployment id of fdGroup; end may be zero.
func fdDeployment(id string, start, end time.Time) string {
	b := `{"codeDeployDeployment":{"deploymentGroupArn":"` + fdGroup + `","deploymentId":"` + id + `","startTime":` + fdEpoch(start)
	if !end.IsZero() {
		b += `,"endTime":` + fdEpoch(end)
	}
	return b + `}}`
}

// fdStackUpdate is the body that records an update of stack; end may be zero.
func fdStackUpdate(stack string, start, end time.Time) string {
	b := `{"cloudFormationStackUpdate":{"stackArn":"` + stack + `","startTime":` + fdEpoch(start)
	if !end.IsZero() {
		b += `,"endTime":` + fdEpoch(end)
	}
	return b + `}}`
}

// fdPost sends body to the extension endpoint signed by account A.
func fdPost(srv *testserver.Server, body string) testserver.Response {
	return srv.Do("POST", restjson.FindingsPath, []byte(body))
}

// fdRecord records body for the account of key and returns the finding.
func fdRecord(t *testing.T, srv *testserver.Server, key, secret, body string) fdFinding {
	t.Helper()
	resp := srv.DoSigned("POST", restjson.FindingsPath, []byte(body), key, secret, time.Now())
	if resp.Status != http.StatusOK {
		t.Fatalf("POST %s %s: %d %s %s", restjson.FindingsPath, body, resp.Status, resp.ErrorType, resp.Body)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Error("no x-amzn-RequestId header")
	}
	var f fdFinding
	if err := json.Unmarshal(resp.Body, &f); err != nil {
		t.Fatalf("answer %s: %v", resp.Body, err)
	}
	return f
}

func fdRecordA(t *testing.T, srv *testserver.Server, body string) fdFinding {
	t.Helper()
	return fdRecord(t, srv, testserver.KeyA, testserver.SecretA, body)
}

// fdList lists an incident's findings, maxResults at a time, checking the
// page sizes, and returns their ids.
func fdList(t *testing.T, c *ssmincidents.Client, incident string, maxResults int32) []string {
	t.Helper()
	findings := listAll(t, "ListIncidentFindings", maxResults, func(token *string) ([]types.FindingSummary, *string, error) {
		page, err := c.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &incident, MaxResults: aws.Int32(maxResults), NextToken: token})
		if err != nil {
			return nil, nil, err
		}
		return page.Findings, page.NextToken, nil
	})
	var ids []string
	for _, f := range findings {
		if f.LastModifiedTime == nil {
			t.Errorf("finding %s without lastModifiedTime", aws.ToString(f.Id))
		}
		ids = append(ids, aws.ToString(f.Id))
	}
	return ids
}

func fdBatchGet(t *testing.T, c *ssmincidents.Client, incident string, ids ...string) *ssmincidents.BatchGetIncidentFindingsOutput {
	t.Helper()
	out, err := c.BatchGetIncidentFindings(ctx, &ssmincidents.BatchGetIncidentFindingsInput{IncidentRecordArn: &incident, FindingIds: ids})
	if err != nil {
		t.Fatalf("BatchGetIncidentFindings: %v", err)
	}
	return out
}

// fdErrors renders the errors of a BatchGetIncidentFindings answer as
// "id code" lines and checks each has a message.
func fdErrors(t *testing.T, out *ssmincidents.BatchGetIncidentFindingsOutput) []string {
	t.Helper()
	var got []string
	for _, e := range out.Errors {
		if aws.ToString(e.Message) == "" {
			t.Errorf("error of %s without a message", aws.ToString(e.FindingId))
		}
		got = append(got, aws.ToString(e.FindingId)+" "+aws.ToString(e.Code))
	}
	return got
}

func fdFoundIDs(out *ssmincidents.BatchGetIncidentFindingsOutput) []string {
	var ids []string
	for _, f := range out.Findings {
		ids = append(ids, aws.ToString(f.Id))
	}
	return ids
}

func TestRecordFindingAuthentication(t *testing.T) {
	srv := fdServer(t, newIRClock())
	setUp(t, srv.A())
	body := []byte(fdDeployment("d-AUTH00001", time.Now().Add(-time.Minute), time.Time{}))

	unsigned, err := http.NewRequest("POST", srv.Endpoint+restjson.FindingsPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		resp testserver.Response
		code string
	}{
		{"unsigned", srv.Send(unsigned), "MissingAuthenticationTokenException"},
		{"wrong secret", srv.DoSigned("POST", restjson.FindingsPath, body, testserver.KeyA, "not-the-secret", time.Now()), "InvalidSignatureException"},
		{"unknown key", srv.DoSigned("POST", restjson.FindingsPath, body, "AKIDNOBODY", testserver.SecretA, time.Now()), "UnrecognizedClientException"},
		{"signed an hour ago", srv.DoSigned("POST", restjson.FindingsPath, body, testserver.KeyA, testserver.SecretA, time.Now().Add(-time.Hour)), "InvalidSignatureException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.resp.Status != http.StatusForbidden || tc.resp.ErrorType != tc.code {
				t.Fatalf("got %d %q %s, want 403 %s", tc.resp.Status, tc.resp.ErrorType, tc.resp.Body, tc.code)
			}
			if tc.resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId header")
			}
			var e struct{ Message string }
			if err := json.Unmarshal(tc.resp.Body, &e); err != nil || e.Message == "" {
				t.Errorf("error body %s has no message", tc.resp.Body)
			}
		})
	}

	// A body altered after signing fails the signature check.
	req, _ := http.NewRequest("POST", srv.Endpoint+restjson.FindingsPath, bytes.NewReader(body))
	srv.Sign(req, body, testserver.KeyA, testserver.SecretA, time.Now())
	other := []byte(fdDeployment("d-AUTH00002", time.Now().Add(-time.Minute), time.Time{}))
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(other)), int64(len(other))
	if resp := srv.Send(req); resp.Status != http.StatusForbidden || resp.ErrorType != "InvalidSignatureException" {
		t.Fatalf("altered body: got %d %q %s", resp.Status, resp.ErrorType, resp.Body)
	}

	// Nothing was recorded; a signed request is, and is logged like any other.
	arn := irStartFrom(t, srv.A(), createPlan(t, srv.A(), "p"))
	if ids := fdList(t, srv.A(), arn, 20); len(ids) != 0 {
		t.Fatalf("refused requests recorded %v", ids)
	}
	f := fdRecordA(t, srv, string(body))
	if ids := fdList(t, srv.A(), arn, 20); !slices.Equal(ids, []string{f.ID}) {
		t.Fatalf("findings %v, want [%s]", ids, f.ID)
	}
	if !strings.Contains(srv.Log.String(), "op=RecordFinding status=200") {
		t.Errorf("no request log line for RecordFinding:\n%s", srv.Log.String())
	}
}

func TestRecordFindingRefusals(t *testing.T) {
	clock := newIRClock()
	srv := fdServer(t, clock)
	a := srv.A()
	arn, _ := fdIncident(t, a)
	now := clock.Now()
	longID := strings.Repeat("d", 129)
	cases := []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"not JSON", `{"codeDeployDeployment":`, 400, "SerializationException", "not valid JSON"},
		{"an array", `[]`, 400, "SerializationException", "Cannot deserialize the request body"},
		{"empty body", ``, 400, "ValidationException", "exactly one of codeDeployDeployment and cloudFormationStackUpdate"},
		{"no change", `{}`, 400, "ValidationException", "exactly one of codeDeployDeployment and cloudFormationStackUpdate"},
		{"both changes", `{"codeDeployDeployment":{},"cloudFormationStackUpdate":{}}`, 400, "ValidationException", "exactly one of"},
		{"a string for startTime", `{"codeDeployDeployment":{"deploymentGroupArn":"` + fdGroup + `","deploymentId":"d-1","startTime":"yesterday"}}`,
			400, "SerializationException", "'codeDeployDeployment.startTime': expected a timestamp in epoch seconds"},
		{"deployment without members", `{"codeDeployDeployment":{}}`, 400, "ValidationException",
			"3 validation errors detected: Value null at 'codeDeployDeployment.deploymentGroupArn' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'codeDeployDeployment.deploymentId' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'codeDeployDeployment.startTime' failed to satisfy constraint: Member must not be null"},
		{"stack update without members", `{"cloudFormationStackUpdate":{"endTime":` + fdEpoch(now) + `}}`, 400, "ValidationException",
			"2 validation errors detected: Value null at 'cloudFormationStackUpdate.stackArn' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'cloudFormationStackUpdate.startTime' failed to satisfy constraint: Member must not be null"},
		{"group that is no ARN", `{"codeDeployDeployment":{"deploymentGroupArn":"web","deploymentId":"d-1","startTime":1}}`, 400, "ValidationException",
			"1 validation error detected: Value 'web' at 'codeDeployDeployment.deploymentGroupArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws(-cn|-us-gov)?:[a-z0-9-]*:[a-z0-9-]*:([0-9]{12})?:.+$"},
		{"stack that is no ARN", `{"cloudFormationStackUpdate":{"stackArn":"shop","startTime":1}}`, 400, "ValidationException",
			"Value 'shop' at 'cloudFormationStackUpdate.stackArn' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"deployment id too long", `{"codeDeployDeployment":{"deploymentGroupArn":"` + fdGroup + `","deploymentId":"` + longID + `","startTime":1}}`, 400, "ValidationException",
			"1 validation error detected: Value '" + longID + "' at 'codeDeployDeployment.deploymentId' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"deployment that ends before it starts", fdDeployment("d-1", now, now.Add(-time.Millisecond)), 400, "ValidationException",
			"codeDeployDeployment.endTime (" + now.Add(-time.Millisecond).Format(time.RFC3339Nano) + ") is before codeDeployDeployment.startTime"},
		{"stack update that ends before it starts", fdStackUpdate(fdStack, now, now.Add(-time.Hour)), 400, "ValidationException",
			"cloudFormationStackUpdate.endTime"},
		{"body above 1 MiB", `{"codeDeployDeployment":{"deploymentId":"` + strings.Repeat("x", restjson.MaxBodyBytes) + `"}}`, 413, "RequestEntityTooLargeException", "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := fdPost(srv, tc.body)
			if resp.Status != tc.status || resp.ErrorType != tc.code {
				t.Fatalf("got %d %q %s, want %d %s", resp.Status, resp.ErrorType, resp.Body, tc.status, tc.code)
			}
			var e struct{ Message string }
			if err := json.Unmarshal(resp.Body, &e); err != nil {
				t.Fatalf("error body %s: %v", resp.Body, err)
			}
			if !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("message %q does not say %q", e.Message, tc.msg)
			}
		})
	}

	t.Run("account without a replication set", func(t *testing.T) {
		resp := srv.DoSigned("POST", restjson.FindingsPath, []byte(fdDeployment("d-1", now, time.Time{})), testserver.KeyB, testserver.SecretB, time.Now())
		if resp.Status != 400 || resp.ErrorType != "ValidationException" || !strings.Contains(string(resp.Body), "create a replication set first") {
			t.Fatalf("got %d %q %s", resp.Status, resp.ErrorType, resp.Body)
		}
	})
	t.Run("other methods", func(t *testing.T) {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			resp := srv.Do(method, restjson.FindingsPath, nil)
			if resp.Status != 404 || resp.ErrorType != "UnknownOperationException" {
				t.Errorf("%s: got %d %q %s", method, resp.Status, resp.ErrorType, resp.Body)
			}
		}
	})

	if ids := fdList(t, a, arn, 20); len(ids) != 0 {
		t.Fatalf("refused requests recorded %v", ids)
	}
}

func TestFindingsRecordedListedAndBatchGot(t *testing.T) {
	clock := newIRClock()
	srv := fdServer(t, clock)
	a := srv.A()
	arn, created := fdIncident(t, a)
	t0 := created.Add(-10 * time.Minute)

	// A deployment in progress and a finished stack update.
	dep := fdRecordA(t, srv, fdDeployment("d-ABCDEF123", t0, time.Time{}))
	// Ids look like AWS's, UUID-like (92c59324-ad98-c955-ebe1-35779EXAMPLE
	// in the API reference's examples).
	if !fdIDRE.MatchString(dep.ID) {
		t.Errorf("deployment id %q, want a UUID-like id", dep.ID)
	}
	if fdTime(dep.CreationTime) != clock.Now() || dep.LastModifiedTime != dep.CreationTime {
		t.Errorf("creationTime %v lastModifiedTime %v, want both %v", fdTime(dep.CreationTime), fdTime(dep.LastModifiedTime), clock.Now())
	}
	if _, ok := dep.Details["codeDeployDeployment"]; !ok || len(dep.Details) != 1 {
		t.Errorf("details %v", dep.Details)
	}
	stackStart, stackEnd := t0.Add(5*time.Minute), t0.Add(7*time.Minute+250*time.Millisecond)
	stack := fdRecordA(t, srv, fdStackUpdate(fdStack, stackStart, stackEnd))
	if !fdIDRE.MatchString(stack.ID) || stack.ID == dep.ID {
		t.Errorf("stack update id %q, want a UUID-like id of its own", stack.ID)
	}

	if ids := fdList(t, a, arn, 20); !slices.Equal(ids, []string{dep.ID, stack.ID}) {
		t.Fatalf("findings %v, want [%s %s] (by startTime)", ids, dep.ID, stack.ID)
	}

	out := fdBatchGet(t, a, arn, stack.ID, "08c5c945-b204-adaa-f0ef-2f212INVALID", dep.ID, stack.ID)
	if got := fdFoundIDs(out); !slices.Equal(got, []string{stack.ID, dep.ID}) {
		t.Fatalf("findings %v, want [%s %s] in the order asked, once each", got, stack.ID, dep.ID)
	}
	if got := fdErrors(t, out); !slices.Equal(got, []string{"08c5c945-b204-adaa-f0ef-2f212INVALID " + service.FindingErrorCode}) {
		t.Fatalf("errors %v", got)
	}
	s := out.Findings[0]
	su, ok := s.Details.(*types.FindingDetailsMemberCloudFormationStackUpdate)
	if !ok {
		t.Fatalf("stack update details %T", s.Details)
	}
	if aws.ToString(su.Value.StackArn) != fdStack || !aws.ToTime(su.Value.StartTime).Equal(stackStart) || !aws.ToTime(su.Value.EndTime).Equal(stackEnd) {
		t.Errorf("stack update %s %v %v", aws.ToString(su.Value.StackArn), su.Value.StartTime, su.Value.EndTime)
	}
	d := out.Findings[1]
	cd, ok := d.Details.(*types.FindingDetailsMemberCodeDeployDeployment)
	if !ok {
		t.Fatalf("deployment details %T", d.Details)
	}
	if aws.ToString(cd.Value.DeploymentGroupArn) != fdGroup || aws.ToString(cd.Value.DeploymentId) != "d-ABCDEF123" ||
		!aws.ToTime(cd.Value.StartTime).Equal(t0) || cd.Value.EndTime != nil {
		t.Errorf("deployment in progress: %s %s %v %v", aws.ToString(cd.Value.DeploymentGroupArn), aws.ToString(cd.Value.DeploymentId), cd.Value.StartTime, cd.Value.EndTime)
	}
	if !aws.ToTime(d.CreationTime).Equal(fdTime(dep.CreationTime)) || !aws.ToTime(d.LastModifiedTime).Equal(fdTime(dep.LastModifiedTime)) {
		t.Errorf("times %v %v differ from the recorded ones", d.CreationTime, d.LastModifiedTime)
	}

	// The deployment finishes: recorded again, it keeps its id and
	// creationTime, gains an endTime and a new lastModifiedTime.
	later := clock.Advance(90 * time.Second)
	done := fdRecordA(t, srv, fdDeployment("d-ABCDEF123", t0, later))
	if done.ID != dep.ID || done.CreationTime != dep.CreationTime || !fdTime(done.LastModifiedTime).Equal(later) {
		t.Fatalf("recorded again: %+v, first %+v", done, dep)
	}
	out = fdBatchGet(t, a, arn, dep.ID)
	cd = out.Findings[0].Details.(*types.FindingDetailsMemberCodeDeployDeployment)
	if !aws.ToTime(cd.Value.EndTime).Equal(later) || !aws.ToTime(out.Findings[0].LastModifiedTime).Equal(later) {
		t.Errorf("after the update: endTime %v lastModifiedTime %v, want %v", cd.Value.EndTime, out.Findings[0].LastModifiedTime, later)
	}
	// The same stack update again is the same finding; another start time
	// of the same stack is another update; another deployment id is
	// another deployment.
	if again := fdRecordA(t, srv, fdStackUpdate(fdStack, stackStart, stackEnd)); again.ID != stack.ID {
		t.Errorf("the same stack update recorded as %s, first %s", again.ID, stack.ID)
	}
	next := fdRecordA(t, srv, fdStackUpdate(fdStack, stackEnd, time.Time{}))
	other := fdRecordA(t, srv, fdDeployment("d-ABCDEF124", t0, later))
	if next.ID == stack.ID || other.ID == dep.ID {
		t.Fatal("a different change got an existing id")
	}
	list, err := a.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	// By startTime; the two deployments share one, so by id.
	sameStart := []string{dep.ID, other.ID}
	slices.Sort(sameStart)
	want := append(sameStart, stack.ID, next.ID)
	var got []string
	for _, f := range list.Findings {
		got = append(got, aws.ToString(f.Id))
		if aws.ToString(f.Id) == dep.ID && !aws.ToTime(f.LastModifiedTime).Equal(later) {
			t.Errorf("summary lastModifiedTime %v, want %v", f.LastModifiedTime, later)
		}
	}
	if !slices.Equal(got, want) || list.NextToken != nil {
		t.Fatalf("findings %v (nextToken %v), want %v", got, list.NextToken, want)
	}
}

func TestBatchGetIncidentFindingsWire(t *testing.T) {
	srv := fdServer(t, newIRClock())
	arn, _ := fdIncident(t, srv.A())
	for _, tc := range []struct{ name, body, want string }{
		{"no ids", `{"incidentRecordArn":"` + arn + `","findingIds":[]}`, `{"errors":[],"findings":[]}`},
		{"unknown id", `{"incidentRecordArn":"` + arn + `","findingIds":["x"]}`, `{"errors":[{"code":"ResourceNotFoundException","findingId":"x","message":"Finding with ID 'x' is not accessible"}],"findings":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := srv.Do("POST", "/batchGetIncidentFindings", []byte(tc.body))
			if resp.Status != 200 || string(resp.Body) != tc.want {
				t.Fatalf("got %d %s, want 200 %s", resp.Status, resp.Body, tc.want)
			}
		})
	}
	resp := srv.Do("POST", "/listIncidentFindings", []byte(`{"incidentRecordArn":"`+arn+`"}`))
	if resp.Status != 200 || string(resp.Body) != `{"findings":[]}` {
		t.Fatalf("ListIncidentFindings: got %d %s", resp.Status, resp.Body)
	}
}

func TestFindingsCorrelationWindow(t *testing.T) {
	clock := newIRClock()
	srv := fdServer(t, clock)
	a := srv.A()
	arn, created := fdIncident(t, a)
	from := created.Add(-service.DefaultFindingLookback)

	// While the incident is open its window ends now.
	inProgressOld := fdRecordA(t, srv, fdDeployment("d-OLD", created.Add(-48*time.Hour), zero()))
	// A start after the resolution to come (a pipeline whose clock is off).
	future := fdRecordA(t, srv, fdDeployment("d-FUTURE", created.Add(3*time.Hour), zero()))
	if got := fdList(t, a, arn, 20); !slices.Equal(got, []string{inProgressOld.ID}) {
		t.Fatalf("open incident: findings %v, want only the deployment in progress %s", got, inProgressOld.ID)
	}

	// The clock moves less than SigV4's 15 minutes in all.
	resolved := clock.Advance(5 * time.Minute)
	irUpdate(t, a, ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Status: types.IncidentRecordStatusResolved})
	if got := aws.ToTime(irGet(t, a, arn).ResolvedTime); !got.Equal(resolved) {
		t.Fatalf("resolvedTime %v, want %v", got, resolved)
	}
	clock.Advance(5 * time.Minute)

	type change struct {
		name   string
		body   string
		inside bool
	}
	changes := []change{
		{"ended just before the lookback", fdDeployment("d-1", from.Add(-time.Hour), from.Add(-time.Millisecond)), false},
		{"ended at the start of the lookback", fdDeployment("d-2", from.Add(-time.Hour), from), true},
		{"started at the resolution", fdStackUpdate(fdStack, resolved, resolved.Add(time.Minute)), true},
		{"started just after the resolution", fdStackUpdate(fdStack, resolved.Add(time.Millisecond), zero()), false},
		{"spans the whole window", fdDeployment("d-3", from.Add(-time.Hour), resolved.Add(time.Hour)), true},
		{"inside the lookback", fdDeployment("d-4", created.Add(-time.Hour), created.Add(-59*time.Minute)), true},
		{"during the incident", fdStackUpdate(fdStack, created.Add(time.Minute), zero()), true},
	}
	var inside, outside []string
	ids := map[string]string{}
	for _, c := range changes {
		f := fdRecordA(t, srv, c.body)
		ids[f.ID] = c.name
		if c.inside {
			inside = append(inside, f.ID)
		} else {
			outside = append(outside, f.ID)
		}
	}
	inside = append(inside, inProgressOld.ID)
	outside = append(outside, future.ID)

	got := fdList(t, a, arn, 20)
	if !sameSet(got, inside) {
		t.Fatalf("findings %v, want %v", names(got, ids), names(inside, ids))
	}
	out := fdBatchGet(t, a, arn, append(slices.Clone(inside), outside...)...)
	if !slices.Equal(fdFoundIDs(out), inside) {
		t.Errorf("batch get found %v, want %v", names(fdFoundIDs(out), ids), names(inside, ids))
	}
	var wantErrs []string
	for _, id := range outside {
		wantErrs = append(wantErrs, id+" "+service.FindingErrorCode)
	}
	if errs := fdErrors(t, out); !slices.Equal(errs, wantErrs) {
		t.Errorf("errors %v, want %v", errs, wantErrs)
	}
	if msg := aws.ToString(out.Errors[0].Message); !strings.Contains(msg, "does not overlap the window of incident "+arn) {
		t.Errorf("message %q", msg)
	}

	t.Run("configured lookback", func(t *testing.T) {
		clock := newIRClock()
		srv := fdServer(t, clock, func(c *app.Config) { c.Service.FindingLookback = 10 * time.Minute })
		a := srv.A()
		arn, created := fdIncident(t, a)
		near := fdRecordA(t, srv, fdDeployment("d-NEAR", created.Add(-20*time.Minute), created.Add(-10*time.Minute)))
		far := fdRecordA(t, srv, fdDeployment("d-FAR", created.Add(-20*time.Minute), created.Add(-10*time.Minute-time.Millisecond)))
		if got := fdList(t, a, arn, 20); !slices.Equal(got, []string{near.ID}) {
			t.Fatalf("findings %v, want [%s] and not %s", got, near.ID, far.ID)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func names(ids []string, byID map[string]string) []string {
	var out []string
	for _, id := range ids {
		if n, ok := byID[id]; ok {
			out = append(out, n)
		} else {
			out = append(out, id)
		}
	}
	return out
}

func TestListIncidentFindingsPagination(t *testing.T) {
	clock := newIRClock()
	srv := fdServer(t, clock)
	a := srv.A()
	arn, created := fdIncident(t, a)
	second := irStartFrom(t, a, createPlan(t, a, "second"))

	var recorded []string
	for i := range 7 {
		// Two pairs share a startTime, so that the id breaks ties.
		start := created.Add(-time.Duration(7-i/2*2) * time.Minute)
		recorded = append(recorded, fdRecordA(t, srv, fdDeployment("d-PAGE"+strconv.Itoa(i), start, zero())).ID)
	}
	all := fdList(t, a, arn, 20)
	if len(all) != 7 || !sameSet(all, recorded) {
		t.Fatalf("findings %v, want the 7 recorded %v", all, recorded)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1] == all[i] {
			t.Fatalf("%s listed twice", all[i])
		}
	}
	for _, n := range []int32{1, 2, 3} {
		if got := fdList(t, a, arn, n); !slices.Equal(got, all) {
			t.Errorf("maxResults %d: %v, want %v", n, got, all)
		}
	}

	first, err := a.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &arn, MaxResults: aws.Int32(2)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v %v", first, err)
	}
	tok := aws.ToString(first.NextToken)
	forged := tok[:len(tok)-2] + "AA"
	if forged == tok {
		forged = tok[:len(tok)-2] + "BB"
	}
	bad := []struct {
		name   string
		client *ssmincidents.Client
		in     ssmincidents.ListIncidentFindingsInput
		msg    string
	}{
		{"forged token", a, ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &arn, NextToken: &forged}, "The nextToken is not valid for ListIncidentFindings"},
		{"made-up token", a, ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &arn, NextToken: aws.String("eyJvIjoiTGlzdEluY2lkZW50RmluZGluZ3MifQ.xyz")}, "The nextToken is not valid"},
		{"another incident's token", a, ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &second, NextToken: &tok}, "pass it with the same incidentRecordArn"},
		{"maxResults 0", a, ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &arn, MaxResults: aws.Int32(0)}, "Member must have value greater than or equal to 1"},
		{"maxResults 21", a, ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &arn, MaxResults: aws.Int32(21)}, "Member must have value less than or equal to 20"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.ListIncidentFindings(ctx, &tc.in)
			v := wantAPIError[*types.ValidationException](t, err, "ValidationException")
			if !strings.Contains(aws.ToString(v.Message), tc.msg) {
				t.Fatalf("message %q does not say %q", aws.ToString(v.Message), tc.msg)
			}
		})
	}

	t.Run("token of another operation", func(t *testing.T) {
		plans, err := a.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{MaxResults: aws.Int32(1)})
		if err != nil || plans.NextToken == nil {
			t.Fatalf("ListResponsePlans: %v %v", plans, err)
		}
		_, err = a.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &arn, NextToken: plans.NextToken})
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	})

	// A token holds a position, not an offset: findings recorded while a
	// client pages land in their place, before the position (not seen) or
	// after it (seen once).
	before := fdRecordA(t, srv, fdDeployment("d-EARLY", created.Add(-time.Hour), zero())).ID
	after := fdRecordA(t, srv, fdDeployment("d-LATE", created, zero())).ID
	rest, err := a.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &arn, NextToken: &tok, MaxResults: aws.Int32(20)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rest.Findings {
		got = append(got, aws.ToString(f.Id))
	}
	if want := append(slices.Clone(all[2:]), after); !slices.Equal(got, want) || slices.Contains(got, before) {
		t.Fatalf("rest of the pages %v, want %v", got, want)
	}
}

func zero() time.Time { return time.Time{} }

func TestFindingsAccountIsolation(t *testing.T) {
	clock := newIRClock()
	srv := fdServer(t, clock)
	a, b := srv.A(), srv.B()
	arnA, created := fdIncident(t, a)
	setUp(t, b)
	arnB := irStartFrom(t, b, createPlan(t, b, "deploys"))

	groupB := strings.ReplaceAll(fdGroup, testserver.AccountA, testserver.AccountB)
	bodyB := `{"codeDeployDeployment":{"deploymentGroupArn":"` + groupB + `","deploymentId":"d-B","startTime":` + fdEpoch(created) + `}}`
	fB := fdRecord(t, srv, testserver.KeyB, testserver.SecretB, bodyB)
	// The same change recorded by both accounts is a finding of each.
	same := fdDeployment("d-BOTH", created, zero())
	sameA := fdRecordA(t, srv, same)
	sameB := fdRecord(t, srv, testserver.KeyB, testserver.SecretB, same)

	if got := fdList(t, a, arnA, 20); !slices.Equal(got, []string{sameA.ID}) {
		t.Fatalf("A's incident: findings %v, want [%s]", got, sameA.ID)
	}
	if got := fdList(t, b, arnB, 20); !sameSet(got, []string{fB.ID, sameB.ID}) {
		t.Fatalf("B's incident: findings %v, want [%s %s]", got, fB.ID, sameB.ID)
	}
	out := fdBatchGet(t, a, arnA, fB.ID)
	if got := fdErrors(t, out); !slices.Equal(got, []string{fB.ID + " " + service.FindingErrorCode}) || len(out.Findings) != 0 {
		t.Fatalf("A asking for B's finding: errors %v findings %v", got, out.Findings)
	}

	missing := "arn:aws:ssm-incidents::" + testserver.AccountA + ":incident-record/deploys/1abd9b35-ff4c-eb47-f20f-712a6c4c88cc"
	for _, tc := range []struct {
		name string
		arn  string
	}{
		{"unknown incident", missing},
		{"a response plan ARN", createPlan(t, a, "other")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: aws.String(tc.arn)})
			irWantNotFound(t, err, tc.arn, types.ResourceTypeIncidentRecord)
			_, err = a.BatchGetIncidentFindings(ctx, &ssmincidents.BatchGetIncidentFindingsInput{IncidentRecordArn: aws.String(tc.arn), FindingIds: []string{sameA.ID}})
			irWantNotFound(t, err, tc.arn, types.ResourceTypeIncidentRecord)
		})
	}
	t.Run("A's incident read by B", func(t *testing.T) {
		_, err := b.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &arnA})
		wantCrossAccountDenied(t, err, testserver.AccountB, "ListIncidentFindings", arnA)
		_, err = b.BatchGetIncidentFindings(ctx, &ssmincidents.BatchGetIncidentFindingsInput{IncidentRecordArn: &arnA, FindingIds: []string{sameA.ID}})
		wantCrossAccountDenied(t, err, testserver.AccountB, "BatchGetIncidentFindings", arnA)
	})
}

func TestDeleteReplicationSetRemovesFindings(t *testing.T) {
	clock := newIRClock()
	srv := fdServer(t, clock)
	a := srv.A()
	rs := setUp(t, a)
	f := fdRecordA(t, srv, fdDeployment("d-GONE", clock.Now().Add(-time.Minute), zero()))
	if _, err := a.DeleteReplicationSet(ctx, &ssmincidents.DeleteReplicationSetInput{Arn: &rs}); err != nil {
		t.Fatalf("DeleteReplicationSet: %v", err)
	}
	arn, _ := fdIncident(t, a)
	if got := fdList(t, a, arn, 20); len(got) != 0 {
		t.Fatalf("findings %v survived DeleteReplicationSet", got)
	}
	if got := fdErrors(t, fdBatchGet(t, a, arn, f.ID)); !slices.Equal(got, []string{f.ID + " " + service.FindingErrorCode}) {
		t.Fatalf("errors %v", got)
	}
}

// fdIDRE is the form of a finding id: UUID-like, as AWS's.
var fdIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
