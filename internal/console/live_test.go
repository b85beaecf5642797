package console_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/testserver"
)

var liveRE = regexp.MustCompile(`<main id="content" data-live="([^"]+)"`)

// liveURL is the address of a page's live stream.
func liveURL(t *testing.T, p page) string {
	t.Helper()
	m := liveRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the page %s has no live stream:\n%s", p.url, p.body)
	}
	return html.UnescapeString(m[1])
}

// liveVersion asks the live page for its version, as a page that polls does.
func (b *browser) liveVersion(live string) string {
	b.t.Helper()
	resp, err := b.http.Get(b.base + live + "&format=json")
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ Version string }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&got) != nil {
		b.t.Fatalf("the live version: %d", resp.StatusCode)
	}
	return got.Version
}

// stream is an open live stream's events, by name.
type stream struct {
	events chan string
	cancel context.CancelFunc
}

func (b *browser) stream(live string) *stream {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.base+live, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b.t.Fatalf("the live stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{events: make(chan string, 16), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				s.events <- name
			}
		}
	}()
	return s
}

// next is the stream's next event, or "" when none comes within wait.
func (s *stream) next(wait time.Duration) string {
	select {
	case e := <-s.events:
		return e
	case <-time.After(wait):
		return ""
	}
}

func TestLiveIncidentPageSeesChangesMadeElsewhere(t *testing.T) {
	s, incident := world(t)
	b := newBrowser(t, s)
	b.signIn("responder", password)
	p := b.incident(incident)
	live := liveURL(t, p)
	v := liveVersion(t, live)
	// The page and its stream agree on what the page shows: a stream of
	// an unchanged page stays quiet.
	if got := b.liveVersion(live); got != v {
		t.Fatalf("the page shows version %s, its live stream reads %s", v, got)
	}
	st := b.stream(live)
	if e := st.next(3 * time.Second); e != "ready" {
		t.Fatalf("the stream began with %q", e)
	}
	audited := strings.Count(s.Log.String(), "msg=authorization")
	if e := st.next(2500 * time.Millisecond); e != "" {
		t.Fatalf("an unchanged page's stream sent %q", e)
	}
	// Its reads, which repeat the page's, are not logged at info level.
	if n := strings.Count(s.Log.String(), "msg=authorization"); n != audited {
		t.Errorf("the stream's reads logged %d authorization lines at info level", n-audited)
	}
	a := s.A()
	for name, change := range map[string]func() error{
		"an update through the API": func() error {
			_, err := a.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &incident, Impact: aws.Int32(1)})
			return err
		},
		"a note through the API": func() error {
			_, err := a.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{IncidentRecordArn: &incident, EventType: aws.String("Note"),
				EventData: aws.String("From the CLI."), EventTime: aws.Time(time.Now())})
			return err
		},
		"a related item through the API": func() error {
			_, err := a.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{IncidentRecordArn: &incident,
				RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToAdd{Value: types.RelatedItem{Identifier: &types.ItemIdentifier{Type: types.ItemTypeOther,
					Value: &types.ItemValueMemberUrl{Value: "https://runbook.example.com"}}}}})
			return err
		},
		"a tag through the API": func() error {
			_, err := a.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &incident, Tags: map[string]string{"team": "payments"}})
			return err
		},
	} {
		if err := change(); err != nil {
			t.Fatal(err)
		}
		if e := st.next(3 * time.Second); e != "change" {
			t.Fatalf("after %s the stream sent %q, want change", name, e)
		}
	}
	// The page as it is now has the stream's version.
	now := b.incident(incident)
	if got := liveVersion(t, liveURL(t, now)); got != b.liveVersion(live) || got == v {
		t.Errorf("the page now shows version %s; its stream reads %s (it began at %s)", got, b.liveVersion(live), v)
	}
	if !strings.Contains(now.body, "impact 1") || !strings.Contains(now.body, "From the CLI.") || !strings.Contains(now.body, "runbook.example.com") {
		t.Errorf("the page does not show the changes:\n%s", now.body)
	}

	// Signing out ends the session's streams.
	b.post(consolePath+"logout", url.Values{"csrf": {csrf(t, now)}})
	for {
		e := st.next(3 * time.Second)
		if e == "signed-out" {
			break
		}
		if e == "" {
			t.Fatal("the stream went on after sign-out")
		}
	}
}

// liveVersion is the version in a live stream's address.
func liveVersion(t *testing.T, live string) string {
	t.Helper()
	u, err := url.Parse(live)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("v")
}

func TestLiveIncidentsListSeesANewIncident(t *testing.T) {
	s, _ := world(t)
	b := newBrowser(t, s)
	list := b.signIn("responder", password)
	live := liveURL(t, list)
	if got, want := b.liveVersion(live), liveVersion(t, live); got != want {
		t.Fatalf("the list shows version %s, its stream reads %s", want, got)
	}
	st := b.stream(live)
	if e := st.next(3 * time.Second); e != "ready" {
		t.Fatalf("the stream began with %q", e)
	}
	plans, err := s.A().ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.A().StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plans.ResponsePlanSummaries[0].Arn, Title: aws.String("A second one")}); err != nil {
		t.Fatal(err)
	}
	if e := st.next(3 * time.Second); e != "change" {
		t.Fatalf("after a start the list's stream sent %q", e)
	}
}

// TestLiveAcrossNodes runs two servers on one PostgreSQL database: a
// session made on one serves the other, and a change through one shows in
// the stream of the other.
func TestLiveAcrossNodes(t *testing.T) {
	url := testserver.PostgresDatabase(t)
	key := make([]byte, 32)
	rand.Read(key)
	node := func(c *app.Config) { c.DatabaseURL, c.SecretsKey = url, base64.StdEncoding.EncodeToString(key) }
	one, incident := world(t, node)
	two := testserver.Start(t, node)
	b := newBrowser(t, one)
	b.signIn("responder", password)
	// The same cookies, sent to the other node.
	b2 := &browser{t: t, base: two.Endpoint, http: b.http}
	p := b2.incident(incident)
	st := b2.stream(liveURL(t, p))
	if e := st.next(3 * time.Second); e != "ready" {
		t.Fatalf("the stream on node two began with %q", e)
	}
	if _, err := one.A().UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: &incident, Title: aws.String("Changed on node one")}); err != nil {
		t.Fatal(err)
	}
	if e := st.next(3 * time.Second); e != "change" {
		t.Fatalf("node two's stream sent %q after a change through node one", e)
	}
}

func TestStopEndsLiveStreams(t *testing.T) {
	s, incident := world(t)
	b := newBrowser(t, s)
	b.signIn("responder", password)
	st := b.stream(liveURL(t, b.incident(incident)))
	if e := st.next(3 * time.Second); e != "ready" {
		t.Fatalf("the stream began with %q", e)
	}
	stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Main.Close(stop); err != nil {
		t.Fatalf("the server's stop waited for its live stream: %v", err)
	}
	// The stream has ended: its events are closed.
	select {
	case e, open := <-st.events:
		if open {
			t.Fatalf("the stream sent %q", e)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the stream goes on after the server's stop")
	}
}
