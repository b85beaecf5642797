package sqlite_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/sqlite"
)

// TestDocumentsLeaveOutTheirColumns checks that the documents of a record
// and of a timeline event hold nothing their columns hold, that both read
// back whole, and that documents written whole (as before) read the same.
func TestDocumentsLeaveOutTheirColumns(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	now := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	arn := "arn:aws:ssm-incidents::111122223333:incident-record/plan/01a231c4-88c4-7424-8535-73c833885091"
	r := &domain.IncidentRecord{ARN: arn, Account: "111122223333", PlanName: "plan", Title: "Disk full", Status: domain.IncidentOpen,
		Impact: 2, CreationTime: now, LastModifiedBy: "arn:aws:iam::111122223333:root", LastModifiedTime: now, DedupeString: "dedupe-1",
		Source: domain.IncidentRecordSource{CreatedBy: "arn:aws:iam::111122223333:root", Source: domain.SourceCustom}}
	if err := s.CreateIncidentRecord(ctx, r, nil, nil); err != nil {
		t.Fatal(err)
	}
	e := &domain.TimelineEvent{Account: r.Account, IncidentARN: arn, EventID: "01a231c4-0000-7000-8000-000000000001", EventTime: now.Truncate(time.Millisecond),
		EventUpdatedTime: now.Truncate(time.Millisecond), EventType: "Custom Event", EventData: `"Failover done"`}
	if err := s.AddTimelineEvent(ctx, e); err != nil {
		t.Fatal(err)
	}
	db := openFile(t, dir)
	defer db.Close()
	docs := func() (record, event string) {
		t.Helper()
		if err := db.QueryRow(`SELECT doc FROM incident_records`).Scan(&record); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT doc FROM timeline_events`).Scan(&event); err != nil {
			t.Fatal(err)
		}
		return record, event
	}
	record, event := docs()
	for _, member := range []string{`"arn"`, `"account"`, `"status"`, `"impact"`, `"dedupeString"`} {
		if strings.Contains(record, member) {
			t.Errorf("the record's document holds %s: %s", member, record)
		}
	}
	if strings.Contains(record, `"createdBy"`) {
		t.Errorf("the record's document holds its creator: %s", record)
	}
	for _, member := range []string{`"account"`, `"incidentRecordArn"`, `"eventId"`, `"eventType"`} {
		if strings.Contains(event, member) {
			t.Errorf("the event's document holds %s: %s", member, event)
		}
	}
	check := func(when string) {
		t.Helper()
		got, err := s.GetIncidentRecord(ctx, r.Account, arn)
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("%s: record\n%+v\nwant\n%+v (%v)", when, got, r, err)
		}
		ev, err := s.GetTimelineEvent(ctx, r.Account, arn, e.EventID)
		if err != nil {
			t.Fatal(err)
		}
		ev.Seq = 0
		if !reflect.DeepEqual(ev, e) {
			t.Errorf("%s: event\n%+v\nwant\n%+v", when, ev, e)
		}
		full, err := sqlite.FullRecordDocument(r.Account, arn, r.Status, int64(r.Impact), r.DedupeString, r.Source.CreatedBy, record)
		if want, _ := json.Marshal(r); err != nil || full != string(want) {
			t.Errorf("%s: full record document %s (%v), want %s", when, full, err, want)
		}
	}
	check("slim documents")
	// Documents written whole, as incidentd wrote them before.
	whole, _ := json.Marshal(r)
	wholeEvent, _ := json.Marshal(e)
	if _, err := db.Exec(`UPDATE incident_records SET doc = ?`, string(whole)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE timeline_events SET doc = ?`, string(wholeEvent)); err != nil {
		t.Fatal(err)
	}
	record, _ = docs()
	check("whole documents")
}

// TestAutomaticEventReferences checks that an automatic event that
// references its incident alone is stored without its references, reads
// back with them, and is found by a reference filter on its incident; and
// that other references are kept as they are.
func TestAutomaticEventReferences(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	arn := "arn:aws:ssm-incidents::111122223333:incident-record/plan/01a231c4-88c4-7424-8535-73c833885092"
	r := &domain.IncidentRecord{ARN: arn, Account: "111122223333", PlanName: "plan", Title: "t", Status: domain.IncidentOpen, Impact: 3,
		CreationTime: now, LastModifiedTime: now, DedupeString: "d", Source: domain.IncidentRecordSource{CreatedBy: "c", Source: domain.SourceCustom}}
	if err := s.CreateIncidentRecord(ctx, r, nil, nil); err != nil {
		t.Fatal(err)
	}
	item := "item-1"
	events := []*domain.TimelineEvent{
		{EventID: "a-only-incident", Automatic: true, References: []domain.EventReference{{Resource: &arn}}},
		{EventID: "b-incident-and-item", Automatic: true, References: []domain.EventReference{{Resource: &arn}, {RelatedItemID: &item}}},
		{EventID: "c-automatic-none", Automatic: true},
		{EventID: "d-custom-incident", References: []domain.EventReference{{Resource: &arn}}},
		{EventID: "e-custom-none"},
	}
	for i, e := range events {
		e.Account, e.IncidentARN, e.EventType, e.EventData = r.Account, arn, "Custom Event", `"x"`
		e.EventTime, e.EventUpdatedTime = now.Add(time.Duration(i)*time.Second), now
		if err := s.AddTimelineEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	db := openFile(t, dir)
	defer db.Close()
	var doc string
	if err := db.QueryRow(`SELECT doc FROM timeline_events WHERE event_id = 'a-only-incident'`).Scan(&doc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc, "eventReferences") {
		t.Errorf("an automatic event's references to its incident alone are stored: %s", doc)
	}
	for _, want := range events {
		got, err := s.GetTimelineEvent(ctx, r.Account, arn, want.EventID)
		if err != nil {
			t.Fatal(err)
		}
		got.Seq = 0
		if !reflect.DeepEqual(got.References, want.References) {
			t.Errorf("%s reads back with references %+v, want %+v", want.EventID, got.References, want.References)
		}
	}
	found := func(refs ...string) []string {
		t.Helper()
		list, err := s.ListTimelineEvents(ctx, r.Account, arn, domain.TimelineFilter{References: [][]string{refs}}, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range list {
			ids = append(ids, e.EventID)
		}
		return ids
	}
	if got, want := found(arn), []string{"a-only-incident", "b-incident-and-item", "d-custom-incident"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events referencing the incident: %v, want %v", got, want)
	}
	if got, want := found(item), []string{"b-incident-and-item"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events referencing the item: %v, want %v", got, want)
	}
}
