package service_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/testserver"
)

// teIncident starts an incident on a new server and returns the server, a
// client of account A and the incident's ARN.
func teIncident(t *testing.T, clock *irClock) (*testserver.Server, *ssmincidents.Client, string) {
	t.Helper()
	srv := irServer(t, clock)
	c := srv.A()
	setUp(t, c)
	return srv, c, irStartFrom(t, c, createPlan(t, c, "events"))
}

func teCreate(t *testing.T, c *ssmincidents.Client, in ssmincidents.CreateTimelineEventInput) string {
	t.Helper()
	out, err := c.CreateTimelineEvent(ctx, &in)
	if err != nil {
		t.Fatalf("CreateTimelineEvent: %v", err)
	}
	if aws.ToString(out.IncidentRecordArn) != aws.ToString(in.IncidentRecordArn) {
		t.Fatalf("incidentRecordArn %q, want %q", aws.ToString(out.IncidentRecordArn), aws.ToString(in.IncidentRecordArn))
	}
	if !tlUUID.MatchString(aws.ToString(out.EventId)) {
		t.Fatalf("eventId %q is not a UUID", aws.ToString(out.EventId))
	}
	return aws.ToString(out.EventId)
}

// teAddItem adds a related item to the incident and returns its generatedId.
func teAddItem(t *testing.T, c *ssmincidents.Client, arn string, typ types.ItemType, value types.ItemValue) string {
	t.Helper()
	if _, err := c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{
		IncidentRecordArn:  &arn,
		RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToAdd{Value: types.RelatedItem{Identifier: &types.ItemIdentifier{Type: typ, Value: value}}},
	}); err != nil {
		t.Fatalf("UpdateRelatedItems: %v", err)
	}
	items := riList(t, c, arn, 100)
	return aws.ToString(items[len(items)-1].GeneratedId)
}

// teEvent is a timeline event with its times in UTC, for comparisons.
func teEvent(e *types.TimelineEvent) types.TimelineEvent {
	c := *e
	c.EventTime, c.EventUpdatedTime = irUTC(e.EventTime), irUTC(e.EventUpdatedTime)
	return c
}

func TestCreateTimelineEvent(t *testing.T) {
	clock := newIRClock()
	_, c, arn := teIncident(t, clock)
	item := teAddItem(t, c, arn, types.ItemTypeOther, &types.ItemValueMemberUrl{Value: "https://example.com/runbook"})
	// A custom event can be dated before the incident started; its time
	// keeps its milliseconds.
	eventTime := clock.Now().Add(-time.Hour).Add(456 * time.Millisecond)
	refs := []types.EventReference{
		&types.EventReferenceMemberResource{Value: "arn:aws:ec2:us-east-1:" + testserver.AccountA + ":instance/i-0123456789abcdef0"},
		&types.EventReferenceMemberRelatedItemId{Value: item},
	}
	created := clock.Advance(2 * time.Second)
	id := teCreate(t, c, ssmincidents.CreateTimelineEventInput{
		IncidentRecordArn: &arn,
		EventTime:         &eventTime,
		EventType:         aws.String("Custom Event"),
		EventData:         aws.String(`"The deployment was rolled back."`),
		EventReferences:   refs,
	})
	got := teEvent(tlGet(t, c, arn, id))
	want := types.TimelineEvent{
		EventId:           &id,
		IncidentRecordArn: &arn,
		EventTime:         aws.Time(eventTime.Truncate(time.Millisecond)),
		EventUpdatedTime:  aws.Time(created.Truncate(time.Millisecond)),
		EventType:         aws.String("Custom Event"),
		EventData:         aws.String(`"The deployment was rolled back."`),
		EventReferences:   refs,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetTimelineEvent:\n got %+v\nwant %+v", got, want)
	}

	// A note without references; both show in the timeline, in eventTime order.
	note := teCreate(t, c, ssmincidents.CreateTimelineEventInput{
		IncidentRecordArn: &arn,
		EventTime:         aws.Time(clock.Now()),
		EventType:         aws.String("Note"),
		EventData:         aws.String("Customers report slow checkouts."),
	})
	if e := tlGet(t, c, arn, note); e.EventReferences != nil || aws.ToString(e.EventType) != "Note" {
		t.Fatalf("note: %+v", e)
	}
	all := tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 2)
	var types_ []string
	for _, e := range all {
		types_ = append(types_, aws.ToString(e.EventType))
	}
	wantTypes := []string{"Custom Event", tlStart, tlUpdate, "Note"} // the related item's event follows the start
	if !reflect.DeepEqual(types_, wantTypes) {
		t.Fatalf("timeline %v, want %v", types_, wantTypes)
	}
	notes := tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, Filters: []types.Filter{
		irFilter("eventType", irStrings("Note", "Custom Event")),
	}, SortOrder: types.SortOrderDescending}, 1)
	if ids := tlIDs(notes); !reflect.DeepEqual(ids, []string{note, id}) {
		t.Fatalf("custom events, newest first: %v, want %v", ids, []string{note, id})
	}
}

func TestCreateTimelineEventRefusals(t *testing.T) {
	srv, c, arn := teIncident(t, nil)
	before := tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
	valid := func() ssmincidents.CreateTimelineEventInput {
		return ssmincidents.CreateTimelineEventInput{
			IncidentRecordArn: aws.String(arn),
			EventTime:         aws.Time(time.Now()),
			EventType:         aws.String("Custom Event"),
			EventData:         aws.String("data"),
		}
	}
	missing := arn[:len(arn)-4] + "0000"
	in := valid()
	in.IncidentRecordArn = &missing
	_, err := c.CreateTimelineEvent(ctx, &in)
	irWantNotFound(t, err, missing, types.ResourceTypeIncidentRecord)

	// Another account may not write to A's incident.
	in = valid()
	_, err = srv.B().CreateTimelineEvent(ctx, &in)
	wantCrossAccountDenied(t, err, testserver.AccountB, "CreateTimelineEvent", arn)

	for _, eventType := range []string{tlStart, tlUpdate, "custom event", "Notes", ""} {
		in = valid()
		in.EventType = aws.String(eventType)
		_, err = c.CreateTimelineEvent(ctx, &in)
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	}

	in = valid()
	in.EventReferences = []types.EventReference{&types.EventReferenceMemberRelatedItemId{Value: "related-item/OTHER/0123456789ABCDEF0123456789ABCDEF"}}
	_, err = c.CreateTimelineEvent(ctx, &in)
	wantAPIError[*types.ValidationException](t, err, "ValidationException")

	after := tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
	if len(after) != len(before) {
		t.Fatalf("refused requests wrote events: %d before, %d after", len(before), len(after))
	}
}

func TestUpdateTimelineEventMemberByMember(t *testing.T) {
	clock := newIRClock()
	_, c, arn := teIncident(t, clock)
	item := teAddItem(t, c, arn, types.ItemTypeMetric, &types.ItemValueMemberMetricDefinition{Value: `{"metric":"Errors"}`})
	id := teCreate(t, c, ssmincidents.CreateTimelineEventInput{
		IncidentRecordArn: &arn,
		EventTime:         aws.Time(clock.Now()),
		EventType:         aws.String("Custom Event"),
		EventData:         aws.String("first"),
		EventReferences:   []types.EventReference{&types.EventReferenceMemberResource{Value: arn}},
	})
	want := teEvent(tlGet(t, c, arn, id))
	earlier := clock.Now().Add(-time.Minute)
	steps := []struct {
		name   string
		in     ssmincidents.UpdateTimelineEventInput
		change func(e *types.TimelineEvent)
	}{
		{"eventData", ssmincidents.UpdateTimelineEventInput{EventData: aws.String("second")}, func(e *types.TimelineEvent) { e.EventData = aws.String("second") }},
		{"eventType", ssmincidents.UpdateTimelineEventInput{EventType: aws.String("Note")}, func(e *types.TimelineEvent) { e.EventType = aws.String("Note") }},
		{"eventTime", ssmincidents.UpdateTimelineEventInput{EventTime: aws.Time(earlier)}, func(e *types.TimelineEvent) { e.EventTime = aws.Time(earlier) }},
		{"eventReferences replace the old ones", ssmincidents.UpdateTimelineEventInput{EventReferences: []types.EventReference{&types.EventReferenceMemberRelatedItemId{Value: item}}}, func(e *types.TimelineEvent) {
			e.EventReferences = []types.EventReference{&types.EventReferenceMemberRelatedItemId{Value: item}}
		}},
		{"no member", ssmincidents.UpdateTimelineEventInput{}, func(e *types.TimelineEvent) {}},
		{"empty eventReferences clear them", ssmincidents.UpdateTimelineEventInput{EventReferences: []types.EventReference{}}, func(e *types.TimelineEvent) {
			e.EventReferences = nil
		}},
	}
	for _, st := range steps {
		updated := clock.Advance(1500 * time.Millisecond)
		in := st.in
		in.IncidentRecordArn, in.EventId = &arn, &id
		if _, err := c.UpdateTimelineEvent(ctx, &in); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		st.change(&want)
		want.EventUpdatedTime = aws.Time(updated.Truncate(time.Millisecond))
		if got := teEvent(tlGet(t, c, arn, id)); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", st.name, got, want)
		}
	}
}

func TestUpdateTimelineEventRefusals(t *testing.T) {
	_, c, arn := teIncident(t, nil)
	id := teCreate(t, c, ssmincidents.CreateTimelineEventInput{
		IncidentRecordArn: &arn, EventTime: aws.Time(time.Now()), EventType: aws.String("Note"), EventData: aws.String("kept"),
	})
	before := teEvent(tlGet(t, c, arn, id))
	startID := aws.ToString(tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, Filters: []types.Filter{irFilter("eventType", irStrings(tlStart))}}, 10)[0].EventId)
	startBefore := teEvent(tlGet(t, c, arn, startID))

	// Automatic events cannot be edited.
	_, err := c.UpdateTimelineEvent(ctx, &ssmincidents.UpdateTimelineEventInput{IncidentRecordArn: &arn, EventId: &startID, EventData: aws.String("x")})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	if got := teEvent(tlGet(t, c, arn, startID)); !reflect.DeepEqual(got, startBefore) {
		t.Fatalf("the automatic event changed: %+v", got)
	}

	unknown := "0190b4a2-0000-7000-8000-000000000000"
	_, err = c.UpdateTimelineEvent(ctx, &ssmincidents.UpdateTimelineEventInput{IncidentRecordArn: &arn, EventId: &unknown, EventData: aws.String("x")})
	irWantNotFound(t, err, unknown, types.ResourceTypeTimelineEvent)

	missing := arn[:len(arn)-4] + "0000"
	_, err = c.UpdateTimelineEvent(ctx, &ssmincidents.UpdateTimelineEventInput{IncidentRecordArn: &missing, EventId: &id, EventData: aws.String("x")})
	irWantNotFound(t, err, missing, types.ResourceTypeIncidentRecord)

	for _, in := range []ssmincidents.UpdateTimelineEventInput{
		{EventType: aws.String(tlUpdate), EventData: aws.String("x")},
		{EventReferences: []types.EventReference{&types.EventReferenceMemberRelatedItemId{Value: "related-item/TASK/0123456789ABCDEF0123456789ABCDEF"}}, EventData: aws.String("x")},
	} {
		in.IncidentRecordArn, in.EventId = &arn, &id
		_, err = c.UpdateTimelineEvent(ctx, &in)
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	}
	if got := teEvent(tlGet(t, c, arn, id)); !reflect.DeepEqual(got, before) {
		t.Fatalf("refused updates changed the event:\n got %+v\nwant %+v", got, before)
	}
}

func TestDeleteTimelineEvent(t *testing.T) {
	srv, c, arn := teIncident(t, nil)
	id := teCreate(t, c, ssmincidents.CreateTimelineEventInput{
		IncidentRecordArn: &arn, EventTime: aws.Time(time.Now()), EventType: aws.String("Custom Event"), EventData: aws.String("gone soon"),
	})
	// Another account may not delete it.
	_, err := srv.B().DeleteTimelineEvent(ctx, &ssmincidents.DeleteTimelineEventInput{IncidentRecordArn: &arn, EventId: &id})
	wantCrossAccountDenied(t, err, testserver.AccountB, "DeleteTimelineEvent", arn)
	tlGet(t, c, arn, id)

	res := srv.Do("POST", "/deleteTimelineEvent", []byte(`{"incidentRecordArn":"`+arn+`","eventId":"`+id+`"}`))
	if res.Status != 204 || len(res.Body) != 0 {
		t.Fatalf("DeleteTimelineEvent answered %d %q, want 204 and no body", res.Status, res.Body)
	}
	_, err = c.GetTimelineEvent(ctx, &ssmincidents.GetTimelineEventInput{IncidentRecordArn: &arn, EventId: &id})
	irWantNotFound(t, err, id, types.ResourceTypeTimelineEvent)
	// Deleting again, or on an incident that does not exist, succeeds.
	if _, err := c.DeleteTimelineEvent(ctx, &ssmincidents.DeleteTimelineEventInput{IncidentRecordArn: &arn, EventId: &id}); err != nil {
		t.Fatalf("second DeleteTimelineEvent: %v", err)
	}
	missing := arn[:len(arn)-4] + "0000"
	if _, err := c.DeleteTimelineEvent(ctx, &ssmincidents.DeleteTimelineEventInput{IncidentRecordArn: &missing, EventId: &id}); err != nil {
		t.Fatalf("DeleteTimelineEvent on a missing incident: %v", err)
	}
	// Automatic events cannot be deleted.
	events := tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
	_, err = c.DeleteTimelineEvent(ctx, &ssmincidents.DeleteTimelineEventInput{IncidentRecordArn: &arn, EventId: events[0].EventId})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	if after := tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100); len(after) != len(events) {
		t.Fatalf("%d events after a refused delete, want %d", len(after), len(events))
	}
}

func TestTimelineEventIdempotency(t *testing.T) {
	clock := newIRClock()
	_, c, arn := teIncident(t, clock)
	in := ssmincidents.CreateTimelineEventInput{
		ClientToken:       aws.String("create-once"),
		IncidentRecordArn: &arn,
		EventTime:         aws.Time(clock.Now()),
		EventType:         aws.String("Note"),
		EventData:         aws.String("once"),
	}
	first := teCreate(t, c, in)
	clock.Advance(time.Second)
	if again := teCreate(t, c, in); again != first {
		t.Fatalf("replay created %s, want the first answer %s", again, first)
	}
	notes := tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, Filters: []types.Filter{irFilter("eventType", irStrings("Note"))}}, 10)
	if len(notes) != 1 {
		t.Fatalf("%d notes after a replay, want 1", len(notes))
	}
	other := in
	other.EventData = aws.String("twice")
	_, err := c.CreateTimelineEvent(ctx, &other)
	wantAPIError[*types.ConflictException](t, err, "ConflictException")

	up := ssmincidents.UpdateTimelineEventInput{ClientToken: aws.String("update-once"), IncidentRecordArn: &arn, EventId: &first, EventData: aws.String("edited")}
	if _, err := c.UpdateTimelineEvent(ctx, &up); err != nil {
		t.Fatal(err)
	}
	edited := teEvent(tlGet(t, c, arn, first))
	clock.Advance(time.Second)
	if _, err := c.UpdateTimelineEvent(ctx, &up); err != nil {
		t.Fatal(err)
	}
	if got := teEvent(tlGet(t, c, arn, first)); !reflect.DeepEqual(got, edited) {
		t.Fatalf("a replayed update changed the event again: %v -> %v", edited.EventUpdatedTime, got.EventUpdatedTime)
	}
	up.EventData = aws.String("edited again")
	_, err = c.UpdateTimelineEvent(ctx, &up)
	wantAPIError[*types.ConflictException](t, err, "ConflictException")
}

// TestListTimelineEventsEventReferenceFilter filters on eventReference, the
// key AWS's API reference lists beside eventTime and eventType: an event
// matches when it references one of the values, a resource ARN or a related
// item id; values OR together, filters AND together, also with the other
// keys.
func TestListTimelineEventsEventReferenceFilter(t *testing.T) {
	clock := newIRClock()
	_, c, arn := teIncident(t, clock)
	const instance = "arn:aws:ec2:us-east-1:" + testserver.AccountA + ":instance/i-0123456789abcdef0"
	item := teAddItem(t, c, arn, types.ItemTypeOther, &types.ItemValueMemberUrl{Value: "https://example.com/runbook"})
	byResource := &types.EventReferenceMemberResource{Value: instance}
	byItem := &types.EventReferenceMemberRelatedItemId{Value: item}
	custom := func(typ string, refs ...types.EventReference) string {
		clock.Advance(time.Second)
		return teCreate(t, c, ssmincidents.CreateTimelineEventInput{
			IncidentRecordArn: &arn, EventTime: aws.Time(clock.Now()), EventType: aws.String(typ),
			EventData: aws.String(`"x"`), EventReferences: refs,
		})
	}
	resourceOnly := custom("Custom Event", byResource)
	itemOnly := custom("Note", byItem)
	both := custom("Custom Event", byResource, byItem)
	custom("Custom Event") // references nothing

	all := tlList(t, c, ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: types.SortOrderAscending}, 100)
	// The events that reference the incident itself: what incidentd wrote.
	var automatic, itemEvents []string
	for _, s := range all {
		id := aws.ToString(s.EventId)
		for _, ref := range tlGet(t, c, arn, id).EventReferences {
			switch r := ref.(type) {
			case *types.EventReferenceMemberResource:
				if r.Value == arn {
					automatic = append(automatic, id)
				}
			case *types.EventReferenceMemberRelatedItemId:
				if r.Value == item && id != itemOnly && id != both {
					itemEvents = append(itemEvents, id)
				}
			}
		}
	}
	if len(automatic) < 2 {
		t.Fatalf("the start and the related item's addition do not reference the incident: %v", automatic)
	}
	refs := func(values ...string) types.Filter { return irFilter("eventReference", irStrings(values...)) }
	cases := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"a resource ARN", []types.Filter{refs(instance)}, []string{resourceOnly, both}},
		{"a related item id", []types.Filter{refs(item)}, append(slices.Clone(itemEvents), itemOnly, both)},
		{"either", []types.Filter{refs(instance, item)}, append(slices.Clone(itemEvents), resourceOnly, itemOnly, both)},
		{"both", []types.Filter{refs(instance), refs(item)}, []string{both}},
		{"the incident", []types.Filter{refs(arn)}, automatic},
		{"with eventType", []types.Filter{refs(instance, item), irFilter("eventType", irStrings("Note"))}, []string{itemOnly}},
		{"with eventTime", []types.Filter{refs(instance), irFilter("eventTime", &types.ConditionMemberAfter{Value: clock.Now().Add(-1500 * time.Millisecond)})}, []string{both}},
		{"nothing references it", []types.Filter{refs("arn:aws:s3:::no-such-bucket")}, nil},
	}
	order := map[string]int{}
	for i, s := range all {
		order[aws.ToString(s.EventId)] = i
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			slices.SortFunc(tc.want, func(a, b string) int { return order[a] - order[b] })
			in := ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, Filters: tc.filters, SortOrder: types.SortOrderAscending}
			for _, size := range []int32{100, 1} {
				if got := tlIDs(tlList(t, c, in, size)); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("maxResults %d:\n got %v\nwant %v", size, got, tc.want)
				}
			}
		})
	}
	for _, bad := range []types.Filter{
		irFilter("eventReference", irStrings()),
		irFilter("eventReference", irInts(1)),
		irFilter("eventReference", &types.ConditionMemberBefore{Value: time.Now()}),
	} {
		_, err := c.ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn, Filters: []types.Filter{bad}})
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	}
}
