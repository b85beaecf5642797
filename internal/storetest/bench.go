package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// BenchmarkClaimBehindBacklog measures ClaimDeliveries while a topic is
// down: 64 incidents, each with its head delivery failed and waiting out
// a backoff and backlog deliveries queued behind it, so that nothing can
// be claimed. A claim must cost what the number of queues costs, not what
// the backlog does: it runs on the path of every write on the embedded
// engine.
func BenchmarkClaimBehindBacklog(b *testing.B, s domain.Store, backlog int) {
	ctx := b.Context()
	now := time.Now()
	const queues = 64
	for start := 0; start < backlog; start += 1000 {
		var ds []*domain.Delivery
		for n := start; n < min(start+1000, backlog); n++ {
			ds = append(ds, &domain.Delivery{ID: fmt.Sprintf("%08d-0000-7000-8000-000000000000", n), Topic: topic("down"), Account: acctA,
				IncidentARN: arn(acctA, "incident-record", fmt.Sprint("plan/", n%queues)), Seq: int64(n/queues + 1),
				DetailType: domain.EventRecordUpdate, Message: []byte(`{}`), CreatedTime: now})
		}
		if err := s.AddDeliveries(ctx, ds); err != nil {
			b.Fatal(err)
		}
	}
	heads, err := s.ClaimDeliveries(ctx, "first", now, now.Add(time.Minute), 2*queues)
	if err != nil {
		b.Fatal(err)
	}
	if len(heads) != queues {
		b.Fatalf("claimed %d heads of %d queues", len(heads), queues)
	}
	for _, d := range heads {
		if err := s.DeliveryFailed(ctx, d.ID, d.Topic, "topic down", now.Add(time.Hour), false); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		got, err := s.ClaimDeliveries(ctx, "next", now.Add(time.Second), now.Add(time.Minute), 16)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != 0 {
			b.Fatalf("claimed %d deliveries queued behind heads that are not due", len(got))
		}
	}
}
