package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/testserver"
)

// Principals of account A that AWS's examples show, with their keys.
const (
	userDraliatp    = "arn:aws:iam::111122223333:user/draliatp"
	userExampleUser = "arn:aws:iam::111122223333:user/exampleUser"
)

var principalKeys = map[string][2]string{
	"":              {testserver.KeyA, testserver.SecretA},
	userDraliatp:    {"AKIDDRALIATP", "secret-of-draliatp"},
	userExampleUser: {"AKIDEXAMPLEUSER", "secret-of-exampleuser"},
}

// millisecondClock is the server's clock: the real time (the aws CLI signs
// with it) to the millisecond, never on a whole second, so that a
// timestamp incidentd keeps to the millisecond always shows fractional
// seconds, as AWS's examples do, and the comparison of their precision
// does not depend on the moment the test runs.
func millisecondClock() time.Time {
	t := time.Now().Truncate(time.Millisecond)
	if t.Nanosecond() < int(time.Millisecond) {
		t = t.Add(time.Millisecond)
	}
	return t
}

// world is a running incidentd with what one example needs, and the
// correspondence between AWS's identifiers and the ones incidentd made.
type world struct {
	t         *testing.T
	srv       *testserver.Server
	c         *ssmincidents.Client
	ctx       context.Context
	principal string
	key       [2]string

	subst  map[string]string
	inputs map[string]bool
	diffs  []diff // of the set-up
}

// newWorld starts a server; principal is the caller the example shows
// ("" for account A's root key).
func newWorld(t *testing.T, principal string) *world {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "keys")
	var lines strings.Builder
	fmt.Fprintf(&lines, "%s %s %s\n", testserver.KeyB, testserver.SecretB, testserver.AccountB)
	for p, k := range principalKeys {
		if p != "" {
			fmt.Fprintf(&lines, "%s %s %s %s\n", k[0], k[1], testserver.AccountA, p)
		}
	}
	if err := os.WriteFile(creds, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := testserver.Start(t, func(cfg *app.Config) {
		cfg.CredentialsFile = creds
		cfg.Now = millisecondClock
	})
	key, ok := principalKeys[principal]
	if !ok {
		t.Fatalf("no key for principal %s", principal)
	}
	return &world{
		t: t, srv: srv, c: srv.Client(key[0], key[1]), ctx: context.Background(),
		principal: principal, key: key,
		subst: map[string]string{}, inputs: map[string]bool{},
	}
}

// same records that AWS's identifier aws stands for ours.
func (w *world) same(aws, ours string) {
	if aws != "" {
		w.subst[aws] = ours
	}
}

// in records s as text given to incidentd, which must come back as it is.
func (w *world) in(s string) string {
	w.inputs[s] = true
	return s
}

func (w *world) inNum(n int32) *int32 {
	w.inputs[fmt.Sprint(n)] = true
	return aws.Int32(n)
}

// inputsFromArgs records every argument, and every string of an argument
// that is JSON, as given text.
func (w *world) inputsFromArgs(args []string) {
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			w.inputs[x] = true
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--") {
			continue
		}
		w.inputs[a] = true
		if v, err := decodeJSON([]byte(a)); err == nil {
			walk(v)
		}
	}
}

func (w *world) must(err error, what string) {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("set-up: %s: %v", what, err)
	}
}

// lastSegment is the part of an ARN after its last slash.
func lastSegment(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}

// replicationSet creates the replication set (regions: name → KMS key,
// "" for the default key) for AWS's ARN awsARN.
func (w *world) replicationSet(awsARN string, regions map[string]string) string {
	in := map[string]types.RegionMapInputValue{}
	for r, k := range regions {
		v := types.RegionMapInputValue{}
		if k != "" {
			v.SseKmsKeyId = aws.String(w.in(k))
		}
		in[r] = v
	}
	out, err := w.c.CreateReplicationSet(w.ctx, &ssmincidents.CreateReplicationSetInput{Regions: in})
	w.must(err, "CreateReplicationSet")
	if awsARN != "" {
		w.same(lastSegment(awsARN), lastSegment(*out.Arn))
	}
	return *out.Arn
}

// ensureReplicationSet creates a replication set in us-east-1 unless the
// account has one.
func (w *world) ensureReplicationSet() {
	out, err := w.c.ListReplicationSets(w.ctx, &ssmincidents.ListReplicationSetsInput{})
	w.must(err, "ListReplicationSets")
	if len(out.ReplicationSetArns) == 0 {
		w.replicationSet("", map[string]string{"us-east-1": ""})
	}
}

// planName is the response plan's name in an ARN of a plan or incident.
func planName(arn string) string {
	_, res, _ := strings.Cut(arn, ":response-plan/")
	if res == "" {
		_, res, _ = strings.Cut(arn, ":incident-record/")
	}
	name, _, _ := strings.Cut(res, "/")
	return name
}

// plan creates the response plan AWS's ARN names; in, when given, has all
// but the name.
func (w *world) plan(awsARN string, in *ssmincidents.CreateResponsePlanInput) string {
	w.ensureReplicationSet()
	if in == nil {
		in = &ssmincidents.CreateResponsePlanInput{IncidentTemplate: &types.IncidentTemplate{Title: aws.String(w.in("Example-Incident")), Impact: w.inNum(5)}}
	}
	in.Name = aws.String(w.in(planName(awsARN)))
	out, err := w.c.CreateResponsePlan(w.ctx, in)
	w.must(err, "CreateResponsePlan")
	w.same(awsARN, *out.Arn)
	return *out.Arn
}

func (w *world) planExists(arn string) bool {
	_, err := w.c.GetResponsePlan(w.ctx, &ssmincidents.GetResponsePlanInput{Arn: aws.String(arn)})
	return err == nil
}

// incident starts an incident in place of AWS's incident ARN, from the
// plan the ARN names (created with the template title and impact when it
// is not there).
func (w *world) incident(awsARN string) string {
	plan := "arn:aws:ssm-incidents::" + testserver.AccountA + ":response-plan/" + planName(awsARN)
	if !w.planExists(plan) {
		w.plan(plan, nil)
	}
	out, err := w.c.StartIncident(w.ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan)})
	w.must(err, "StartIncident")
	w.same(lastSegment(awsARN), lastSegment(*out.IncidentRecordArn))
	return *out.IncidentRecordArn
}

// event creates a custom timeline event in place of AWS's event id.
func (w *world) event(awsID, incident string, at time.Time, typ, data string, refs ...types.EventReference) string {
	out, err := w.c.CreateTimelineEvent(w.ctx, &ssmincidents.CreateTimelineEventInput{
		IncidentRecordArn: aws.String(incident), EventTime: aws.Time(at),
		EventType: aws.String(w.in(typ)), EventData: aws.String(w.in(data)), EventReferences: refs,
	})
	w.must(err, "CreateTimelineEvent")
	w.same(awsID, *out.EventId)
	return *out.EventId
}

// relatedItem adds an item to the incident; it returns its generated id.
func (w *world) relatedItem(incident string, typ types.ItemType, value types.ItemValue, title string) string {
	switch v := value.(type) {
	case *types.ItemValueMemberUrl:
		w.in(v.Value)
	case *types.ItemValueMemberArn:
		w.in(v.Value)
	}
	_, err := w.c.UpdateRelatedItems(w.ctx, &ssmincidents.UpdateRelatedItemsInput{
		IncidentRecordArn: aws.String(incident),
		RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToAdd{Value: types.RelatedItem{
			Identifier: &types.ItemIdentifier{Type: typ, Value: value}, Title: aws.String(w.in(title)),
		}},
	})
	w.must(err, "UpdateRelatedItems")
	items, err := w.c.ListRelatedItems(w.ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: aws.String(incident)})
	w.must(err, "ListRelatedItems")
	return *items.RelatedItems[len(items.RelatedItems)-1].GeneratedId
}

// policy puts a resource policy in place of AWS's policy id; a refusal is
// a difference of the set-up.
func (w *world) policy(awsID, plan, doc string) (string, bool) {
	out, err := w.c.PutResourcePolicy(w.ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: aws.String(plan), Policy: aws.String(w.in(doc))})
	if err != nil {
		w.diffs = append(w.diffs, diff{"", kindSetup, "a response plan with this resource policy (PutResourcePolicy accepts it)", "PutResourcePolicy refused it: " + err.Error()})
		return "", false
	}
	w.same(awsID, *out.PolicyId)
	return *out.PolicyId, true
}

func (w *world) tag(arn string, tags map[string]string) {
	for k, v := range tags {
		w.in(k)
		w.in(v)
	}
	_, err := w.c.TagResource(w.ctx, &ssmincidents.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags})
	w.must(err, "TagResource")
}

func (w *world) update(in *ssmincidents.UpdateIncidentRecordInput) {
	_, err := w.c.UpdateIncidentRecord(w.ctx, in)
	w.must(err, "UpdateIncidentRecord")
}

// awsCLI runs the aws CLI against the server with the world's key.
func (w *world) awsCLI(args ...string) (stdout, stderr []byte, err error) {
	w.t.Helper()
	path := testserver.RequireTool(w.t, "aws", "pip install awscli, or see https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html")
	ctx, cancel := context.WithTimeout(w.ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append([]string{"--endpoint-url", w.srv.Endpoint, "ssm-incidents"}, args...)...)
	// The machine's own AWS settings stay out.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"AWS_ACCESS_KEY_ID="+w.key[0], "AWS_SECRET_ACCESS_KEY="+w.key[1],
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1", "AWS_PAGER=",
		"AWS_CONFIG_FILE="+w.cliConfig(), "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_DEFAULT_OUTPUT=json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

// cliConfig writes the aws CLI's configuration: only
// cli_timestamp_format = iso8601, the aws CLI v2's default, which AWS's
// examples show (the aws CLI v1 prints the epoch seconds as they came
// otherwise).
func (w *world) cliConfig() string {
	path := filepath.Join(w.t.TempDir(), "aws-config")
	if err := os.WriteFile(path, []byte("[default]\ncli_timestamp_format = iso8601\n"), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// raw sends a request signed with the world's key; target is the path
// and query as they go on the wire.
func (w *world) raw(method, target string, body []byte) testserver.Response {
	return w.srv.DoSigned(method, target, body, w.key[0], w.key[1], time.Now())
}

// recordFinding records a change through incidentd's own endpoint; it
// returns the finding's id.
func (w *world) recordFinding(details map[string]any) string {
	b, err := json.Marshal(details)
	w.must(err, "marshal finding")
	r := w.raw("POST", "/x/findings", b)
	if r.Status != 200 {
		w.t.Fatalf("set-up: POST /x/findings: %d %s", r.Status, r.Body)
	}
	var f struct{ ID string }
	w.must(json.Unmarshal(r.Body, &f), "finding answer")
	return f.ID
}

// recentEpoch is a time shortly before now as epoch seconds with
// milliseconds (not on a whole second).
func recentEpoch(ago time.Duration) float64 {
	t := millisecondClock().Add(-ago)
	return float64(t.UnixMilli()) / 1000
}

// mapText replaces AWS's identifiers in s by ours.
func (w *world) mapText(s string) string {
	c := &comparer{subst: w.subst}
	out, _ := c.mapAWS(s)
	return out
}
