package console_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"

	"github.com/incidentd/incidentd/internal/testserver"
)

// incidentPage signs b in as responder and opens the incident's page.
func (b *browser) incident(arn string) page {
	b.t.Helper()
	p := b.get(consolePath + "incident?arn=" + url.QueryEscape(arn))
	if p.status != http.StatusOK {
		b.t.Fatalf("the incident page: %d\n%s", p.status, p.body)
	}
	return p
}

func TestRelatedItemsAddAndRemove(t *testing.T) {
	s, incident := world(t)
	b := newBrowser(t, s)
	b.signIn("responder", password)
	token := csrf(t, b.incident(incident))
	const dashboard = "https://grafana.example.com/d/checkout?from=now-1h&x=\"><script>"
	p := b.post(consolePath+"incident/item/add", url.Values{"csrf": {token}, "arn": {incident}, "type": {"METRIC"}, "kind": {"url"}, "value": {dashboard}, "title": {hostile}})
	if p.status != 200 || !strings.Contains(p.body, "Related item added.") {
		t.Fatalf("add: %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "<script>alert") || !strings.Contains(p.body, html.EscapeString(hostile)) {
		t.Errorf("the item's title is not escaped")
	}
	items, err := s.A().ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: &incident})
	if err != nil || len(items.RelatedItems) != 1 {
		t.Fatalf("the API lists %v, %v", items, err)
	}
	it := items.RelatedItems[0]
	if it.Identifier.Type != types.ItemTypeMetric || aws.ToString(it.Title) != hostile {
		t.Errorf("the item reads type %s title %q", it.Identifier.Type, aws.ToString(it.Title))
	}
	if u, ok := it.Identifier.Value.(*types.ItemValueMemberUrl); !ok || u.Value != dashboard {
		t.Errorf("the item's value is %#v", it.Identifier.Value)
	}
	// A value the API refuses is refused the same way, on the incident's page.
	p = b.post(consolePath+"incident/item/add", url.Values{"csrf": {token}, "arn": {incident}, "type": {"NOT_A_TYPE"}, "kind": {"url"}, "value": {"https://x"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "relatedItemsUpdate.itemToAdd.identifier.type") || !strings.Contains(p.body, `id="banner"`) {
		t.Errorf("an item of no type: %d\n%s", p.status, p.body)
	}
	p = b.post(consolePath+"incident/item/remove", url.Values{"csrf": {token}, "arn": {incident}, "type": {"METRIC"}, "kind": {"url"}, "value": {dashboard}})
	if p.status != 200 || !strings.Contains(p.body, "Related item removed.") {
		t.Fatalf("remove: %d\n%s", p.status, p.body)
	}
	items, err = s.A().ListRelatedItems(ctx, &ssmincidents.ListRelatedItemsInput{IncidentRecordArn: &incident})
	if err != nil || len(items.RelatedItems) != 0 {
		t.Fatalf("after removal the API lists %v, %v", items, err)
	}
}

func TestNotesEditAndDelete(t *testing.T) {
	s, incident := world(t)
	b := newBrowser(t, s)
	b.signIn("responder", password)
	token := csrf(t, b.incident(incident))
	b.post(consolePath+"incident/note", url.Values{"csrf": {token}, "arn": {incident}, "note": {"First\r\nguess: the database."}})
	notes := func() []types.EventSummary {
		out, err := s.A().ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &incident,
			Filters: []types.Filter{{Key: aws.String("eventType"), Condition: &types.ConditionMemberEquals{Value: &types.AttributeValueListMemberStringValues{Value: []string{"Note"}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.EventSummaries
	}
	got := notes()
	if len(got) != 1 {
		t.Fatalf("notes: %v", got)
	}
	id := aws.ToString(got[0].EventId)
	e, err := s.A().GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: &incident, EventId: &id})
	if err != nil || aws.ToString(e.Event.EventData) != "First\nguess: the database." {
		t.Fatalf("the note reads %q, %v; want its lines ended by LF", aws.ToString(e.Event.EventData), err)
	}
	p := b.incident(incident)
	if !strings.Contains(p.body, `action="/console/incident/event/update"`) || !strings.Contains(p.body, `value="`+id+`"`) {
		t.Fatalf("the note has no edit form:\n%s", p.body)
	}
	p = b.post(consolePath+"incident/event/update", url.Values{"csrf": {token}, "arn": {incident}, "event": {id}, "data": {"It was the cache."}})
	if p.status != 200 || !strings.Contains(p.body, "It was the cache.") {
		t.Fatalf("edit: %d\n%s", p.status, p.body)
	}
	e, err = s.A().GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: &incident, EventId: &id})
	if err != nil || aws.ToString(e.Event.EventData) != "It was the cache." || aws.ToString(e.Event.EventType) != "Note" {
		t.Fatalf("after the edit the API reads %v, %v", e, err)
	}
	// Automatic events have no edit form.
	if strings.Count(p.body, `action="/console/incident/event/update"`) != 2 { // the note, in the notes panel and in the timeline
		t.Errorf("the page has %d edit forms, want 2", strings.Count(p.body, `action="/console/incident/event/update"`))
	}
	viewer := newBrowser(t, s)
	viewer.signIn("viewer", password)
	p = viewer.post(consolePath+"incident/event/delete", url.Values{"csrf": {csrf(t, viewer.incident(incident))}, "arn": {incident}, "event": {id}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "ssm-incidents:DeleteTimelineEvent") || !strings.Contains(p.body, `id="timeline"`) {
		t.Fatalf("the viewer's delete: %d\n%s", p.status, p.body)
	}
	p = b.post(consolePath+"incident/event/delete", url.Values{"csrf": {token}, "arn": {incident}, "event": {id}})
	if p.status != 200 || !strings.Contains(p.body, "Event deleted.") || strings.Contains(p.body, "It was the cache.") {
		t.Fatalf("delete: %d\n%s", p.status, p.body)
	}
	if got := notes(); len(got) != 0 {
		t.Fatalf("after deletion the API lists %v", got)
	}
}

func TestNotificationTargetsAndChatChannel(t *testing.T) {
	s, incident := world(t)
	b := newBrowser(t, s)
	b.signIn("responder", password)
	token := csrf(t, b.incident(incident))
	topic, chat := "arn:aws:sns:us-east-1:"+testserver.AccountA+":pager", "arn:aws:sns:us-east-1:"+testserver.AccountA+":chat-ops"
	p := b.post(consolePath+"incident/update", url.Values{"csrf": {token}, "arn": {incident}, "targets": {topic + "\r\n"}, "targets_was": {""}, "chat": {chat}, "chat_was": {""}})
	if p.status != 200 {
		t.Fatalf("update: %d\n%s", p.status, p.body)
	}
	read := func() *types.IncidentRecord {
		got, err := s.A().GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &incident})
		if err != nil {
			t.Fatal(err)
		}
		return got.IncidentRecord
	}
	r := read()
	if len(r.NotificationTargets) != 1 || r.NotificationTargets[0].(*types.NotificationTargetItemMemberSnsTopicArn).Value != topic {
		t.Errorf("notification targets %#v", r.NotificationTargets)
	}
	if c, ok := r.ChatChannel.(*types.ChatChannelMemberChatbotSns); !ok || len(c.Value) != 1 || c.Value[0] != chat {
		t.Errorf("chat channel %#v", r.ChatChannel)
	}
	if l := b.get(consolePath); !strings.Contains(l.body, chat) {
		t.Errorf("the incident's tile does not show its chat channel")
	}
	// Saving the forms as they are shown changes nothing.
	before := aws.ToTime(r.LastModifiedTime)
	p = b.incident(incident)
	for _, form := range []url.Values{
		{"title": {aws.ToString(r.Title)}, "title_was": {aws.ToString(r.Title)}, "summary": {""}, "summary_was": {""}, "impact": {"3"}, "impact_was": {"3"}},
		{"targets": {topic}, "targets_was": {topic}, "chat": {chat}, "chat_was": {chat}},
	} {
		form.Set("csrf", token)
		form.Set("arn", incident)
		if p := b.post(consolePath+"incident/update", form); p.status != 200 {
			t.Fatalf("save unchanged: %d\n%s", p.status, p.body)
		}
	}
	if after := read(); !aws.ToTime(after.LastModifiedTime).Equal(before) {
		t.Errorf("saving unchanged forms modified the record at %v (was %v)", after.LastModifiedTime, before)
	}
	// An empty chat channel clears it.
	b.post(consolePath+"incident/update", url.Values{"csrf": {token}, "arn": {incident}, "chat": {""}, "chat_was": {chat}, "targets": {""}, "targets_was": {topic}})
	r = read()
	if _, ok := r.ChatChannel.(*types.ChatChannelMemberEmpty); !ok || len(r.NotificationTargets) != 0 {
		t.Errorf("after clearing: chat %#v, targets %#v", r.ChatChannel, r.NotificationTargets)
	}
	// A topic the API refuses is refused on the page, and changes nothing.
	p = b.post(consolePath+"incident/update", url.Values{"csrf": {token}, "arn": {incident}, "targets": {"not an ARN"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "The notification targets are SNS topic ARNs") {
		t.Errorf("a bad topic: %d\n%s", p.status, p.body)
	}
	if r := read(); len(r.NotificationTargets) != 0 {
		t.Errorf("a refused form set targets %#v", r.NotificationTargets)
	}
}

func TestIncidentsFilters(t *testing.T) {
	s, first := world(t)
	user := s.UserClient(testserver.AccountA, "starter", allowAll)
	plans, err := s.A().ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	if err != nil {
		t.Fatal(err)
	}
	started, err := user.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plans.ResponsePlanSummaries[0].Arn, Title: aws.String("Started by a user"), Impact: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	second := aws.ToString(started.IncidentRecordArn)
	b := newBrowser(t, s)
	b.signIn("responder", password)
	has := func(q string, want ...string) {
		t.Helper()
		p := b.get(consolePath + "?" + q)
		if p.status != 200 {
			t.Fatalf("%s: %d\n%s", q, p.status, p.body)
		}
		for _, arn := range []string{first, second} {
			link := strings.ToLower(url.QueryEscape(arn))
			if shown, wanted := strings.Contains(p.body, link), contains(want, arn); shown != wanted {
				t.Errorf("%s: %s shown %v, want %v", q, arn, shown, wanted)
			}
		}
	}
	has("", first, second)
	has("impact=2", second)
	has("by="+url.QueryEscape("arn:aws:iam::"+testserver.AccountA+":user/starter"), second)
	has("after=" + time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04"))
	has("before="+time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04"), first, second)
	if p := b.get(consolePath + "?after=yesterday"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "YYYY-MM-DDTHH:MM") {
		t.Errorf("a bad time: %d\n%s", p.status, p.body)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestOpenIncidentsComeFirstWhateverTheirAge: an open incident is a tile
// even when more than a page of newer incidents, all resolved, came after
// it.
func TestOpenIncidentsComeFirstWhateverTheirAge(t *testing.T) {
	s, old := world(t)
	a := s.A()
	plans, err := a.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 55 {
		started, err := a.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plans.ResponsePlanSummaries[0].Arn, Title: aws.String(fmt.Sprintf("Resolved %d", i))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: started.IncidentRecordArn, Status: types.IncidentRecordStatusResolved}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, s)
	list := b.signIn("responder", password)
	open, _, _ := strings.Cut(list.body, `id="resolved"`)
	if !strings.Contains(open, strings.ToLower(url.QueryEscape(old))) {
		t.Fatalf("the open incident, older than 55 resolved ones, is not a tile:\n%s", list.body)
	}
	if strings.Count(list.body, "Resolved ") < 50 || !strings.Contains(list.body, "More resolved incidents") {
		t.Errorf("the resolved table does not hold a page of 50 and a link to the next")
	}
	// The filter on status shows one listing.
	if p := b.get(consolePath + "?status=RESOLVED"); strings.Contains(p.body, `id="open"`) || !strings.Contains(p.body, `id="resolved"`) {
		t.Errorf("status=RESOLVED shows the open incidents")
	}
	if p := b.get(consolePath + "?status=OPEN"); !strings.Contains(p.body, `id="open"`) || strings.Contains(p.body, `id="resolved"`) {
		t.Errorf("status=OPEN shows the resolved incidents")
	}
}
