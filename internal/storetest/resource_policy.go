package storetest

import (
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

func resourcePolicyCases() []testCase {
	return []testCase{
		{"OrderAndPaging", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			must(t, s.CreateResponsePlan(ctx, newPlan(acctA, "p"), nil), "CreateResponsePlan")
			// Ids not in the order they are added: the listing is in the
			// order of adding.
			ids := []string{"ffff", "0000", "8888", "4444", "cccc"}
			var want []*domain.ResourcePolicy
			for i, id := range ids {
				rp := newPolicy(acctA, "p", id, i)
				must(t, s.PutResourcePolicy(ctx, rp), "PutResourcePolicy %s", id)
				want = append(want, rp)
				// Another plan's and another account's policies interleave.
				must(t, s.PutResourcePolicy(ctx, newPolicy(acctA, "q", id, i)), "PutResourcePolicy q %s", id)
				must(t, s.PutResourcePolicy(ctx, newPolicy(acctB, "p", id, i)), "PutResourcePolicy of another account %s", id)
			}
			all, err := s.ListResourcePolicies(ctx, acctA, "p", 0, 100)
			must(t, err, "ListResourcePolicies")
			check(t, all, want, "ListResourcePolicies")
			for i := 1; i < len(all); i++ {
				if all[i].Seq <= all[i-1].Seq {
					t.Fatalf("Seq does not increase: %d then %d", all[i-1].Seq, all[i].Seq)
				}
			}
			if all[0].Seq <= 0 {
				t.Fatalf("the first policy has Seq %d; after 0 lists from the first, so Seq must be above 0", all[0].Seq)
			}
			for _, limit := range []int{1, 2, 5} {
				var got []*domain.ResourcePolicy
				var after int64
				for pages := 0; ; pages++ {
					if pages > len(want) {
						t.Fatalf("limit %d: paging does not end", limit)
					}
					page, err := s.ListResourcePolicies(ctx, acctA, "p", after, limit)
					must(t, err, "ListResourcePolicies after %d", after)
					if len(page) > limit {
						t.Fatalf("limit %d gave %d policies", limit, len(page))
					}
					if len(page) == 0 {
						break
					}
					got = append(got, page...)
					after = page[len(page)-1].Seq
				}
				check(t, got, want, "ListResourcePolicies paged by %d", limit)
			}
			// A listing resumed after a policy was deleted goes on.
			must(t, s.DeleteResourcePolicy(ctx, acctA, "p", "8888"), "DeleteResourcePolicy")
			page, err := s.ListResourcePolicies(ctx, acctA, "p", all[1].Seq, 100)
			must(t, err, "ListResourcePolicies after a deletion")
			check(t, page, []*domain.ResourcePolicy{want[3], want[4]}, "ListResourcePolicies after a deletion")
			// A policy added later is listed last.
			late := newPolicy(acctA, "p", "8888", 9)
			must(t, s.PutResourcePolicy(ctx, late), "PutResourcePolicy again")
			page, err = s.ListResourcePolicies(ctx, acctA, "p", all[4].Seq, 100)
			must(t, err, "ListResourcePolicies after the last")
			check(t, page, []*domain.ResourcePolicy{late}, "a policy added after the others")
		}},
		{"Count", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			n, err := s.CountResourcePolicies(ctx, acctA, "p")
			must(t, err, "CountResourcePolicies of a missing plan")
			check(t, n, 0, "policies of a missing plan")
			ps, err := s.ListResourcePolicies(ctx, acctA, "p", 0, 10)
			must(t, err, "ListResourcePolicies of a missing plan")
			check(t, len(ps), 0, "listed policies of a missing plan")
			for i, id := range []string{"a1", "a2", "a3"} {
				must(t, s.PutResourcePolicy(ctx, newPolicy(acctA, "p", id, i)), "PutResourcePolicy %s", id)
			}
			must(t, s.PutResourcePolicy(ctx, newPolicy(acctA, "q", "a1", 0)), "PutResourcePolicy q")
			must(t, s.PutResourcePolicy(ctx, newPolicy(acctB, "p", "a1", 0)), "PutResourcePolicy of another account")
			n, err = s.CountResourcePolicies(ctx, acctA, "p")
			must(t, err, "CountResourcePolicies")
			check(t, n, 3, "CountResourcePolicies")
			must(t, s.DeleteResourcePolicy(ctx, acctA, "p", "a2"), "DeleteResourcePolicy")
			n, err = s.CountResourcePolicies(ctx, acctA, "p")
			must(t, err, "CountResourcePolicies")
			check(t, n, 2, "CountResourcePolicies after a delete")
		}},
		{"DuplicateIDConflicts", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			first := newPolicy(acctA, "p", "abcd", 1)
			must(t, s.PutResourcePolicy(ctx, first), "PutResourcePolicy")
			again := newPolicy(acctA, "p", "abcd", 2)
			again.Document = `{}`
			wantErr(t, s.PutResourcePolicy(ctx, again), domain.ErrConflict, "PutResourcePolicy of a taken id")
			ps, err := s.ListResourcePolicies(ctx, acctA, "p", 0, 10)
			must(t, err, "ListResourcePolicies")
			check(t, ps, []*domain.ResourcePolicy{first}, "policies after a refused put")
			// The id is the plan's own: another plan may use it.
			must(t, s.PutResourcePolicy(ctx, newPolicy(acctA, "q", "abcd", 3)), "PutResourcePolicy of the id on another plan")
		}},
		{"DeleteNotFound", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			must(t, s.PutResourcePolicy(ctx, newPolicy(acctA, "p", "abcd", 1)), "PutResourcePolicy")
			wantErr(t, s.DeleteResourcePolicy(ctx, acctA, "p", "other"), domain.ErrNotFound, "DeleteResourcePolicy of a missing id")
			wantErr(t, s.DeleteResourcePolicy(ctx, acctA, "q", "abcd"), domain.ErrNotFound, "DeleteResourcePolicy on another plan")
			wantErr(t, s.DeleteResourcePolicy(ctx, acctB, "p", "abcd"), domain.ErrNotFound, "DeleteResourcePolicy in another account")
			must(t, s.DeleteResourcePolicy(ctx, acctA, "p", "abcd"), "DeleteResourcePolicy")
			wantErr(t, s.DeleteResourcePolicy(ctx, acctA, "p", "abcd"), domain.ErrNotFound, "second DeleteResourcePolicy")
		}},
	}
}
