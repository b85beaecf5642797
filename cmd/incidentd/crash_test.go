package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
)

// crashSlot is one member of one incident record, written by one worker
// only.
type crashSlot struct {
	record int
	member string // "title" or "summary"

	acked    []string // acknowledged values, oldest first
	inFlight string   // the value of the request sent and not answered, if any
}

func (s *crashSlot) last(initial string) string {
	if len(s.acked) == 0 {
		return initial
	}
	return s.acked[len(s.acked)-1]
}

// crashUpdateValues returns, per member name, the new values reported by the
// "SSM Incident Record Update" events of an incident, oldest first.
func crashUpdateValues(t *testing.T, c *ssmincidents.Client, incident string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	values := map[string][]string{}
	pg := ssmincidents.NewListTimelineEventsPaginator(c, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: aws.String(incident)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListTimelineEvents %s: %v", incident, err)
		}
		for _, e := range page.EventSummaries {
			if aws.ToString(e.EventType) != "SSM Incident Record Update" {
				continue
			}
			got, err := c.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: aws.String(incident), EventId: e.EventId})
			if err != nil {
				t.Fatalf("GetTimelineEvent: %v", err)
			}
			var data struct {
				ModifiedAttributes []struct {
					AttributeName string `json:"attributeName"`
					NewValue      string `json:"newValue"`
				} `json:"modifiedAttributes"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(got.Event.EventData)), &data); err != nil {
				t.Fatalf("eventData %q: %v", aws.ToString(got.Event.EventData), err)
			}
			if len(data.ModifiedAttributes) == 0 {
				t.Errorf("update event %s of %s lists no modified attribute", aws.ToString(e.EventId), incident)
			}
			for _, a := range data.ModifiedAttributes {
				values[a.AttributeName] = append(values[a.AttributeName], a.NewValue)
			}
		}
	}
	return values
}

// TestKill9DuringConcurrentUpdateIncidentRecord updates incident records
// from many clients at once, kills the server with SIGKILL in the middle,
// restarts it on the same data and checks that every member holds its last
// acknowledged value or the value of the request in flight for it when the
// server died, and that the timeline has an update event for each of them.
func TestKill9DuringConcurrentUpdateIncidentRecord(t *testing.T) {
	const (
		records      = 64
		workers      = 32
		wantAcked    = 400
		initialTitle = "Initial title"
	)
	data := dataDir(t)
	addr := freeAddr(t)
	p := startServerArgs(t, data, addr, unlimited, rootEnv()...)
	ctx := context.Background()
	c := client(p.endpoint, testKey, testSecret)
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("crash"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String(initialTitle), Impact: aws.Int32(3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var arns [records]string
	for i := range arns {
		out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn})
		if err != nil {
			t.Fatal(err)
		}
		arns[i] = aws.ToString(out.IncidentRecordArn)
	}

	// Worker g owns the title of record g and the summary of record g+32.
	slots := make([][2]*crashSlot, workers)
	for g := range slots {
		slots[g] = [2]*crashSlot{{record: g, member: "title"}, {record: g + workers, member: "summary"}}
	}
	noRetry := func(o *ssmincidents.Options) { o.RetryMaxAttempts = 1 }
	var (
		killed     atomic.Bool
		acked      atomic.Int64
		wg         sync.WaitGroup
		earlyMu    sync.Mutex
		earlyFails []error
	)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wc := client(p.endpoint, testKey, testSecret)
			for n := 0; ; n++ {
				if killed.Load() {
					return
				}
				s := slots[g][n%2]
				value := fmt.Sprintf("g%d-%d", g, n)
				in := &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arns[s.record])}
				if s.member == "title" {
					in.Title = aws.String(value)
				} else {
					in.Summary = aws.String(value)
				}
				s.inFlight = value
				if _, err := wc.UpdateIncidentRecord(ctx, in, noRetry); err != nil {
					if !killed.Load() {
						earlyMu.Lock()
						earlyFails = append(earlyFails, fmt.Errorf("worker %d, %s of record %d = %s: %w", g, s.member, s.record, value, err))
						earlyMu.Unlock()
					}
					return
				}
				s.acked = append(s.acked, value)
				s.inFlight = ""
				acked.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for acked.Load() < wantAcked && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	killed.Store(true)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	wg.Wait()
	for _, err := range earlyFails {
		t.Errorf("an update failed before the server was killed: %v", err)
	}
	if n := acked.Load(); n < wantAcked {
		t.Fatalf("only %d updates acknowledged in 60s, want %d", n, wantAcked)
	}
	inFlight := 0
	for _, pair := range slots {
		for _, s := range pair {
			if s.inFlight != "" {
				inFlight++
			}
		}
	}
	t.Logf("%d updates acknowledged, %d in flight when the server was killed", acked.Load(), inFlight)

	p2 := startServerArgs(t, data, addr, unlimited, rootEnv()...)
	c2 := client(p2.endpoint, testKey, testSecret)
	committedInFlight := 0
	for _, pair := range slots {
		for _, s := range pair {
			arn := arns[s.record]
			got, err := c2.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: aws.String(arn)})
			if err != nil {
				t.Fatalf("GetIncidentRecord %d after restart: %v", s.record, err)
			}
			rec := got.IncidentRecord
			var stored, other string
			var initial, otherInitial string
			if s.member == "title" {
				stored, initial = aws.ToString(rec.Title), initialTitle
				other, otherInitial = aws.ToString(rec.Summary), ""
			} else {
				stored, initial = aws.ToString(rec.Summary), ""
				other, otherInitial = aws.ToString(rec.Title), initialTitle
			}
			if s.inFlight != "" && stored == s.inFlight {
				committedInFlight++
			}
			want := s.last(initial)
			if stored != want && (s.inFlight == "" || stored != s.inFlight) {
				t.Errorf("record %d %s = %q after kill -9; last acknowledged %q, in flight %q (%d acknowledged)",
					s.record, s.member, stored, want, s.inFlight, len(s.acked))
			}
			if other != otherInitial {
				t.Errorf("record %d: the member nobody wrote changed to %q", s.record, other)
			}

			// One update event per change that happened, no more.
			events := crashUpdateValues(t, c2, arn)
			wantEvents := slices.Clone(s.acked)
			if s.inFlight != "" && stored == s.inFlight {
				wantEvents = append(wantEvents, s.inFlight)
			}
			gotEvents := events[s.member]
			if len(gotEvents) < len(s.acked) {
				t.Errorf("record %d: %d update events for %d acknowledged updates", s.record, len(gotEvents), len(s.acked))
			}
			if !slices.Equal(slices.Sorted(slices.Values(gotEvents)), slices.Sorted(slices.Values(wantEvents))) {
				t.Errorf("record %d: update events report %s values %q, want %q (stored %q)", s.record, s.member, gotEvents, wantEvents, stored)
			}
			for name, vals := range events {
				if name != s.member {
					t.Errorf("record %d: update events change %s to %q; only %s was written", s.record, name, vals, s.member)
				}
			}
		}
	}
	t.Logf("%d of the %d requests in flight were committed", committedInFlight, inFlight)
}
