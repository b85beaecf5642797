package storetest

import (
	"fmt"
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

func relatedItemCases() []testCase {
	return []testCase{
		{"OrderAndPaging", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := newIncident(acctA, "one", at(0))
			other := newIncident(acctA, "two", at(0))
			// Ids not in the order they are added.
			want := []domain.RelatedItem{urlItem("z", "https://example.com/z"), urlItem("m", "https://example.com/m")}
			must(t, s.CreateIncidentRecord(ctx, r, nil, want), "CreateIncidentRecord")
			must(t, s.CreateIncidentRecord(ctx, other, nil, []domain.RelatedItem{urlItem("a", "https://example.com/a")}), "CreateIncidentRecord other")
			for _, id := range []string{"b", "y", "a", "n"} {
				it := urlItem(id, "https://example.com/"+id)
				must(t, s.AddRelatedItem(ctx, acctA, r.ARN, it), "AddRelatedItem %s", id)
				want = append(want, it)
				// The same id on another incident is another item.
				if id != "a" {
					must(t, s.AddRelatedItem(ctx, acctA, other.ARN, it), "AddRelatedItem %s to another incident", id)
				}
			}
			all, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
			must(t, err, "ListRelatedItems")
			check(t, all, want, "ListRelatedItems: in the order added")
			for _, limit := range []int{1, 2, 4} {
				got := pageItems(t, s, r, nil, limit, len(want))
				check(t, got, want, "ListRelatedItems paged by %d", limit)
			}
			page, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 100)
			must(t, err, "ListRelatedItems limit 100")
			check(t, page, want, "ListRelatedItems with a limit above the count")
			page, err = s.ListRelatedItems(ctx, acctB, r.ARN, nil, 0)
			must(t, err, "ListRelatedItems in another account")
			check(t, len(page), 0, "related items listed in another account")
		}},
		{"AddConflict", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := newIncident(acctA, "one", at(0))
			items := []domain.RelatedItem{urlItem("x", "https://example.com/x")}
			must(t, s.CreateIncidentRecord(ctx, r, nil, items), "CreateIncidentRecord")
			added := urlItem("y", "https://example.com/y")
			must(t, s.AddRelatedItem(ctx, acctA, r.ARN, added), "AddRelatedItem")
			items = append(items, added)
			wantErr(t, s.AddRelatedItem(ctx, acctA, r.ARN, urlItem("x", "https://example.com/other")), domain.ErrConflict, "AddRelatedItem of an id from the create")
			wantErr(t, s.AddRelatedItem(ctx, acctA, r.ARN, urlItem("y", "https://example.com/other")), domain.ErrConflict, "AddRelatedItem of an added id")
			got, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
			must(t, err, "ListRelatedItems")
			check(t, got, items, "related items after refused adds")
			// An item added after the refused ones still comes last.
			last := urlItem("a", "https://example.com/a")
			must(t, s.AddRelatedItem(ctx, acctA, r.ARN, last), "AddRelatedItem after refused adds")
			got, err = s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
			must(t, err, "ListRelatedItems")
			check(t, got, append(items, last), "related items after an add that followed refused ones")
		}},
		{"Remove", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := newIncident(acctA, "one", at(0))
			other := newIncident(acctA, "two", at(0))
			var items []domain.RelatedItem
			for i := range 5 {
				items = append(items, urlItem(fmt.Sprintf("i%d", i), fmt.Sprintf("https://example.com/%d", i)))
			}
			must(t, s.CreateIncidentRecord(ctx, r, nil, items[:2]), "CreateIncidentRecord")
			must(t, s.CreateIncidentRecord(ctx, other, nil, items[2:3]), "CreateIncidentRecord other")
			for _, it := range items[2:] {
				must(t, s.AddRelatedItem(ctx, acctA, r.ARN, it), "AddRelatedItem %s", it.GeneratedID)
			}
			first, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 2)
			must(t, err, "ListRelatedItems, first page")
			cursor := &domain.RelatedItemCursor{Seq: first[1].Seq, GeneratedID: first[1].GeneratedID}

			wantErr(t, s.RemoveRelatedItem(ctx, acctA, r.ARN, "missing"), domain.ErrNotFound, "RemoveRelatedItem of a missing id")
			wantErr(t, s.RemoveRelatedItem(ctx, acctB, r.ARN, "i1"), domain.ErrNotFound, "RemoveRelatedItem in another account")
			must(t, s.RemoveRelatedItem(ctx, acctA, r.ARN, "i1"), "RemoveRelatedItem i1")
			must(t, s.RemoveRelatedItem(ctx, acctA, r.ARN, "i3"), "RemoveRelatedItem i3")
			wantErr(t, s.RemoveRelatedItem(ctx, acctA, r.ARN, "i1"), domain.ErrNotFound, "second RemoveRelatedItem")
			got, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
			must(t, err, "ListRelatedItems")
			check(t, got, []domain.RelatedItem{items[0], items[2], items[4]}, "related items after removals")
			// The other incident's item of the same id stays.
			got, err = s.ListRelatedItems(ctx, acctA, other.ARN, nil, 0)
			must(t, err, "ListRelatedItems other")
			check(t, got, items[2:3], "another incident's items")

			// An item added after removals, also under a removed id, comes
			// last, and a listing resumed from before the removals sees it.
			again := urlItem("i1", "https://example.com/again")
			must(t, s.AddRelatedItem(ctx, acctA, r.ARN, again), "AddRelatedItem of a removed id")
			got = pageItems(t, s, r, cursor, 1, 10)
			check(t, got, []domain.RelatedItem{items[2], items[4], again}, "a listing resumed after removals and an add")
			got, err = s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
			must(t, err, "ListRelatedItems")
			check(t, got, []domain.RelatedItem{items[0], items[2], items[4], again}, "related items at last")
		}},
	}
}

// pageItems lists the items of r after after, limit at a time.
func pageItems(t *testing.T, s domain.Store, r *domain.IncidentRecord, after *domain.RelatedItemCursor, limit, want int) []domain.RelatedItem {
	t.Helper()
	var got []domain.RelatedItem
	for pages := 0; ; pages++ {
		if pages > want {
			t.Fatalf("limit %d: paging does not end", limit)
		}
		page, err := s.ListRelatedItems(t.Context(), r.Account, r.ARN, after, limit)
		must(t, err, "ListRelatedItems limit %d", limit)
		if len(page) > limit {
			t.Fatalf("limit %d gave %d items", limit, len(page))
		}
		if len(page) == 0 {
			return got
		}
		got = append(got, page...)
		last := page[len(page)-1]
		after = &domain.RelatedItemCursor{Seq: last.Seq, GeneratedID: last.GeneratedID}
	}
}
