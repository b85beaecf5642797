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

func newCodeDeployFinding(account, id string, start time.Time, end *time.Time) *domain.Finding {
	return &domain.Finding{
		Account: account, ID: id, CreationTime: start, LastModifiedTime: start, StartTime: start, EndTime: end,
		CodeDeployDeployment: &domain.CodeDeployDeployment{
			DeploymentGroupARN: "arn:aws:codedeploy:us-east-1:" + account + ":deploymentgroup:app/group",
			DeploymentID:       "d-" + id[:8],
		},
	}
}

func newStackFinding(account, id string, start time.Time, end *time.Time) *domain.Finding {
	return &domain.Finding{
		Account: account, ID: id, CreationTime: start, LastModifiedTime: start, StartTime: start, EndTime: end,
		CloudFormationStackUpdate: &domain.CloudFormationStackUpdate{StackARN: "arn:aws:cloudformation:us-east-1:" + account + ":stack/s/" + id},
	}
}

func findingID(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n) }

func findingCases() []testCase {
	return []testCase{
		{"PutReplacesWhole", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			id := findingID(1)
			first := newCodeDeployFinding(acctA, id, at(10), ptr(at(20)))
			must(t, s.PutFinding(ctx, first), "PutFinding")
			got, err := s.GetFindings(ctx, acctA, []string{id})
			must(t, err, "GetFindings")
			check(t, got, []*domain.Finding{first}, "GetFindings")
			second := newStackFinding(acctA, id, at(30), nil)
			second.CreationTime = at(10)
			must(t, s.PutFinding(ctx, second), "PutFinding replacing")
			got, err = s.GetFindings(ctx, acctA, []string{id})
			must(t, err, "GetFindings")
			check(t, got, []*domain.Finding{second}, "GetFindings after a replacing put: the second finding, nothing of the first")
			// The listing sees the new times: in progress from 30.
			list, err := s.ListFindings(ctx, acctA, at(10), at(20), at(100), nil, 10)
			must(t, err, "ListFindings of the old range")
			check(t, len(list), 0, "findings listed in the replaced range")
			list, err = s.ListFindings(ctx, acctA, at(90), at(95), at(100), nil, 10)
			must(t, err, "ListFindings of the new range")
			check(t, list, []*domain.Finding{second}, "findings listed in the new range")
		}},
		{"GetSubset", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			var mine []*domain.Finding
			for i := range 4 {
				f := newCodeDeployFinding(acctA, findingID(i), at(i), nil)
				must(t, s.PutFinding(ctx, f), "PutFinding %d", i)
				mine = append(mine, f)
			}
			theirs := newStackFinding(acctB, findingID(9), at(0), nil)
			must(t, s.PutFinding(ctx, theirs), "PutFinding of another account")
			got, err := s.GetFindings(ctx, acctA, []string{findingID(3), findingID(7), findingID(1), findingID(9)})
			must(t, err, "GetFindings")
			check(t, sortFindings(got), []*domain.Finding{mine[1], mine[3]}, "GetFindings: the account's findings among the ids")
			got, err = s.GetFindings(ctx, acctA, nil)
			must(t, err, "GetFindings of no ids")
			check(t, len(got), 0, "GetFindings of no ids")
			got, err = s.GetFindings(ctx, acctA, []string{findingID(7)})
			must(t, err, "GetFindings of a missing id")
			check(t, len(got), 0, "GetFindings of a missing id")
			got, err = s.GetFindings(ctx, acctB, []string{findingID(9), findingID(1)})
			must(t, err, "GetFindings of another account")
			check(t, got, []*domain.Finding{theirs}, "GetFindings of another account")
		}},
		{"ListWindowAndPaging", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			specs := []struct {
				start int
				end   *int // nil: in progress
			}{
				{0, ptr(5)},    // ends before the window
				{0, ptr(10)},   // ends at its start: overlaps
				{5, ptr(15)},   // across the start
				{12, ptr(18)},  // inside
				{12, ptr(40)},  // same start: by id
				{20, ptr(25)},  // starts at its end: overlaps
				{21, ptr(30)},  // starts after the window
				{0, nil},       // in progress since before
				{15, nil},      // in progress since inside
				{25, nil},      // in progress, starts after
				{12, ptr(12)},  // an instant, inside
				{-10, ptr(50)}, // around the window
			}
			var all []*domain.Finding
			// Stored in an order other than their ids.
			for _, i := range []int{7, 3, 11, 0, 5, 9, 1, 4, 8, 2, 10, 6} {
				sp := specs[i]
				var end *time.Time
				if sp.end != nil {
					end = ptr(at(*sp.end))
				}
				f := newCodeDeployFinding(acctA, findingID(100-i), at(sp.start), end)
				if i%2 == 1 {
					f = newStackFinding(acctA, findingID(100-i), at(sp.start), end)
				}
				must(t, s.PutFinding(ctx, f), "PutFinding %d", i)
				all = append(all, f)
			}
			must(t, s.PutFinding(ctx, newCodeDeployFinding(acctB, findingID(500), at(12), nil)), "PutFinding of another account")
			for _, w := range []struct{ from, to, now int }{
				{10, 20, 100}, // in-progress findings go on to now
				{10, 20, 13},  // now inside the window
				{10, 20, 9},   // now before the window: in-progress findings end before it
				{0, 0, 100},
				{41, 49, 100},
				{60, 70, 100},
			} {
				from, to, now := at(w.from), at(w.to), at(w.now)
				var want []*domain.Finding
				for _, f := range all {
					if f.Overlaps(from, to, now) {
						want = append(want, f)
					}
				}
				want = sortFindings(want)
				got, err := s.ListFindings(ctx, acctA, from, to, now, nil, 100)
				must(t, err, "ListFindings %v", w)
				check(t, findingIDs(got), findingIDs(want), "ListFindings %v: overlapping findings by StartTime then ID", w)
				check(t, got, want, "the findings listed")
				for _, limit := range []int{1, 2, 5} {
					var paged []*domain.Finding
					var after *domain.FindingCursor
					for pages := 0; ; pages++ {
						if pages > len(want) {
							t.Fatalf("%v limit %d: paging does not end", w, limit)
						}
						page, err := s.ListFindings(ctx, acctA, from, to, now, after, limit)
						must(t, err, "ListFindings %v limit %d", w, limit)
						if len(page) > limit {
							t.Fatalf("limit %d gave %d findings", limit, len(page))
						}
						if len(page) == 0 {
							break
						}
						paged = append(paged, page...)
						last := page[len(page)-1]
						after = &domain.FindingCursor{StartTime: last.StartTime, ID: last.ID}
					}
					check(t, findingIDs(paged), findingIDs(want), "ListFindings %v paged by %d", w, limit)
				}
			}
		}},
	}
}

func sortFindings(fs []*domain.Finding) []*domain.Finding {
	return slices.SortedFunc(slices.Values(fs), func(a, b *domain.Finding) int {
		return cmp.Or(a.StartTime.Compare(b.StartTime), strings.Compare(a.ID, b.ID))
	})
}

func findingIDs(fs []*domain.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}
