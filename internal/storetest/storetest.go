// Package storetest is the contract of domain.Store: one engine-neutral
// suite of the storage behaviours the service relies on, run against every
// engine. An engine's tests call Run with a function that opens a fresh,
// empty store:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) domain.Store { ... })
//	}
//
// The suite uses the store only through domain.Store. It keeps times at
// millisecond precision, in UTC, and compares them with time.Equal; it
// treats a nil and an empty slice or map as equal, and ignores the members
// the store assigns and does not keep in the document (json:"-", the Seq
// members) where it compares whole values. Errors are matched with
// errors.Is, so an engine may wrap ErrNotFound and ErrConflict.
//
// Transactions the suite runs concurrently keep every result they publish
// in variables they set afresh on each run of fn, since Tx may run fn again.
//
// The group ReadLocks holds the guarantees of reads inside a Tx that keep
// what they read (see readLockCases).
package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// Run runs the contract as subtests of t, each on a store of its own that
// open returns (fresh and empty; open registers its own cleanup). Subtests
// run in parallel.
func Run(t *testing.T, open func(t *testing.T) domain.Store) {
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"ReplicationSet", replicationSetCases()},
		{"ResponsePlan", responsePlanCases()},
		{"ResourcePolicy", resourcePolicyCases()},
		{"Tags", tagCases()},
		{"Idempotency", idempotencyCases()},
		{"IncidentRecord", incidentRecordCases()},
		{"Timeline", timelineCases()},
		{"RelatedItem", relatedItemCases()},
		{"Finding", findingCases()},
		{"Deliveries", deliveryCases()},
		{"Secret", secretCases()},
		{"Lease", leaseCases()},
		{"Identity", identityCases()},
		{"Console", consoleCases()},
		{"Tx", txCases()},
		{"Concurrency", concurrencyCases()},
		{"ReadLocks", readLockCases()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, open(t))
				})
			}
		})
	}
}

// testCase is one behaviour, checked on a fresh store.
type testCase struct {
	name string
	run  func(t *testing.T, s domain.Store)
}

// Two accounts: every case that writes one checks the other is untouched
// where that matters.
const (
	acctA = "111122223333"
	acctB = "444455556666"
)

// t0 is the suite's clock: every time is t0 plus whole milliseconds.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// at returns t0 plus n seconds.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// errBoom is what a failing fn returns.
var errBoom = errors.New("storetest: fn refused")

func ptr[T any](v T) *T { return &v }

// must fails the test on err.
func must(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t testing.TB, err, target error, what string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", fmt.Sprintf(what, args...), err, target)
	}
}

// check fails the test unless got equals want (see same).
func check(t testing.TB, got, want any, what string, args ...any) {
	t.Helper()
	if !same(got, want) {
		t.Fatalf("%s:\n got  %s\n want %s", fmt.Sprintf(what, args...), show(got), show(want))
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

// same is reflect.DeepEqual but for the differences an engine may make
// without changing a value: times are compared with Equal (a location or a
// monotonic reading may differ), nil and empty slices and maps are equal,
// and struct members the store assigns outside the document (json:"-") are
// ignored.
func same(a, b any) bool {
	return sameValue(reflect.ValueOf(a), reflect.ValueOf(b))
}

var timeType = reflect.TypeFor[time.Time]()

func sameValue(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == timeType {
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !sameValue(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range a.NumField() {
			f := a.Type().Field(i)
			if f.Tag.Get("json") == "-" {
				continue
			}
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.String:
		return a.String() == b.String()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// Fixtures. Every value is a fresh one, so a case may change it.

func arn(account, kind, id string) string {
	return "arn:aws:ssm-incidents::" + account + ":" + kind + "/" + id
}

func newReplicationSet(account string) *domain.ReplicationSet {
	return &domain.ReplicationSet{
		ARN:              arn(account, "replication-set", "rs-"+account),
		Account:          account,
		CreatedBy:        "arn:aws:iam::" + account + ":root",
		CreatedTime:      at(0),
		LastModifiedBy:   "arn:aws:iam::" + account + ":root",
		LastModifiedTime: at(0),
		Regions: map[string]*domain.Region{
			"us-east-1": {SSEKMSKeyID: domain.DefaultKMSKey, AddedTime: at(0), StatusUpdateTime: at(0)},
		},
	}
}

func rsRef(rs *domain.ReplicationSet) domain.ResourceRef {
	return domain.ResourceRef{Account: rs.Account, Type: domain.ResourceReplicationSet, ARN: rs.ARN, Key: rs.ARN}
}

func newPlan(account, name string) *domain.ResponsePlan {
	return &domain.ResponsePlan{
		ARN:         arn(account, "response-plan", name),
		Account:     account,
		Name:        name,
		DisplayName: ptr("Plan " + name),
		Template: domain.IncidentTemplate{
			Title: "title of " + name, Impact: 3, Summary: ptr("summary"), DedupeString: ptr("dd-" + name),
			NotificationTargets: []string{"arn:aws:sns:us-east-1:" + account + ":topic"},
			IncidentTags:        map[string]string{"team": "ops"},
		},
		ChatChannel: &domain.ChatChannel{ChatbotSNS: []string{"arn:aws:sns:us-east-1:" + account + ":chat"}},
		Engagements: []string{"arn:aws:ssm-contacts:us-east-1:" + account + ":contact/oncall"},
		Actions: []domain.Action{{SSMAutomation: &domain.SSMAutomation{
			DocumentName: "doc", RoleARN: "arn:aws:iam::" + account + ":role/r",
			Parameters: map[string][]string{"p": {"a", "b"}}, DynamicParameters: map[string]string{"d": "INCIDENT_RECORD_ARN"},
		}}},
		Integrations:     []domain.Integration{{PagerDuty: &domain.PagerDutyConfiguration{Name: "pd", SecretID: "s", ServiceID: "svc"}}},
		CreatedTime:      at(0),
		LastModifiedTime: at(0),
	}
}

func planRef(p *domain.ResponsePlan) domain.ResourceRef {
	return domain.ResourceRef{Account: p.Account, Type: domain.ResourceResponsePlan, ARN: p.ARN, Key: p.Name}
}

func newPolicy(account, plan, id string, n int) *domain.ResourcePolicy {
	return &domain.ResourcePolicy{
		ID:       id,
		Account:  account,
		PlanName: plan,
		// Sent with odd spacing: the document is kept byte for byte.
		Document: `{ "Version":"2012-10-17",  "Statement":[{"Effect":"Allow","Principal":{"AWS":"` + acctB + `"},"Action":"ssm-incidents:*","Resource":"*"}]}`,
		Policy: domain.Policy{Version: "2012-10-17", Statements: []domain.Statement{{
			Sid: fmt.Sprintf("s%d", n), Effect: "Allow", Principals: []string{acctB},
			Actions: []string{"ssm-incidents:*"}, Resources: []string{arn(account, "response-plan", plan)},
		}}},
		Region:      "us-east-1",
		CreatedTime: at(n),
	}
}

func newIncident(account, id string, created time.Time) *domain.IncidentRecord {
	principal := "arn:aws:iam::" + account + ":role/responder"
	return &domain.IncidentRecord{
		ARN:              arn(account, "incident-record", "plan/"+id),
		Account:          account,
		PlanName:         "plan",
		Title:            "incident " + id,
		Summary:          ptr("what happened"),
		Status:           domain.IncidentOpen,
		Impact:           3,
		CreationTime:     created,
		LastModifiedBy:   principal,
		LastModifiedTime: created,
		DedupeString:     "dedupe-" + id,
		Source: domain.IncidentRecordSource{
			CreatedBy: principal, InvokedBy: ptr(principal), Source: domain.SourceCustom,
		},
		ChatChannel:         &domain.ChatChannel{},
		NotificationTargets: []string{"arn:aws:sns:us-east-1:" + account + ":topic"},
	}
}

func incidentRef(r *domain.IncidentRecord) domain.ResourceRef {
	return domain.ResourceRef{Account: r.Account, Type: domain.ResourceIncidentRecord, ARN: r.ARN, Key: r.ARN}
}

func newEvent(r *domain.IncidentRecord, id string, when time.Time, typ string) *domain.TimelineEvent {
	return &domain.TimelineEvent{
		Account:          r.Account,
		IncidentARN:      r.ARN,
		EventID:          id,
		EventTime:        when,
		EventUpdatedTime: when,
		EventType:        typ,
		EventData:        `{"id":"` + id + `"}`,
	}
}

// eventID returns an id unique to the incident and n, as the service's are
// unique among all events.
func eventID(r *domain.IncidentRecord, n int) string {
	return fmt.Sprintf("%s-ev-%03d", r.ARN[strings.LastIndex(r.ARN, "/")+1:], n)
}

func urlItem(id, url string) domain.RelatedItem {
	return domain.RelatedItem{GeneratedID: id, Type: "OTHER", Value: domain.ItemValue{URL: ptr(url)}, Title: ptr("title " + id)}
}

// create helpers fail the test on error.

func createIncident(t testing.TB, s domain.Store, r *domain.IncidentRecord) *domain.IncidentRecord {
	t.Helper()
	must(t, s.CreateIncidentRecord(t.Context(), r, nil, nil), "CreateIncidentRecord %s", r.ARN)
	return r
}

func addEvent(t testing.TB, s domain.Store, e *domain.TimelineEvent) *domain.TimelineEvent {
	t.Helper()
	must(t, s.AddTimelineEvent(t.Context(), e), "AddTimelineEvent %s", e.EventID)
	return e
}

// given records what a store callback was given. A callback may run on a
// goroutine of the engine's, where t.Fatal must not be called: it records,
// and the test checks once the call has returned.
type given struct {
	calls int
	ok    bool
	got   string
}

// see records got, and whether it equals want.
func (g *given) see(got, want any) {
	g.calls++
	g.ok = same(got, want)
	g.got = show(got)
}

// check fails the test unless the callback was called, the last time (an
// engine may run it again on a retry) with want.
func (g *given) check(t testing.TB, want any, what string) {
	t.Helper()
	if g.calls == 0 || !g.ok {
		t.Fatalf("%s: called %d times, last with\n got  %s\n want %s", what, g.calls, g.got, show(want))
	}
}

// errUnexpected fails a transaction that saw what it should not have; the
// test reports it.
var errUnexpected = errors.New("storetest: unexpected answer inside the transaction")
