package service_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/aws/smithy-go"
	"github.com/incidentd/incidentd/internal/testserver"
)

const (
	tlStart   = "SSM Incident Start"
	tlTrigger = "SSM Incident Trigger"
	tlUpdate  = "SSM Incident Record Update"
)

var tlUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// tlList lists an incident's whole timeline, maxResults at a time, and
// checks the page sizes.
func tlList(t *testing.T, c *ssmincidents.Client, in ssmincidents.ListTimelineEventsInput, maxResults int32) []types.EventSummary {
	t.Helper()
	in.MaxResults = aws.Int32(maxResults)
	return listAll(t, "ListTimelineEvents", maxResults, func(token *string) ([]types.EventSummary, *string, error) {
		in.NextToken = token
		page, err := c.ListTimelineEvents(ctx, &in)
		if err != nil {
			return nil, nil, err
		}
		return page.EventSummaries, page.NextToken, nil
	})
}

func tlGet(t *testing.T, c *ssmincidents.Client, arn, id string) *types.TimelineEvent {
	t.Helper()
	out, err := c.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: &arn, EventId: &id})
	if err != nil {
		t.Fatalf("GetTimelineEvent %s: %v", id, err)
	}
	return out.Event
}

func tlIDs(events []types.EventSummary) []string {
	var ids []string
	for _, e := range events {
		ids = append(ids, aws.ToString(e.EventId))
	}
	return ids
}

func tlReversed(ids []string) []string {
	r := slices.Clone(ids)
	slices.Reverse(r)
	return r
}

// tlAttribute is one entry of modifiedAttributes; absent members stay nil.
type tlAttribute struct {
	AttributeName *string `json:"attributeName"`
	NewValue      *string `json:"newValue"`
	OldValue      *string `json:"oldValue"`
}

// tlUpdateData is the eventData of an "SSM Incident Record Update" event.
type tlUpdateData struct {
	ModifiedBy         *string       `json:"modifiedBy"`
	IncidentTitle      *string       `json:"incidentTitle"`
	ModifiedAttributes []tlAttribute `json:"modifiedAttributes"`
}

func tlResourceRef(arn string) []types.EventReference {
	return []types.EventReference{&types.EventReferenceMemberResource{Value: arn}}
}

// tlWantCode asserts an error with the AWS code and HTTP status, also for
// errors the operation's model does not list (the SDK then surfaces them
// as generic API errors).
func tlWantCode(t *testing.T, err error, code string, status int) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if api.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %s", code, api.ErrorCode(), api.ErrorMessage())
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Fatalf("want HTTP %d, got %v", status, err)
	}
}

func TestTimelineStartEvent(t *testing.T) {
	clock := newIRClock()
	srv := irServer(t, clock)
	setUp(t, srv.A())
	plan := createPlan(t, srv.A(), "p")
	now := clock.Advance(time.Second)
	arn := irStartFrom(t, irAliceClient(srv), plan)

	events := tlList(t, srv.A(), ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
	if len(events) != 1 {
		t.Fatalf("%d events after StartIncident", len(events))
	}
	e := events[0]
	if aws.ToString(e.EventType) != tlStart || aws.ToString(e.IncidentRecordArn) != arn || !tlUUID.MatchString(aws.ToString(e.EventId)) {
		t.Fatalf("event type %q incident %q id %q", aws.ToString(e.EventType), aws.ToString(e.IncidentRecordArn), aws.ToString(e.EventId))
	}
	// Automatic events keep milliseconds, as in AWS's list-timeline-events
	// example (an "SSM Incident Record Update" at 22:36:13.766).
	if !irSameTime(e.EventTime, now) || !irSameTime(e.EventUpdatedTime, now) {
		t.Fatalf("eventTime %v eventUpdatedTime %v, want %v for both", e.EventTime, e.EventUpdatedTime, now)
	}
	if !reflect.DeepEqual(e.EventReferences, tlResourceRef(arn)) {
		t.Fatalf("eventReferences %#v", e.EventReferences)
	}
	// On the wire: both in epoch seconds with their milliseconds.
	resp := srv.Do("POST", "/listTimelineEvents", []byte(`{"incidentRecordArn":"`+arn+`"}`))
	wire := regexp.MustCompile(fmt.Sprintf(`"eventTime":%d\.123[,}]`, now.Unix()))
	wireUpdated := regexp.MustCompile(fmt.Sprintf(`"eventUpdatedTime":%d\.123[,}]`, now.Unix()))
	if resp.Status != 200 || !wire.Match(resp.Body) || !wireUpdated.Match(resp.Body) {
		t.Fatalf("raw ListTimelineEvents: %d %s, want %s and %s", resp.Status, resp.Body, wire, wireUpdated)
	}
	full := tlGet(t, srv.A(), arn, aws.ToString(e.EventId))
	var data map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(full.EventData)), &data); err != nil {
		t.Fatalf("eventData %q: %v", aws.ToString(full.EventData), err)
	}
	if data["createdIncident"] != arn {
		t.Fatalf("eventData %s", aws.ToString(full.EventData))
	}
}

func TestTimelineTriggerEvent(t *testing.T) {
	clock := newIRClock()
	srv := irServer(t, clock)
	setUp(t, srv.A())
	plan := createPlan(t, srv.A(), "p")
	alarm := "arn:aws:cloudwatch:us-east-1:" + testserver.AccountA + ":alarm:HighCPU"
	detected := clock.Now().Truncate(time.Second).Add(-90*time.Second + 789*time.Millisecond)
	raw := `{"detail-type":"CloudWatch Alarm State Change","resources":["` + alarm + `"],"detail":{"state":{"value":"ALARM"}}}`
	now := clock.Advance(time.Second)
	arn := irStart(t, srv.A(), &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan, TriggerDetails: &types.TriggerDetails{
		Source: aws.String("aws.cloudwatch"), Timestamp: &detected, TriggerArn: &alarm, RawData: &raw,
	}})

	events := tlList(t, srv.A(), ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
	if len(events) != 1 || aws.ToString(events[0].EventType) != tlTrigger {
		t.Fatalf("timeline %+v", events)
	}
	e := tlGet(t, srv.A(), arn, aws.ToString(events[0].EventId))
	if !irSameTime(e.EventTime, detected) {
		t.Fatalf("eventTime %v, want the trigger's timestamp %v", e.EventTime, detected)
	}
	if !irSameTime(e.EventUpdatedTime, now) {
		t.Fatalf("eventUpdatedTime %v, want %v", e.EventUpdatedTime, now)
	}
	if !reflect.DeepEqual(e.EventReferences, tlResourceRef(arn)) {
		t.Fatalf("eventReferences %#v", e.EventReferences)
	}
	var data map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(e.EventData)), &data); err != nil {
		t.Fatalf("eventData %q: %v", aws.ToString(e.EventData), err)
	}
	want := map[string]string{"triggerArn": alarm, "rawData": raw, "createdIncident": arn, "incidentSource": "aws.cloudwatch"}
	for k, v := range want {
		if data[k] != v {
			t.Fatalf("eventData %s: %s is %v, want %q", aws.ToString(e.EventData), k, data[k], v)
		}
	}
}

func TestTimelineUpdateEvents(t *testing.T) {
	clock := newIRClock()
	srv := irServer(t, clock)
	root, alice := srv.A(), irAliceClient(srv)
	setUp(t, root)
	plan := irPlan(t, root, "db-down", "")
	arn := irStartFrom(t, root, plan)
	const summary = "The primary database does not answer."

	// want lists the changed members: value exact, or (like) a fragment
	// that the JSON of a list or union must contain.
	type want struct {
		name, newValue, oldValue string
		like                     bool
	}
	steps := []struct {
		name  string
		in    ssmincidents.UpdateIncidentRecordInput
		title string
		want  []want
	}{
		{"resolve", ssmincidents.UpdateIncidentRecordInput{Status: types.IncidentRecordStatusResolved}, "Database down",
			[]want{{name: "status", newValue: "RESOLVED", oldValue: "OPEN"}}},
		{"impact", ssmincidents.UpdateIncidentRecordInput{Impact: aws.Int32(2)}, "Database down",
			[]want{{name: "impact", newValue: "2", oldValue: "1"}}},
		{"title and summary, impact unchanged", ssmincidents.UpdateIncidentRecordInput{
			Title: aws.String("Replica lag"), Summary: aws.String("Replication is behind."), Impact: aws.Int32(2),
		}, "Replica lag", []want{
			{name: "title", newValue: "Replica lag", oldValue: "Database down"},
			{name: "summary", newValue: "Replication is behind.", oldValue: summary},
		}},
		{"nothing changes", ssmincidents.UpdateIncidentRecordInput{
			Title: aws.String("Replica lag"), Impact: aws.Int32(2), Status: types.IncidentRecordStatusResolved,
		}, "Replica lag", nil},
		{"nothing given", ssmincidents.UpdateIncidentRecordInput{}, "Replica lag", nil},
		{"reopen", ssmincidents.UpdateIncidentRecordInput{Status: types.IncidentRecordStatusOpen}, "Replica lag",
			[]want{{name: "status", newValue: "OPEN", oldValue: "RESOLVED"}}},
		{"chat channel emptied", ssmincidents.UpdateIncidentRecordInput{ChatChannel: &types.ChatChannelMemberEmpty{}}, "Replica lag",
			[]want{{name: "chatChannel", newValue: "empty", oldValue: irTopic("chat"), like: true}}},
		{"notification targets replaced", ssmincidents.UpdateIncidentRecordInput{NotificationTargets: irTargets("pager")}, "Replica lag",
			[]want{{name: "notificationTargets", newValue: irTopic("pager"), oldValue: irTopic("oncall"), like: true}}},
		{"same notification targets", ssmincidents.UpdateIncidentRecordInput{NotificationTargets: irTargets("pager")}, "Replica lag", nil},
		{"impact 5 and resolve", ssmincidents.UpdateIncidentRecordInput{Impact: aws.Int32(5), Status: types.IncidentRecordStatusResolved}, "Replica lag",
			[]want{{name: "impact", newValue: "5", oldValue: "2"}, {name: "status", newValue: "RESOLVED", oldValue: "OPEN"}}},
	}
	for i, st := range steps {
		caller, callerARN := root, irRootA
		if i%2 == 0 {
			caller, callerARN = alice, irAlice
		}
		before := tlList(t, root, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
		now := clock.Advance(1500 * time.Millisecond)
		in := st.in
		in.Arn = &arn
		if _, err := caller.UpdateIncidentRecord(ctx, &in); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		after := tlList(t, root, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
		if st.want == nil {
			if !reflect.DeepEqual(tlIDs(after), tlIDs(before)) {
				t.Fatalf("%s: an update that changes nothing added events: %d, was %d", st.name, len(after), len(before))
			}
			continue
		}
		if len(after) != len(before)+1 || !reflect.DeepEqual(tlIDs(after[:len(before)]), tlIDs(before)) {
			t.Fatalf("%s: %d events, was %d", st.name, len(after), len(before))
		}
		e := tlGet(t, root, arn, aws.ToString(after[len(before)].EventId))
		if aws.ToString(e.EventType) != tlUpdate {
			t.Fatalf("%s: event type %q", st.name, aws.ToString(e.EventType))
		}
		if !irSameTime(e.EventTime, now) || !irSameTime(e.EventUpdatedTime, now) {
			t.Fatalf("%s: eventTime %v eventUpdatedTime %v, want %v for both", st.name, e.EventTime, e.EventUpdatedTime, now)
		}
		if !reflect.DeepEqual(e.EventReferences, tlResourceRef(arn)) {
			t.Fatalf("%s: eventReferences %#v", st.name, e.EventReferences)
		}
		var data tlUpdateData
		if err := json.Unmarshal([]byte(aws.ToString(e.EventData)), &data); err != nil {
			t.Fatalf("%s: eventData %q: %v", st.name, aws.ToString(e.EventData), err)
		}
		if aws.ToString(data.ModifiedBy) != callerARN || aws.ToString(data.IncidentTitle) != st.title {
			t.Fatalf("%s: eventData %s: want modifiedBy %s, incidentTitle %q", st.name, aws.ToString(e.EventData), callerARN, st.title)
		}
		if len(data.ModifiedAttributes) != len(st.want) {
			t.Fatalf("%s: modifiedAttributes %s, want %d entries", st.name, aws.ToString(e.EventData), len(st.want))
		}
		for _, w := range st.want {
			i := slices.IndexFunc(data.ModifiedAttributes, func(a tlAttribute) bool { return aws.ToString(a.AttributeName) == w.name })
			if i < 0 {
				t.Fatalf("%s: no %s in %s", st.name, w.name, aws.ToString(e.EventData))
			}
			a := data.ModifiedAttributes[i]
			ok := a.NewValue != nil && a.OldValue != nil
			if ok && w.like {
				ok = strings.Contains(*a.NewValue, w.newValue) && strings.Contains(*a.OldValue, w.oldValue)
			} else if ok {
				ok = *a.NewValue == w.newValue && *a.OldValue == w.oldValue
			}
			if !ok {
				t.Fatalf("%s: %s is %s, want newValue %q oldValue %q", st.name, w.name, aws.ToString(e.EventData), w.newValue, w.oldValue)
			}
		}
	}
}

// tlOrderFixture is an incident whose timeline spans three seconds: the
// start and ten updates written at one same instant, then five updates in
// each of the next two seconds. titles[i] is the incidentTitle of the
// (i+1)-th update.
type tlOrderFixture struct {
	arn    string
	start  time.Time
	events []types.EventSummary // ascending, as written
	titles []string
}

func newTLOrderFixture(t *testing.T, srv *testserver.Server, clock *irClock) *tlOrderFixture {
	t.Helper()
	c := srv.A()
	setUp(t, c)
	f := &tlOrderFixture{start: clock.Advance(time.Second)}
	f.arn = irStartFrom(t, c, createPlan(t, c, "ordered"))
	for i := range 20 {
		switch i {
		case 10, 15:
			clock.Advance(time.Second)
		}
		title := fmt.Sprintf("t%02d", i)
		irUpdate(t, c, ssmincidents.UpdateIncidentRecordInput{Arn: &f.arn, Title: &title})
		f.titles = append(f.titles, title)
	}
	f.events = tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &f.arn, SortOrder: types.SortOrderAscending}, 100)
	if len(f.events) != 21 {
		t.Fatalf("%d events, want 21", len(f.events))
	}
	return f
}

func TestListTimelineEventsOrder(t *testing.T) {
	clock := newIRClock()
	srv := irServer(t, clock)
	c := srv.A()
	f := newTLOrderFixture(t, srv, clock)

	// Ascending: the start, then the updates as written, also the ten that
	// share one instant.
	if aws.ToString(f.events[0].EventType) != tlStart {
		t.Fatalf("first event %q", aws.ToString(f.events[0].EventType))
	}
	second := f.start
	for i, s := range f.events {
		e := tlGet(t, c, f.arn, aws.ToString(s.EventId))
		if aws.ToString(e.EventId) != aws.ToString(s.EventId) || aws.ToString(e.EventType) != aws.ToString(s.EventType) ||
			aws.ToString(e.IncidentRecordArn) != f.arn || !e.EventTime.Equal(*s.EventTime) || !e.EventUpdatedTime.Equal(*s.EventUpdatedTime) ||
			!reflect.DeepEqual(e.EventReferences, s.EventReferences) || aws.ToString(e.EventData) == "" {
			t.Fatalf("event %d: GetTimelineEvent %+v differs from the summary %+v", i, e, s)
		}
		wantSecond := second
		if i > 10 {
			wantSecond = second.Add(time.Duration((i-1)/5-1) * time.Second)
		}
		if !e.EventTime.Equal(wantSecond) {
			t.Fatalf("event %d: eventTime %v, want %v", i, e.EventTime, wantSecond)
		}
		if i == 0 {
			continue
		}
		var data tlUpdateData
		if err := json.Unmarshal([]byte(aws.ToString(e.EventData)), &data); err != nil || aws.ToString(data.IncidentTitle) != f.titles[i-1] {
			t.Fatalf("event %d is %s, want the update to %q", i, aws.ToString(e.EventData), f.titles[i-1])
		}
	}

	ascending := tlIDs(f.events)
	for _, tc := range []struct {
		name  string
		in    ssmincidents.ListTimelineEventsInput
		order []string
	}{
		{"default: newest first, as AWS's list-timeline-events example", ssmincidents.ListTimelineEventsInput{}, tlReversed(ascending)},
		{"ASCENDING", ssmincidents.ListTimelineEventsInput{SortOrder: types.SortOrderAscending}, ascending},
		{"ASCENDING by EVENT_TIME", ssmincidents.ListTimelineEventsInput{SortOrder: types.SortOrderAscending, SortBy: types.TimelineEventSortEventTime}, ascending},
		{"DESCENDING", ssmincidents.ListTimelineEventsInput{SortOrder: types.SortOrderDescending}, tlReversed(ascending)},
		{"DESCENDING by EVENT_TIME", ssmincidents.ListTimelineEventsInput{SortOrder: types.SortOrderDescending, SortBy: types.TimelineEventSortEventTime}, tlReversed(ascending)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.IncidentRecordArn = &f.arn
			for size := int32(1); size <= 7; size++ {
				if got := tlIDs(tlList(t, c, tc.in, size)); !reflect.DeepEqual(got, tc.order) {
					t.Fatalf("maxResults %d:\n got %v\nwant %v", size, got, tc.order)
				}
			}
			if got := tlIDs(tlList(t, c, tc.in, 100)); !reflect.DeepEqual(got, tc.order) {
				t.Fatalf("one page:\n got %v\nwant %v", got, tc.order)
			}
		})
	}
}

func TestListTimelineEventsFilters(t *testing.T) {
	clock := newIRClock()
	srv := irServer(t, clock)
	c := srv.A()
	f := newTLOrderFixture(t, srv, clock)
	ids := tlIDs(f.events)
	first := f.start.Truncate(time.Second)
	half := 500 * time.Millisecond
	types1 := func(values ...string) types.Filter { return irFilter("eventType", irStrings(values...)) }
	after := func(t time.Time) types.Filter { return irFilter("eventTime", &types.ConditionMemberAfter{Value: t}) }
	before := func(t time.Time) types.Filter { return irFilter("eventTime", &types.ConditionMemberBefore{Value: t}) }
	cases := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"start events", []types.Filter{types1(tlStart)}, ids[:1]},
		{"update events", []types.Filter{types1(tlUpdate)}, ids[1:]},
		{"start or update events", []types.Filter{types1(tlUpdate, tlStart)}, ids},
		{"a type with no events", []types.Filter{types1("Custom Event")}, nil},
		{"after the first second", []types.Filter{after(first.Add(half))}, ids[11:]},
		{"before the second second", []types.Filter{before(first.Add(half))}, ids[:11]},
		{"within the second second", []types.Filter{after(first.Add(half)), before(first.Add(time.Second + half))}, ids[11:16]},
		{"updates of the first second", []types.Filter{types1(tlUpdate), before(first.Add(half))}, ids[1:11]},
		{"after the last event", []types.Filter{after(first.Add(3 * time.Second))}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &f.arn, Filters: tc.filters, SortOrder: types.SortOrderAscending}
			for _, size := range []int32{100, 3} {
				if got := tlIDs(tlList(t, c, in, size)); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("ascending, maxResults %d:\n got %v\nwant %v", size, got, tc.want)
				}
			}
			in.SortOrder = types.SortOrderDescending
			for _, size := range []int32{100, 2} {
				if got, want := tlIDs(tlList(t, c, in, size)), tlReversed(tc.want); !reflect.DeepEqual(got, want) {
					t.Fatalf("descending, maxResults %d:\n got %v\nwant %v", size, got, want)
				}
			}
		})
	}
}

func TestTimelineRefusals(t *testing.T) {
	srv := irServer(t, nil)
	a, b := srv.A(), srv.B()
	setUp(t, a)
	plan := createPlan(t, a, "p")
	arn := irStartFrom(t, a, plan)
	other := irStartFrom(t, a, plan)
	for i := range 3 {
		irUpdate(t, a, ssmincidents.UpdateIncidentRecordInput{Arn: &arn, Title: aws.String(fmt.Sprintf("t%d", i))})
		irUpdate(t, a, ssmincidents.UpdateIncidentRecordInput{Arn: &other, Title: aws.String(fmt.Sprintf("t%d", i))})
	}
	events := tlList(t, a, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
	otherEvents := tlList(t, a, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &other, SortOrder: types.SortOrderAscending}, 100)

	page := func(in ssmincidents.ListTimelineEventsInput) string {
		t.Helper()
		in.MaxResults = aws.Int32(1)
		out, err := a.ListTimelineEvents(ctx, &in)
		if err != nil || out.NextToken == nil {
			t.Fatalf("%+v %v", out, err)
		}
		return aws.ToString(out.NextToken)
	}
	ascToken := page(ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending})
	descToken := page(ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderDescending})
	otherToken := page(ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &other})
	recordsPage, err := a.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(1)})
	if err != nil || recordsPage.NextToken == nil {
		t.Fatalf("%+v %v", recordsPage, err)
	}

	tokens := []struct {
		name  string
		order types.SortOrder
		token string
	}{
		{"ASCENDING token with DESCENDING", types.SortOrderDescending, ascToken},
		{"ASCENDING token with the default order", "", ascToken},
		{"DESCENDING token with ASCENDING", types.SortOrderAscending, descToken},
		{"another incident's token", "", otherToken},
		{"ListIncidentRecords token", "", aws.ToString(recordsPage.NextToken)},
		{"made up", "", "garbage"},
		{"altered", "", ascToken[:len(ascToken)-1] + string(ascToken[len(ascToken)-1]^1)},
	}
	for _, tc := range tokens {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: tc.order, NextToken: &tc.token})
			wantAPIError[*types.ValidationException](t, err, "ValidationException")
		})
	}
	t.Run("token used by another account", func(t *testing.T) {
		setUp(t, b)
		arnB := irStartFrom(t, b, createPlan(t, b, "p"))
		_, err := b.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arnB, NextToken: &ascToken})
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	})
	// The genuine tokens still work, each in its own order.
	for _, tc := range []struct {
		order types.SortOrder
		token string
		want  []string
	}{
		{types.SortOrderAscending, ascToken, tlIDs(events)[1:]},
		{types.SortOrderDescending, descToken, tlReversed(tlIDs(events))[1:]},
		{"", descToken, tlReversed(tlIDs(events))[1:]},
	} {
		out, err := a.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: tc.order, NextToken: &tc.token})
		if err != nil || !reflect.DeepEqual(tlIDs(out.EventSummaries), tc.want) {
			t.Fatalf("resume %s: %v %v", tc.order, out, err)
		}
	}

	filters := []struct {
		name   string
		filter types.Filter
	}{
		{"unknown key", irFilter("eventSource", irStrings("x"))},
		{"eventTime with equals", irFilter("eventTime", irInts(1))},
		{"eventType with integerValues", irFilter("eventType", irInts(1))},
		{"eventType with no values", irFilter("eventType", irStrings())},
		{"eventType with before", irFilter("eventType", &types.ConditionMemberBefore{Value: time.Now()})},
	}
	for _, tc := range filters {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, Filters: []types.Filter{tc.filter}})
			wantAPIError[*types.ValidationException](t, err, "ValidationException")
		})
	}
	for _, in := range []ssmincidents.ListTimelineEventsInput{
		{SortOrder: "SIDEWAYS"},
		{SortBy: "TITLE"},
		{MaxResults: aws.Int32(0)},
		{MaxResults: aws.Int32(101)},
	} {
		in.IncidentRecordArn = &arn
		_, err := a.ListTimelineEvents(ctx, &in)
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	}

	// Missing events and incidents.
	unknownID := "00000000-0000-4000-8000-000000000000"
	_, err = a.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: &arn, EventId: &unknownID})
	irWantNotFound(t, err, unknownID, types.ResourceTypeTimelineEvent)
	otherID := aws.ToString(otherEvents[1].EventId)
	_, err = a.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: &arn, EventId: &otherID})
	irWantNotFound(t, err, otherID, types.ResourceTypeTimelineEvent)
	unknown := "arn:aws:ssm-incidents::" + testserver.AccountA + ":incident-record/p/00000000-0000-4000-8000-000000000000"
	ownID := aws.ToString(events[0].EventId)
	_, err = a.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: &unknown, EventId: &ownID})
	irWantNotFound(t, err, unknown, types.ResourceTypeIncidentRecord)
	_, err = a.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &unknown})
	tlWantCode(t, err, "ResourceNotFoundException", 404)
	// Another account's incident, which no resource policy shares.
	_, err = b.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: &arn, EventId: &ownID})
	wantCrossAccountDenied(t, err, testserver.AccountB, "GetTimelineEvent", arn)
	_, err = b.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn})
	wantCrossAccountDenied(t, err, testserver.AccountB, "ListTimelineEvents", arn)
	resp := srv.Do("POST", "/listTimelineEvents", []byte(`{"incidentRecordArn":"`+unknown+`"}`))
	if resp.Status != 404 || resp.ErrorType != "ResourceNotFoundException" ||
		!strings.Contains(string(resp.Body), `"resourceIdentifier":"`+unknown+`"`) || !strings.Contains(string(resp.Body), `"resourceType":"INCIDENT_RECORD"`) {
		t.Fatalf("raw ListTimelineEvents of a missing incident: %d %s %s", resp.Status, resp.ErrorType, resp.Body)
	}
}
