package notify_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/testserver"
)

// BenchmarkNotificationLatency: UpdateIncidentRecord at 200 a second
// (INCIDENTD_BENCH_RATE for another rate; b.N of them) over 16 incidents that notify a topic of moto's SNS, and
// the time from each update's acknowledgment to its message's arrival in
// the SQS queue subscribed to the topic: an upper bound of the time to its
// acceptance by SNS.
func BenchmarkNotificationLatency(b *testing.B) {
	moto := testserver.StartMoto(b)
	topic, queue := moto.TopicWithQueue("incidents")
	for _, kv := range testserver.MotoCredentials {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	srv := testserver.Start(b, func(c *app.Config) { c.SNSEndpoint = moto.Endpoint })
	c := srv.A()
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		b.Fatal(err)
	}
	plan := planNotifying(b, c, "latency", []string{topic}, nil)
	var arns []string
	for range 16 {
		out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan)})
		if err != nil {
			b.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.IncidentRecordArn))
	}
	moto.Receive(queue, len(arns), 30*time.Second) // the starts
	var mu sync.Mutex
	acked := map[string]time.Time{}
	arrived := map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(time.Minute)
		for len(arrived) < b.N && time.Now().Before(deadline) {
			msgs := moto.ReceiveOnce(queue)
			now := time.Now()
			for _, m := range msgs {
				var e service.Event
				if err := json.Unmarshal([]byte(m.Message), &e); err == nil {
					arrived[e.Detail.IncidentTitle] = now
				}
			}
		}
	}()
	b.ResetTimer()
	rate := 200
	if v, err := strconv.Atoi(os.Getenv("INCIDENTD_BENCH_RATE")); err == nil && v > 0 {
		rate = v
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := range b.N {
		<-tick.C
		wg.Go(func() {
			title := fmt.Sprintf("title %d", i)
			if _, err := c.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arns[i%len(arns)]), Title: aws.String(title)}); err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			acked[title] = time.Now()
			mu.Unlock()
		})
	}
	wg.Wait()
	<-done
	b.StopTimer()
	var lat []time.Duration
	for title, at := range arrived {
		if a, ok := acked[title]; ok {
			lat = append(lat, at.Sub(a))
		}
	}
	if len(lat) < b.N {
		b.Fatalf("%d of %d messages arrived", len(lat), b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)-1)*99/100].Milliseconds()), "p99-ms")
}

// BenchmarkUpdatesWithSNSUpAndDown: durable UpdateIncidentRecord from 32
// SDK clients over 64 incidents that notify a topic, once with SNS (moto)
// reachable, the dispatcher publishing beside the requests, and once with
// SNS down, its deliveries failing and waiting: the request path does not
// wait for SNS. moto shares the machine's cores with incidentd and its
// clients; with INCIDENTD_BENCH_MOTO_CPU=N it is kept on CPU N, so that a
// run pinned to the other CPUs (taskset -c 0 go test …) compares up and
// down on the same CPUs, as with an SNS on another machine.
func BenchmarkUpdatesWithSNSUpAndDown(b *testing.B) {
	for _, sns := range []string{"up", "down"} {
		b.Run("sns="+sns, func(b *testing.B) {
			moto := testserver.StartMoto(b)
			topic, _ := moto.TopicWithQueue("incidents")
			if cpu := os.Getenv("INCIDENTD_BENCH_MOTO_CPU"); cpu != "" {
				n, err := strconv.Atoi(cpu)
				if err != nil {
					b.Fatalf("INCIDENTD_BENCH_MOTO_CPU=%q: %v", cpu, err)
				}
				moto.PinToCPU(n)
			}
			endpoint := moto.Endpoint
			if sns == "down" {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				endpoint = "http://" + l.Addr().String()
				l.Close()
			}
			for _, kv := range testserver.MotoCredentials {
				k, v, _ := strings.Cut(kv, "=")
				b.Setenv(k, v)
			}
			srv := testserver.Start(b, func(c *app.Config) { c.SNSEndpoint = endpoint })
			c := srv.A()
			if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
				b.Fatal(err)
			}
			plan := planNotifying(b, c, "bench", []string{topic}, nil)
			var arns []string
			for range 64 {
				out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plan)})
				if err != nil {
					b.Fatal(err)
				}
				arns = append(arns, aws.ToString(out.IncidentRecordArn))
			}
			clients := make([]*ssmincidents.Client, 32)
			for i := range clients {
				clients[i] = srv.A()
			}
			testserver.RunConcurrently(b, len(clients), func(w, i int) error {
				_, err := clients[w].UpdateIncidentRecord(ctx, testserver.BenchUpdate(arns, i))
				return err
			})
		})
	}
}
