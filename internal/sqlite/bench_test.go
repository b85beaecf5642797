package sqlite_test

import (
	"slices"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// BenchmarkDurableWrite: one small durable transaction at a time from one
// caller, so each waits for its own commit and fsync. Its latency is the
// least a durable write can add to a request on this machine's disk.
func BenchmarkDurableWrite(b *testing.B) {
	s := open(b, b.TempDir())
	msg := &domain.OutboxMessage{Account: "111122223333", IncidentARN: "arn:aws:ssm-incidents::111122223333:incident-record/p/1",
		DetailType: "SSM Incident Record Update", Payload: []byte(`{"event":{}}`), CreatedTime: time.Now()}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := s.AddOutboxMessage(ctx, msg); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)-1)*99/100].Microseconds())/1000, "p99-ms")
}
