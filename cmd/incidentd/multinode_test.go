package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/testserver"
)

// These tests run two `incidentd serve` processes of the built binary on one
// fresh PostgreSQL database, each with its own data directory and address
// and the same root key, and drive both at once through the SDK.

// node is one incidentd process of a multi-node test.
type node struct {
	*proc
	exited chan struct{} // closed once the process has exited
}

// twoNodes are two incidentd processes serving one PostgreSQL database.
type twoNodes struct {
	nodes   [2]*node
	clients [2]*ssmincidents.Client
}

func (n *twoNodes) a() *ssmincidents.Client { return n.clients[0] }
func (n *twoNodes) b() *ssmincidents.Client { return n.clients[1] }

// nodeName names node i in messages.
func nodeName(i int) string { return string(rune('A' + i)) }

// launchNode starts `incidentd serve` without waiting for it to be ready.
func launchNode(t *testing.T, data, addr string, args []string) *node {
	t.Helper()
	p := &proc{addr: addr, endpoint: "http://" + addr, stderr: &testserver.SyncBuffer{}}
	p.cmd = exec.Command(binary, append([]string{"serve", "--addr", addr, "--data", data, "--log-level", "warn"}, args...)...)
	p.cmd.Env = append(os.Environ(), rootEnv()...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	nd := &node{proc: p, exited: make(chan struct{})}
	go func() {
		p.cmd.Wait()
		close(nd.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-nd.exited
	})
	return nd
}

// kill ends the node with SIGKILL and waits for it to exit.
func (nd *node) kill(t *testing.T) {
	t.Helper()
	if err := nd.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-nd.exited
}

// waitReady waits until every node answers /healthz.
func waitReady(t *testing.T, nodes ...*node) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for i, nd := range nodes {
		for {
			resp, err := http.Get(nd.endpoint + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			select {
			case <-nd.exited:
				t.Fatalf("node %s exited before it was ready (%v); stderr:\n%s", nodeName(i), nd.cmd.ProcessState, nd.stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s did not become ready in 20s; stderr:\n%s", nodeName(i), nd.stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// noRetryClient is a client of p that sends each request once: an error
// the server answers is seen, not hidden by a retry.
func noRetryClient(p *node) *ssmincidents.Client {
	return ssmincidents.New(client(p.endpoint, testKey, testSecret).Options(), func(o *ssmincidents.Options) { o.RetryMaxAttempts = 1 })
}

// startTwoNodes starts two nodes at the same moment (both apply the
// migrations and ask for the page-token key at once) on a fresh database,
// without rate limits, with args, and waits for both.
func startTwoNodes(t *testing.T, args ...string) *twoNodes {
	t.Helper()
	url := testserver.PostgresDatabase(t)
	flags := append(append([]string{"--database-url", url}, unlimited...), args...)
	n := &twoNodes{}
	for i := range n.nodes {
		n.nodes[i] = launchNode(t, dataDir(t), freeAddr(t), flags)
	}
	waitReady(t, n.nodes[:]...)
	for i, p := range n.nodes {
		n.clients[i] = noRetryClient(p)
	}
	return n
}

// setUp creates the replication set through node A and a response plan
// through node B, and returns the plan's ARN.
func (n *twoNodes) setUp(t *testing.T, plan *ssmincidents.CreateResponsePlanInput) string {
	t.Helper()
	ctx := context.Background()
	if _, err := n.a().CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatalf("CreateReplicationSet: %v", err)
	}
	out, err := n.b().CreateResponsePlan(ctx, plan)
	if err != nil {
		t.Fatalf("CreateResponsePlan: %v", err)
	}
	return aws.ToString(out.Arn)
}

// freshClients returns k clients, client i of node i%2, each with its own
// connection already open, so that requests released at once reach the
// servers at once.
func (n *twoNodes) freshClients(t *testing.T, k int) []*ssmincidents.Client {
	t.Helper()
	cs := make([]*ssmincidents.Client, k)
	for i := range cs {
		cs[i] = noRetryClient(n.nodes[i%2])
		if _, err := cs[i].ListReplicationSets(context.Background(), &ssmincidents.ListReplicationSetsInput{}); err != nil {
			t.Fatalf("warm-up of client %d: %v", i, err)
		}
	}
	return cs
}

// atOnce runs fn(i) for every i below k in its own goroutine, all released
// together, and returns the errors by i.
func atOnce(k int, fn func(i int) error) []error {
	errs := make([]error, k)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// multiNodeChange is one member an update event reports changed.
type multiNodeChange struct {
	AttributeName string `json:"attributeName"`
	NewValue      string `json:"newValue"`
	OldValue      string `json:"oldValue"`
}

// timeline returns the events of an incident through c: every event's
// type, and the modified attributes of each "SSM Incident Record Update"
// event.
func timeline(t *testing.T, c *ssmincidents.Client, incident string) (kinds []string, updates [][]multiNodeChange) {
	t.Helper()
	ctx := context.Background()
	pg := ssmincidents.NewListTimelineEventsPaginator(c, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: aws.String(incident)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListTimelineEvents %s: %v", incident, err)
		}
		for _, e := range page.EventSummaries {
			kinds = append(kinds, aws.ToString(e.EventType))
			if aws.ToString(e.EventType) != "SSM Incident Record Update" {
				continue
			}
			got, err := c.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: aws.String(incident), EventId: e.EventId})
			if err != nil {
				t.Fatalf("GetTimelineEvent: %v", err)
			}
			var data struct {
				ModifiedAttributes []multiNodeChange `json:"modifiedAttributes"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(got.Event.EventData)), &data); err != nil {
				t.Fatalf("eventData %q: %v", aws.ToString(got.Event.EventData), err)
			}
			updates = append(updates, data.ModifiedAttributes)
		}
	}
	return kinds, updates
}

// countOf counts the elements of s equal to v.
func countOf[T comparable](s []T, v T) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// listIncidents returns the ARNs of the account's incident records through
// c, newest first, with the status filter when status is not empty.
func listIncidents(t *testing.T, c *ssmincidents.Client, status string) []string {
	t.Helper()
	in := &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(100)}
	if status != "" {
		in.Filters = []types.Filter{{Key: aws.String("status"), Condition: &types.ConditionMemberEquals{Value: &types.AttributeValueListMemberStringValues{Value: []string{status}}}}}
	}
	var arns []string
	pg := ssmincidents.NewListIncidentRecordsPaginator(c, in)
	for pg.HasMorePages() {
		page, err := pg.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListIncidentRecords: %v", err)
		}
		for _, s := range page.IncidentRecordSummaries {
			arns = append(arns, aws.ToString(s.Arn))
		}
	}
	return arns
}

func topicARN(name string) string { return "arn:aws:sns:us-east-1:" + testAccount + ":" + name }

// targetsTopic is the one SNS topic of a notificationTargets attribute value
// (the JSON list of an update event), or the value itself when it is not
// such a list.
func targetsTopic(value string) string {
	var items []struct {
		SnsTopicArn string `json:"snsTopicArn"`
	}
	if json.Unmarshal([]byte(value), &items) != nil || len(items) != 1 {
		return value
	}
	return items[0].SnsTopicArn
}

// TestTwoNodesConcurrentUpdatesKeepEveryMember updates one incident record
// through both nodes at once, each of four clients changing its own member
// and alternating between the nodes, and checks that no update is lost: the
// record holds every member's last acknowledged value through both nodes,
// and the timeline has one update event per acknowledged change, each
// reporting as old value the one the change before it set.
func TestTwoNodesConcurrentUpdatesKeepEveryMember(t *testing.T) {
	const rounds = 40
	n := startTwoNodes(t)
	ctx := context.Background()
	plan := n.setUp(t, &ssmincidents.CreateResponsePlanInput{
		Name: aws.String("multinode"),
		IncidentTemplate: &types.IncidentTemplate{
			Title: aws.String("Initial title"), Summary: aws.String("Initial summary"), Impact: aws.Int32(3),
			NotificationTargets: []types.NotificationTargetItem{&types.NotificationTargetItemMemberSnsTopicArn{Value: topicARN("initial")}},
		},
	})
	start, err := n.b().StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan)})
	if err != nil {
		t.Fatalf("StartIncident: %v", err)
	}
	arn := aws.ToString(start.IncidentRecordArn)

	// One writer per member; value(r) is what round r sets, as the update
	// event reports it (the topic's ARN for notificationTargets). Impact
	// cycles through 1..5, so that every round changes it.
	members := []struct {
		name    string
		initial string
		value   func(r int) string
		set     func(in *ssmincidents.UpdateIncidentRecordInput, v string)
	}{
		{"title", "Initial title", func(r int) string { return fmt.Sprintf("title %d", r) },
			func(in *ssmincidents.UpdateIncidentRecordInput, v string) { in.Title = aws.String(v) }},
		{"summary", "Initial summary", func(r int) string { return fmt.Sprintf("summary %d", r) },
			func(in *ssmincidents.UpdateIncidentRecordInput, v string) { in.Summary = aws.String(v) }},
		{"impact", "3", func(r int) string { return strconv.Itoa(r%5 + 1) },
			func(in *ssmincidents.UpdateIncidentRecordInput, v string) {
				i, _ := strconv.Atoi(v)
				in.Impact = aws.Int32(int32(i))
			}},
		{"notificationTargets", topicARN("initial"), func(r int) string { return topicARN(fmt.Sprintf("topic-%d", r)) },
			func(in *ssmincidents.UpdateIncidentRecordInput, v string) {
				in.NotificationTargets = []types.NotificationTargetItem{&types.NotificationTargetItemMemberSnsTopicArn{Value: v}}
			}},
	}
	clients := n.freshClients(t, 2*len(members)) // client 2w+k is writer w's client of node k
	acked := make([][]string, len(members))
	began := time.Now()
	errs := atOnce(len(members), func(w int) error {
		m := members[w]
		for r := range rounds {
			in := &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arn)}
			v := m.value(r)
			m.set(in, v)
			node := (w + r) % 2
			if _, err := clients[2*w+node].UpdateIncidentRecord(ctx, in); err != nil {
				return fmt.Errorf("%s = %q through node %s: %w", m.name, v, nodeName(node), err)
			}
			acked[w] = append(acked[w], v)
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Errorf("UpdateIncidentRecord: %v", err)
		}
	}
	t.Logf("%d updates through two nodes in %v", rounds*len(members), time.Since(began).Round(time.Millisecond))

	// The record, through either node, holds each member's last value.
	for i, c := range n.clients {
		got, err := c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: aws.String(arn)})
		if err != nil {
			t.Fatalf("GetIncidentRecord through node %s: %v", nodeName(i), err)
		}
		rec := got.IncidentRecord
		var topics []string
		for _, nt := range rec.NotificationTargets {
			if sns, ok := nt.(*types.NotificationTargetItemMemberSnsTopicArn); ok {
				topics = append(topics, sns.Value)
			}
		}
		stored := map[string]string{
			"title":   aws.ToString(rec.Title),
			"summary": aws.ToString(rec.Summary),
			"impact":  strconv.Itoa(int(aws.ToInt32(rec.Impact))),
		}
		if len(topics) == 1 {
			stored["notificationTargets"] = topics[0]
		} else {
			stored["notificationTargets"] = fmt.Sprint(topics)
		}
		for w, m := range members {
			want := m.initial
			if len(acked[w]) > 0 {
				want = acked[w][len(acked[w])-1]
			}
			if stored[m.name] != want {
				t.Errorf("node %s: %s = %q, want the last acknowledged value %q", nodeName(i), m.name, stored[m.name], want)
			}
		}
	}

	// One update event per acknowledged change, and the changes of each
	// member form one chain: each saw the value the one before it set.
	kinds, updates := timeline(t, n.a(), arn)
	if got := countOf(kinds, "SSM Incident Start"); got != 1 {
		t.Errorf("%d start events, want 1", got)
	}
	total := 0
	for _, a := range acked {
		total += len(a)
	}
	if len(updates) != total {
		t.Errorf("%d update events for %d acknowledged updates", len(updates), total)
	}
	pairs := map[string][]string{} // member → "old → new" of its events
	for _, u := range updates {
		if len(u) != 1 {
			t.Errorf("an update event reports %d changed members, want 1: %+v", len(u), u)
		}
		for _, c := range u {
			old, new := c.OldValue, c.NewValue
			if c.AttributeName == "notificationTargets" {
				old, new = targetsTopic(old), targetsTopic(new)
			}
			pairs[c.AttributeName] = append(pairs[c.AttributeName], old+" → "+new)
		}
	}
	for w, m := range members {
		var want []string
		prev := m.initial
		for _, v := range acked[w] {
			want = append(want, prev+" → "+v)
			prev = v
		}
		got := pairs[m.name]
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the update events report the changes\n%q\nwant\n%q", m.name, got, want)
		}
		delete(pairs, m.name)
	}
	for name, p := range pairs {
		t.Errorf("update events change %s, which nobody wrote: %q", name, p)
	}
}

// TestTwoNodesClientTokenAcrossNodes checks that a clientToken is one
// request whichever node gets it: a replay on node B of a request answered
// by node A returns the same answer and does nothing more, a reuse with
// other parameters is refused, and one token sent to both nodes at once
// from several clients has one effect, each client getting its answer.
func TestTwoNodesClientTokenAcrossNodes(t *testing.T) {
	n := startTwoNodes(t)
	ctx := context.Background()
	plan := n.setUp(t, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("tokens"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Token"), Impact: aws.Int32(3)},
	})

	// StartIncident on A, replayed on B.
	startIn := &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan), Title: aws.String("first"), ClientToken: aws.String("start-token-1")}
	first, err := n.a().StartIncident(ctx, startIn)
	if err != nil {
		t.Fatalf("StartIncident through A: %v", err)
	}
	arn := aws.ToString(first.IncidentRecordArn)
	replay, err := n.b().StartIncident(ctx, startIn)
	if err != nil {
		t.Fatalf("StartIncident replayed through B: %v", err)
	}
	if got := aws.ToString(replay.IncidentRecordArn); got != arn {
		t.Fatalf("StartIncident replayed through B answered %s, want %s (the answer of A)", got, arn)
	}
	for i, c := range n.clients {
		if got := listIncidents(t, c, ""); !slices.Equal(got, []string{arn}) {
			t.Errorf("node %s lists %q after the replay, want only %s", nodeName(i), got, arn)
		}
	}
	var conflict *types.ConflictException
	other := *startIn
	other.Title = aws.String("other")
	if _, err := n.b().StartIncident(ctx, &other); !errors.As(err, &conflict) {
		t.Errorf("the token reused through B with another title: %v, want ConflictException", err)
	}

	// UpdateIncidentRecord on A, another update, then the first replayed
	// on B: the replay answers and changes nothing.
	updIn := &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arn), Title: aws.String("X"), ClientToken: aws.String("update-token-1")}
	if _, err := n.a().UpdateIncidentRecord(ctx, updIn); err != nil {
		t.Fatalf("UpdateIncidentRecord through A: %v", err)
	}
	if _, err := n.a().UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arn), Title: aws.String("Y")}); err != nil {
		t.Fatalf("UpdateIncidentRecord through A: %v", err)
	}
	if _, err := n.b().UpdateIncidentRecord(ctx, updIn); err != nil {
		t.Fatalf("UpdateIncidentRecord replayed through B: %v", err)
	}
	checkTitle := func(want string) {
		t.Helper()
		for i, c := range n.clients {
			got, err := c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: aws.String(arn)})
			if err != nil {
				t.Fatalf("GetIncidentRecord through %s: %v", nodeName(i), err)
			}
			if aws.ToString(got.IncidentRecord.Title) != want {
				t.Errorf("node %s: title %q, want %q", nodeName(i), aws.ToString(got.IncidentRecord.Title), want)
			}
		}
	}
	checkTitle("Y")
	kinds, updates := timeline(t, n.b(), arn)
	if countOf(kinds, "SSM Incident Start") != 1 || len(updates) != 2 {
		t.Errorf("timeline after the replays: %q, want one start and two updates", kinds)
	}

	// One token, both nodes, several clients at once.
	const k = 8
	clients := n.freshClients(t, k)
	concurrentIn := &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan), Title: aws.String("second"), ClientToken: aws.String("start-token-2")}
	arns := make([]string, k)
	for i, err := range atOnce(k, func(i int) error {
		out, err := clients[i].StartIncident(ctx, concurrentIn)
		if err == nil {
			arns[i] = aws.ToString(out.IncidentRecordArn)
		}
		return err
	}) {
		if err != nil {
			t.Errorf("StartIncident %d through %s: %v", i, nodeName(i%2), err)
		}
	}
	second := arns[0]
	if second == "" || second == arn || slices.ContainsFunc(arns, func(a string) bool { return a != second }) {
		t.Fatalf("one token sent %d times at once answered %q", k, arns)
	}
	for i, c := range n.clients {
		if got := listIncidents(t, c, ""); len(got) != 2 || !slices.Contains(got, arn) || !slices.Contains(got, second) {
			t.Errorf("node %s lists %q, want %s and %s", nodeName(i), got, arn, second)
		}
	}
	if kinds, _ := timeline(t, n.a(), second); !slices.Equal(kinds, []string{"SSM Incident Start"}) {
		t.Errorf("timeline of the incident started %d times at once: %q", k, kinds)
	}

	eventIn := &ssmincidents.CreateTimelineEventInput{
		IncidentRecordArn: aws.String(second), EventTime: aws.Time(time.Now().Truncate(time.Millisecond)),
		EventType: aws.String("Custom Event"), EventData: aws.String(`"once"`), ClientToken: aws.String("event-token-1"),
	}
	ids := make([]string, k)
	for i, err := range atOnce(k, func(i int) error {
		out, err := clients[i].CreateTimelineEvent(ctx, eventIn)
		if err == nil {
			ids[i] = aws.ToString(out.EventId)
		}
		return err
	}) {
		if err != nil {
			t.Errorf("CreateTimelineEvent %d through %s: %v", i, nodeName(i%2), err)
		}
	}
	if ids[0] == "" || slices.ContainsFunc(ids, func(id string) bool { return id != ids[0] }) {
		t.Errorf("one token sent %d times at once answered the event ids %q", k, ids)
	}
	if kinds, _ := timeline(t, n.b(), second); countOf(kinds, "Custom Event") != 1 {
		t.Errorf("timeline after one CreateTimelineEvent token sent %d times: %q", k, kinds)
	}

	concurrentUpd := &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arn), Title: aws.String("Z"), ClientToken: aws.String("update-token-2")}
	for i, err := range atOnce(k, func(i int) error {
		_, err := clients[i].UpdateIncidentRecord(ctx, concurrentUpd)
		return err
	}) {
		if err != nil {
			t.Errorf("UpdateIncidentRecord %d through %s: %v", i, nodeName(i%2), err)
		}
	}
	checkTitle("Z")
	if _, updates := timeline(t, n.a(), arn); len(updates) != 3 {
		t.Errorf("%d update events after one more update token sent %d times, want 3: %+v", len(updates), k, updates)
	}
}

// TestTwoNodesDedupeStringAcrossNodes starts an incident of a plan with a
// dedupeString from several clients of both nodes at once, three times,
// resolving the incident in between: each time every client gets the same
// incident and one OPEN incident exists.
func TestTwoNodesDedupeStringAcrossNodes(t *testing.T) {
	const (
		k      = 10
		rounds = 3
	)
	n := startTwoNodes(t)
	ctx := context.Background()
	plan := n.setUp(t, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("dedupe"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Database down"), Impact: aws.Int32(1), DedupeString: aws.String("database-down")},
	})
	clients := n.freshClients(t, k)
	var started []string
	for round := range rounds {
		arns := make([]string, k)
		for i, err := range atOnce(k, func(i int) error {
			out, err := clients[i].StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan)})
			if err == nil {
				arns[i] = aws.ToString(out.IncidentRecordArn)
			}
			return err
		}) {
			if err != nil {
				t.Fatalf("round %d: StartIncident %d through %s: %v", round, i, nodeName(i%2), err)
			}
		}
		if slices.ContainsFunc(arns, func(a string) bool { return a != arns[0] }) || slices.Contains(started, arns[0]) {
			t.Fatalf("round %d: %d StartIncident at once through both nodes answered %q (earlier rounds %q)", round, k, arns, started)
		}
		started = append(started, arns[0])
		for i, c := range n.clients {
			if open := listIncidents(t, c, "OPEN"); !slices.Equal(open, []string{arns[0]}) {
				t.Fatalf("round %d: node %s lists the OPEN incidents %q, want only %s", round, nodeName(i), open, arns[0])
			}
		}
		if _, err := n.clients[round%2].UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arns[0]), Status: types.IncidentRecordStatusResolved}); err != nil {
			t.Fatalf("resolving %s: %v", arns[0], err)
		}
	}
	for i, c := range n.clients {
		all := listIncidents(t, c, "")
		slices.Sort(all)
		want := slices.Sorted(slices.Values(started))
		if !slices.Equal(all, want) {
			t.Errorf("node %s lists %q, want the %d incidents started %q", nodeName(i), all, rounds, want)
		}
	}
	for _, arn := range started {
		if kinds, _ := timeline(t, n.a(), arn); countOf(kinds, "SSM Incident Start") != 1 {
			t.Errorf("timeline of %s: %q, want one start event", arn, kinds)
		}
	}
}

// TestTwoNodesPageTokensAcrossNodes lists incident records and timeline
// events one at a time, each page asked of the other node with the token
// the one before issued: the pages are those of one listing, and a token
// altered by a byte is refused.
func TestTwoNodesPageTokensAcrossNodes(t *testing.T) {
	const incidents = 4
	n := startTwoNodes(t)
	ctx := context.Background()
	plan := n.setUp(t, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("pages"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Pages"), Impact: aws.Int32(4)},
	})
	for i := range incidents {
		if _, err := n.clients[i%2].StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan), Title: aws.String(fmt.Sprintf("incident %d", i))}); err != nil {
			t.Fatalf("StartIncident: %v", err)
		}
	}
	want := listIncidents(t, n.a(), "")
	if len(want) != incidents {
		t.Fatalf("%d incidents listed, want %d", len(want), incidents)
	}

	var got []string
	var token *string
	var tokens []string
	for page := 0; ; page++ {
		if page > incidents {
			t.Fatalf("more than %d pages of one record each: %q", incidents, got)
		}
		out, err := n.clients[page%2].ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatalf("ListIncidentRecords page %d through %s with the token of %s: %v", page, nodeName(page%2), nodeName((page+1)%2), err)
		}
		for _, s := range out.IncidentRecordSummaries {
			got = append(got, aws.ToString(s.Arn))
		}
		if token = out.NextToken; token == nil {
			break
		}
		tokens = append(tokens, *token)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged through both nodes: %q, want %q", got, want)
	}

	// A token is checked, not just decoded: the other node refuses it
	// altered.
	var invalid *types.ValidationException
	bad := []byte(tokens[0])
	bad[len(bad)-1] ^= 1
	if _, err := n.b().ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(1), NextToken: aws.String(string(bad))}); !errors.As(err, &invalid) {
		t.Errorf("node B took an altered token of node A: %v, want ValidationException", err)
	}

	// The timeline of one incident: its start and three custom events.
	incident := want[0]
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range 3 {
		if _, err := n.clients[i%2].CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{
			IncidentRecordArn: aws.String(incident), EventTime: aws.Time(base.Add(time.Duration(i) * time.Minute)),
			EventType: aws.String("Custom Event"), EventData: aws.String(fmt.Sprintf(`"event %d"`, i)),
		}); err != nil {
			t.Fatalf("CreateTimelineEvent: %v", err)
		}
	}
	full, err := n.b().ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: aws.String(incident), MaxResults: aws.Int32(100)})
	if err != nil || len(full.EventSummaries) != 4 || full.NextToken != nil {
		t.Fatalf("ListTimelineEvents: %+v %v", full, err)
	}
	var wantEvents, gotEvents []string
	for _, e := range full.EventSummaries {
		wantEvents = append(wantEvents, aws.ToString(e.EventId))
	}
	token = nil
	for page := 0; ; page++ {
		if page > len(wantEvents) {
			t.Fatalf("more than %d pages of one event each: %q", len(wantEvents), gotEvents)
		}
		out, err := n.clients[page%2].ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: aws.String(incident), MaxResults: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatalf("ListTimelineEvents page %d through %s with the token of %s: %v", page, nodeName(page%2), nodeName((page+1)%2), err)
		}
		for _, e := range out.EventSummaries {
			gotEvents = append(gotEvents, aws.ToString(e.EventId))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !slices.Equal(gotEvents, wantEvents) {
		t.Errorf("timeline paged through both nodes: %q, want %q", gotEvents, wantEvents)
	}
}

// TestTwoNodesProvisioningDelay creates the replication set through node A
// with --provisioning-delay 2s on both nodes and polls both: each reads
// CREATING (and refuses StartIncident) until the delay has passed since the
// creation and ACTIVE from then on, and both give the region the same
// status time, the creation's plus the delay.
func TestTwoNodesProvisioningDelay(t *testing.T) {
	const delay = 2 * time.Second
	n := startTwoNodes(t, "--provisioning-delay", delay.String())
	ctx := context.Background()
	// The plan can only be created once the set is ACTIVE; StartIncident
	// checks the set before the plan.
	planIn := &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("provisioning"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Provisioning"), Impact: aws.Int32(3)},
	}
	planARN := aws.String("arn:aws:ssm-incidents::" + testAccount + ":response-plan/provisioning")
	sent := time.Now()
	created, err := n.a().CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}})
	if err != nil {
		t.Fatal(err)
	}
	answered := time.Now()
	arn := created.Arn

	// Every observation obeys the clock the two nodes and the test share:
	// CREATING only when asked before the creation's answer plus the delay,
	// ACTIVE only when answered after its request plus the delay.
	type observation struct {
		status       types.ReplicationSetStatus
		region       types.RegionStatus
		regionTime   time.Time
		createdTime  time.Time
		asked, heard time.Time
	}
	reported := map[string]bool{} // each kind of violation of each node is reported once
	violation := func(i int, kind, format string, args ...any) {
		t.Helper()
		if key := nodeName(i) + " " + kind; !reported[key] {
			reported[key] = true
			t.Errorf(format, args...)
		}
	}
	get := func(i int) observation {
		t.Helper()
		asked := time.Now()
		out, err := n.clients[i].GetReplicationSet(ctx, &ssmincidents.GetReplicationSetInput{Arn: arn})
		if err != nil {
			t.Fatalf("GetReplicationSet through %s: %v", nodeName(i), err)
		}
		o := observation{status: out.ReplicationSet.Status, createdTime: aws.ToTime(out.ReplicationSet.CreatedTime), asked: asked, heard: time.Now()}
		r, ok := out.ReplicationSet.RegionMap["us-east-1"]
		if !ok {
			t.Fatalf("node %s: no us-east-1 in %+v", nodeName(i), out.ReplicationSet.RegionMap)
		}
		o.region, o.regionTime = r.Status, aws.ToTime(r.StatusUpdateDateTime)
		switch o.status {
		case types.ReplicationSetStatusCreating:
			if !o.asked.Before(answered.Add(delay)) {
				violation(i, "late CREATING", "node %s read CREATING %v after the creation was answered (delay %v)", nodeName(i), o.asked.Sub(answered), delay)
			}
		case types.ReplicationSetStatusActive:
			if o.heard.Before(sent.Add(delay)) {
				violation(i, "early ACTIVE", "node %s read ACTIVE %v after the creation was sent (delay %v)", nodeName(i), o.heard.Sub(sent), delay)
			}
		default:
			violation(i, "status", "node %s read %s", nodeName(i), o.status)
		}
		if (o.status == types.ReplicationSetStatusActive) != (o.region == types.RegionStatusActive) {
			violation(i, "region", "node %s: the set is %s and its region %s", nodeName(i), o.status, o.region)
		}
		return o
	}

	var invalid *types.ValidationException
	for i, c := range n.clients {
		if o := get(i); o.status != types.ReplicationSetStatusCreating {
			t.Fatalf("node %s read %s right after the creation (%v after it was answered), want CREATING", nodeName(i), o.status, time.Since(answered))
		}
		if _, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: planARN}); !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), "CREATING") {
			if time.Since(answered) < delay {
				t.Errorf("StartIncident through %s while CREATING: %v, want ValidationException", nodeName(i), err)
			}
		}
	}

	var active [2]*observation
	deadline := answered.Add(delay + 5*time.Second)
	for active[0] == nil || active[1] == nil {
		if time.Now().After(deadline) {
			t.Fatalf("not both ACTIVE %v after the creation: %v %v", delay+5*time.Second, active[0], active[1])
		}
		for i := range n.clients {
			if active[i] == nil {
				if o := get(i); o.status == types.ReplicationSetStatusActive {
					active[i] = &o
				}
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	for i, o := range active {
		// The first ACTIVE answer came within a poll of the delay's end.
		if late := o.heard.Sub(answered.Add(delay)); late > time.Second {
			t.Errorf("node %s first read ACTIVE %v after the delay ended", nodeName(i), late)
		}
		if !o.createdTime.Equal(active[0].createdTime) || !o.regionTime.Equal(active[0].regionTime) {
			t.Errorf("node %s: created %v, region ACTIVE since %v; node A: %v, %v", nodeName(i), o.createdTime, o.regionTime, active[0].createdTime, active[0].regionTime)
		}
		if d := o.regionTime.Sub(o.createdTime); d < delay-time.Millisecond || d > delay+time.Millisecond {
			t.Errorf("node %s: the region is ACTIVE %v after the set's creation, want %v", nodeName(i), d, delay)
		}
		if o.createdTime.Before(sent.Add(-time.Second)) || o.createdTime.After(answered.Add(time.Second)) {
			t.Errorf("node %s: created at %v, the request was sent at %v and answered at %v", nodeName(i), o.createdTime, sent, answered)
		}
	}
	// ACTIVE stays ACTIVE, and both nodes now start incidents.
	plan, err := n.b().CreateResponsePlan(ctx, planIn)
	if err != nil {
		t.Fatalf("CreateResponsePlan once ACTIVE: %v", err)
	}
	if aws.ToString(plan.Arn) != aws.ToString(planARN) {
		t.Fatalf("the plan is %s, want %s", aws.ToString(plan.Arn), aws.ToString(planARN))
	}
	for i, c := range n.clients {
		if o := get(i); o.status != types.ReplicationSetStatusActive {
			t.Errorf("node %s read %s after ACTIVE", nodeName(i), o.status)
		}
		if _, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn}); err != nil {
			t.Errorf("StartIncident through %s once ACTIVE: %v", nodeName(i), err)
		}
	}
}

// TestTwoNodesKill9LosesNothingAcknowledged writes through both nodes at
// once (start an incident, update its title), kills node A with SIGKILL in
// the middle, and checks that node B kept acknowledging writes throughout
// and serves every write either node acknowledged.
func TestTwoNodesKill9LosesNothingAcknowledged(t *testing.T) {
	const (
		writersPerNode = 4
		beforeKill     = 300 // acknowledged writes before the kill, at least
		afterKill      = 100 // acknowledged by node B after it, at least
	)
	n := startTwoNodes(t)
	ctx := context.Background()
	plan := n.setUp(t, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("kill"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Kill"), Impact: aws.Int32(3)},
	})
	var (
		killed   atomic.Bool
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		mu       sync.Mutex
		acked    []testserver.Write
		perNode  [2]int
		ackedB   atomic.Int64 // by node B since the kill
		failures []error
	)
	ack := func(node int, w testserver.Write) {
		mu.Lock()
		defer mu.Unlock()
		acked = append(acked, w)
		perNode[node]++
		if node == 1 && killed.Load() {
			ackedB.Add(1)
		}
	}
	// fail notes a failed write, unless node A has been killed and the
	// write was sent to it.
	fail := func(node, w int, op string, err error) {
		if node == 0 && killed.Load() {
			return
		}
		mu.Lock()
		failures = append(failures, fmt.Errorf("writer %d of node %s: %s: %w", w, nodeName(node), op, err))
		mu.Unlock()
	}
	for node := range 2 {
		for w := range writersPerNode {
			c := noRetryClient(n.nodes[node])
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					name := fmt.Sprintf("%s%d-%d", nodeName(node), w, i)
					start, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan), Title: aws.String(name)})
					if err != nil {
						fail(node, w, "StartIncident "+name, err)
						return
					}
					incident := aws.ToString(start.IncidentRecordArn)
					ack(node, testserver.Write{Op: "StartIncident", Incident: incident, Title: name})
					title := name + " (updated)"
					if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(incident), Title: aws.String(title)}); err != nil {
						fail(node, w, "UpdateIncidentRecord "+title, err)
						return
					}
					ack(node, testserver.Write{Op: "UpdateIncidentRecord", Incident: incident, Title: title})
				}
			}()
		}
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("no %s in 20s; failures: %v", what, failures)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(fmt.Sprintf("%d acknowledged writes through each node", beforeKill/2), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return perNode[0] >= beforeKill/2 && perNode[1] >= beforeKill/2 || len(failures) > 0
	})
	killed.Store(true)
	n.nodes[0].kill(t)
	waitFor(fmt.Sprintf("%d writes acknowledged by node B after the kill", afterKill), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return ackedB.Load() >= afterKill || len(failures) > 0
	})
	close(stop)
	wg.Wait()
	for _, err := range failures {
		t.Errorf("a write failed that should not have: %v", err)
	}
	mu.Lock()
	writes := slices.Clone(acked)
	t.Logf("acknowledged: %d by node A until it was killed, %d by node B (%d of them after the kill)", perNode[0], perNode[1], ackedB.Load())
	mu.Unlock()
	for _, w := range testserver.MissingWrites(t, n.b(), writes) {
		t.Errorf("acknowledged write not served by node B after node A was killed: %v", w)
	}
}
