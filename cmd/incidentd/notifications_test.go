package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"

	"github.com/incidentd/incidentd/internal/testserver"
)

// closedAddr is an address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// notifyingIncident creates a replication set and a plan notifying topic,
// starts an incident from it and resolves it: two notified changes.
func notifyingIncident(t *testing.T, c *ssmincidents.Client, topic string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String("notifying"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Checkout is down"), Impact: aws.Int32(2),
			NotificationTargets: []types.NotificationTargetItem{&types.NotificationTargetItemMemberSnsTopicArn{Value: topic}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.IncidentRecordArn)
	if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Status: types.IncidentRecordStatusResolved}); err != nil {
		t.Fatal(err)
	}
	return arn
}

// notificationsCLI runs incidentd notifications with args on data and
// returns its output.
func notificationsCLI(t *testing.T, data string, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, append(append([]string{"notifications"}, args...), "--data", data)...).CombinedOutput()
	if err != nil {
		t.Fatalf("incidentd notifications %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestNotificationsSurviveKill9: changes acknowledged while SNS cannot be
// reached are announced after a kill -9 and a restart that can reach it,
// in order, once each; incidentd notifications lists them on the
// database, pending while the server is down and delivered after.
func TestNotificationsSurviveKill9(t *testing.T) {
	moto := testserver.StartMoto(t)
	topic, queue := moto.TopicWithQueue("incidents")
	data := dataDir(t)
	env := append(rootEnv(), testserver.MotoCredentials...)
	p := startServerArgs(t, data, freeAddr(t), []string{"--sns-endpoint", "http://" + closedAddr(t)}, env...)
	incident := notifyingIncident(t, client(p.endpoint, testKey, testSecret), topic)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()

	pending := notificationsCLI(t, data, "list", "--state", "pending")
	if n := strings.Count(pending, incident); n != 2 || !strings.Contains(pending, topic) {
		t.Fatalf("pending after kill -9 (%d of the incident):\n%s", n, pending)
	}

	p = startServerArgs(t, data, freeAddr(t), []string{"--sns-endpoint", moto.Endpoint}, env...)
	got := moto.Receive(queue, 2, 60*time.Second)
	if len(got) != 2 {
		t.Fatalf("%d messages after the restart, want 2", len(got))
	}
	for i, m := range got {
		var e struct {
			DetailType string `json:"detail-type"`
			Resources  []string
			Detail     struct{ Sequence int64 }
		}
		if err := json.Unmarshal([]byte(m.Message), &e); err != nil || e.Detail.Sequence != int64(i+1) || e.Resources[0] != incident {
			t.Errorf("message %d: %s (%v)", i, m.Message, err)
		}
	}
	if more := moto.Receive(queue, 1, 2*time.Second); len(more) != 0 {
		t.Errorf("a message came twice: %+v", more)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(notificationsCLI(t, data, "list", "--state", "delivered"), incident) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not listed as delivered:\n%s", notificationsCLI(t, data, "list"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop(t, p)
}

// TestNotificationsRetryParked: a notification to a topic that does not
// exist is parked after its attempts; once the topic exists,
// incidentd notifications retry delivers it.
func TestNotificationsRetryParked(t *testing.T) {
	moto := testserver.StartMoto(t)
	// moto's account is the one of the topics it creates.
	topic := "arn:aws:sns:us-east-1:123456789012:later"
	data := dataDir(t)
	env := append(rootEnv(), testserver.MotoCredentials...)
	p := startServerArgs(t, data, freeAddr(t), []string{"--sns-endpoint", moto.Endpoint, "--notification-attempts", "1"}, env...)
	notifyingIncident(t, client(p.endpoint, testKey, testSecret), topic)
	var parked string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		parked = notificationsCLI(t, data, "list", "--state", "parked")
		// The incident's two changes (and the plan's test message).
		if strings.Count(parked, ":incident-record/") == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing parked:\n%s", notificationsCLI(t, data, "list"))
		}
	}
	if !strings.Contains(parked, "last error:") {
		t.Errorf("a parked notification without its error:\n%s", parked)
	}
	// The start's: the oldest, listed last.
	var id string
	for _, line := range strings.Split(parked, "\n") {
		if strings.Contains(line, "SSM Incident Start") {
			id = strings.Fields(line)[1]
		}
	}
	show := notificationsCLI(t, data, "show", id)
	if !strings.Contains(show, `"state": "parked"`) || !strings.Contains(show, `"detail-type": "SSM Incident Start"`) {
		t.Errorf("show %s:\n%s", id, show)
	}
	// The topic comes into being; the parked start is delivered on retry.
	if _, err := moto.SNS.CreateTopic(context.Background(), &sns.CreateTopicInput{Name: aws.String("later")}); err != nil {
		t.Fatal(err)
	}
	_, queue := moto.TopicWithQueue("later")
	if out := notificationsCLI(t, data, "retry", id); !strings.Contains(out, "pending again") {
		t.Errorf("retry: %s", out)
	}
	got := moto.Receive(queue, 1, 30*time.Second)
	if len(got) != 1 || !strings.Contains(got[0].Message, `"sequence":1`) {
		t.Fatalf("after the retry: %+v", got)
	}
	// Retrying what is not parked is refused.
	out, err := exec.Command(binary, "notifications", "retry", id, "--data", data).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no parked delivery") {
		t.Errorf("a second retry: %v\n%s", err, out)
	}
	stop(t, p)
}

// TestTwoNodesDeliverEachNotificationOnce: two incidentd processes on one
// PostgreSQL database both dispatch; every change of incidents updated
// through both arrives once, in order per incident.
func TestTwoNodesDeliverEachNotificationOnce(t *testing.T) {
	moto := testserver.StartMoto(t)
	topic, queue := moto.TopicWithQueue("incidents")
	dbURL := testserver.PostgresDatabase(t)
	env := append(rootEnv(), testserver.MotoCredentials...)
	flags := append(slices.Clone(unlimited), "--database-url", dbURL, "--sns-endpoint", moto.Endpoint)
	a := startServerArgs(t, dataDir(t), freeAddr(t), flags, env...)
	b := startServerArgs(t, dataDir(t), freeAddr(t), flags, env...)
	ca, cb := client(a.endpoint, testKey, testSecret), client(b.endpoint, testKey, testSecret)
	first := notifyingIncident(t, ca, topic)
	ctx := context.Background()
	plan := "arn:aws:ssm-incidents::" + testAccount + ":response-plan/notifying"
	incidents := []string{first}
	for range 3 {
		out, err := cb.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan)})
		if err != nil {
			t.Fatal(err)
		}
		incidents = append(incidents, aws.ToString(out.IncidentRecordArn))
	}
	// Ten title changes of each, through either node in turn.
	want := 2 + 3 // the first's start and resolution, the others' starts
	for i := range 10 {
		for k, arn := range incidents {
			c := ca
			if (i+k)%2 == 1 {
				c = cb
			}
			if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arn), Title: aws.String(fmt.Sprintf("title %d", i))}); err != nil {
				t.Fatal(err)
			}
			want++
		}
	}
	got := moto.Receive(queue, want, 60*time.Second)
	if more := moto.Receive(queue, 1, 3*time.Second); len(more) != 0 {
		got = append(got, more...)
	}
	if len(got) != want {
		t.Fatalf("%d messages, want %d", len(got), want)
	}
	seen := map[string]bool{}
	last := map[string]int64{}
	for _, m := range got {
		var e struct {
			ID        string
			Resources []string
			Detail    struct{ Sequence int64 }
		}
		if err := json.Unmarshal([]byte(m.Message), &e); err != nil {
			t.Fatal(err)
		}
		if seen[e.ID] {
			t.Errorf("message %s arrived twice", e.ID)
		}
		seen[e.ID] = true
		arn := e.Resources[0]
		if e.Detail.Sequence != last[arn]+1 {
			t.Errorf("%s: message %d after %d", arn, e.Detail.Sequence, last[arn])
		}
		last[arn] = e.Detail.Sequence
	}
	stop(t, a)
	stop(t, b)
}

// TestEventBridgeBusFlag: incidentd serve --eventbridge-bus NAME, with the
// bus's endpoint in AWS_ENDPOINT_URL_EVENTBRIDGE and the region in
// AWS_REGION, puts the calls that change state on that bus of moto, where
// a rule for the service's events sends them to SQS; incidentd
// notifications list --topic event-bus/NAME lists them, delivered.
func TestEventBridgeBusFlag(t *testing.T) {
	moto := testserver.StartMoto(t)
	queue := moto.RuleWithQueue("incidents", "all", `{"source": ["aws.ssm-incidents"], "detail-type": ["AWS API Call via CloudTrail"]}`)
	data := dataDir(t)
	env := append(rootEnv(), testserver.MotoCredentials...)
	env = append(env, "AWS_ENDPOINT_URL_EVENTBRIDGE="+moto.Endpoint)
	p := startServerArgs(t, data, freeAddr(t), []string{"--sns-endpoint", moto.Endpoint, "--eventbridge-bus", "incidents"}, env...)
	arn := notifyingIncident(t, client(p.endpoint, testKey, testSecret), "arn:aws:sns:us-east-1:123456789012:unheard")
	// CreateReplicationSet, CreateResponsePlan, StartIncident, UpdateIncidentRecord.
	bodies := moto.ReceiveBodies(queue, 4, 30*time.Second)
	var names []string
	for _, b := range bodies {
		var e struct {
			Detail struct {
				EventName         string
				RequestParameters map[string]any
			}
		}
		if err := json.Unmarshal([]byte(b), &e); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		names = append(names, e.Detail.EventName)
		if e.Detail.EventName == "UpdateIncidentRecord" && (e.Detail.RequestParameters["arn"] != arn || e.Detail.RequestParameters["status"] != "RESOLVED") {
			t.Errorf("UpdateIncidentRecord's requestParameters: %v", e.Detail.RequestParameters)
		}
	}
	slices.Sort(names)
	if want := []string{"CreateReplicationSet", "CreateResponsePlan", "StartIncident", "UpdateIncidentRecord"}; !slices.Equal(names, want) {
		t.Errorf("events %v, want %v", names, want)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		listed := notificationsCLI(t, data, "list", "--topic", "event-bus/incidents", "--state", "delivered")
		if n := strings.Count(listed, "AWS API Call via CloudTrail"); n == 4 && !strings.Contains(listed, ":sns:") {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%d events listed as delivered to event-bus/incidents:\n%s", n, listed)
		}
	}
	stop(t, p)
}
