package service_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/incidentd/incidentd/internal/testserver"
)

// noRetry makes a client answer the first response it gets: a 500 retried
// into a 404 would hide the very answer these tests look for.
func noRetry(o *ssmincidents.Options) { o.Retryer = aws.NopRetryer{} }

// raceAddEvent creates a custom event and returns its id.
func raceAddEvent(t testing.TB, c *ssmincidents.Client, arn, data string) string {
	t.Helper()
	out, err := c.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{
		IncidentRecordArn: aws.String(arn),
		EventTime:         aws.Time(time.Now()),
		EventType:         aws.String("Custom Event"),
		EventData:         aws.String(data),
	})
	if err != nil {
		t.Fatalf("CreateTimelineEvent: %v", err)
	}
	return aws.ToString(out.EventId)
}

// raceOutcome classifies the answer to a request racing a delete: success,
// ResourceNotFoundException, or (as an error) anything else.
func raceOutcome(err error) (notFound bool, bad error) {
	if err == nil {
		return false, nil
	}
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return true, nil
	}
	return false, err
}

// TestDeleteIncidentRecordRacesUpdates deletes incident records while
// other requests update them and their timelines: every answer is a success
// or a ResourceNotFoundException, never an internal error.
func TestDeleteIncidentRecordRacesUpdates(t *testing.T) {
	const (
		records = 24
		each    = 3 // concurrent requests of each kind per record
	)
	srv := start(t)
	c := srv.A(noRetry)
	setUp(t, c)
	plan := createPlan(t, c, "race")
	arns := make([]string, records)
	events := make([]string, records)
	for i := range arns {
		arns[i] = irStartFrom(t, c, plan)
		events[i] = raceAddEvent(t, c, arns[i], "first")
	}

	ops := []struct {
		name string
		call func(i, n int) error
	}{
		{"UpdateIncidentRecord", func(i, n int) error {
			_, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{
				Arn: aws.String(arns[i]), Title: aws.String(fmt.Sprintf("title %d", n)), Impact: aws.Int32(int32(1 + n%5)),
			})
			return err
		}},
		{"UpdateTimelineEvent", func(i, n int) error {
			_, err := c.UpdateTimelineEvent(ctx, &ssmincidents.UpdateTimelineEventInput{
				IncidentRecordArn: aws.String(arns[i]), EventId: aws.String(events[i]), EventData: aws.String(fmt.Sprintf("data %d", n)),
			})
			return err
		}},
		{"CreateTimelineEvent", func(i, n int) error {
			_, err := c.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{
				IncidentRecordArn: aws.String(arns[i]), EventTime: aws.Time(time.Now()),
				EventType: aws.String("Note"), EventData: aws.String(fmt.Sprintf("note %d", n)),
			})
			return err
		}},
	}

	var ok, notFound atomic.Int64
	check := func(op string, i int, err error) {
		nf, bad := raceOutcome(err)
		switch {
		case bad != nil:
			t.Errorf("%s of %s racing DeleteIncidentRecord: want success or ResourceNotFoundException, got %v", op, arns[i], bad)
		case nf:
			notFound.Add(1)
		default:
			ok.Add(1)
		}
	}
	begin := make(chan struct{})
	var wg sync.WaitGroup
	for i := range arns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			_, err := c.DeleteIncidentRecord(ctx, &ssmincidents.DeleteIncidentRecordInput{Arn: aws.String(arns[i])})
			if err != nil {
				t.Errorf("DeleteIncidentRecord %s: %v", arns[i], err)
			}
		}()
		for _, op := range ops {
			for n := range each {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-begin
					check(op.name, i, op.call(i, n))
				}()
			}
		}
	}
	close(begin)
	wg.Wait()
	t.Logf("while deleting: %d successes, %d ResourceNotFoundException", ok.Load(), notFound.Load())

	// Once deleted, each of them is a ResourceNotFoundException.
	for i := range arns {
		for _, op := range ops {
			err := op.call(i, 0)
			if nf, _ := raceOutcome(err); !nf {
				t.Errorf("%s of the deleted %s: want ResourceNotFoundException, got %v (nil: success)", op.name, arns[i], err)
			}
		}
	}
}

// vanishingStore is the embedded store, except that the next call of the
// method it is armed for finds its resource gone, as it can when the read
// and the write of an update are not serialised by one writer.
type vanishingStore struct {
	domain.Store
	mu    sync.Mutex
	armed string
}

func (s *vanishingStore) arm(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = method
}

// fire reports whether method is armed, and disarms it.
func (s *vanishingStore) fire(method string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.armed != method {
		return false
	}
	s.armed = ""
	return true
}

// stillArmed is the method armed and not called since.
func (s *vanishingStore) stillArmed() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.armed
}

// UpdateIncidentRecord deletes the record, then lets the db store update it.
func (s *vanishingStore) UpdateIncidentRecord(ctx context.Context, account, arn string, fn func(*domain.IncidentRecord) error) error {
	if s.fire("UpdateIncidentRecord") {
		if err := s.Store.DeleteIncidentRecord(ctx, account, arn); err != nil {
			return err
		}
	}
	return s.Store.UpdateIncidentRecord(ctx, account, arn, fn)
}

// UpdateTimelineEvent deletes the event's incident (and so its timeline),
// then lets the db store update the event.
func (s *vanishingStore) UpdateTimelineEvent(ctx context.Context, account, incidentARN, eventID string, fn func(*domain.TimelineEvent) error) error {
	if s.fire("UpdateTimelineEvent") {
		if err := s.Store.DeleteIncidentRecord(ctx, account, incidentARN); err != nil {
			return err
		}
	}
	return s.Store.UpdateTimelineEvent(ctx, account, incidentARN, eventID, fn)
}

// AddTimelineEvent reports ErrNotFound, as a store that checks the event's
// incident exists does once the incident is gone.
func (s *vanishingStore) AddTimelineEvent(ctx context.Context, e *domain.TimelineEvent) error {
	if s.fire("AddTimelineEvent") {
		return domain.ErrNotFound
	}
	return s.Store.AddTimelineEvent(ctx, e)
}

// RemoveRelatedItem deletes the item's incident (and so its items), then
// lets the db store remove the item.
func (s *vanishingStore) RemoveRelatedItem(ctx context.Context, account, incidentARN, generatedID string) error {
	if s.fire("RemoveRelatedItem") {
		if err := s.Store.DeleteIncidentRecord(ctx, account, incidentARN); err != nil {
			return err
		}
	}
	return s.Store.RemoveRelatedItem(ctx, account, incidentARN, generatedID)
}

// startOn serves the API on store in-process, and returns a client of
// account A that does not retry, and the server's log.
func startOn(t *testing.T, store domain.Store) (*ssmincidents.Client, *testserver.SyncBuffer) {
	t.Helper()
	svc, err := service.New(ctx, store, service.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := &testserver.SyncBuffer{}
	keys := map[string]restjson.Key{testserver.KeyA: {
		SecretAccessKey: testserver.SecretA, Account: testserver.AccountA, Principal: "arn:aws:iam::" + testserver.AccountA + ":root",
	}}
	hs := httptest.NewServer(restjson.New(svc, restjson.StaticKeys(keys), slog.New(slog.NewTextHandler(log, nil)), nil))
	t.Cleanup(hs.Close)
	return ssmincidents.New(ssmincidents.Options{
		Region:       testserver.Region,
		BaseEndpoint: aws.String(hs.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(testserver.KeyA, testserver.SecretA, ""),
		Retryer:      aws.NopRetryer{},
	}), log
}

// vanishingItemURL is the related item each case attaches first.
const vanishingItemURL = "https://runbooks.example.com/vanishing"

// TestUpdateOfRecordDeletedDuringWriteIsNotFound makes the store's write
// itself find the record gone: the answer is the 404 the read would have
// given, naming the resource, not a 500.
func TestUpdateOfRecordDeletedDuringWriteIsNotFound(t *testing.T) {
	db, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := &vanishingStore{Store: db}
	c, log := startOn(t, store)
	setUp(t, c)
	plan := createPlan(t, c, "vanishing")

	cases := []struct {
		name   string
		method string // the store method that finds the record gone
		call   func(arn, event string) error
		typ    types.ResourceType
		id     func(arn, event string) string
	}{
		{"UpdateIncidentRecord", "UpdateIncidentRecord", func(arn, _ string) error {
			_, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arn), Title: aws.String("new title")})
			return err
		}, types.ResourceTypeIncidentRecord, func(arn, _ string) string { return arn }},
		{"UpdateIncidentRecord update event", "AddTimelineEvent", func(arn, _ string) error {
			_, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arn), Impact: aws.Int32(1)})
			return err
		}, types.ResourceTypeIncidentRecord, func(arn, _ string) string { return arn }},
		{"UpdateTimelineEvent", "UpdateTimelineEvent", func(arn, event string) error {
			_, err := c.UpdateTimelineEvent(ctx, &ssmincidents.UpdateTimelineEventInput{
				IncidentRecordArn: aws.String(arn), EventId: aws.String(event), EventData: aws.String("new data"),
			})
			return err
		}, types.ResourceTypeTimelineEvent, func(_, event string) string { return event }},
		{"CreateTimelineEvent", "AddTimelineEvent", func(arn, _ string) error {
			_, err := c.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{
				IncidentRecordArn: aws.String(arn), EventTime: aws.Time(time.Now()),
				EventType: aws.String("Note"), EventData: aws.String("a note"),
			})
			return err
		}, types.ResourceTypeIncidentRecord, func(arn, _ string) string { return arn }},
		{"UpdateRelatedItems removing an item", "RemoveRelatedItem", func(arn, _ string) error {
			_, err := c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{
				IncidentRecordArn: aws.String(arn),
				RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToRemove{Value: types.ItemIdentifier{
					Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: vanishingItemURL},
				}},
			})
			return err
		}, types.ResourceTypeIncidentRecord, func(arn, _ string) string { return arn }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			arn := irStartFrom(t, c, plan)
			event := raceAddEvent(t, c, arn, "first")
			if _, err := c.UpdateRelatedItems(ctx, &ssmincidents.UpdateRelatedItemsInput{
				IncidentRecordArn: aws.String(arn),
				RelatedItemsUpdate: &types.RelatedItemsUpdateMemberItemToAdd{Value: types.RelatedItem{Identifier: &types.ItemIdentifier{
					Type: types.ItemTypeOther, Value: &types.ItemValueMemberUrl{Value: vanishingItemURL},
				}}},
			}); err != nil {
				t.Fatal(err)
			}
			store.arm(tc.method)
			err := tc.call(arn, event)
			if m := store.stillArmed(); m != "" {
				store.arm("")
				t.Fatalf("%s did not call the store's %s", tc.name, m)
			}
			irWantNotFound(t, err, tc.id(arn, event), tc.typ)
		})
	}
	if strings.Contains(log.String(), "level=ERROR") {
		t.Errorf("server logged an error:\n%s", log.String())
	}
}
