package storetest

import (
	"fmt"
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

func responsePlanCases() []testCase {
	return []testCase{
		{"CreateAndGet", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			p := newPlan(acctA, "plan-a")
			must(t, s.CreateResponsePlan(ctx, p, map[string]string{"k": "v"}), "CreateResponsePlan")
			got, err := s.GetResponsePlan(ctx, acctA, "plan-a")
			must(t, err, "GetResponsePlan")
			check(t, got, p, "GetResponsePlan")
			tags, err := s.Tags(ctx, planRef(p))
			must(t, err, "Tags")
			check(t, tags, map[string]string{"k": "v"}, "tags of the new plan")
			// A plan with only the required members round-trips too.
			bare := &domain.ResponsePlan{ARN: arn(acctA, "response-plan", "bare"), Account: acctA, Name: "bare",
				Template: domain.IncidentTemplate{Title: "t", Impact: 1}, CreatedTime: at(1), LastModifiedTime: at(1)}
			must(t, s.CreateResponsePlan(ctx, bare, nil), "CreateResponsePlan bare")
			got, err = s.GetResponsePlan(ctx, acctA, "bare")
			must(t, err, "GetResponsePlan bare")
			check(t, got, bare, "GetResponsePlan bare")
			tags, err = s.Tags(ctx, planRef(bare))
			must(t, err, "Tags of a plan created without tags")
			check(t, tags, map[string]string{}, "tags of a plan created without tags")
			_, err = s.GetResponsePlan(ctx, acctA, "missing")
			wantErr(t, err, domain.ErrNotFound, "GetResponsePlan of a missing plan")
			_, err = s.GetResponsePlan(ctx, acctB, "plan-a")
			wantErr(t, err, domain.ErrNotFound, "GetResponsePlan of another account's plan")
		}},
		{"NameConflict", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			p := newPlan(acctA, "plan-a")
			must(t, s.CreateResponsePlan(ctx, p, map[string]string{"k": "first"}), "CreateResponsePlan")
			again := newPlan(acctA, "plan-a")
			again.DisplayName = ptr("another")
			wantErr(t, s.CreateResponsePlan(ctx, again, map[string]string{"k": "second", "x": "y"}), domain.ErrConflict, "CreateResponsePlan of a taken name")
			got, err := s.GetResponsePlan(ctx, acctA, "plan-a")
			must(t, err, "GetResponsePlan")
			check(t, got, p, "the plan after a refused create")
			tags, err := s.Tags(ctx, planRef(p))
			must(t, err, "Tags")
			check(t, tags, map[string]string{"k": "first"}, "tags after a refused create")
			// The same name in another account is another plan.
			must(t, s.CreateResponsePlan(ctx, newPlan(acctB, "plan-a"), nil), "CreateResponsePlan of the name in another account")
		}},
		{"ListOrderAndPaging", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			names := []string{"m", "b", "z", "a", "c-2", "c-10", "y", "d"}
			for _, n := range names {
				must(t, s.CreateResponsePlan(ctx, newPlan(acctA, n), nil), "CreateResponsePlan %s", n)
			}
			must(t, s.CreateResponsePlan(ctx, newPlan(acctB, "bb"), nil), "CreateResponsePlan of another account")
			want := []string{"a", "b", "c-10", "c-2", "d", "m", "y", "z"} // byte order
			all, err := s.ListResponsePlans(ctx, acctA, "", 100)
			must(t, err, "ListResponsePlans")
			check(t, planNames(all), want, "ListResponsePlans of everything")
			check(t, all[0], newPlan(acctA, "a"), "a listed plan")
			for _, limit := range []int{1, 3, 8} {
				var got []string
				after := ""
				for pages := 0; ; pages++ {
					if pages > len(want) {
						t.Fatalf("limit %d: paging does not end", limit)
					}
					page, err := s.ListResponsePlans(ctx, acctA, after, limit)
					must(t, err, "ListResponsePlans after %q limit %d", after, limit)
					if len(page) > limit {
						t.Fatalf("ListResponsePlans limit %d returned %d plans", limit, len(page))
					}
					if len(page) == 0 {
						break
					}
					got = append(got, planNames(page)...)
					after = page[len(page)-1].Name
				}
				check(t, got, want, "ListResponsePlans paged by %d", limit)
			}
			// after need not be a stored name.
			page, err := s.ListResponsePlans(ctx, acctA, "c", 2)
			must(t, err, "ListResponsePlans after c")
			check(t, planNames(page), []string{"c-10", "c-2"}, "ListResponsePlans after a name not stored")
			page, err = s.ListResponsePlans(ctx, acctA, "z", 10)
			must(t, err, "ListResponsePlans after the last")
			check(t, planNames(page), []string(nil), "ListResponsePlans after the last")
		}},
		{"Update", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			p := newPlan(acctA, "plan-a")
			must(t, s.CreateResponsePlan(ctx, p, nil), "CreateResponsePlan")
			var g given
			must(t, s.UpdateResponsePlan(ctx, acctA, "plan-a", func(got *domain.ResponsePlan) error {
				g.see(got, p)
				got.DisplayName = nil
				got.Template.Title = "changed"
				got.Template.IncidentTags = nil
				got.Engagements = append(got.Engagements, "arn:aws:ssm-contacts:us-east-1:"+acctA+":contact/second")
				got.LastModifiedTime = at(9)
				return nil
			}), "UpdateResponsePlan")
			g.check(t, p, "the plan fn is given")
			p.DisplayName = nil
			p.Template.Title = "changed"
			p.Template.IncidentTags = nil
			p.Engagements = append(p.Engagements, "arn:aws:ssm-contacts:us-east-1:"+acctA+":contact/second")
			p.LastModifiedTime = at(9)
			got, err := s.GetResponsePlan(ctx, acctA, "plan-a")
			must(t, err, "GetResponsePlan")
			check(t, got, p, "the plan after UpdateResponsePlan")
		}},
		{"UpdateFnErrorWritesNothing", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			p := newPlan(acctA, "plan-a")
			must(t, s.CreateResponsePlan(ctx, p, nil), "CreateResponsePlan")
			err := s.UpdateResponsePlan(ctx, acctA, "plan-a", func(got *domain.ResponsePlan) error {
				got.Template.Title = "changed"
				return fmt.Errorf("wrapped: %w", errBoom)
			})
			wantErr(t, err, errBoom, "UpdateResponsePlan whose fn fails")
			got, err := s.GetResponsePlan(ctx, acctA, "plan-a")
			must(t, err, "GetResponsePlan")
			check(t, got, p, "the plan after a failed update")
		}},
		{"UpdateMissing", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			must(t, s.CreateResponsePlan(ctx, newPlan(acctB, "plan-a"), nil), "CreateResponsePlan in another account")
			called := false
			err := s.UpdateResponsePlan(ctx, acctA, "plan-a", func(*domain.ResponsePlan) error { called = true; return nil })
			wantErr(t, err, domain.ErrNotFound, "UpdateResponsePlan of a missing plan")
			if called {
				t.Fatal("UpdateResponsePlan called fn without a plan")
			}
		}},
		{"DeleteRemovesTagsAndPolicies", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			p := newPlan(acctA, "plan-a")
			keep := newPlan(acctA, "plan-b")
			must(t, s.CreateResponsePlan(ctx, p, map[string]string{"k": "v"}), "CreateResponsePlan")
			must(t, s.CreateResponsePlan(ctx, keep, map[string]string{"keep": "me"}), "CreateResponsePlan b")
			must(t, s.CreateResponsePlan(ctx, newPlan(acctB, "plan-a"), map[string]string{"other": "account"}), "CreateResponsePlan in another account")
			for i, id := range []string{"aa", "bb"} {
				must(t, s.PutResourcePolicy(ctx, newPolicy(acctA, "plan-a", id, i)), "PutResourcePolicy %s", id)
			}
			kept := newPolicy(acctA, "plan-b", "aa", 5)
			must(t, s.PutResourcePolicy(ctx, kept), "PutResourcePolicy of plan b")
			otherPolicy := newPolicy(acctB, "plan-a", "aa", 6)
			must(t, s.PutResourcePolicy(ctx, otherPolicy), "PutResourcePolicy in another account")

			must(t, s.DeleteResponsePlan(ctx, acctA, "plan-a"), "DeleteResponsePlan")
			_, err := s.GetResponsePlan(ctx, acctA, "plan-a")
			wantErr(t, err, domain.ErrNotFound, "GetResponsePlan after delete")
			_, err = s.Tags(ctx, planRef(p))
			wantErr(t, err, domain.ErrNotFound, "Tags of a deleted plan")
			n, err := s.CountResourcePolicies(ctx, acctA, "plan-a")
			must(t, err, "CountResourcePolicies")
			check(t, n, 0, "policies of a deleted plan")
			ps, err := s.ListResourcePolicies(ctx, acctA, "plan-a", 0, 10)
			must(t, err, "ListResourcePolicies")
			check(t, len(ps), 0, "listed policies of a deleted plan")
			// The other plans keep theirs.
			ps, err = s.ListResourcePolicies(ctx, acctA, "plan-b", 0, 10)
			must(t, err, "ListResourcePolicies b")
			check(t, ps, []*domain.ResourcePolicy{kept}, "policies of another plan")
			ps, err = s.ListResourcePolicies(ctx, acctB, "plan-a", 0, 10)
			must(t, err, "ListResourcePolicies of another account")
			check(t, ps, []*domain.ResourcePolicy{otherPolicy}, "policies of another account's plan of that name")
			tags, err := s.Tags(ctx, planRef(keep))
			must(t, err, "Tags b")
			check(t, tags, map[string]string{"keep": "me"}, "tags of another plan")
			tags, err = s.Tags(ctx, planRef(newPlan(acctB, "plan-a")))
			must(t, err, "Tags of another account's plan")
			check(t, tags, map[string]string{"other": "account"}, "tags of another account's plan of that name")

			// Deleting it again, or a plan that never was, is no error.
			must(t, s.DeleteResponsePlan(ctx, acctA, "plan-a"), "second DeleteResponsePlan")
			must(t, s.DeleteResponsePlan(ctx, acctA, "never"), "DeleteResponsePlan of a missing plan")

			// A plan created again under the name starts bare.
			must(t, s.CreateResponsePlan(ctx, newPlan(acctA, "plan-a"), nil), "CreateResponsePlan again")
			tags, err = s.Tags(ctx, planRef(p))
			must(t, err, "Tags of the new plan")
			check(t, tags, map[string]string{}, "tags of a plan created again")
			n, err = s.CountResourcePolicies(ctx, acctA, "plan-a")
			must(t, err, "CountResourcePolicies of the new plan")
			check(t, n, 0, "policies of a plan created again")
		}},
	}
}

func planNames(ps []*domain.ResponsePlan) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}
