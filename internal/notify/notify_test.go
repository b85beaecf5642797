package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/testserver"
)

var ctx = context.Background()

// startNotifying starts a server that publishes to endpoint, with a
// replication set, and returns it with a client.
func startNotifying(t *testing.T, endpoint string, configure ...func(*app.Config)) (*testserver.Server, *ssmincidents.Client) {
	t.Helper()
	testserver.UseMotoCredentials(t)
	srv := testserver.Start(t, append([]func(*app.Config){func(c *app.Config) { c.SNSEndpoint = endpoint }}, configure...)...)
	c := srv.A()
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// planNotifying creates a response plan whose incidents notify targets
// and whose chat channel's topics are chat, and returns its ARN.
func planNotifying(t testing.TB, c *ssmincidents.Client, name string, targets, chat []string) string {
	t.Helper()
	tmpl := &types.IncidentTemplate{Title: aws.String("Checkout is down"), Impact: aws.Int32(2)}
	for _, topic := range targets {
		tmpl.NotificationTargets = append(tmpl.NotificationTargets, &types.NotificationTargetItemMemberSnsTopicArn{Value: topic})
	}
	in := &ssmincidents.CreateResponsePlanInput{Name: aws.String(name), IncidentTemplate: tmpl}
	if len(chat) > 0 {
		in.ChatChannel = &types.ChatChannelMemberChatbotSns{Value: chat}
	}
	out, err := c.CreateResponsePlan(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Arn)
}

// events decodes the events of SNS messages.
func events(t *testing.T, msgs []testserver.SNSMessage) []service.Event {
	t.Helper()
	var out []service.Event
	for _, m := range msgs {
		if m.Type != "Notification" {
			t.Errorf("SNS envelope of type %q", m.Type)
		}
		var e service.Event
		if err := json.Unmarshal([]byte(m.Message), &e); err != nil {
			t.Fatalf("a message that is not an event: %s", m.Message)
		}
		out = append(out, e)
	}
	return out
}

// change makes the incident's four notified changes: its start, a new
// title, its resolution with a new impact, and a related item added.
func change(t *testing.T, c *ssmincidents.Client, plan string) string {
	t.Helper()
	out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.IncidentRecordArn)
	if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Title: aws.String("Checkout fails for EU customers")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Impact: aws.Int32(4), Status: types.IncidentRecordStatusResolved}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{IncidentRecordArn: &arn, RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToAdd{
		Value: types.RelatedItem{Identifier: &types.ItemIdentifier{Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: "https://status.example.com"}}, Title: aws.String("Status page")},
	}}); err != nil {
		t.Fatal(err)
	}
	return arn
}

// TestNotificationsReachSNS: a start, two updates and a related item of an
// incident whose plan names a notification target and a chat channel topic
// arrive, through moto's SNS, in SQS queues subscribed to each topic: in
// order, once each, as the EventBridge-style events consumers written for
// AWS parse, with message attributes for filter policies.
func TestNotificationsReachSNS(t *testing.T) {
	moto := testserver.StartMoto(t)
	targets, targetQueue := moto.TopicWithQueue("incidents")
	chat, chatQueue := moto.TopicWithQueue("chat")
	srv, c := startNotifying(t, moto.Endpoint, testserver.WithMetrics)
	arn := change(t, c, planNotifying(t, c, "notifying", []string{targets}, []string{chat}))

	got := moto.Receive(targetQueue, 4, 30*time.Second)
	if len(got) != 4 {
		t.Fatalf("%d messages arrived for the notification target, want 4", len(got))
	}
	evs := events(t, got)
	for i, e := range evs {
		if e.Version != "0" || e.Source != "aws.ssm-incidents" || e.Account != testserver.AccountA || e.Region != "us-east-1" ||
			len(e.Resources) != 1 || e.Resources[0] != arn || e.Detail.Sequence != int64(i+1) || e.ID == "" {
			t.Errorf("event %d: %+v", i, e)
		}
		if _, err := time.Parse(time.RFC3339, e.Time); err != nil {
			t.Errorf("event %d time %q: %v", i, e.Time, err)
		}
		if got[i].TopicArn != targets {
			t.Errorf("event %d came from %s", i, got[i].TopicArn)
		}
	}
	if evs[0].DetailType != "SSM Incident Start" || evs[0].Detail.IncidentTitle != "Checkout is down" || len(evs[0].Detail.ModifiedAttributes) != 0 {
		t.Errorf("the start: %+v", evs[0])
	}
	if a := evs[1].Detail.ModifiedAttributes; evs[1].DetailType != "SSM Incident Record Update" || len(a) != 1 || a[0].AttributeName != "title" ||
		a[0].NewValue != "Checkout fails for EU customers" || a[0].OldValue != "Checkout is down" || evs[1].Detail.IncidentTitle != "Checkout fails for EU customers" {
		t.Errorf("the title's change: %+v", evs[1])
	}
	if a := evs[2].Detail.ModifiedAttributes; len(a) != 2 || a[0].AttributeName != "status" || a[0].NewValue != "RESOLVED" || a[1].AttributeName != "impact" ||
		a[1].NewValue != "4" || evs[2].Detail.Status != "RESOLVED" || evs[2].Detail.Impact != 4 {
		t.Errorf("the resolution (status first): %+v", evs[2])
	}
	if a := evs[3].Detail.ModifiedAttributes; len(a) != 1 || a[0].AttributeName != "relatedItems" || !strings.Contains(a[0].NewValue, `"itemToAdd"`) ||
		!strings.Contains(a[0].NewValue, "https://status.example.com") {
		t.Errorf("the related item: %+v", evs[3])
	}
	if attrs := got[2].MessageAttributes; attrs["eventType"].Value != "SSM Incident Record Update" || attrs["status"].Value != "RESOLVED" ||
		attrs["impact"].Value != "4" || attrs["impact"].Type != "String" {
		t.Errorf("message attributes of the resolution: %+v", attrs)
	}

	// The chat channel's topic hears the same changes, under the same ids.
	chatGot := events(t, moto.Receive(chatQueue, 4, 30*time.Second))
	if len(chatGot) != 4 {
		t.Fatalf("%d messages arrived for the chat channel, want 4", len(chatGot))
	}
	for i := range chatGot {
		if chatGot[i].ID != evs[i].ID || chatGot[i].Detail.Sequence != int64(i+1) {
			t.Errorf("chat event %d: id %s seq %d, want id %s", i, chatGot[i].ID, chatGot[i].Detail.Sequence, evs[i].ID)
		}
	}
	// Once each.
	if more := moto.Receive(targetQueue, 1, 2*time.Second); len(more) != 0 {
		t.Errorf("a message arrived again: %+v", more)
	}
	// The metrics count ten publishes sent (the four changes to two topics,
	// and each topic's test message when the plan came to name it), none
	// retried or parked, and time them.
	outcomes := attempts(t, srv, "sns")
	if outcomes["sent"] != 10 || outcomes["retried"] != 0 || outcomes["parked"] != 0 {
		t.Errorf("incidentd_notification_attempts_total{destination=\"sns\"}: %v", outcomes)
	}
	if h := scrape(t, srv)["incidentd_notification_publish_duration_seconds"].GetMetric(); len(h) != 1 || h[0].GetHistogram().GetSampleCount() != 10 {
		t.Errorf("incidentd_notification_publish_duration_seconds: %v", h)
	}
}

// scrape reads the server's metrics with the Prometheus text parser.
func scrape(t *testing.T, srv *testserver.Server) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(srv.Metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// attempts are the counts of incidentd_notification_attempts_total of a
// destination, by outcome.
func attempts(t *testing.T, srv *testserver.Server, destination string) map[string]float64 {
	t.Helper()
	outcomes := map[string]float64{}
	for _, m := range scrape(t, srv)["incidentd_notification_attempts_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["destination"] == destination {
			outcomes[labels["outcome"]] = m.GetCounter().GetValue()
		}
	}
	return outcomes
}

// TestMissingTopicIsParkedAndDelaysNoOther: a notification target that
// does not exist gets its attempts and is parked; the incident's other
// topic, and other incidents, are notified without waiting for it.
func TestMissingTopicIsParkedAndDelaysNoOther(t *testing.T) {
	moto := testserver.StartMoto(t)
	good, queue := moto.TopicWithQueue("incidents")
	missing := "arn:aws:sns:us-east-1:" + testserver.AccountA + ":no-such-topic"
	srv, c := startNotifying(t, moto.Endpoint, func(c *app.Config) { c.NotificationAttempts = 2 })
	plan := planNotifying(t, c, "half-missing", []string{missing, good}, nil)
	start := time.Now()
	change(t, c, plan)
	if got := moto.Receive(queue, 4, 30*time.Second); len(got) != 4 {
		t.Fatalf("%d messages arrived for the topic that exists, want 4", len(got))
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the topic that exists waited %v", took)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		parked, err := srv.Main.Store.ListDeliveries(ctx, domain.DeliveryFilter{State: domain.DeliveryParked}, 10)
		if err != nil {
			t.Fatal(err)
		}
		// The start's (the plan's test message to the missing topic is
		// parked too).
		if i := slices.IndexFunc(parked, func(d *domain.Delivery) bool { return d.DetailType == "SSM Incident Start" }); i >= 0 {
			d := parked[i]
			if d.Topic != missing || d.Attempts != 2 || d.LastError == "" || d.Seq != 1 {
				t.Errorf("parked delivery: %+v", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivery to the missing topic was not parked")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNotificationsWaitForSNS: while SNS cannot be reached the changes'
// deliveries wait; once it answers they arrive, in order.
func TestNotificationsWaitForSNS(t *testing.T) {
	moto := testserver.StartMoto(t)
	topic, queue := moto.TopicWithQueue("incidents")
	// SNS's address answers nothing at first.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv, c := startNotifying(t, "http://"+addr, testserver.WithMetrics)
	change(t, c, planNotifying(t, c, "waiting", []string{topic}, nil))
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds, err := srv.Main.Store.ListDeliveries(ctx, domain.DeliveryFilter{State: domain.DeliveryPending}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(ds, func(d *domain.Delivery) bool { return d.Attempts > 0 && d.LastError != "" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempt recorded while SNS was down: %+v", ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The backlog shows on /metrics (read at most once a second).
	time.Sleep(1100 * time.Millisecond)
	// The four changes, and the plan's test message to the topic.
	if depth, age := gauge(t, srv, "incidentd_notification_queue_depth"), gauge(t, srv, "incidentd_notification_oldest_pending_age_seconds"); depth != 5 || age <= 0 {
		t.Errorf("while SNS is down: queue depth %v, oldest pending %v s", depth, age)
	}
	// SNS comes back at that address.
	stop := forward(t, addr, strings.TrimPrefix(moto.Endpoint, "http://"))
	defer stop()
	got := events(t, moto.Receive(queue, 4, 60*time.Second))
	if len(got) != 4 {
		t.Fatalf("%d messages arrived after SNS came back, want 4", len(got))
	}
	for i, e := range got {
		if e.Detail.Sequence != int64(i+1) {
			t.Errorf("message %d has sequence %d", i, e.Detail.Sequence)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); gauge(t, srv, "incidentd_notification_queue_depth") != 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the queue depth does not come back to 0")
		}
	}
	if age := gauge(t, srv, "incidentd_notification_oldest_pending_age_seconds"); age != 0 {
		t.Errorf("oldest pending %v s with none pending", age)
	}
}

// gauge scrapes the server's metrics and returns the gauge name.
func gauge(t *testing.T, srv *testserver.Server, name string) float64 {
	t.Helper()
	ms := scrape(t, srv)[name].GetMetric()
	if len(ms) != 1 {
		t.Fatalf("%s: %d series", name, len(ms))
	}
	return ms[0].GetGauge().GetValue()
}

// forward accepts connections on addr and forwards each to to, until stop.
func forward(t *testing.T, addr, to string) (stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer in.Close()
				out, err := net.Dial("tcp", to)
				if err != nil {
					return
				}
				defer out.Close()
				go io.Copy(out, in)
				io.Copy(in, out)
			})
		}
	})
	return func() { l.Close() }
}

// TestPlanTopicsGetATestMessage: a topic a response plan comes to name, by
// CreateResponsePlan or UpdateResponsePlan (as a notification target or
// as its chat channel's topic), receives one test message; a topic it
// named already receives none.
func TestPlanTopicsGetATestMessage(t *testing.T) {
	moto := testserver.StartMoto(t)
	first, firstQueue := moto.TopicWithQueue("first")
	second, secondQueue := moto.TopicWithQueue("second")
	chat, chatQueue := moto.TopicWithQueue("chat")
	_, c := startNotifying(t, moto.Endpoint)
	plan := planNotifying(t, c, "tested", []string{first}, nil)
	tests := func(queue string, want int) []service.Event {
		t.Helper()
		msgs := moto.ReceiveWithTests(queue, want, 10*time.Second, false)
		if more := moto.ReceiveWithTests(queue, 1, time.Second, false); len(more) > 0 {
			msgs = append(msgs, more...)
		}
		evs := events(t, msgs)
		if len(evs) != want {
			t.Fatalf("%d messages, want %d: %+v", len(evs), want, evs)
		}
		return evs
	}
	evs := tests(firstQueue, 1)
	if evs[0].DetailType != testserver.TestMessageType || evs[0].Resources[0] != plan || evs[0].Source != "aws.ssm-incidents" {
		t.Errorf("the test message: %+v", evs[0])
	}
	// The plan comes to name a second target and a chat channel topic.
	if _, err := c.UpdateResponsePlan(ctx, &ssmincidents.UpdateResponsePlanInput{Arn: aws.String(plan),
		IncidentTemplateNotificationTargets: []types.NotificationTargetItem{&types.NotificationTargetItemMemberSnsTopicArn{Value: first}, &types.NotificationTargetItemMemberSnsTopicArn{Value: second}},
		ChatChannel:                         &types.ChatChannelMemberChatbotSns{Value: []string{chat}}}); err != nil {
		t.Fatal(err)
	}
	tests(secondQueue, 1)
	tests(chatQueue, 1)
	tests(firstQueue, 0)
}
