package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// world is a store's state that the Tx cases change and check: one of
// everything, created before the transaction.
type world struct {
	rs       *domain.ReplicationSet
	plan     *domain.ResponsePlan
	policy   *domain.ResourcePolicy
	incident *domain.IncidentRecord
	event    *domain.TimelineEvent
	items    []domain.RelatedItem
	idem     *domain.IdempotencyRecord
	finding  *domain.Finding
	tags     map[string]string // of the plan
}

func newWorld(t *testing.T, s domain.Store) *world {
	t.Helper()
	ctx := t.Context()
	w := &world{
		rs:       newReplicationSet(acctA),
		plan:     newPlan(acctA, "existing"),
		incident: newIncident(acctA, "existing", at(1)),
		items:    []domain.RelatedItem{urlItem("i0", "https://example.com/0"), urlItem("i1", "https://example.com/1")},
		idem:     idemRecord(acctA, "StartIncident", "existing", 1, 1),
		finding:  newCodeDeployFinding(acctA, findingID(1), at(1), ptr(at(2))),
		tags:     map[string]string{"k": "v"},
	}
	w.policy = newPolicy(acctA, w.plan.Name, "existing", 1)
	w.event = newEvent(w.incident, eventID(w.incident, 0), at(2), "Custom Event")
	must(t, s.CreateReplicationSet(ctx, w.rs, nil), "CreateReplicationSet")
	must(t, s.CreateResponsePlan(ctx, w.plan, w.tags), "CreateResponsePlan")
	must(t, s.PutResourcePolicy(ctx, w.policy), "PutResourcePolicy")
	must(t, s.CreateIncidentRecord(ctx, w.incident, nil, w.items), "CreateIncidentRecord")
	addEvent(t, s, w.event)
	must(t, s.PutIdempotencyRecord(ctx, w.idem), "PutIdempotencyRecord")
	must(t, s.PutFinding(ctx, w.finding), "PutFinding")
	return w
}

// check checks the world is as created.
func (w *world) check(t *testing.T, s domain.Store, what string) {
	t.Helper()
	ctx := t.Context()
	rs, err := s.GetReplicationSet(ctx, acctA)
	must(t, err, "%s: GetReplicationSet", what)
	check(t, rs, w.rs, "%s: the replication set", what)
	plans, err := s.ListResponsePlans(ctx, acctA, "", 100)
	must(t, err, "%s: ListResponsePlans", what)
	check(t, plans, []*domain.ResponsePlan{w.plan}, "%s: the plans", what)
	tags, err := s.Tags(ctx, planRef(w.plan))
	must(t, err, "%s: Tags", what)
	check(t, tags, w.tags, "%s: the plan's tags", what)
	ps, err := s.ListResourcePolicies(ctx, acctA, w.plan.Name, 0, 100)
	must(t, err, "%s: ListResourcePolicies", what)
	check(t, ps, []*domain.ResourcePolicy{w.policy}, "%s: the policies", what)
	recs, err := s.ListIncidentRecords(ctx, acctA, nil, nil, 100)
	must(t, err, "%s: ListIncidentRecords", what)
	check(t, recs, []*domain.IncidentRecord{w.incident}, "%s: the incident records", what)
	events, err := s.ListTimelineEvents(ctx, acctA, w.incident.ARN, domain.TimelineFilter{}, nil, 100)
	must(t, err, "%s: ListTimelineEvents", what)
	check(t, events, []*domain.TimelineEvent{w.event}, "%s: the timeline", what)
	items, err := s.ListRelatedItems(ctx, acctA, w.incident.ARN, nil, 0)
	must(t, err, "%s: ListRelatedItems", what)
	check(t, items, w.items, "%s: the related items", what)
	idem, err := s.GetIdempotencyRecord(ctx, acctA, w.idem.Operation, w.idem.Token)
	must(t, err, "%s: GetIdempotencyRecord", what)
	check(t, idem, w.idem, "%s: the idempotency record", what)
	_, err = s.GetIdempotencyRecord(ctx, acctA, "StartIncident", "new")
	wantErr(t, err, domain.ErrNotFound, "%s: GetIdempotencyRecord of a token the transaction claimed", what)
	fs, err := s.ListFindings(ctx, acctA, at(-100), at(100), at(100), nil, 100)
	must(t, err, "%s: ListFindings", what)
	check(t, fs, []*domain.Finding{w.finding}, "%s: the findings", what)
}

func txCases() []testCase {
	return []testCase{
		{"Commit", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			w := newWorld(t, s)
			p := newPlan(acctA, "new")
			rp := newPolicy(acctA, "new", "new", 2)
			r := newIncident(acctA, "new", at(5))
			e := newEvent(r, eventID(r, 0), at(6), "Note")
			it := urlItem("new", "https://example.com/new")
			idem := idemRecord(acctA, "StartIncident", "new", 2, 5)
			f := newStackFinding(acctA, findingID(2), at(3), nil)
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				return errors.Join(
					s.CreateResponsePlan(ctx, p, map[string]string{"n": "1"}),
					s.PutResourcePolicy(ctx, rp),
					s.CreateIncidentRecord(ctx, r, nil, nil),
					s.AddTimelineEvent(ctx, e),
					s.AddRelatedItem(ctx, acctA, r.ARN, it),
					s.PutIdempotencyRecord(ctx, idem),
					s.PutFinding(ctx, f),
					s.UpdateTags(ctx, planRef(w.plan), func(m map[string]string) error { m["added"] = "yes"; return nil }),
					s.UpdateIncidentRecord(ctx, acctA, w.incident.ARN, func(r *domain.IncidentRecord) error { r.Title = "changed"; return nil }),
					s.DeleteTimelineEvent(ctx, acctA, w.incident.ARN, w.event.EventID),
				)
			}), "Tx")
			got, err := s.GetResponsePlan(ctx, acctA, "new")
			must(t, err, "GetResponsePlan")
			check(t, got, p, "the plan the transaction created")
			tags, err := s.Tags(ctx, planRef(w.plan))
			must(t, err, "Tags")
			check(t, tags, map[string]string{"k": "v", "added": "yes"}, "the tags the transaction changed")
			ps, err := s.ListResourcePolicies(ctx, acctA, "new", 0, 10)
			must(t, err, "ListResourcePolicies")
			check(t, ps, []*domain.ResourcePolicy{rp}, "the policy the transaction put")
			gotR, err := s.GetIncidentRecord(ctx, acctA, r.ARN)
			must(t, err, "GetIncidentRecord")
			check(t, gotR, r, "the record the transaction created")
			gotR, err = s.GetIncidentRecord(ctx, acctA, w.incident.ARN)
			must(t, err, "GetIncidentRecord existing")
			check(t, gotR.Title, "changed", "the title the transaction changed")
			gotE, err := s.GetTimelineEvent(ctx, acctA, r.ARN, e.EventID)
			must(t, err, "GetTimelineEvent")
			check(t, gotE, e, "the event the transaction added")
			_, err = s.GetTimelineEvent(ctx, acctA, w.incident.ARN, w.event.EventID)
			wantErr(t, err, domain.ErrNotFound, "the event the transaction deleted")
			items, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
			must(t, err, "ListRelatedItems")
			check(t, items, []domain.RelatedItem{it}, "the item the transaction added")
			gotI, err := s.GetIdempotencyRecord(ctx, acctA, "StartIncident", "new")
			must(t, err, "GetIdempotencyRecord")
			check(t, gotI, idem, "the idempotency record the transaction put")
			fs, err := s.GetFindings(ctx, acctA, []string{f.ID})
			must(t, err, "GetFindings")
			check(t, fs, []*domain.Finding{f}, "the finding the transaction put")
		}},
		{"RollbackOnError", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			w := newWorld(t, s)
			r := newIncident(acctA, "new", at(5))
			err := s.Tx(ctx, func(ctx context.Context) error {
				if err := errors.Join(
					s.UpdateReplicationSet(ctx, acctA, func(rs *domain.ReplicationSet) error { rs.DeletionProtected = true; return nil }),
					s.CreateResponsePlan(ctx, newPlan(acctA, "new"), map[string]string{"n": "1"}),
					s.UpdateResponsePlan(ctx, acctA, w.plan.Name, func(p *domain.ResponsePlan) error { p.Template.Title = "changed"; return nil }),
					s.UpdateTags(ctx, planRef(w.plan), func(m map[string]string) error { m["added"] = "yes"; return nil }),
					s.PutResourcePolicy(ctx, newPolicy(acctA, w.plan.Name, "new", 2)),
					s.CreateIncidentRecord(ctx, r, map[string]string{"n": "1"}, []domain.RelatedItem{urlItem("x", "https://example.com/x")}),
					s.UpdateIncidentRecord(ctx, acctA, w.incident.ARN, func(r *domain.IncidentRecord) error {
						r.Title = "changed"
						r.Status = domain.IncidentResolved
						return nil
					}),
					s.AddTimelineEvent(ctx, newEvent(w.incident, eventID(w.incident, 1), at(3), "Note")),
					s.UpdateTimelineEvent(ctx, acctA, w.incident.ARN, w.event.EventID, func(e *domain.TimelineEvent) error { e.EventData = "changed"; return nil }),
					s.AddRelatedItem(ctx, acctA, w.incident.ARN, urlItem("i2", "https://example.com/2")),
					s.RemoveRelatedItem(ctx, acctA, w.incident.ARN, "i0"),
					s.PutIdempotencyRecord(ctx, idemRecord(acctA, "StartIncident", "existing", 9, 9)),
					s.PutFinding(ctx, newStackFinding(acctA, findingID(1), at(50), nil)),
				); err != nil {
					return err
				}
				if held, err := s.ClaimIdempotencyRecord(ctx, idemRecord(acctA, "StartIncident", "new", 3, 5), at(0)); err != nil || held != nil {
					return fmt.Errorf("claim: %v %v", held, err)
				}
				if _, err := s.PurgeIdempotencyRecords(ctx, at(100)); err != nil {
					return err
				}
				return errors.Join(
					s.DeleteTimelineEvent(ctx, acctA, w.incident.ARN, w.event.EventID),
					s.DeleteResourcePolicy(ctx, acctA, w.plan.Name, w.policy.ID),
					fmt.Errorf("wrapped: %w", errBoom),
				)
			})
			wantErr(t, err, errBoom, "Tx whose fn fails")
			w.check(t, s, "after a rolled-back transaction")
			_, err = s.GetIncidentRecord(ctx, acctA, r.ARN)
			wantErr(t, err, domain.ErrNotFound, "a record a rolled-back transaction created")
			_, err = s.Tags(ctx, incidentRef(r))
			wantErr(t, err, domain.ErrNotFound, "tags of a record a rolled-back transaction created")

			// Deletes roll back too.
			err = s.Tx(ctx, func(ctx context.Context) error {
				if err := errors.Join(
					s.DeleteIncidentRecord(ctx, acctA, w.incident.ARN),
					s.DeleteResponsePlan(ctx, acctA, w.plan.Name),
				); err != nil {
					return err
				}
				return errBoom
			})
			wantErr(t, err, errBoom, "Tx deleting then failing")
			w.check(t, s, "after rolled-back deletes")
			err = s.Tx(ctx, func(ctx context.Context) error {
				if err := s.DeleteAccountData(ctx, acctA, func(*domain.ReplicationSet) error { return nil }); err != nil {
					return err
				}
				return errBoom
			})
			wantErr(t, err, errBoom, "Tx deleting the account's data then failing")
			w.check(t, s, "after a rolled-back DeleteAccountData")
		}},
		{"FailedCallRollsBackOnlyItself", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			w := newWorld(t, s)
			p := newPlan(acctA, "new")
			r := newIncident(acctA, "new", at(5))
			// bad collects what the transaction found wrong; fn sets it
			// afresh, since Tx may run fn again.
			var bad []string
			expect := func(what string, err, target error) {
				if !errors.Is(err, target) {
					bad = append(bad, fmt.Sprintf("%s: got %v, want %v", what, err, target))
				}
			}
			err := s.Tx(ctx, func(ctx context.Context) error {
				bad = nil
				if err := s.CreateResponsePlan(ctx, p, map[string]string{"n": "1"}); err != nil {
					return err
				}
				expect("CreateResponsePlan of a taken name", s.CreateResponsePlan(ctx, newPlan(acctA, "new"), map[string]string{"x": "y"}), domain.ErrConflict)
				expect("CreateReplicationSet of a second set", s.CreateReplicationSet(ctx, newReplicationSet(acctA), map[string]string{"x": "y"}), domain.ErrConflict)
				expect("UpdateReplicationSet whose fn fails", s.UpdateReplicationSet(ctx, acctA, func(rs *domain.ReplicationSet) error {
					rs.DeletionProtected = true
					return errBoom
				}), errBoom)
				expect("UpdateResponsePlan whose fn fails", s.UpdateResponsePlan(ctx, acctA, "new", func(p *domain.ResponsePlan) error {
					p.Template.Title = "changed"
					return errBoom
				}), errBoom)
				expect("UpdateTags whose fn fails", s.UpdateTags(ctx, planRef(p), func(m map[string]string) error {
					m["x"] = "y"
					delete(m, "n")
					return errBoom
				}), errBoom)
				expect("PutResourcePolicy of a taken id", s.PutResourcePolicy(ctx, newPolicy(acctA, w.plan.Name, w.policy.ID, 5)), domain.ErrConflict)
				if err := s.CreateIncidentRecord(ctx, r, map[string]string{"n": "1"}, []domain.RelatedItem{urlItem("x", "https://example.com/x")}); err != nil {
					return err
				}
				again := newIncident(acctA, "new", at(6))
				again.Title = "again"
				expect("CreateIncidentRecord of a taken ARN", s.CreateIncidentRecord(ctx, again, map[string]string{"x": "y"}, []domain.RelatedItem{urlItem("y", "https://example.com/y")}), domain.ErrConflict)
				expect("UpdateIncidentRecord whose fn fails", s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(r *domain.IncidentRecord) error {
					changeIncident(r)
					return errBoom
				}), errBoom)
				expect("AddRelatedItem of a taken id", s.AddRelatedItem(ctx, acctA, r.ARN, urlItem("x", "https://example.com/other")), domain.ErrConflict)
				expect("RemoveRelatedItem of a missing id", s.RemoveRelatedItem(ctx, acctA, r.ARN, "missing"), domain.ErrNotFound)
				expect("UpdateTimelineEvent whose fn fails", s.UpdateTimelineEvent(ctx, acctA, w.incident.ARN, w.event.EventID, func(e *domain.TimelineEvent) error {
					e.EventData = "changed"
					e.EventTime = at(99)
					return errBoom
				}), errBoom)
				expect("UpdateTimelineEvent of a missing event", s.UpdateTimelineEvent(ctx, acctA, w.incident.ARN, "missing", func(*domain.TimelineEvent) error { return nil }), domain.ErrNotFound)
				expect("DeleteResourcePolicy of a missing id", s.DeleteResourcePolicy(ctx, acctA, w.plan.Name, "missing"), domain.ErrNotFound)
				expect("DeleteAccountData whose check refuses", s.DeleteAccountData(ctx, acctA, func(*domain.ReplicationSet) error { return errBoom }), errBoom)
				// The transaction sees none of the failed calls' effects.
				if got, err := s.GetResponsePlan(ctx, acctA, "new"); err != nil || !same(got, p) {
					bad = append(bad, fmt.Sprintf("inside: the plan is %s, %v", show(got), err))
				}
				if got, err := s.GetIncidentRecord(ctx, acctA, r.ARN); err != nil || !same(got, r) {
					bad = append(bad, fmt.Sprintf("inside: the record is %s, %v", show(got), err))
				}
				if tags, err := s.Tags(ctx, planRef(p)); err != nil || !same(tags, map[string]string{"n": "1"}) {
					bad = append(bad, fmt.Sprintf("inside: the plan's tags are %v, %v", tags, err))
				}
				// And it goes on.
				return s.AddTimelineEvent(ctx, newEvent(r, eventID(r, 0), at(7), "Note"))
			})
			must(t, err, "Tx whose failed calls were handled")
			for _, b := range bad {
				t.Error(b)
			}
			if t.Failed() {
				t.FailNow()
			}
			// The rest committed, nothing of the failed calls did.
			got, err := s.GetResponsePlan(ctx, acctA, "new")
			must(t, err, "GetResponsePlan")
			check(t, got, p, "the plan")
			tags, err := s.Tags(ctx, planRef(p))
			must(t, err, "Tags")
			check(t, tags, map[string]string{"n": "1"}, "the plan's tags")
			gotR, err := s.GetIncidentRecord(ctx, acctA, r.ARN)
			must(t, err, "GetIncidentRecord")
			check(t, gotR, r, "the record")
			tags, err = s.Tags(ctx, incidentRef(r))
			must(t, err, "Tags of the record")
			check(t, tags, map[string]string{"n": "1"}, "the record's tags")
			items, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
			must(t, err, "ListRelatedItems")
			check(t, items, []domain.RelatedItem{urlItem("x", "https://example.com/x")}, "the record's items")
			events, err := s.ListTimelineEvents(ctx, acctA, r.ARN, domain.TimelineFilter{}, nil, 10)
			must(t, err, "ListTimelineEvents")
			check(t, eventIDs(events), []string{eventID(r, 0)}, "the record's timeline")
			// The world around is as it was.
			old, err := s.GetResponsePlan(ctx, acctA, w.plan.Name)
			must(t, err, "GetResponsePlan existing")
			check(t, old, w.plan, "the existing plan")
			rs, err := s.GetReplicationSet(ctx, acctA)
			must(t, err, "GetReplicationSet")
			check(t, rs, w.rs, "the replication set")
			ps, err := s.ListResourcePolicies(ctx, acctA, w.plan.Name, 0, 10)
			must(t, err, "ListResourcePolicies")
			check(t, ps, []*domain.ResourcePolicy{w.policy}, "the existing plan's policies")
			existing, err := s.GetTimelineEvent(ctx, acctA, w.incident.ARN, w.event.EventID)
			must(t, err, "GetTimelineEvent existing")
			check(t, existing, w.event, "the existing event")
			plans, err := s.ListResponsePlans(ctx, acctA, "", 10)
			must(t, err, "ListResponsePlans")
			check(t, planNames(plans), []string{"existing", "new"}, "the plans")
		}},
		{"ReadsSeeOwnWrites", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			w := newWorld(t, s)
			var bad []string
			see := func(what string, ok bool, got any, err error) {
				if err != nil || !ok {
					bad = append(bad, fmt.Sprintf("%s: %s, %v", what, show(got), err))
				}
			}
			p := newPlan(acctA, "new")
			r := newIncident(acctA, "new", at(5))
			r.DedupeString = "tx-dedupe"
			e := newEvent(r, eventID(r, 0), at(6), "Note")
			it := urlItem("new", "https://example.com/new")
			idem := idemRecord(acctA, "StartIncident", "new", 2, 5)
			f := newStackFinding(acctA, findingID(2), at(3), nil)
			// Rolled back at the end: only the reads inside matter.
			err := s.Tx(ctx, func(ctx context.Context) error {
				bad = nil
				if err := s.CreateResponsePlan(ctx, p, map[string]string{"n": "1"}); err != nil {
					return err
				}
				got, err := s.GetResponsePlan(ctx, acctA, "new")
				see("GetResponsePlan", same(got, p), got, err)
				plans, err := s.ListResponsePlans(ctx, acctA, "", 10)
				see("ListResponsePlans", same(planNames(plans), []string{"existing", "new"}), planNames(plans), err)
				if err := s.UpdateResponsePlan(ctx, acctA, "new", func(p *domain.ResponsePlan) error { p.Template.Title = "changed"; return nil }); err != nil {
					return err
				}
				got, err = s.GetResponsePlan(ctx, acctA, "new")
				see("GetResponsePlan after UpdateResponsePlan", err == nil && got.Template.Title == "changed", got, err)
				if err := s.UpdateTags(ctx, planRef(p), func(m map[string]string) error { m["x"] = "y"; return nil }); err != nil {
					return err
				}
				tags, err := s.Tags(ctx, planRef(p))
				see("Tags after UpdateTags", same(tags, map[string]string{"n": "1", "x": "y"}), tags, err)
				for i := range 2 {
					if err := s.PutResourcePolicy(ctx, newPolicy(acctA, "new", fmt.Sprint(i), i)); err != nil {
						return err
					}
				}
				n, err := s.CountResourcePolicies(ctx, acctA, "new")
				see("CountResourcePolicies", n == 2, n, err)
				ps, err := s.ListResourcePolicies(ctx, acctA, "new", 0, 10)
				see("ListResourcePolicies", len(ps) == 2, len(ps), err)
				if err := s.DeleteResourcePolicy(ctx, acctA, w.plan.Name, w.policy.ID); err != nil {
					return err
				}
				n, err = s.CountResourcePolicies(ctx, acctA, w.plan.Name)
				see("CountResourcePolicies after DeleteResourcePolicy", n == 0, n, err)

				if err := s.CreateIncidentRecord(ctx, r, nil, nil); err != nil {
					return err
				}
				gotR, err := s.GetIncidentRecord(ctx, acctA, r.ARN)
				see("GetIncidentRecord", same(gotR, r), gotR, err)
				open, err := s.FindOpenIncident(ctx, acctA, "tx-dedupe")
				see("FindOpenIncident", same(open, r), open, err)
				recs, err := s.ListIncidentRecords(ctx, acctA, nil, nil, 10)
				see("ListIncidentRecords", same(incidentARNs(recs), []string{r.ARN, w.incident.ARN}), incidentARNs(recs), err)
				if err := s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(r *domain.IncidentRecord) error { r.Status = domain.IncidentResolved; return nil }); err != nil {
					return err
				}
				_, err = s.FindOpenIncident(ctx, acctA, "tx-dedupe")
				see("FindOpenIncident after the record was resolved", errors.Is(err, domain.ErrNotFound), nil, nil)
				recs, err = s.ListIncidentRecords(ctx, acctA, []domain.IncidentCondition{{Key: "status", Strings: []string{domain.IncidentResolved}}}, nil, 10)
				see("ListIncidentRecords RESOLVED", same(incidentARNs(recs), []string{r.ARN}), incidentARNs(recs), err)

				if err := s.AddTimelineEvent(ctx, e); err != nil {
					return err
				}
				gotE, err := s.GetTimelineEvent(ctx, acctA, r.ARN, e.EventID)
				see("GetTimelineEvent", same(gotE, e), gotE, err)
				if err := s.UpdateTimelineEvent(ctx, acctA, r.ARN, e.EventID, func(e *domain.TimelineEvent) error { e.EventType = "Custom Event"; return nil }); err != nil {
					return err
				}
				events, err := s.ListTimelineEvents(ctx, acctA, r.ARN, domain.TimelineFilter{EventTypes: [][]string{{"Custom Event"}}}, nil, 10)
				see("ListTimelineEvents after UpdateTimelineEvent", same(eventIDs(events), []string{e.EventID}), eventIDs(events), err)
				if err := s.DeleteTimelineEvent(ctx, acctA, w.incident.ARN, w.event.EventID); err != nil {
					return err
				}
				_, err = s.GetTimelineEvent(ctx, acctA, w.incident.ARN, w.event.EventID)
				see("GetTimelineEvent after DeleteTimelineEvent", errors.Is(err, domain.ErrNotFound), nil, nil)

				if err := s.AddRelatedItem(ctx, acctA, r.ARN, it); err != nil {
					return err
				}
				items, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
				see("ListRelatedItems", same(items, []domain.RelatedItem{it}), items, err)
				if err := s.RemoveRelatedItem(ctx, acctA, w.incident.ARN, "i0"); err != nil {
					return err
				}
				items, err = s.ListRelatedItems(ctx, acctA, w.incident.ARN, nil, 0)
				see("ListRelatedItems after RemoveRelatedItem", same(items, w.items[1:]), items, err)

				if err := s.PutIdempotencyRecord(ctx, idem); err != nil {
					return err
				}
				gotI, err := s.GetIdempotencyRecord(ctx, acctA, "StartIncident", "new")
				see("GetIdempotencyRecord", same(gotI, idem), gotI, err)
				held, err := s.ClaimIdempotencyRecord(ctx, idemRecord(acctA, "StartIncident", "new", 7, 6), at(0))
				see("ClaimIdempotencyRecord of a token the transaction put", same(held, idem), held, err)

				if err := s.PutFinding(ctx, f); err != nil {
					return err
				}
				fs, err := s.GetFindings(ctx, acctA, []string{f.ID})
				see("GetFindings", same(fs, []*domain.Finding{f}), fs, err)
				fs, err = s.ListFindings(ctx, acctA, at(10), at(20), at(30), nil, 10)
				see("ListFindings", same(fs, []*domain.Finding{f}), fs, err)

				if err := s.DeleteIncidentRecord(ctx, acctA, w.incident.ARN); err != nil {
					return err
				}
				_, err = s.GetIncidentRecord(ctx, acctA, w.incident.ARN)
				see("GetIncidentRecord after DeleteIncidentRecord", errors.Is(err, domain.ErrNotFound), nil, nil)
				if err := s.DeleteResponsePlan(ctx, acctA, w.plan.Name); err != nil {
					return err
				}
				_, err = s.Tags(ctx, planRef(w.plan))
				see("Tags after DeleteResponsePlan", errors.Is(err, domain.ErrNotFound), nil, nil)

				if err := s.DeleteAccountData(ctx, acctA, func(*domain.ReplicationSet) error { return nil }); err != nil {
					return err
				}
				_, err = s.GetReplicationSet(ctx, acctA)
				see("GetReplicationSet after DeleteAccountData", errors.Is(err, domain.ErrNotFound), nil, nil)
				plans, err = s.ListResponsePlans(ctx, acctA, "", 10)
				see("ListResponsePlans after DeleteAccountData", len(plans) == 0, planNames(plans), err)
				if err := s.CreateReplicationSet(ctx, newReplicationSet(acctA), nil); err != nil {
					return err
				}
				_, err = s.GetReplicationSet(ctx, acctA)
				see("GetReplicationSet after CreateReplicationSet", err == nil, nil, err)
				return errBoom
			})
			wantErr(t, err, errBoom, "Tx")
			for _, b := range bad {
				t.Error("inside the transaction: " + b)
			}
			if t.Failed() {
				t.FailNow()
			}
			w.check(t, s, "after the transaction rolled back")
		}},
		{"NestedTx", func(t *testing.T, s domain.Store) {
			// Tx is a Store call too: inside a transaction, a Tx whose fn
			// fails rolls back its own changes only, and one that succeeds
			// is part of the outer transaction.
			ctx := t.Context()
			w := newWorld(t, s)
			inner, outer := newPlan(acctA, "inner"), newPlan(acctA, "outer")
			err := s.Tx(ctx, func(ctx context.Context) error {
				if err := s.CreateResponsePlan(ctx, outer, nil); err != nil {
					return err
				}
				err := s.Tx(ctx, func(ctx context.Context) error {
					if err := errors.Join(
						s.CreateResponsePlan(ctx, inner, nil),
						s.UpdateTags(ctx, planRef(w.plan), func(m map[string]string) error { m["inner"] = "yes"; return nil }),
						s.UpdateIncidentRecord(ctx, acctA, w.incident.ARN, func(r *domain.IncidentRecord) error { r.Title = "inner"; return nil }),
						s.DeleteTimelineEvent(ctx, acctA, w.incident.ARN, w.event.EventID),
					); err != nil {
						return err
					}
					return errBoom
				})
				if !errors.Is(err, errBoom) {
					return fmt.Errorf("the failing inner Tx returned %v", err)
				}
				if _, err := s.GetResponsePlan(ctx, acctA, "inner"); !errors.Is(err, domain.ErrNotFound) {
					return fmt.Errorf("after the inner Tx failed, its plan reads %v", err)
				}
				return s.Tx(ctx, func(ctx context.Context) error {
					return s.UpdateResponsePlan(ctx, acctA, "outer", func(p *domain.ResponsePlan) error { p.Template.Title = "nested"; return nil })
				})
			})
			must(t, err, "outer Tx")
			_, err = s.GetResponsePlan(ctx, acctA, "inner")
			wantErr(t, err, domain.ErrNotFound, "the plan of a failed inner Tx")
			got, err := s.GetResponsePlan(ctx, acctA, "outer")
			must(t, err, "GetResponsePlan outer")
			outer.Template.Title = "nested"
			check(t, got, outer, "the plan of the outer Tx, changed by a nested one")
			tags, err := s.Tags(ctx, planRef(w.plan))
			must(t, err, "Tags")
			check(t, tags, w.tags, "tags a failed inner Tx changed")
			r, err := s.GetIncidentRecord(ctx, acctA, w.incident.ARN)
			must(t, err, "GetIncidentRecord")
			check(t, r, w.incident, "a record a failed inner Tx changed")
			e, err := s.GetTimelineEvent(ctx, acctA, w.incident.ARN, w.event.EventID)
			must(t, err, "GetTimelineEvent")
			check(t, e, w.event, "an event a failed inner Tx deleted")

			// A nested Tx that succeeded rolls back with the outer one.
			err = s.Tx(ctx, func(ctx context.Context) error {
				if err := s.Tx(ctx, func(ctx context.Context) error { return s.DeleteResponsePlan(ctx, acctA, "outer") }); err != nil {
					return err
				}
				return errBoom
			})
			wantErr(t, err, errBoom, "outer Tx failing after a nested one succeeded")
			got, err = s.GetResponsePlan(ctx, acctA, "outer")
			must(t, err, "GetResponsePlan after the outer Tx rolled back")
			check(t, got, outer, "a plan a nested Tx deleted before the outer one failed")
		}},
		{"UncommittedInvisible", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			release, done := openTx(t, s, func(ctx context.Context) error {
				return s.CreateResponsePlan(ctx, newPlan(acctA, "new"), nil)
			})
			_, err := s.GetResponsePlan(ctx, acctA, "new")
			close(release)
			wantErr(t, <-done, errBoom, "the transaction")
			wantErr(t, err, domain.ErrNotFound, "GetResponsePlan outside a transaction of a plan it has not committed")
		}},
	}
}

// openTx runs write in a transaction that, once write has returned nil,
// stays open until release is closed and then rolls back (errBoom, which
// done answers). openTx returns once write has run.
func openTx(t *testing.T, s domain.Store, write func(ctx context.Context) error) (release chan struct{}, done chan error) {
	t.Helper()
	return openTxEnding(t, s, errBoom, write)
}

// openTxEnding is openTx for a transaction whose fn, once released,
// returns end: nil commits it.
func openTxEnding(t *testing.T, s domain.Store, end error, write func(ctx context.Context) error) (release chan struct{}, done chan error) {
	t.Helper()
	written := make(chan struct{})
	release, done = make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.Tx(t.Context(), func(ctx context.Context) error {
			if err := write(ctx); err != nil {
				return err
			}
			select {
			case written <- struct{}{}:
			case <-time.After(10 * time.Second):
				return errors.New("the test did not go on")
			}
			select {
			case <-release:
			case <-time.After(10 * time.Second):
				return errors.New("the test did not release the transaction")
			}
			return end
		})
	}()
	select {
	case <-written:
	case err := <-done:
		t.Fatalf("the transaction ended early: %v", err)
	}
	return release, done
}
