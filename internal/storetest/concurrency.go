package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// race runs fn(0) … fn(n-1) on goroutines of their own, released together,
// and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// pause widens the window between a transaction's read and its write, where
// an engine that runs transactions at once could let another one in.
func pause() { time.Sleep(time.Millisecond) }

// inTx runs fn in a transaction when i is even, else on its own: both must
// keep the guarantee.
func inTx(ctx context.Context, s domain.Store, i int, fn func(ctx context.Context) error) error {
	if i%2 == 0 {
		return s.Tx(ctx, fn)
	}
	return fn(ctx)
}

var (
	errQuota = errors.New("storetest: quota reached")
	errAbort = errors.New("storetest: transaction aborted on purpose")
)

// n is how many transactions race in each concurrency case; rounds is how
// many times the races whose outcome depends on the order the engine picks
// are run, each on keys of its own: an engine that runs transactions one
// after another may keep a guarantee by luck in one round.
const (
	n      = 12
	rounds = 6
)

func concurrencyCases() []testCase {
	return []testCase{
		{"IncidentUpdatesNoneLost", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			// Each update appends its own execution (every update changes
			// that member) and sets a member of its own.
			set := []func(r *domain.IncidentRecord){
				func(r *domain.IncidentRecord) { r.Title = "title set" },
				func(r *domain.IncidentRecord) { r.Summary = ptr("summary set") },
				func(r *domain.IncidentRecord) { r.Impact = 1 },
				func(r *domain.IncidentRecord) {
					r.NotificationTargets = append(r.NotificationTargets, "arn:aws:sns:us-east-1:"+acctA+":added")
				},
				func(r *domain.IncidentRecord) { r.ChatChannel = &domain.ChatChannel{ChatbotSNS: []string{"arn:chat"}} },
				func(r *domain.IncidentRecord) { r.LastModifiedBy = "modifier set" },
			}
			errs := race(n, func(i int) error {
				return inTx(ctx, s, i/2, func(ctx context.Context) error {
					if i%2 == 1 {
						// Read first, as the service does, then update.
						if _, err := s.GetIncidentRecord(ctx, acctA, r.ARN); err != nil {
							return err
						}
					}
					return s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(r *domain.IncidentRecord) error {
						pause()
						r.AutomationExecutions = append(r.AutomationExecutions, fmt.Sprintf("exec-%02d", i))
						if i < len(set) {
							set[i](r)
						}
						return nil
					})
				})
			})
			for i, err := range errs {
				must(t, err, "update %d", i)
			}
			got, err := s.GetIncidentRecord(ctx, acctA, r.ARN)
			must(t, err, "GetIncidentRecord")
			want := *r
			for i := range n {
				want.AutomationExecutions = append(want.AutomationExecutions, fmt.Sprintf("exec-%02d", i))
				if i < len(set) {
					set[i](&want)
				}
			}
			execs := slices.Sorted(slices.Values(got.AutomationExecutions))
			check(t, execs, want.AutomationExecutions, "the executions appended by concurrent updates")
			got.AutomationExecutions = want.AutomationExecutions
			check(t, got, &want, "the record after concurrent updates of different members")
		}},
		{"TimelineEventUpdatesNoneLost", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			e := addEvent(t, s, newEvent(r, eventID(r, 0), at(1), "Custom Event"))
			errs := race(n, func(i int) error {
				return inTx(ctx, s, i, func(ctx context.Context) error {
					return s.UpdateTimelineEvent(ctx, acctA, r.ARN, e.EventID, func(e *domain.TimelineEvent) error {
						pause()
						e.References = append(e.References, domain.EventReference{RelatedItemID: ptr(fmt.Sprintf("item-%02d", i))})
						switch i {
						case 0:
							e.EventData = "data set"
						case 1:
							e.EventType = "Note"
						case 2:
							e.EventTime = at(50)
						}
						return nil
					})
				})
			})
			for i, err := range errs {
				must(t, err, "update %d", i)
			}
			got, err := s.GetTimelineEvent(ctx, acctA, r.ARN, e.EventID)
			must(t, err, "GetTimelineEvent")
			var refs, want []string
			for _, ref := range got.References {
				refs = append(refs, *ref.RelatedItemID)
			}
			for i := range n {
				want = append(want, fmt.Sprintf("item-%02d", i))
			}
			check(t, slices.Sorted(slices.Values(refs)), want, "the references appended by concurrent updates")
			check(t, []any{got.EventData, got.EventType, got.EventTime}, []any{"data set", "Note", at(50)}, "the members set by concurrent updates")
		}},
		{"TagUpdatesNoneLost", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			p := newPlan(acctA, "p")
			must(t, s.CreateResponsePlan(ctx, p, map[string]string{"count": "0"}), "CreateResponsePlan")
			errs := race(n, func(i int) error {
				return inTx(ctx, s, i, func(ctx context.Context) error {
					return s.UpdateTags(ctx, planRef(p), func(m map[string]string) error {
						var c int
						fmt.Sscan(m["count"], &c)
						pause()
						m["count"] = fmt.Sprint(c + 1)
						m[fmt.Sprintf("k%02d", i)] = "v"
						return nil
					})
				})
			})
			want := map[string]string{"count": fmt.Sprint(n)}
			for i, err := range errs {
				must(t, err, "UpdateTags %d", i)
				want[fmt.Sprintf("k%02d", i)] = "v"
			}
			tags, err := s.Tags(ctx, planRef(p))
			must(t, err, "Tags")
			check(t, tags, want, "the tags after concurrent updates")
		}},
		{"ReplicationSetUpdatesNoneLost", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			rs := newReplicationSet(acctA)
			must(t, s.CreateReplicationSet(ctx, rs, nil), "CreateReplicationSet")
			errs := race(n, func(i int) error {
				return inTx(ctx, s, i, func(ctx context.Context) error {
					return s.UpdateReplicationSet(ctx, acctA, func(rs *domain.ReplicationSet) error {
						pause()
						rs.Regions[fmt.Sprintf("region-%02d", i)] = &domain.Region{SSEKMSKeyID: domain.DefaultKMSKey, AddedTime: at(i)}
						return nil
					})
				})
			})
			for i, err := range errs {
				must(t, err, "UpdateReplicationSet %d", i)
				rs.Regions[fmt.Sprintf("region-%02d", i)] = &domain.Region{SSEKMSKeyID: domain.DefaultKMSKey, AddedTime: at(i)}
			}
			got, err := s.GetReplicationSet(ctx, acctA)
			must(t, err, "GetReplicationSet")
			check(t, got, rs, "the set after concurrent updates")
		}},
		{"ResponsePlanUpdatesNoneLost", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			p := newPlan(acctA, "p")
			p.Engagements = nil
			must(t, s.CreateResponsePlan(ctx, p, nil), "CreateResponsePlan")
			errs := race(n, func(i int) error {
				return inTx(ctx, s, i, func(ctx context.Context) error {
					return s.UpdateResponsePlan(ctx, acctA, "p", func(p *domain.ResponsePlan) error {
						pause()
						p.Engagements = append(p.Engagements, fmt.Sprintf("contact-%02d", i))
						return nil
					})
				})
			})
			var want []string
			for i, err := range errs {
				must(t, err, "UpdateResponsePlan %d", i)
				want = append(want, fmt.Sprintf("contact-%02d", i))
			}
			got, err := s.GetResponsePlan(ctx, acctA, "p")
			must(t, err, "GetResponsePlan")
			check(t, slices.Sorted(slices.Values(got.Engagements)), want, "the engagements after concurrent updates")
		}},
		{"ClaimOneToken", func(t *testing.T, s domain.Store) {
			for round := range rounds {
				claimOneToken(t, s, fmt.Sprintf("tok-%d", round))
			}
		}},
		{"DedupeCreatesOne", func(t *testing.T, s domain.Store) {
			for round := range rounds {
				dedupeCreatesOne(t, s, fmt.Sprintf("dd-%d", round))
			}
		}},
		{"QuotaHolds", func(t *testing.T, s domain.Store) {
			for round := range rounds {
				quotaHolds(t, s, fmt.Sprintf("plan-%d", round))
			}
		}},
		{"DeleteRacesIncidentUpdate", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			const records = 6
			var rs []*domain.IncidentRecord
			for k := range records {
				r := newIncident(acctA, fmt.Sprintf("r%02d", k), at(k))
				must(t, s.CreateIncidentRecord(ctx, r, map[string]string{"k": "v"}, []domain.RelatedItem{urlItem("x", "https://example.com/x")}), "CreateIncidentRecord")
				rs = append(rs, r)
			}
			// Per record: one delete, three updates (one reads first in
			// its transaction, as the service does).
			errs := race(records*4, func(i int) error {
				r := rs[i/4]
				switch i % 4 {
				case 0:
					return s.DeleteIncidentRecord(ctx, acctA, r.ARN)
				case 1:
					return s.Tx(ctx, func(ctx context.Context) error {
						if _, err := s.GetIncidentRecord(ctx, acctA, r.ARN); err != nil {
							return err
						}
						pause()
						return s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(r *domain.IncidentRecord) error { r.Title = "updated"; return nil })
					})
				default:
					return inTx(ctx, s, i, func(ctx context.Context) error {
						return s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(r *domain.IncidentRecord) error {
							pause()
							r.Status = domain.IncidentResolved
							return nil
						})
					})
				}
			})
			for i, err := range errs {
				if i%4 == 0 {
					must(t, err, "DeleteIncidentRecord %d", i/4)
				} else if err != nil && !errors.Is(err, domain.ErrNotFound) {
					t.Fatalf("an update racing a delete: %v; want nil or ErrNotFound", err)
				}
			}
			for k, r := range rs {
				checkIncidentGone(t, s, r, 0)
				_, err := s.FindOpenIncident(ctx, acctA, r.DedupeString)
				wantErr(t, err, domain.ErrNotFound, "FindOpenIncident of deleted record %d", k)
			}
		}},
		{"DeleteRacesTimelineEventUpdate", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			const events = 6
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			doomed := createIncident(t, s, newIncident(acctA, "doomed", at(0)))
			for k := range events {
				addEvent(t, s, newEvent(r, eventID(r, k), at(k), "Custom Event"))
				addEvent(t, s, newEvent(doomed, eventID(doomed, k), at(k), "Custom Event"))
			}
			errs := race(events*4+1, func(i int) error {
				if i == events*4 {
					// The incident of the other events goes as a whole.
					return s.DeleteIncidentRecord(ctx, acctA, doomed.ARN)
				}
				k := i / 4
				switch i % 4 {
				case 0:
					return s.DeleteTimelineEvent(ctx, acctA, r.ARN, eventID(r, k))
				case 1, 2:
					return inTx(ctx, s, i, func(ctx context.Context) error {
						return s.UpdateTimelineEvent(ctx, acctA, r.ARN, eventID(r, k), func(e *domain.TimelineEvent) error {
							pause()
							e.EventData = "updated"
							return nil
						})
					})
				default:
					return inTx(ctx, s, i, func(ctx context.Context) error {
						return s.UpdateTimelineEvent(ctx, acctA, doomed.ARN, eventID(doomed, k), func(e *domain.TimelineEvent) error {
							pause()
							e.EventData = "updated"
							return nil
						})
					})
				}
			})
			for i, err := range errs {
				if i == events*4 || i%4 == 0 {
					must(t, err, "delete %d", i)
				} else if err != nil && !errors.Is(err, domain.ErrNotFound) {
					t.Fatalf("an update racing a delete: %v; want nil or ErrNotFound", err)
				}
			}
			for _, inc := range []*domain.IncidentRecord{r, doomed} {
				list, err := s.ListTimelineEvents(ctx, acctA, inc.ARN, domain.TimelineFilter{}, nil, 100)
				must(t, err, "ListTimelineEvents")
				check(t, eventIDs(list), []string(nil), "events left after deletes raced updates")
				for k := range events {
					_, err := s.GetTimelineEvent(ctx, acctA, inc.ARN, eventID(inc, k))
					wantErr(t, err, domain.ErrNotFound, "a deleted event after updates raced its delete")
				}
			}
		}},
		{"DeleteRacesTagAndPlanUpdate", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			const plans = 4
			for k := range plans {
				must(t, s.CreateResponsePlan(ctx, newPlan(acctA, fmt.Sprintf("p%d", k)), map[string]string{"k": "v"}), "CreateResponsePlan")
				must(t, s.PutResourcePolicy(ctx, newPolicy(acctA, fmt.Sprintf("p%d", k), "id", k)), "PutResourcePolicy")
			}
			r := newIncident(acctA, "one", at(0))
			must(t, s.CreateIncidentRecord(ctx, r, map[string]string{"k": "v"}, nil), "CreateIncidentRecord")
			errs := race(plans*4+4, func(i int) error {
				if i >= plans*4 {
					// The incident's tags race its delete.
					if i == plans*4 {
						return s.DeleteIncidentRecord(ctx, acctA, r.ARN)
					}
					return inTx(ctx, s, i, func(ctx context.Context) error {
						return s.UpdateTags(ctx, incidentRef(r), func(m map[string]string) error {
							pause()
							m[fmt.Sprint("t", i)] = "added"
							return nil
						})
					})
				}
				p := newPlan(acctA, fmt.Sprintf("p%d", i/4))
				switch i % 4 {
				case 0:
					return s.DeleteResponsePlan(ctx, acctA, p.Name)
				case 1:
					return inTx(ctx, s, i, func(ctx context.Context) error {
						return s.UpdateResponsePlan(ctx, acctA, p.Name, func(p *domain.ResponsePlan) error {
							pause()
							p.Template.Title = "updated"
							return nil
						})
					})
				default:
					return inTx(ctx, s, i, func(ctx context.Context) error {
						return s.UpdateTags(ctx, planRef(p), func(m map[string]string) error {
							pause()
							m[fmt.Sprint("t", i)] = "added"
							return nil
						})
					})
				}
			})
			for i, err := range errs {
				if (i < plans*4 && i%4 == 0) || i == plans*4 {
					must(t, err, "delete %d", i)
				} else if err != nil && !errors.Is(err, domain.ErrNotFound) {
					t.Fatalf("an update racing a delete: %v; want nil or ErrNotFound", err)
				}
			}
			for k := range plans {
				p := newPlan(acctA, fmt.Sprintf("p%d", k))
				_, err := s.GetResponsePlan(ctx, acctA, p.Name)
				wantErr(t, err, domain.ErrNotFound, "a deleted plan after updates raced its delete")
				// Created again, the plan has no tags or policies left
				// over from updates that raced the delete.
				must(t, s.CreateResponsePlan(ctx, p, nil), "CreateResponsePlan again")
				tags, err := s.Tags(ctx, planRef(p))
				must(t, err, "Tags")
				check(t, tags, map[string]string{}, "tags of a plan created again after updates raced its delete")
				c, err := s.CountResourcePolicies(ctx, acctA, p.Name)
				must(t, err, "CountResourcePolicies")
				check(t, c, 0, "policies of a plan created again")
			}
			_, err := s.Tags(ctx, incidentRef(r))
			wantErr(t, err, domain.ErrNotFound, "tags of a deleted record after tag updates raced its delete")
			must(t, s.CreateIncidentRecord(ctx, r, nil, nil), "CreateIncidentRecord again")
			tags, err := s.Tags(ctx, incidentRef(r))
			must(t, err, "Tags")
			check(t, tags, map[string]string{}, "tags of a record created again after tag updates raced its delete")
		}},
		{"ConcurrentAdds", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			// Related items and events of one time, added at once: each
			// gets a place of its own, and paging sees each once.
			errs := race(2*n, func(i int) error {
				if i%2 == 0 {
					return inTx(ctx, s, i/2, func(ctx context.Context) error {
						return s.AddRelatedItem(ctx, acctA, r.ARN, urlItem(fmt.Sprintf("item-%02d", i/2), "https://example.com"))
					})
				}
				return inTx(ctx, s, i/2, func(ctx context.Context) error {
					return s.AddTimelineEvent(ctx, newEvent(r, eventID(r, i/2), at(5), "Note"))
				})
			})
			for i, err := range errs {
				must(t, err, "add %d", i)
			}
			items := pageItems(t, s, r, nil, 2, n)
			var ids []string
			for j, it := range items {
				ids = append(ids, it.GeneratedID)
				if j > 0 && it.Seq <= items[j-1].Seq {
					t.Fatalf("related items share or reverse positions: %d then %d", items[j-1].Seq, it.Seq)
				}
			}
			var wantItems, wantEvents []string
			for k := range n {
				wantItems = append(wantItems, fmt.Sprintf("item-%02d", k))
				wantEvents = append(wantEvents, eventID(r, k))
			}
			check(t, slices.Sorted(slices.Values(ids)), wantItems, "related items added at once, paged")
			for _, desc := range []bool{false, true} {
				events := pageEvents(t, s, r, domain.TimelineFilter{Descending: desc}, 2, n)
				check(t, slices.Sorted(slices.Values(eventIDs(events))), wantEvents, "events of one time added at once, paged, descending=%v", desc)
			}
		}},
	}
}

// claimOneToken races n transactions claiming token; each that wins runs an
// effect (creates a record) and stores the full idempotency record.
func claimOneToken(t *testing.T, s domain.Store, token string) {
	t.Helper()
	ctx := t.Context()
	// Every third transaction rolls back after its claim, whether it won or
	// not: a rolled-back claim must neither count nor leave its record for
	// another to see.
	aborts := func(i int) bool { return i%3 == 2 }
	effect := func(i int) *domain.IncidentRecord {
		r := newIncident(acctA, fmt.Sprintf("effect-%s-%02d", token, i), at(i))
		r.DedupeString = "effect-" + token
		return r
	}
	won := make([]bool, n)
	held := make([]*domain.IdempotencyRecord, n)
	errs := race(n, func(i int) error {
		return s.Tx(ctx, func(ctx context.Context) error {
			won[i], held[i] = false, nil
			claim := idemRecord(acctA, "StartIncident", token, byte(i), 10)
			claim.Result = nil
			h, err := s.ClaimIdempotencyRecord(ctx, claim, at(0))
			if err != nil {
				return err
			}
			if h != nil {
				held[i] = h
			} else {
				// The effect, then the full record.
				won[i] = true
				pause()
				if err := s.CreateIncidentRecord(ctx, effect(i), nil, nil); err != nil {
					return err
				}
				if err := s.PutIdempotencyRecord(ctx, idemRecord(acctA, "StartIncident", token, byte(i), 10)); err != nil {
					return err
				}
			}
			if aborts(i) {
				return errAbort
			}
			return nil
		})
	})
	winner := -1
	for i, err := range errs {
		if aborts(i) {
			wantErr(t, err, errAbort, "%s: transaction %d", token, i)
			continue
		}
		must(t, err, "%s: transaction %d", token, i)
		if won[i] {
			if winner >= 0 {
				t.Fatalf("%s: transactions %d and %d both claimed the token", token, winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no committed transaction claimed the token", token)
	}
	want := idemRecord(acctA, "StartIncident", token, byte(winner), 10)
	for i := range n {
		if !aborts(i) && i != winner {
			if held[i] == nil || !bytes.Equal(held[i].RequestHash, want.RequestHash) {
				t.Fatalf("%s: transaction %d got %s, not the claim of the committed transaction %d", token, i, show(held[i]), winner)
			}
		}
	}
	got, err := s.GetIdempotencyRecord(ctx, acctA, "StartIncident", token)
	must(t, err, "GetIdempotencyRecord")
	check(t, got, want, "%s: the record of the token", token)
	var effects []string
	recs, err := s.ListIncidentRecords(ctx, acctA, nil, nil, 1000)
	must(t, err, "ListIncidentRecords")
	for _, r := range recs {
		if r.DedupeString == "effect-"+token {
			effects = append(effects, r.ARN)
		}
	}
	check(t, effects, []string{effect(winner).ARN}, "%s: the effects run: the winner's only", token)
}

// dedupeCreatesOne races n transactions that each look for an open
// incident of dedupe and create one when they find none.
func dedupeCreatesOne(t *testing.T, s domain.Store, dedupe string) {
	t.Helper()
	ctx := t.Context()
	created := make([]bool, n)
	found := make([]string, n)
	errs := race(n, func(i int) error {
		return s.Tx(ctx, func(ctx context.Context) error {
			created[i], found[i] = false, ""
			open, err := s.FindOpenIncident(ctx, acctA, dedupe)
			if err == nil {
				found[i] = open.ARN
				return nil
			}
			if !errors.Is(err, domain.ErrNotFound) {
				return err
			}
			pause()
			r := newIncident(acctA, fmt.Sprintf("%s-%02d", dedupe, i), at(i))
			r.DedupeString = dedupe
			if err := s.CreateIncidentRecord(ctx, r, nil, nil); err != nil {
				return err
			}
			created[i] = true
			return nil
		})
	})
	creator := -1
	for i, err := range errs {
		must(t, err, "%s: transaction %d", dedupe, i)
		if created[i] {
			if creator >= 0 {
				t.Fatalf("%s: transactions %d and %d both found no open incident and created one", dedupe, creator, i)
			}
			creator = i
		}
	}
	var arns []string
	recs, err := s.ListIncidentRecords(ctx, acctA, nil, nil, 1000)
	must(t, err, "ListIncidentRecords")
	for _, r := range recs {
		if r.DedupeString == dedupe {
			arns = append(arns, r.ARN)
		}
	}
	if len(arns) != 1 || creator < 0 {
		t.Fatalf("%s: %d records of the dedupeString: %v", dedupe, len(arns), arns)
	}
	for i := range n {
		if i != creator && found[i] != arns[0] {
			t.Fatalf("%s: transaction %d found %q, not the one record %s", dedupe, i, found[i], arns[0])
		}
	}
}

// quotaHolds races n transactions that each count the plan's policies and
// add one while the count is below the quota.
func quotaHolds(t *testing.T, s domain.Store, plan string) {
	t.Helper()
	ctx := t.Context()
	const quota = 3
	must(t, s.CreateResponsePlan(ctx, newPlan(acctA, plan), nil), "CreateResponsePlan")
	errs := race(n, func(i int) error {
		return s.Tx(ctx, func(ctx context.Context) error {
			if _, err := s.GetResponsePlan(ctx, acctA, plan); err != nil {
				return err
			}
			c, err := s.CountResourcePolicies(ctx, acctA, plan)
			if err != nil {
				return err
			}
			if c >= quota {
				return errQuota
			}
			pause()
			return s.PutResourcePolicy(ctx, newPolicy(acctA, plan, fmt.Sprintf("id-%02d", i), i))
		})
	})
	put := 0
	for i, err := range errs {
		if err == nil {
			put++
			continue
		}
		wantErr(t, err, errQuota, "%s: transaction %d", plan, i)
	}
	c, err := s.CountResourcePolicies(ctx, acctA, plan)
	must(t, err, "CountResourcePolicies")
	if c > quota || c != put {
		t.Fatalf("%s: %d policies stored, %d puts committed, quota %d", plan, c, put, quota)
	}
	check(t, c, quota, "%s: policies stored by %d transactions racing for a quota of %d", plan, n, quota)
}
