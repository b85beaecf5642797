package testserver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
)

// The shapes the write-path benchmarks share, so that figures taken in one
// package compare with those of another.

// BenchPlan creates the response plan "bench", whose incident template has
// a title and a summary of 100 characters, and returns its ARN.
func BenchPlan(t testing.TB, c *ssmincidents.Client) string {
	t.Helper()
	summary := "The primary database of the checkout service stopped answering after deployment 4711 failed."
	summary += strings.Repeat(".", 100-len(summary))
	out, err := c.CreateResponsePlan(context.Background(), &ssmincidents.CreateResponsePlanInput{
		Name: aws.String("bench"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Checkout database unreachable"), Impact: aws.Int32(2),
			Summary: aws.String(summary)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Arn)
}

// BenchUpdate is the i-th update of the write-path benchmarks: of one of
// the records arns, a new title, a summary and an impact that changes.
func BenchUpdate(arns []string, i int) *ssmincidents.UpdateIncidentRecordInput {
	return &ssmincidents.UpdateIncidentRecordInput{
		Arn:     &arns[i%len(arns)],
		Title:   aws.String(fmt.Sprintf("title %d", i)),
		Summary: aws.String("The primary database stopped answering after a failed deployment."),
		Impact:  aws.Int32(int32(i%5 + 1)),
	}
}

// RunConcurrently warms each of clients workers with one call, then
// spreads b.N calls of call over them and reports throughput ("req/s")
// and latency percentiles ("p50-ms", "p99-ms"), and returns the
// throughput; call gets its worker and the call's number.
func RunConcurrently(b *testing.B, clients int, call func(w, i int) error) float64 {
	b.Helper()
	for w := range clients {
		if err := call(w, w); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([][]time.Duration, clients)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > b.N {
					return
				}
				t0 := time.Now()
				if err := call(w, i); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	rate := float64(len(all)) / elapsed.Seconds()
	b.ReportMetric(rate, "req/s")
	ReportLatency(b, all)
	return rate
}

// ReportLatency reports the median and 99th percentile of lat.
func ReportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// StartSNSSink starts, for a benchmark, an HTTP server that accepts every
// SNS Publish and PublishBatch at once, as an SNS that costs nothing would,
// and returns its endpoint: what is left of a benchmark's cost is
// incidentd's own. Tests use moto, a real SNS.
func StartSNSSink(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		switch r.Form.Get("Action") {
		case "Publish":
			fmt.Fprint(w, `<PublishResponse><PublishResult><MessageId>sink</MessageId></PublishResult></PublishResponse>`)
		case "PublishBatch":
			fmt.Fprint(w, `<PublishBatchResponse><PublishBatchResult><Successful>`)
			for i := 1; r.Form.Has(fmt.Sprintf("PublishBatchRequestEntries.member.%d.Id", i)); i++ {
				fmt.Fprintf(w, `<member><Id>%s</Id><MessageId>sink</MessageId></member>`, r.Form.Get(fmt.Sprintf("PublishBatchRequestEntries.member.%d.Id", i)))
			}
			fmt.Fprint(w, `</Successful><Failed/></PublishBatchResult></PublishBatchResponse>`)
		default:
			http.Error(w, "not an SNS action of the sink", http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
