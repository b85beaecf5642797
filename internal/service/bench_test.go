package service_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/incidentd/incidentd/internal/testserver"
)

// runClients spreads b.N calls of call over clients concurrent SDK clients of
// a real server and reports throughput and latency percentiles.
func runClients(b *testing.B, srv *testserver.Server, clients int, call func(c *ssmincidents.Client, i int) error) {
	b.Helper()
	cs := make([]*ssmincidents.Client, clients)
	for i := range cs {
		cs[i] = srv.A()
	}
	// Warm the connections.
	for i, c := range cs {
		if err := call(c, i); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([][]time.Duration, clients)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > b.N {
					return
				}
				t0 := time.Now()
				if err := call(cs[w], i); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(all[int(float64(len(all)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkGetResponsePlan32Clients: GetResponsePlan from 32 concurrent SDK
// clients against a real server on loopback.
func BenchmarkGetResponsePlan32Clients(b *testing.B) {
	srv := testserver.Start(b)
	c := srv.A()
	setUpB(b, c)
	arns := make([]string, 16)
	for i := range arns {
		arns[i] = createPlanB(b, c, fmt.Sprintf("plan-%d", i))
	}
	runClients(b, srv, 32, func(c *ssmincidents.Client, i int) error {
		_, err := c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &arns[i%len(arns)]})
		return err
	})
}
