package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/notify"
	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/incidentd/incidentd/internal/testserver"
)

// recording is a Publisher that accepts everything and records each call.
type recording struct {
	mu    sync.Mutex
	calls [][]string // the ids of each call's messages
	dests []string
	byID  map[string]int
}

func (r *recording) Publish(_ context.Context, destination string, messages []notify.Message) []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, m := range messages {
		ids = append(ids, string(m.Body))
		r.byID[string(m.Body)]++
	}
	r.calls, r.dests = append(r.calls, ids), append(r.dests, destination)
	return make([]error, len(messages))
}

// TestDispatcherPublishesInBatches: deliveries waiting in 25 queues to one
// topic and 3 to another go out in calls of at most 10 messages, each of
// one destination, several in one call, each delivery once, and each
// queue in its order.
func TestDispatcherPublishesInBatches(t *testing.T) {
	store, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	var ds []*domain.Delivery
	add := func(topic string, incidents, changes int) {
		for i := range incidents {
			for seq := 1; seq <= changes; seq++ {
				id := fmt.Sprintf("%s %d %d", topic, i, seq)
				ds = append(ds, &domain.Delivery{ID: id, Topic: topic, Account: testserver.AccountA, IncidentARN: fmt.Sprint("incident ", i),
					Seq: int64(seq), DetailType: domain.EventRecordUpdate, Message: []byte(id), CreatedTime: now})
			}
		}
	}
	one, two := "arn:aws:sns:us-east-1:"+testserver.AccountA+":one", "arn:aws:sns:us-east-1:"+testserver.AccountA+":two"
	add(one, 25, 3)
	add(two, 3, 3)
	if err := store.AddDeliveries(ctx, ds); err != nil {
		t.Fatal(err)
	}
	pub := &recording{byID: map[string]int{}}
	dctx, cancel := context.WithCancel(ctx)
	d := &notify.Dispatcher{Store: store, Publisher: pub, Holder: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	finished := make(chan struct{})
	go func() { d.Run(dctx); close(finished) }()
	waitForNoBacklog(t, store, 20*time.Second)
	cancel()
	<-finished
	pub.mu.Lock()
	defer pub.mu.Unlock()
	batched := false
	last := map[string]int{} // queue: the seq last published
	for i, ids := range pub.calls {
		if len(ids) > notify.MaxBatch {
			t.Errorf("a call of %d messages", len(ids))
		}
		batched = batched || len(ids) > 1
		for _, id := range ids {
			var topic string
			var incident, seq int
			f := strings.Fields(id)
			topic = f[0]
			fmt.Sscan(f[1], &incident)
			fmt.Sscan(f[2], &seq)
			if topic != pub.dests[i] {
				t.Errorf("message %q in a call to %s", id, pub.dests[i])
			}
			q := fmt.Sprint(topic, incident)
			if seq != last[q]+1 {
				t.Errorf("queue %s: %d after %d", q, seq, last[q])
			}
			last[q] = seq
		}
	}
	if !batched {
		t.Errorf("no call published more than one message: %v", pub.calls)
	}
	for _, del := range ds {
		if n := pub.byID[string(del.Message)]; n != 1 {
			t.Errorf("%s published %d times", del.ID, n)
		}
	}
}

// TestPublishersSendBatchesToMoto: the SNS publisher sends several
// messages in one PublishBatch, which reach the topic's subscribed queue
// with their attributes, and a batch to a missing topic fails for each
// message; the EventBridge publisher puts several events in one PutEvents,
// and fails each event for a missing bus.
func TestPublishersSendBatchesToMoto(t *testing.T) {
	moto := testserver.StartMoto(t)
	topic, queue := moto.TopicWithQueue("batched")
	cfg := aws.Config{Region: testserver.Region, Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}
	sns := notify.NewSNS(cfg, moto.Endpoint)
	var msgs []notify.Message
	for i := range 3 {
		msgs = append(msgs, notify.Message{Body: []byte(fmt.Sprintf(`{"n": %d}`, i)), Attributes: map[string]string{"status": "OPEN"}})
	}
	if errs := sns.Publish(ctx, topic, msgs); slices.ContainsFunc(errs, func(err error) bool { return err != nil }) || len(errs) != 3 {
		t.Fatalf("PublishBatch: %v", errs)
	}
	got := moto.Receive(queue, 3, 10*time.Second)
	var bodies []string
	for _, m := range got {
		bodies = append(bodies, m.Message)
		if m.MessageAttributes["status"].Value != "OPEN" {
			t.Errorf("message %s without its attribute: %v", m.Message, m.MessageAttributes)
		}
	}
	slices.Sort(bodies)
	if want := []string{`{"n": 0}`, `{"n": 1}`, `{"n": 2}`}; !slices.Equal(bodies, want) {
		t.Errorf("received %q, want %q", bodies, want)
	}
	errs := sns.Publish(ctx, "arn:aws:sns:us-east-1:123456789012:missing", msgs)
	if len(errs) != 3 || slices.Contains(errs, nil) {
		t.Errorf("PublishBatch to a missing topic: %v", errs)
	}

	events := moto.RuleWithQueue("batched", "all", `{"source": ["aws.ssm-incidents"]}`)
	cfg.BaseEndpoint = aws.String(moto.Endpoint)
	eb := notify.NewEventBridge(cfg, testserver.Region)
	var evs []notify.Message
	for i := range 3 {
		evs = append(evs, notify.Message{Body: []byte(fmt.Sprintf(`{"source": "aws.ssm-incidents", "detail-type": "AWS API Call via CloudTrail",
			"time": "2026-12-01T10:00:00Z", "resources": [], "detail": {"n": %d}}`, i))})
	}
	if errs := eb.Publish(ctx, "event-bus/batched", evs); len(errs) != 3 || slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		t.Fatalf("PutEvents: %v", errs)
	}
	if got := moto.ReceiveBodies(events, 3, 10*time.Second); len(got) != 3 {
		t.Errorf("%d events arrived, want 3: %q", len(got), got)
	}
	if errs := eb.Publish(ctx, "event-bus/missing", evs); len(errs) != 3 || slices.Contains(errs, nil) {
		t.Errorf("PutEvents to a missing bus: %v", errs)
	}
}

// waitForNoBacklog waits up to timeout for store to have no pending
// delivery.
func waitForNoBacklog(t testing.TB, store domain.Store, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		pending, _, err := store.DeliveryBacklog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still pending after %v", pending, timeout)
		}
	}
}

// TestDispatcherWakesForNewDeliveries: with a poll of an hour, a delivery
// added after the dispatcher went idle is published as soon as Wake tells
// of it.
func TestDispatcherWakesForNewDeliveries(t *testing.T) {
	store, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pub := &recording{byID: map[string]int{}}
	wake := make(chan struct{}, 1)
	dctx, cancel := context.WithCancel(ctx)
	d := &notify.Dispatcher{Store: store, Publisher: pub, Holder: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Config: notify.Config{Poll: time.Hour}, Wake: wake}
	finished := make(chan struct{})
	go func() { d.Run(dctx); close(finished) }()
	defer func() { cancel(); <-finished }()
	time.Sleep(100 * time.Millisecond) // idle, waiting out its poll
	topic := "arn:aws:sns:us-east-1:" + testserver.AccountA + ":woken"
	if err := store.AddDeliveries(ctx, []*domain.Delivery{{ID: "woken", Topic: topic, Account: testserver.AccountA, IncidentARN: "incident",
		Seq: 1, DetailType: domain.EventRecordUpdate, Message: []byte("woken"), CreatedTime: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	wake <- struct{}{}
	waitForNoBacklog(t, store, 10*time.Second)
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if pub.byID["woken"] != 1 {
		t.Errorf("published %d times", pub.byID["woken"])
	}
}
