package sqlite_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/storetest"
)

// BenchmarkDurableWrite: one small durable transaction at a time from one
// caller, so each waits for its own commit and fsync. Its latency is the
// least a durable write can add to a request on this machine's disk.
func BenchmarkDurableWrite(b *testing.B) {
	s := open(b, b.TempDir())
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if err := s.AddDeliveries(ctx, []*domain.Delivery{oneRow(i)}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)-1)*99/100].Microseconds())/1000, "p99-ms")
}

// oneRow is the i-th small row of a one-row write: a delivery.
func oneRow(i int) *domain.Delivery {
	return &domain.Delivery{ID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), Topic: "arn:aws:sns:us-east-1:111122223333:t",
		Account: "111122223333", IncidentARN: "arn:aws:ssm-incidents::111122223333:incident-record/p/1", Seq: int64(i),
		DetailType: "SSM Incident Record Update", Message: []byte(`{}`), CreatedTime: time.Now()}
}

// BenchmarkClaimBehindBacklog: see storetest.BenchmarkClaimBehindBacklog.
func BenchmarkClaimBehindBacklog(b *testing.B) {
	for _, backlog := range []int{1000, 100000} {
		b.Run(fmt.Sprint("backlog=", backlog), func(b *testing.B) {
			storetest.BenchmarkClaimBehindBacklog(b, open(b, b.TempDir()), backlog)
		})
	}
}
