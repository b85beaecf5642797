package sqlite_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/sqlite"
)

// TestMigrationGivesRecordsIDs opens a database as incidentd wrote it before
// records had integer ids (records keyed by account and ARN, events naming
// theirs by both, whole documents) and checks that the migration keeps
// every record and event, their order and sequence numbers, and the
// sequence's high-water mark.
func TestMigrationGivesRecordsIDs(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := openFile(t, dir)
	const account = "111122223333"
	old := []string{
		`DROP TABLE incident_records`, `DROP TABLE timeline_events`,
		`CREATE TABLE incident_records (account TEXT NOT NULL, arn TEXT NOT NULL, status TEXT NOT NULL, impact INTEGER NOT NULL,
			created_by TEXT NOT NULL, creation_time INTEGER NOT NULL, dedupe_string TEXT NOT NULL, doc TEXT NOT NULL,
			next_item_seq INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (account, arn)) WITHOUT ROWID`,
		`CREATE TABLE timeline_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, incident_arn TEXT NOT NULL,
			event_id TEXT NOT NULL, event_time INTEGER NOT NULL, event_type TEXT NOT NULL, doc TEXT NOT NULL)`,
		`DELETE FROM schema_migrations WHERE version = 9`,
	}
	for _, q := range old {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	start := time.UnixMilli(1700000000000).UTC()
	var records []*domain.IncidentRecord
	for i := range 3 {
		r := &domain.IncidentRecord{ARN: fmt.Sprintf("arn:aws:ssm-incidents::%s:incident-record/plan/%d", account, i), Account: account,
			PlanName: "plan", Title: fmt.Sprintf("incident %d", i), Status: domain.IncidentOpen, Impact: 3, CreationTime: start.Add(time.Duration(i) * time.Minute),
			LastModifiedBy: "arn:aws:iam::" + account + ":root", LastModifiedTime: start, DedupeString: fmt.Sprintf("d-%d", i),
			Source: domain.IncidentRecordSource{CreatedBy: "arn:aws:iam::" + account + ":root", Source: domain.SourceCustom}}
		records = append(records, r)
		doc, _ := json.Marshal(r)
		if _, err := db.Exec(`INSERT INTO incident_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`, r.Account, r.ARN, r.Status, r.Impact,
			r.Source.CreatedBy, r.CreationTime.UnixMilli(), r.DedupeString, string(doc)); err != nil {
			t.Fatal(err)
		}
		// Two events each, written in turns: seq 1, 2, 3 for the first
		// round and 4, 5, 6 for the second.
	}
	for round := range 2 {
		for i, r := range records {
			e := &domain.TimelineEvent{Account: account, IncidentARN: r.ARN, EventID: fmt.Sprintf("e-%d-%d", i, round),
				EventTime: start, EventUpdatedTime: start, EventType: "Custom Event", EventData: `"x"`}
			doc, _ := json.Marshal(e)
			if _, err := db.Exec(`INSERT INTO timeline_events (account, incident_arn, event_id, event_time, event_type, doc) VALUES (?, ?, ?, ?, ?, ?)`,
				account, r.ARN, e.EventID, start.UnixMilli(), e.EventType, string(doc)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Events 7 to 500 were written and deleted since: their numbers stay used.
	if _, err := db.Exec(`UPDATE sqlite_sequence SET seq = 500 WHERE name = 'timeline_events'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	for i, r := range records {
		got, err := s.GetIncidentRecord(ctx, account, r.ARN)
		if err != nil || got.Title != r.Title || got.DedupeString != r.DedupeString {
			t.Fatalf("record %d after the migration: %+v %v", i, got, err)
		}
		events, err := s.ListTimelineEvents(ctx, account, r.ARN, domain.TimelineFilter{}, nil, 10)
		if err != nil || len(events) != 2 || events[0].Seq != int64(i+1) || events[1].Seq != int64(i+4) || events[1].EventID != fmt.Sprintf("e-%d-1", i) {
			t.Fatalf("events of record %d after the migration: %+v %v", i, events, err)
		}
		if _, err := s.GetTimelineEvent(ctx, account, r.ARN, fmt.Sprintf("e-%d-0", i)); err != nil {
			t.Fatalf("event e-%d-0: %v", i, err)
		}
	}
	// The next event takes a number never handed out.
	e := &domain.TimelineEvent{Account: account, IncidentARN: records[0].ARN, EventID: "e-new", EventTime: start.Add(time.Hour),
		EventUpdatedTime: start, EventType: "Custom Event", EventData: `"y"`}
	if err := s.AddTimelineEvent(ctx, e); err != nil {
		t.Fatal(err)
	}
	events, err := s.ListTimelineEvents(ctx, account, records[0].ARN, domain.TimelineFilter{Descending: true}, nil, 1)
	if err != nil || len(events) != 1 || events[0].EventID != "e-new" || events[0].Seq <= 500 {
		t.Fatalf("the new event: %+v %v", events, err)
	}
	// An event for a record that is not there is refused, not orphaned.
	if err := s.AddTimelineEvent(ctx, &domain.TimelineEvent{Account: account, IncidentARN: records[0].ARN + "-gone", EventID: "e-orphan",
		EventTime: start, EventUpdatedTime: start, EventType: "Custom Event", EventData: `"z"`}); err != domain.ErrNotFound {
		t.Fatalf("an event of a missing record: %v", err)
	}
	// Deleting a record deletes its events, and no other's.
	if err := s.DeleteIncidentRecord(ctx, account, records[1].ARN); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTimelineEvent(ctx, account, records[1].ARN, "e-1-0"); err != domain.ErrNotFound {
		t.Fatalf("an event of the deleted record: %v", err)
	}
	if events, err := s.ListTimelineEvents(ctx, account, records[2].ARN, domain.TimelineFilter{}, nil, 10); err != nil || len(events) != 2 {
		t.Fatalf("events of another record after a delete: %d %v", len(events), err)
	}
}
