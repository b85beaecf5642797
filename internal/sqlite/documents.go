package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/incidentd/incidentd/internal/domain"
)

// The documents of incident records and timeline events leave out what
// their row's columns already hold: a reader takes those members from the
// columns. (Documents written before kept them too; the columns hold the
// same values.)

// storedRecord is the document of an incident record: the record without
// its account, ARN, status, impact, dedupeString and creator. The members
// of the outer struct hide those of the embedded record, and being empty
// they are left out.
type storedRecord struct {
	*domain.IncidentRecord
	ARN          string       `json:"arn,omitempty"`
	Account      string       `json:"account,omitempty"`
	Status       string       `json:"status,omitempty"`
	Impact       int32        `json:"impact,omitempty"`
	DedupeString string       `json:"dedupeString,omitempty"`
	Source       storedSource `json:"incidentRecordSource"`
}

// storedSource is a record's source without its creator.
type storedSource struct {
	*domain.IncidentRecordSource
	CreatedBy string `json:"createdBy,omitempty"`
}

// recordDoc is the document stored for r.
func recordDoc(r *domain.IncidentRecord) ([]byte, error) {
	return json.Marshal(storedRecord{IncidentRecord: r, Source: storedSource{IncidentRecordSource: &r.Source}})
}

// recordColumns are the columns a record is read from, in scanRecord's order.
const recordColumns = "account, arn, status, impact, dedupe_string, created_by, doc"

// scanRecord reads a record from a row of recordColumns.
func scanRecord(scan func(dest ...any) error) (*domain.IncidentRecord, error) {
	var (
		r   domain.IncidentRecord
		doc []byte
	)
	if err := scan(&r.Account, &r.ARN, &r.Status, &r.Impact, &r.DedupeString, &r.Source.CreatedBy, &doc); err != nil {
		return nil, err
	}
	return &r, decodeRecord(&r, doc)
}

// decodeRecord reads the document doc into r, whose members held by
// columns are set already and keep their values.
func decodeRecord(r *domain.IncidentRecord, doc []byte) error {
	account, arn, status, impact, dedupe, createdBy := r.Account, r.ARN, r.Status, r.Impact, r.DedupeString, r.Source.CreatedBy
	if err := json.Unmarshal(doc, r); err != nil {
		return fmt.Errorf("decode stored document: %w", err)
	}
	r.Account, r.ARN, r.Status, r.Impact, r.DedupeString, r.Source.CreatedBy = account, arn, status, impact, dedupe, createdBy
	return nil
}

// storedEvent is the document of a timeline event: the event without its
// account, incident ARN, id and type, and an automatic event without the
// references every automatic event has (its incident, and nothing else).
type storedEvent struct {
	*domain.TimelineEvent
	Account     string          `json:"account,omitempty"`
	IncidentARN string          `json:"incidentRecordArn,omitempty"`
	EventID     string          `json:"eventId,omitempty"`
	EventType   string          `json:"eventType,omitempty"`
	References  json.RawMessage `json:"eventReferences,omitempty"`
}

// eventDoc is the document stored for e.
func eventDoc(e *domain.TimelineEvent) ([]byte, error) {
	d := storedEvent{TimelineEvent: e}
	switch {
	case e.Automatic && onlyIncident(e):
		// Left out: the reader knows them.
	case len(e.References) == 0 && e.Automatic:
		d.References = json.RawMessage("[]") // none, which is not the usual
	case len(e.References) > 0:
		b, err := json.Marshal(e.References)
		if err != nil {
			return nil, err
		}
		d.References = b
	}
	return json.Marshal(d)
}

// onlyIncident reports whether e references its incident and nothing else.
func onlyIncident(e *domain.TimelineEvent) bool {
	return len(e.References) == 1 && e.References[0].RelatedItemID == nil &&
		e.References[0].Resource != nil && *e.References[0].Resource == e.IncidentARN
}

// eventDefaultReferences is the condition on a row of timeline_events that
// holds when its document leaves out the references of an automatic event.
const eventDefaultReferences = `(json_type(timeline_events.doc, '$.eventReferences') IS NULL AND json_extract(timeline_events.doc, '$.automatic') = 1)`

// eventColumns are the columns an event is read from, in scanEvent's order.
const eventColumns = "seq, event_id, event_type, doc"

// scanEvent returns what reads an event of the record (account, arn) from
// a row of eventColumns.
func scanEvent(account, arn string) func(scan func(dest ...any) error) (*domain.TimelineEvent, error) {
	return func(scan func(dest ...any) error) (*domain.TimelineEvent, error) {
		var (
			e   domain.TimelineEvent
			doc []byte
		)
		if err := scan(&e.Seq, &e.EventID, &e.EventType, &doc); err != nil {
			return nil, err
		}
		e.Account, e.IncidentARN = account, arn
		return &e, decodeEvent(&e, doc)
	}
}

// decodeEvent reads the document doc into e, whose members held by
// columns are set already and keep their values, and gives an automatic
// event whose document leaves its references out the reference to its
// incident.
func decodeEvent(e *domain.TimelineEvent, doc []byte) error {
	seq, account, arn, id, typ := e.Seq, e.Account, e.IncidentARN, e.EventID, e.EventType
	if err := json.Unmarshal(doc, e); err != nil {
		return fmt.Errorf("decode stored document: %w", err)
	}
	e.Seq, e.Account, e.IncidentARN, e.EventID, e.EventType = seq, account, arn, id, typ
	if e.Automatic && e.References == nil {
		e.References = []domain.EventReference{{Resource: &e.IncidentARN}}
	} else if len(e.References) == 0 {
		e.References = nil
	}
	return nil
}

// scanOne reads the one row of row with scan, ErrNotFound when there is none.
func scanOne[T any](row *sql.Row, scan func(func(dest ...any) error) (*T, error)) (*T, error) {
	v, err := scan(row.Scan)
	if err == sql.ErrNoRows {
		return nil, domain.ErrNotFound
	}
	return v, err
}

// scanAll reads every row of rows with scan.
func scanAll[T any](rows *sql.Rows, scan func(func(dest ...any) error) (*T, error)) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// FullRecordDocument is the complete JSON of a stored incident record, its
// document completed from its columns, as another engine stores it.
func FullRecordDocument(account, arn, status string, impact int64, dedupe, createdBy, doc string) (string, error) {
	r := domain.IncidentRecord{Account: account, ARN: arn, Status: status, Impact: int32(impact), DedupeString: dedupe}
	r.Source.CreatedBy = createdBy
	if err := decodeRecord(&r, []byte(doc)); err != nil {
		return "", err
	}
	b, err := json.Marshal(&r)
	return string(b), err
}

// FullEventDocument is the complete JSON of a stored timeline event, its
// document completed from its columns, as another engine stores it.
func FullEventDocument(account, incidentARN, eventID, eventType, doc string) (string, error) {
	e := domain.TimelineEvent{Account: account, IncidentARN: incidentARN, EventID: eventID, EventType: eventType}
	if err := decodeEvent(&e, []byte(doc)); err != nil {
		return "", err
	}
	b, err := json.Marshal(&e)
	return string(b), err
}
