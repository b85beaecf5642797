package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// relatedItems is one item of every kind.
func relatedItems() []domain.RelatedItem {
	return []domain.RelatedItem{
		{GeneratedID: "g-arn", Type: "PARENT", Value: domain.ItemValue{ARN: ptr("arn:aws:ssm-incidents::" + acctA + ":incident-record/p/parent")}, Title: ptr("parent")},
		{GeneratedID: "g-url", Type: "OTHER", Value: domain.ItemValue{URL: ptr("https://example.com/runbook")}},
		{GeneratedID: "g-metric", Type: "METRIC", Value: domain.ItemValue{MetricDefinition: ptr(`{"metric":"x"}`)}},
		{GeneratedID: "g-pd", Type: "INCIDENT", Value: domain.ItemValue{PagerDutyIncidentDetail: &domain.PagerDutyIncidentDetail{ID: "PD1", AutoResolve: ptr(true), SecretID: ptr("secret")}}},
	}
}

func incidentRecordCases() []testCase {
	return []testCase{
		{"CreateAndGet", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := newIncident(acctA, "one", at(1))
			r.Status = domain.IncidentResolved
			r.ResolvedTime = ptr(at(2))
			r.Source.ResourceARN = ptr("arn:aws:cloudwatch:us-east-1:" + acctA + ":alarm:a")
			r.AutomationExecutions = []string{"arn:aws:ssm:us-east-1:" + acctA + ":automation-execution/e"}
			r.ChatChannel = &domain.ChatChannel{ChatbotSNS: []string{"arn:aws:sns:us-east-1:" + acctA + ":chat"}}
			items := relatedItems()
			must(t, s.CreateIncidentRecord(ctx, r, map[string]string{"a": "1", "b": "2"}, items), "CreateIncidentRecord")
			got, err := s.GetIncidentRecord(ctx, acctA, r.ARN)
			must(t, err, "GetIncidentRecord")
			check(t, got, r, "GetIncidentRecord")
			tags, err := s.Tags(ctx, incidentRef(r))
			must(t, err, "Tags")
			check(t, tags, map[string]string{"a": "1", "b": "2"}, "tags of the new record")
			gotItems, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
			must(t, err, "ListRelatedItems")
			check(t, gotItems, items, "related items of the new record, in the order given")

			bare := newIncident(acctA, "bare", at(3))
			bare.Summary, bare.ChatChannel, bare.NotificationTargets, bare.Source.InvokedBy = nil, nil, nil, nil
			must(t, s.CreateIncidentRecord(ctx, bare, nil, nil), "CreateIncidentRecord bare")
			got, err = s.GetIncidentRecord(ctx, acctA, bare.ARN)
			must(t, err, "GetIncidentRecord bare")
			check(t, got, bare, "GetIncidentRecord bare")
			if got.ChatChannel != nil {
				t.Fatal("a record without a chat channel came back with one")
			}
			// An empty chat channel is not no chat channel.
			if r := newIncident(acctA, "empty-chat", at(4)); true {
				must(t, s.CreateIncidentRecord(ctx, r, nil, nil), "CreateIncidentRecord empty chat")
				got, err := s.GetIncidentRecord(ctx, acctA, r.ARN)
				must(t, err, "GetIncidentRecord empty chat")
				if got.ChatChannel == nil {
					t.Fatal("an empty chat channel came back as none")
				}
			}
			tags, err = s.Tags(ctx, incidentRef(bare))
			must(t, err, "Tags of a record created without tags")
			check(t, tags, map[string]string{}, "tags of a record created without tags")

			_, err = s.GetIncidentRecord(ctx, acctA, arn(acctA, "incident-record", "plan/missing"))
			wantErr(t, err, domain.ErrNotFound, "GetIncidentRecord of a missing record")
			_, err = s.GetIncidentRecord(ctx, acctB, r.ARN)
			wantErr(t, err, domain.ErrNotFound, "GetIncidentRecord in another account")
		}},
		{"CreateConflict", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := newIncident(acctA, "one", at(1))
			items := relatedItems()[:1]
			must(t, s.CreateIncidentRecord(ctx, r, map[string]string{"k": "first"}, items), "CreateIncidentRecord")
			again := newIncident(acctA, "one", at(5))
			again.Title = "again"
			wantErr(t, s.CreateIncidentRecord(ctx, again, map[string]string{"k": "second", "x": "y"}, relatedItems()[1:]), domain.ErrConflict, "CreateIncidentRecord of a taken ARN")
			got, err := s.GetIncidentRecord(ctx, acctA, r.ARN)
			must(t, err, "GetIncidentRecord")
			check(t, got, r, "the record after a refused create")
			tags, err := s.Tags(ctx, incidentRef(r))
			must(t, err, "Tags")
			check(t, tags, map[string]string{"k": "first"}, "tags after a refused create")
			gotItems, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
			must(t, err, "ListRelatedItems")
			check(t, gotItems, items, "related items after a refused create")
		}},
		{"Update", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(1)))
			other := createIncident(t, s, newIncident(acctA, "two", at(2)))
			var g given
			must(t, s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(got *domain.IncidentRecord) error {
				g.see(got, r)
				changeIncident(got)
				return nil
			}), "UpdateIncidentRecord")
			g.check(t, r, "the record fn is given")
			changeIncident(r)
			got, err := s.GetIncidentRecord(ctx, acctA, r.ARN)
			must(t, err, "GetIncidentRecord")
			check(t, got, r, "the record after UpdateIncidentRecord")
			got, err = s.GetIncidentRecord(ctx, acctA, other.ARN)
			must(t, err, "GetIncidentRecord of another record")
			check(t, got, other, "another record after UpdateIncidentRecord")
			// A second update starts from the first's result.
			g = given{}
			must(t, s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(got *domain.IncidentRecord) error {
				g.see(got, r)
				got.Summary = nil
				got.ResolvedTime = nil
				got.Status = domain.IncidentOpen
				return nil
			}), "second UpdateIncidentRecord")
			g.check(t, r, "the record the second update is given")
			r.Summary, r.ResolvedTime, r.Status = nil, nil, domain.IncidentOpen
			got, err = s.GetIncidentRecord(ctx, acctA, r.ARN)
			must(t, err, "GetIncidentRecord")
			check(t, got, r, "the record after the second update")
		}},
		{"UpdateReachesQueries", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(1)))
			must(t, s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(got *domain.IncidentRecord) error {
				got.Impact = 1
				got.DedupeString = "new-dedupe"
				return nil
			}), "UpdateIncidentRecord of impact and dedupeString")
			found, err := s.FindOpenIncident(ctx, acctA, "new-dedupe")
			must(t, err, "FindOpenIncident of the new dedupeString")
			check(t, found.ARN, r.ARN, "FindOpenIncident of the new dedupeString")
			_, err = s.FindOpenIncident(ctx, acctA, r.DedupeString)
			wantErr(t, err, domain.ErrNotFound, "FindOpenIncident of the old dedupeString")
			list, err := s.ListIncidentRecords(ctx, acctA, []domain.IncidentCondition{{Key: "impact", Ints: []int32{1}}}, nil, 10)
			must(t, err, "ListIncidentRecords impact 1")
			check(t, len(list), 1, "records of the new impact")
			list, err = s.ListIncidentRecords(ctx, acctA, []domain.IncidentCondition{{Key: "impact", Ints: []int32{3}}}, nil, 10)
			must(t, err, "ListIncidentRecords impact 3")
			check(t, len(list), 0, "records of the old impact")

			must(t, s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(got *domain.IncidentRecord) error {
				got.Status = domain.IncidentResolved
				got.ResolvedTime = ptr(at(9))
				return nil
			}), "UpdateIncidentRecord resolving")
			_, err = s.FindOpenIncident(ctx, acctA, "new-dedupe")
			wantErr(t, err, domain.ErrNotFound, "FindOpenIncident of a resolved record")
			list, err = s.ListIncidentRecords(ctx, acctA, []domain.IncidentCondition{{Key: "status", Strings: []string{domain.IncidentResolved}}}, nil, 10)
			must(t, err, "ListIncidentRecords RESOLVED")
			check(t, len(list), 1, "resolved records")
			list, err = s.ListIncidentRecords(ctx, acctA, []domain.IncidentCondition{{Key: "status", Strings: []string{domain.IncidentOpen}}}, nil, 10)
			must(t, err, "ListIncidentRecords OPEN")
			check(t, len(list), 0, "open records")
		}},
		{"UpdateReachesQueriesOfEveryMember", func(t *testing.T, s domain.Store) {
			// UpdateIncidentRecord's fn "may change every member but the
			// Account and ARN": also those the listing filters and orders
			// on. (The service changes only status, impact and dedupeString
			// of those; see UpdateReachesQueries.)

			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(10)))
			createIncident(t, s, newIncident(acctA, "two", at(20)))
			must(t, s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(got *domain.IncidentRecord) error {
				got.CreationTime = at(30)
				got.Source.CreatedBy = principal2
				return nil
			}), "UpdateIncidentRecord of creationTime and createdBy")
			list, err := s.ListIncidentRecords(ctx, acctA, []domain.IncidentCondition{{Key: "createdBy", Strings: []string{principal2}}}, nil, 10)
			must(t, err, "ListIncidentRecords createdBy")
			check(t, incidentARNs(list), []string{r.ARN}, "ListIncidentRecords createdBy after fn changed Source.CreatedBy")
			list, err = s.ListIncidentRecords(ctx, acctA, []domain.IncidentCondition{{Key: "creationTime", After: ptr(at(25))}}, nil, 10)
			must(t, err, "ListIncidentRecords creationTime after")
			check(t, incidentARNs(list), []string{r.ARN}, "ListIncidentRecords creationTime after, after fn changed CreationTime")
			list, err = s.ListIncidentRecords(ctx, acctA, nil, nil, 10)
			must(t, err, "ListIncidentRecords")
			check(t, incidentARNs(list), []string{r.ARN, arn(acctA, "incident-record", "plan/two")}, "ListIncidentRecords newest first after fn changed CreationTime")
		}},
		{"UpdateFnErrorWritesNothing", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(1)))
			err := s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(got *domain.IncidentRecord) error {
				changeIncident(got)
				return fmt.Errorf("wrapped: %w", errBoom)
			})
			wantErr(t, err, errBoom, "UpdateIncidentRecord whose fn fails")
			got, err := s.GetIncidentRecord(ctx, acctA, r.ARN)
			must(t, err, "GetIncidentRecord")
			check(t, got, r, "the record after a failed update")
			found, err := s.FindOpenIncident(ctx, acctA, r.DedupeString)
			must(t, err, "FindOpenIncident after a failed update")
			check(t, found, r, "FindOpenIncident after a failed update")
		}},
		{"UpdateMissing", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctB, "one", at(1)))
			gone := createIncident(t, s, newIncident(acctA, "gone", at(1)))
			must(t, s.DeleteIncidentRecord(ctx, acctA, gone.ARN), "DeleteIncidentRecord")
			for _, a := range []string{arn(acctA, "incident-record", "plan/never"), r.ARN, gone.ARN} {
				called := false
				err := s.UpdateIncidentRecord(ctx, acctA, a, func(*domain.IncidentRecord) error { called = true; return nil })
				wantErr(t, err, domain.ErrNotFound, "UpdateIncidentRecord of missing %s", a)
				if called {
					t.Fatalf("UpdateIncidentRecord of missing %s called fn", a)
				}
			}
			_, err := s.GetIncidentRecord(ctx, acctA, gone.ARN)
			wantErr(t, err, domain.ErrNotFound, "GetIncidentRecord of a deleted record after an update")
		}},
		{"DeleteRemovesEverything", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := newIncident(acctA, "one", at(1))
			keep := newIncident(acctA, "two", at(2))
			must(t, s.CreateIncidentRecord(ctx, r, map[string]string{"k": "v"}, relatedItems()), "CreateIncidentRecord")
			must(t, s.CreateIncidentRecord(ctx, keep, map[string]string{"keep": "me"}, relatedItems()[:2]), "CreateIncidentRecord keep")
			must(t, s.AddRelatedItem(ctx, acctA, r.ARN, urlItem("added", "https://example.com/a")), "AddRelatedItem")
			var keepEvents []*domain.TimelineEvent
			for i := range 3 {
				addEvent(t, s, newEvent(r, eventID(r, i), at(10+i), "Custom Event"))
				keepEvents = append(keepEvents, addEvent(t, s, newEvent(keep, eventID(keep, i), at(10+i), "Custom Event")))
			}
			must(t, s.DeleteIncidentRecord(ctx, acctA, r.ARN), "DeleteIncidentRecord")
			checkIncidentGone(t, s, r, 3)

			// The other record keeps everything.
			got, err := s.GetIncidentRecord(ctx, acctA, keep.ARN)
			must(t, err, "GetIncidentRecord keep")
			check(t, got, keep, "the other record")
			tags, err := s.Tags(ctx, incidentRef(keep))
			must(t, err, "Tags keep")
			check(t, tags, map[string]string{"keep": "me"}, "tags of the other record")
			items, err := s.ListRelatedItems(ctx, acctA, keep.ARN, nil, 0)
			must(t, err, "ListRelatedItems keep")
			check(t, items, relatedItems()[:2], "related items of the other record")
			events, err := s.ListTimelineEvents(ctx, acctA, keep.ARN, domain.TimelineFilter{}, nil, 100)
			must(t, err, "ListTimelineEvents keep")
			check(t, events, keepEvents, "timeline of the other record")

			// Deleting is idempotent.
			must(t, s.DeleteIncidentRecord(ctx, acctA, r.ARN), "second DeleteIncidentRecord")
			must(t, s.DeleteIncidentRecord(ctx, acctA, arn(acctA, "incident-record", "plan/never")), "DeleteIncidentRecord of a missing record")
			must(t, s.DeleteIncidentRecord(ctx, acctB, keep.ARN), "DeleteIncidentRecord of another account's ARN")
			got, err = s.GetIncidentRecord(ctx, acctA, keep.ARN)
			must(t, err, "GetIncidentRecord keep after a delete from another account")
			check(t, got, keep, "a record after another account deleted its ARN")

			// A record created again under the ARN starts bare.
			again := newIncident(acctA, "one", at(20))
			must(t, s.CreateIncidentRecord(ctx, again, nil, nil), "CreateIncidentRecord again")
			tags, err = s.Tags(ctx, incidentRef(again))
			must(t, err, "Tags of the new record")
			check(t, tags, map[string]string{}, "tags of a record created again")
			items, err = s.ListRelatedItems(ctx, acctA, again.ARN, nil, 0)
			must(t, err, "ListRelatedItems of the new record")
			check(t, len(items), 0, "related items of a record created again")
			events, err = s.ListTimelineEvents(ctx, acctA, again.ARN, domain.TimelineFilter{}, nil, 100)
			must(t, err, "ListTimelineEvents of the new record")
			check(t, len(events), 0, "timeline of a record created again")
			must(t, s.AddRelatedItem(ctx, acctA, again.ARN, relatedItems()[0]), "AddRelatedItem of a deleted item's id to the new record")
		}},
		{"FindOpenIncident", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			mk := func(id string, created int, status, dedupe, account string) *domain.IncidentRecord {
				r := newIncident(account, id, at(created))
				r.Status, r.DedupeString = status, dedupe
				return createIncident(t, s, r)
			}
			_, err := s.FindOpenIncident(ctx, acctA, "d")
			wantErr(t, err, domain.ErrNotFound, "FindOpenIncident of an empty store")
			mk("resolved-oldest", 1, domain.IncidentResolved, "d", acctA)
			mk("other-account-older", 2, domain.IncidentOpen, "d", acctB)
			mk("other-dedupe-older", 2, domain.IncidentOpen, "e", acctA)
			// Created in an order other than their times.
			newer := mk("open-newer", 20, domain.IncidentOpen, "d", acctA)
			oldest := mk("open-oldest", 10, domain.IncidentOpen, "d", acctA)
			mk("open-newest", 30, domain.IncidentOpen, "d", acctA)
			got, err := s.FindOpenIncident(ctx, acctA, "d")
			must(t, err, "FindOpenIncident")
			check(t, got, oldest, "FindOpenIncident: the oldest OPEN record")
			must(t, s.UpdateIncidentRecord(ctx, acctA, oldest.ARN, func(r *domain.IncidentRecord) error {
				r.Status = domain.IncidentResolved
				return nil
			}), "UpdateIncidentRecord resolving the oldest")
			got, err = s.FindOpenIncident(ctx, acctA, "d")
			must(t, err, "FindOpenIncident after the oldest was resolved")
			check(t, got, newer, "FindOpenIncident after the oldest was resolved")
			must(t, s.DeleteIncidentRecord(ctx, acctA, newer.ARN), "DeleteIncidentRecord")
			got, err = s.FindOpenIncident(ctx, acctA, "d")
			must(t, err, "FindOpenIncident after a delete")
			check(t, got.ARN, arn(acctA, "incident-record", "plan/open-newest"), "FindOpenIncident after a delete")
			_, err = s.FindOpenIncident(ctx, acctA, "nothing")
			wantErr(t, err, domain.ErrNotFound, "FindOpenIncident of an unknown dedupeString")
			_, err = s.FindOpenIncident(ctx, acctB, "e")
			wantErr(t, err, domain.ErrNotFound, "FindOpenIncident of another account's dedupeString")
		}},
		{"ListConditions", func(t *testing.T, s domain.Store) {
			all := listFixture(t, s)
			for _, tc := range listConditionCases() {
				got, err := s.ListIncidentRecords(t.Context(), acctA, tc.conds, nil, 100)
				must(t, err, "ListIncidentRecords %s", tc.name)
				checkIncidentList(t, got, filterIncidents(all, tc.conds), tc.name)
			}
		}},
		{"ListPaging", func(t *testing.T, s domain.Store) {
			all := listFixture(t, s)
			for _, tc := range listConditionCases() {
				want := filterIncidents(all, tc.conds)
				full, err := s.ListIncidentRecords(t.Context(), acctA, tc.conds, nil, 100)
				must(t, err, "ListIncidentRecords %s", tc.name)
				for _, limit := range []int{1, 2, 3} {
					var got []*domain.IncidentRecord
					var after *domain.IncidentCursor
					for pages := 0; ; pages++ {
						if pages > len(want) {
							t.Fatalf("%s, limit %d: paging does not end", tc.name, limit)
						}
						page, err := s.ListIncidentRecords(t.Context(), acctA, tc.conds, after, limit)
						must(t, err, "ListIncidentRecords %s limit %d", tc.name, limit)
						if len(page) > limit {
							t.Fatalf("%s: limit %d gave %d records", tc.name, limit, len(page))
						}
						if len(page) == 0 {
							break
						}
						got = append(got, page...)
						last := page[len(page)-1]
						after = &domain.IncidentCursor{CreationTime: last.CreationTime, ARN: last.ARN}
					}
					check(t, incidentARNs(got), incidentARNs(full), "%s paged by %d: the records of the full listing, in its order", tc.name, limit)
				}
			}
		}},
	}
}

// changeIncident changes every member of r an update may change.
func changeIncident(r *domain.IncidentRecord) {
	r.PlanName = "other-plan"
	r.Title = "changed"
	r.Summary = ptr("changed summary")
	r.Status = domain.IncidentResolved
	r.Impact = 5
	r.CreationTime = r.CreationTime.Add(time.Millisecond)
	r.ResolvedTime = ptr(at(99))
	r.LastModifiedBy = "arn:aws:iam::" + r.Account + ":role/changer"
	r.LastModifiedTime = at(99)
	r.DedupeString = "changed-dedupe"
	r.Source = domain.IncidentRecordSource{CreatedBy: "x", Source: "aws.cloudwatch", ResourceARN: ptr("arn:aws:cloudwatch:us-east-1:" + r.Account + ":alarm:a")}
	r.ChatChannel = nil
	r.NotificationTargets = []string{"arn:aws:sns:us-east-1:" + r.Account + ":other"}
	r.AutomationExecutions = []string{"arn:aws:ssm:us-east-1:" + r.Account + ":automation-execution/e1", "arn:aws:ssm:us-east-1:" + r.Account + ":automation-execution/e2"}
}

// checkIncidentGone checks that nothing of r is left: record, tags,
// related items and events eventID(r, 0..events-1).
func checkIncidentGone(t *testing.T, s domain.Store, r *domain.IncidentRecord, events int) {
	t.Helper()
	ctx := t.Context()
	_, err := s.GetIncidentRecord(ctx, r.Account, r.ARN)
	wantErr(t, err, domain.ErrNotFound, "GetIncidentRecord of a deleted record")
	_, err = s.Tags(ctx, incidentRef(r))
	wantErr(t, err, domain.ErrNotFound, "Tags of a deleted record")
	items, err := s.ListRelatedItems(ctx, r.Account, r.ARN, nil, 0)
	must(t, err, "ListRelatedItems of a deleted record")
	check(t, len(items), 0, "related items of a deleted record")
	list, err := s.ListTimelineEvents(ctx, r.Account, r.ARN, domain.TimelineFilter{}, nil, 100)
	must(t, err, "ListTimelineEvents of a deleted record")
	check(t, len(list), 0, "timeline events of a deleted record")
	for i := range events {
		_, err := s.GetTimelineEvent(ctx, r.Account, r.ARN, eventID(r, i))
		wantErr(t, err, domain.ErrNotFound, "GetTimelineEvent of a deleted record's event")
	}
	recs, err := s.ListIncidentRecords(ctx, r.Account, nil, nil, 1000)
	must(t, err, "ListIncidentRecords")
	if slices.Contains(incidentARNs(recs), r.ARN) {
		t.Fatal("ListIncidentRecords lists a deleted record")
	}
}

const (
	principal1 = "arn:aws:iam::" + acctA + ":role/one"
	principal2 = "arn:aws:iam::" + acctA + ":role/two"
)

// listFixture stores records of every status, impact and creator, two of
// them created at one time, and a record of another account; it returns
// acctA's.
func listFixture(t *testing.T, s domain.Store) []*domain.IncidentRecord {
	t.Helper()
	specs := []struct {
		id      string
		created int
		status  string
		impact  int32
		by      string
	}{
		{"r00", 0, domain.IncidentOpen, 1, principal1},
		{"r10", 10, domain.IncidentResolved, 2, principal2},
		{"r20a", 20, domain.IncidentOpen, 3, principal1},
		{"r20b", 20, domain.IncidentOpen, 3, principal2},
		{"r20c", 20, domain.IncidentResolved, 4, principal1},
		{"r30", 30, domain.IncidentOpen, 5, principal2},
		{"r40", 40, domain.IncidentResolved, 1, principal1},
		{"r50", 50, domain.IncidentOpen, 2, principal2},
		{"r60", 60, domain.IncidentOpen, 3, principal1},
	}
	var all []*domain.IncidentRecord
	// Stored in an order other than their times.
	for _, i := range []int{4, 0, 8, 2, 6, 1, 3, 7, 5} {
		sp := specs[i]
		r := newIncident(acctA, sp.id, at(sp.created))
		r.Status, r.Impact, r.Source.CreatedBy = sp.status, sp.impact, sp.by
		all = append(all, createIncident(t, s, r))
	}
	other := newIncident(acctB, "other", at(25))
	other.Source.CreatedBy = principal1
	createIncident(t, s, other)
	return all
}

type listCase struct {
	name  string
	conds []domain.IncidentCondition
}

func listConditionCases() []listCase {
	tp := func(n int) *time.Time { return ptr(at(n)) }
	return []listCase{
		{"no condition", nil},
		{"creationTime before", []domain.IncidentCondition{{Key: "creationTime", Before: tp(30)}}},
		{"creationTime before, exclusive", []domain.IncidentCondition{{Key: "creationTime", Before: tp(20)}}},
		{"creationTime after, exclusive", []domain.IncidentCondition{{Key: "creationTime", After: tp(20)}}},
		{"creationTime between", []domain.IncidentCondition{{Key: "creationTime", After: tp(5), Before: tp(45)}}},
		{"two creationTime conditions", []domain.IncidentCondition{{Key: "creationTime", After: tp(5)}, {Key: "creationTime", Before: tp(35)}}},
		{"creationTime after everything", []domain.IncidentCondition{{Key: "creationTime", After: tp(60)}}},
		{"impact one value", []domain.IncidentCondition{{Key: "impact", Ints: []int32{3}}}},
		{"impact values ORed", []domain.IncidentCondition{{Key: "impact", Ints: []int32{1, 5, 4}}}},
		{"status OPEN", []domain.IncidentCondition{{Key: "status", Strings: []string{domain.IncidentOpen}}}},
		{"status RESOLVED", []domain.IncidentCondition{{Key: "status", Strings: []string{domain.IncidentResolved}}}},
		{"createdBy", []domain.IncidentCondition{{Key: "createdBy", Strings: []string{principal2}}}},
		{"createdBy values ORed", []domain.IncidentCondition{{Key: "createdBy", Strings: []string{principal2, principal1, "nobody"}}}},
		{"conditions ANDed", []domain.IncidentCondition{
			{Key: "status", Strings: []string{domain.IncidentOpen}},
			{Key: "impact", Ints: []int32{2, 3, 5}},
			{Key: "createdBy", Strings: []string{principal2}},
			{Key: "creationTime", After: tp(15)},
		}},
		{"two impact conditions ANDed", []domain.IncidentCondition{{Key: "impact", Ints: []int32{1, 2, 3}}, {Key: "impact", Ints: []int32{3, 4}}}},
		{"no record matches", []domain.IncidentCondition{{Key: "status", Strings: []string{domain.IncidentResolved}}, {Key: "impact", Ints: []int32{5}}}},
	}
}

// filterIncidents is ListIncidentRecords's filter, as the service means it.
func filterIncidents(all []*domain.IncidentRecord, conds []domain.IncidentCondition) []*domain.IncidentRecord {
	var out []*domain.IncidentRecord
	for _, r := range all {
		ok := true
		for _, c := range conds {
			switch c.Key {
			case "creationTime":
				ok = ok && (c.Before == nil || r.CreationTime.Before(*c.Before)) && (c.After == nil || r.CreationTime.After(*c.After))
			case "impact":
				ok = ok && slices.Contains(c.Ints, r.Impact)
			case "status":
				ok = ok && slices.Contains(c.Strings, r.Status)
			case "createdBy":
				ok = ok && slices.Contains(c.Strings, r.Source.CreatedBy)
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// checkIncidentList checks that got holds exactly the records of want,
// newest first; records created at one time are ordered by ARN, in one
// direction for the whole listing.
func checkIncidentList(t *testing.T, got, want []*domain.IncidentRecord, what string) {
	t.Helper()
	byARN := func(rs []*domain.IncidentRecord) []*domain.IncidentRecord {
		return slices.SortedFunc(slices.Values(rs), func(a, b *domain.IncidentRecord) int { return strings.Compare(a.ARN, b.ARN) })
	}
	check(t, byARN(got), byARN(want), "%s: the records listed", what)
	dir := 0
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if c := a.CreationTime.Compare(b.CreationTime); c < 0 {
			t.Fatalf("%s: not newest first: %s then %s", what, incidentARNs(got[i-1:i+1]), incidentARNs(got[i:i+1]))
		} else if c == 0 {
			d := cmp.Compare(a.ARN, b.ARN)
			if dir != 0 && d != dir {
				t.Fatalf("%s: records of one creation time are not ordered by ARN in one direction: %v", what, incidentARNs(got))
			}
			dir = d
		}
	}
}

func incidentARNs(rs []*domain.IncidentRecord) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ARN)
	}
	return out
}
