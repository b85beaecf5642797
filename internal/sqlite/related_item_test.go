package sqlite_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// A listing resumed after the last items were removed still finds an item
// added since: positions are never reused.
func TestRelatedItemPositionsAreNotReused(t *testing.T) {
	s := open(t, t.TempDir())
	const account, arn = "111122223333", "arn:aws:ssm-incidents::111122223333:incident-record/p/1"
	r := &domain.IncidentRecord{ARN: arn, Account: account, Title: "t", Status: domain.IncidentOpen, Impact: 3, CreationTime: time.Now(), DedupeString: "d"}
	item := func(id string) domain.RelatedItem {
		u := "https://example.com/" + id
		return domain.RelatedItem{GeneratedID: "related-item/OTHER/" + id, Type: "OTHER", Value: domain.ItemValue{URL: &u}}
	}
	if err := s.CreateIncidentRecord(ctx, r, nil, []domain.RelatedItem{item("A")}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"M", "Z"} {
		if err := s.AddRelatedItem(ctx, account, arn, item(id)); err != nil {
			t.Fatal(err)
		}
	}
	first, err := s.ListRelatedItems(ctx, account, arn, nil, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("first page %+v %v", first, err)
	}
	after := &domain.RelatedItemCursor{Seq: first[1].Seq, GeneratedID: first[1].GeneratedID}
	for _, id := range []string{"M", "Z"} {
		if err := s.RemoveRelatedItem(ctx, account, arn, "related-item/OTHER/"+id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddRelatedItem(ctx, account, arn, item("D")); err != nil {
		t.Fatal(err)
	}
	rest, err := s.ListRelatedItems(ctx, account, arn, after, 2)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range rest {
		ids = append(ids, it.GeneratedID)
	}
	if !reflect.DeepEqual(ids, []string{"related-item/OTHER/D"}) {
		t.Fatalf("the page after the cursor holds %v, want the item added since", ids)
	}
	if err := s.AddRelatedItem(ctx, account, "arn:aws:ssm-incidents::111122223333:incident-record/p/missing", item("X")); err != domain.ErrNotFound {
		t.Fatalf("adding to a missing incident: %v", err)
	}
}

// Migration 0005 starts each incident's positions after its items.
func TestRelatedItemPositionsMigration(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	const account, arn = "111122223333", "arn:aws:ssm-incidents::111122223333:incident-record/p/1"
	r := &domain.IncidentRecord{ARN: arn, Account: account, Title: "t", Status: domain.IncidentOpen, Impact: 3, CreationTime: time.Now(), DedupeString: "d"}
	var items []domain.RelatedItem
	for _, id := range []string{"A", "B", "C"} {
		u := "https://example.com/" + id
		items = append(items, domain.RelatedItem{GeneratedID: "related-item/OTHER/" + id, Type: "OTHER", Value: domain.ItemValue{URL: &u}})
	}
	if err := s.CreateIncidentRecord(ctx, r, nil, items); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := openFile(t, dir)
	defer db.Close()
	// The database as it was before migration 0005.
	if _, err := db.Exec(`ALTER TABLE incident_records DROP COLUMN next_item_seq; DELETE FROM schema_migrations WHERE version = 5`); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	u := "https://example.com/D"
	if err := s.AddRelatedItem(ctx, account, arn, domain.RelatedItem{GeneratedID: "related-item/OTHER/D", Type: "OTHER", Value: domain.ItemValue{URL: &u}}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListRelatedItems(ctx, account, arn, nil, 0)
	if err != nil || len(all) != 4 || all[3].GeneratedID != "related-item/OTHER/D" || all[3].Seq != 3 {
		t.Fatalf("items after the migration: %+v %v", all, err)
	}
}
