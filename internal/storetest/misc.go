package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

func outboxCases() []testCase {
	return []testCase{
		{"Add", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			for i := range 3 {
				must(t, s.AddOutboxMessage(ctx, &domain.OutboxMessage{
					Account: acctA, IncidentARN: r.ARN, DetailType: domain.EventRecordUpdate, Payload: []byte(`{"n":1}`), CreatedTime: at(i),
				}), "AddOutboxMessage %d", i)
			}
			// Inside a transaction, with the change it describes.
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				if err := s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(r *domain.IncidentRecord) error { r.Title = "t"; return nil }); err != nil {
					return err
				}
				return s.AddOutboxMessage(ctx, &domain.OutboxMessage{Account: acctA, IncidentARN: r.ARN, DetailType: domain.EventRecordUpdate, Payload: []byte(`{}`), CreatedTime: at(5)})
			}), "Tx with AddOutboxMessage")
		}},
	}
}

func secretCases() []testCase {
	return []testCase{
		{"CreatedOnce", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			a, err := s.Secret(ctx, "page-token-key", 32)
			must(t, err, "Secret")
			if len(a) != 32 {
				t.Fatalf("Secret of size 32 has %d bytes", len(a))
			}
			if bytes.Equal(a, make([]byte, 32)) {
				t.Fatal("the secret is all zero")
			}
			for range 3 {
				b, err := s.Secret(ctx, "page-token-key", 32)
				must(t, err, "Secret again")
				check(t, b, a, "the secret asked again")
			}
			// Another name is another secret; the size asked applies on
			// first use only.
			c, err := s.Secret(ctx, "other", 16)
			must(t, err, "Secret other")
			if len(c) != 16 || bytes.Equal(c, a[:16]) {
				t.Fatalf("another secret: %x", c)
			}
			b, err := s.Secret(ctx, "page-token-key", 64)
			must(t, err, "Secret with another size")
			check(t, b, a, "the secret asked with another size")
		}},
		{"ConcurrentFirstUse", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			const n = 8
			got := make([][]byte, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { got[i], errs[i] = s.Secret(ctx, "k", 32) })
			}
			wg.Wait()
			for i := range n {
				must(t, errs[i], "Secret %d", i)
				check(t, got[i], got[0], "the secret of concurrent first uses")
			}
			again, err := s.Secret(ctx, "k", 32)
			must(t, err, "Secret after")
			check(t, again, got[0], "the secret after concurrent first uses")
		}},
	}
}
