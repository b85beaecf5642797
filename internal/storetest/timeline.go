package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

func timelineCases() []testCase {
	return []testCase{
		{"AddAndGet", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			other := createIncident(t, s, newIncident(acctA, "two", at(0)))
			e := newEvent(r, eventID(r, 0), at(1), domain.EventIncidentStart)
			e.Automatic = true
			e.EventUpdatedTime = at(2)
			e.References = []domain.EventReference{{Resource: ptr("arn:aws:cloudwatch:us-east-1:" + acctA + ":alarm:a")}, {RelatedItemID: ptr("g-url")}}
			addEvent(t, s, e)
			got, err := s.GetTimelineEvent(ctx, acctA, r.ARN, e.EventID)
			must(t, err, "GetTimelineEvent")
			check(t, got, e, "GetTimelineEvent")
			plain := addEvent(t, s, newEvent(r, eventID(r, 1), at(1), "Custom Event"))
			got, err = s.GetTimelineEvent(ctx, acctA, r.ARN, plain.EventID)
			must(t, err, "GetTimelineEvent of an event without references")
			check(t, got, plain, "GetTimelineEvent of an event without references")
			if got.Automatic {
				t.Fatal("an event added as not automatic came back automatic")
			}
			_, err = s.GetTimelineEvent(ctx, acctA, r.ARN, "missing")
			wantErr(t, err, domain.ErrNotFound, "GetTimelineEvent of a missing event")
			_, err = s.GetTimelineEvent(ctx, acctA, other.ARN, e.EventID)
			wantErr(t, err, domain.ErrNotFound, "GetTimelineEvent through another incident")
			_, err = s.GetTimelineEvent(ctx, acctB, r.ARN, e.EventID)
			wantErr(t, err, domain.ErrNotFound, "GetTimelineEvent in another account")
			list, err := s.ListTimelineEvents(ctx, acctA, other.ARN, domain.TimelineFilter{}, nil, 100)
			must(t, err, "ListTimelineEvents of another incident")
			check(t, len(list), 0, "events listed for another incident")
		}},
		{"ListOrderAndPaging", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			events := timelineFixture(t, s, r)
			for _, desc := range []bool{false, true} {
				want := sortEvents(events, desc)
				f := domain.TimelineFilter{Descending: desc}
				full, err := s.ListTimelineEvents(ctx, acctA, r.ARN, f, nil, 100)
				must(t, err, "ListTimelineEvents descending=%v", desc)
				check(t, eventIDs(full), eventIDs(want), "ListTimelineEvents descending=%v: by eventTime, then as written", desc)
				check(t, full, want, "the events listed")
				for _, limit := range []int{1, 2, 3} {
					got := pageEvents(t, s, r, f, limit, len(want))
					check(t, eventIDs(got), eventIDs(want), "ListTimelineEvents descending=%v paged by %d", desc, limit)
				}
			}
		}},
		{"ListFilters", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			events := timelineFixture(t, s, r)
			for _, tc := range timelineFilterCases() {
				for _, desc := range []bool{false, true} {
					f := tc.f
					f.Descending = desc
					want := sortEvents(filterEvents(events, f), desc)
					got, err := s.ListTimelineEvents(ctx, acctA, r.ARN, f, nil, 100)
					must(t, err, "ListTimelineEvents %s", tc.name)
					check(t, eventIDs(got), eventIDs(want), "ListTimelineEvents %s, descending=%v", tc.name, desc)
					paged := pageEvents(t, s, r, f, 2, len(want))
					check(t, eventIDs(paged), eventIDs(want), "ListTimelineEvents %s, descending=%v, paged by 2", tc.name, desc)
				}
			}
		}},
		{"Update", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			events := timelineFixture(t, s, r)
			e := events[0]
			var g given
			must(t, s.UpdateTimelineEvent(ctx, acctA, r.ARN, e.EventID, func(got *domain.TimelineEvent) error {
				g.see(got, e)
				got.EventTime = at(100)
				got.EventUpdatedTime = at(101)
				got.EventType = "Note"
				got.EventData = "changed"
				got.References = []domain.EventReference{{RelatedItemID: ptr("new-ref")}}
				return nil
			}), "UpdateTimelineEvent")
			g.check(t, e, "the event fn is given")
			e.EventTime, e.EventUpdatedTime, e.EventType, e.EventData = at(100), at(101), "Note", "changed"
			e.References = []domain.EventReference{{RelatedItemID: ptr("new-ref")}}
			got, err := s.GetTimelineEvent(ctx, acctA, r.ARN, e.EventID)
			must(t, err, "GetTimelineEvent")
			check(t, got, e, "the event after UpdateTimelineEvent")
			// Listings see the new time, type and references.
			for _, f := range []domain.TimelineFilter{
				{}, {Descending: true},
				{After: []time.Time{at(50)}},
				{EventTypes: [][]string{{"Note"}}},
				{References: [][]string{{"new-ref"}}},
				{References: [][]string{{"arn:one"}}},
			} {
				want := sortEvents(filterEvents(events, f), f.Descending)
				list, err := s.ListTimelineEvents(ctx, acctA, r.ARN, f, nil, 100)
				must(t, err, "ListTimelineEvents %+v", f)
				check(t, eventIDs(list), eventIDs(want), "ListTimelineEvents %+v after an update", f)
			}
			// A second update starts from the first's result.
			g = given{}
			must(t, s.UpdateTimelineEvent(ctx, acctA, r.ARN, e.EventID, func(got *domain.TimelineEvent) error {
				g.see(got, e)
				got.References = nil
				return nil
			}), "second UpdateTimelineEvent")
			g.check(t, e, "the event the second update is given")
			e.References = nil
			got, err = s.GetTimelineEvent(ctx, acctA, r.ARN, e.EventID)
			must(t, err, "GetTimelineEvent")
			check(t, got, e, "the event after a second update")
		}},
		{"UpdateFnErrorWritesNothing", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			events := timelineFixture(t, s, r)
			e := events[1]
			err := s.UpdateTimelineEvent(ctx, acctA, r.ARN, e.EventID, func(got *domain.TimelineEvent) error {
				got.EventTime = at(100)
				got.EventType = "Note"
				got.EventData = "changed"
				return fmt.Errorf("wrapped: %w", errBoom)
			})
			wantErr(t, err, errBoom, "UpdateTimelineEvent whose fn fails")
			got, err := s.GetTimelineEvent(ctx, acctA, r.ARN, e.EventID)
			must(t, err, "GetTimelineEvent")
			check(t, got, e, "the event after a failed update")
			list, err := s.ListTimelineEvents(ctx, acctA, r.ARN, domain.TimelineFilter{}, nil, 100)
			must(t, err, "ListTimelineEvents")
			check(t, eventIDs(list), eventIDs(sortEvents(events, false)), "listing after a failed update")
		}},
		{"UpdateMissing", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			other := createIncident(t, s, newIncident(acctA, "two", at(0)))
			e := addEvent(t, s, newEvent(r, eventID(r, 0), at(1), "Custom Event"))
			gone := addEvent(t, s, newEvent(r, eventID(r, 1), at(1), "Custom Event"))
			must(t, s.DeleteTimelineEvent(ctx, acctA, r.ARN, gone.EventID), "DeleteTimelineEvent")
			for _, k := range [][3]string{
				{acctA, r.ARN, "missing"},
				{acctA, r.ARN, gone.EventID},
				{acctA, other.ARN, e.EventID},
				{acctB, r.ARN, e.EventID},
			} {
				called := false
				err := s.UpdateTimelineEvent(ctx, k[0], k[1], k[2], func(*domain.TimelineEvent) error { called = true; return nil })
				wantErr(t, err, domain.ErrNotFound, "UpdateTimelineEvent of missing %v", k)
				if called {
					t.Fatalf("UpdateTimelineEvent of missing %v called fn", k)
				}
			}
			_, err := s.GetTimelineEvent(ctx, acctA, r.ARN, gone.EventID)
			wantErr(t, err, domain.ErrNotFound, "a deleted event after an update")
			got, err := s.GetTimelineEvent(ctx, acctA, r.ARN, e.EventID)
			must(t, err, "GetTimelineEvent")
			check(t, got, e, "an event after updates through other keys")
		}},
		{"Delete", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			other := createIncident(t, s, newIncident(acctA, "two", at(0)))
			events := timelineFixture(t, s, r)
			kept := addEvent(t, s, newEvent(other, eventID(other, 0), at(1), "Custom Event"))
			e := events[2]
			// Through another incident or account nothing goes.
			must(t, s.DeleteTimelineEvent(ctx, acctA, other.ARN, e.EventID), "DeleteTimelineEvent through another incident")
			must(t, s.DeleteTimelineEvent(ctx, acctB, r.ARN, e.EventID), "DeleteTimelineEvent in another account")
			_, err := s.GetTimelineEvent(ctx, acctA, r.ARN, e.EventID)
			must(t, err, "GetTimelineEvent after deletes through other keys")
			must(t, s.DeleteTimelineEvent(ctx, acctA, r.ARN, e.EventID), "DeleteTimelineEvent")
			_, err = s.GetTimelineEvent(ctx, acctA, r.ARN, e.EventID)
			wantErr(t, err, domain.ErrNotFound, "GetTimelineEvent of a deleted event")
			rest := slices.DeleteFunc(slices.Clone(events), func(x *domain.TimelineEvent) bool { return x.EventID == e.EventID })
			list, err := s.ListTimelineEvents(ctx, acctA, r.ARN, domain.TimelineFilter{}, nil, 100)
			must(t, err, "ListTimelineEvents")
			check(t, eventIDs(list), eventIDs(sortEvents(rest, false)), "listing after a delete")
			must(t, s.DeleteTimelineEvent(ctx, acctA, r.ARN, e.EventID), "second DeleteTimelineEvent")
			must(t, s.DeleteTimelineEvent(ctx, acctA, r.ARN, "never"), "DeleteTimelineEvent of a missing event")
			got, err := s.GetTimelineEvent(ctx, acctA, other.ARN, kept.EventID)
			must(t, err, "GetTimelineEvent of another incident's event")
			check(t, got, kept, "another incident's event")
		}},
	}
}

// timelineFixture adds events out of time order, several of one time, with
// every kind of reference; it returns them in the order added.
func timelineFixture(t *testing.T, s domain.Store, r *domain.IncidentRecord) []*domain.TimelineEvent {
	t.Helper()
	specs := []struct {
		time int
		typ  string
		refs []string // "arn:…" a resource, else a related item id
	}{
		{30, "Custom Event", []string{"arn:one"}},
		{10, domain.EventIncidentStart, nil},
		{20, "Note", []string{"item-1", "arn:two"}},
		{20, "Custom Event", []string{"arn:one", "item-2"}},
		{40, "Note", []string{"item-1"}},
		{20, domain.EventRecordUpdate, nil},
		{5, "Custom Event", []string{"arn:two"}},
		{40, "Custom Event", []string{"arn:one", "arn:two", "item-1"}},
		{20, "Note", nil},
	}
	var out []*domain.TimelineEvent
	for i, sp := range specs {
		e := newEvent(r, eventID(r, i), at(sp.time), sp.typ)
		e.Automatic = sp.typ != "Custom Event" && sp.typ != "Note"
		for _, ref := range sp.refs {
			if len(ref) > 4 && ref[:4] == "arn:" {
				e.References = append(e.References, domain.EventReference{Resource: ptr(ref)})
			} else {
				e.References = append(e.References, domain.EventReference{RelatedItemID: ptr(ref)})
			}
		}
		out = append(out, addEvent(t, s, e))
	}
	return out
}

type timelineCase struct {
	name string
	f    domain.TimelineFilter
}

func timelineFilterCases() []timelineCase {
	return []timelineCase{
		{"none", domain.TimelineFilter{}},
		{"before, exclusive", domain.TimelineFilter{Before: []time.Time{at(20)}}},
		{"after, exclusive", domain.TimelineFilter{After: []time.Time{at(20)}}},
		{"between", domain.TimelineFilter{After: []time.Time{at(5)}, Before: []time.Time{at(40)}}},
		{"every bound applies", domain.TimelineFilter{After: []time.Time{at(0), at(10)}, Before: []time.Time{at(45), at(30)}}},
		{"one type", domain.TimelineFilter{EventTypes: [][]string{{"Note"}}}},
		{"types ORed", domain.TimelineFilter{EventTypes: [][]string{{"Note", domain.EventIncidentStart}}}},
		{"type lists ANDed", domain.TimelineFilter{EventTypes: [][]string{{"Note", "Custom Event"}, {"Custom Event", domain.EventRecordUpdate}}}},
		{"a resource reference", domain.TimelineFilter{References: [][]string{{"arn:one"}}}},
		{"a related item reference", domain.TimelineFilter{References: [][]string{{"item-1"}}}},
		{"references ORed", domain.TimelineFilter{References: [][]string{{"arn:two", "item-2"}}}},
		{"reference lists ANDed", domain.TimelineFilter{References: [][]string{{"arn:one"}, {"item-1", "item-2"}}}},
		{"an unknown reference", domain.TimelineFilter{References: [][]string{{"arn:none"}}}},
		{"everything at once", domain.TimelineFilter{
			After: []time.Time{at(5)}, Before: []time.Time{at(41)},
			EventTypes: [][]string{{"Custom Event", "Note"}},
			References: [][]string{{"arn:one", "arn:two"}},
		}},
	}
}

// filterEvents is ListTimelineEvents's filter, as the service means it.
func filterEvents(events []*domain.TimelineEvent, f domain.TimelineFilter) []*domain.TimelineEvent {
	var out []*domain.TimelineEvent
	for _, e := range events {
		ok := true
		for _, b := range f.Before {
			ok = ok && e.EventTime.Before(b)
		}
		for _, a := range f.After {
			ok = ok && e.EventTime.After(a)
		}
		for _, types := range f.EventTypes {
			ok = ok && slices.Contains(types, e.EventType)
		}
		for _, refs := range f.References {
			ok = ok && slices.ContainsFunc(e.References, func(r domain.EventReference) bool {
				return r.Resource != nil && slices.Contains(refs, *r.Resource) || r.RelatedItemID != nil && slices.Contains(refs, *r.RelatedItemID)
			})
		}
		if ok {
			out = append(out, e)
		}
	}
	return out
}

// sortEvents orders events, given in the order they were added, by time and
// then as added; descending reverses both.
func sortEvents(events []*domain.TimelineEvent, desc bool) []*domain.TimelineEvent {
	out := slices.Clone(events)
	slices.SortStableFunc(out, func(a, b *domain.TimelineEvent) int { return a.EventTime.Compare(b.EventTime) })
	if desc {
		slices.Reverse(out)
	}
	return out
}

// pageEvents lists every event of f, limit at a time, with the cursor of
// each page's last event.
func pageEvents(t *testing.T, s domain.Store, r *domain.IncidentRecord, f domain.TimelineFilter, limit, want int) []*domain.TimelineEvent {
	t.Helper()
	var got []*domain.TimelineEvent
	var after *domain.TimelineCursor
	for pages := 0; ; pages++ {
		if pages > want {
			t.Fatalf("limit %d: paging does not end", limit)
		}
		page, err := s.ListTimelineEvents(t.Context(), r.Account, r.ARN, f, after, limit)
		must(t, err, "ListTimelineEvents limit %d", limit)
		if len(page) > limit {
			t.Fatalf("limit %d gave %d events", limit, len(page))
		}
		if len(page) == 0 {
			return got
		}
		got = append(got, page...)
		last := page[len(page)-1]
		after = &domain.TimelineCursor{EventTime: last.EventTime, Seq: last.Seq}
	}
}

func eventIDs(es []*domain.TimelineEvent) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.EventID)
	}
	return out
}
