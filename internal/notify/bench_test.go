package notify_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/testserver"
)

// BenchmarkNotificationLatency: UpdateIncidentRecord at 200 a second
// (INCIDENTD_BENCH_RATE for another rate; b.N of them) over 16 incidents
// that notify a topic of moto's SNS (whose subscribed SQS queue is drained
// meanwhile), and the time from each update's
// acknowledgment to its message's acceptance by SNS, as the dispatcher
// records it (the delivery's DeliveredTime, taken when SNS has answered,
// to the millisecond). With INCIDENTD_BENCH_SNS=sink, an SNS that accepts
// every publish at once (testserver.StartSNSSink) takes moto's place: what
// remains is incidentd's part of the latency.
func BenchmarkNotificationLatency(b *testing.B) {
	moto := testserver.StartMoto(b)
	topic, queue := moto.TopicWithQueue("incidents")
	testserver.UseMotoCredentials(b)
	// The queue is drained as messages come: moto's SQS slows down as a
	// queue grows, and its SNS with it.
	drained := make(chan struct{})
	var draining sync.WaitGroup
	for range 4 {
		draining.Go(func() {
			for {
				select {
				case <-drained:
					return
				default:
					moto.ReceiveOnce(queue)
				}
			}
		})
	}
	defer draining.Wait()
	defer close(drained)
	endpoint := moto.Endpoint
	if os.Getenv("INCIDENTD_BENCH_SNS") == "sink" {
		endpoint = testserver.StartSNSSink(b)
	}
	srv := testserver.Start(b, func(c *app.Config) { c.SNSEndpoint = endpoint })
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
	var mu sync.Mutex
	acked := map[string]time.Time{}
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
	waitForNoBacklog(b, srv.Main.Store, 2*time.Minute)
	b.StopTimer()
	ds, err := srv.Main.Store.ListDeliveries(ctx, domain.DeliveryFilter{State: domain.DeliveryDelivered}, 2*b.N+100)
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	for _, d := range ds {
		var e service.Event
		if err := json.Unmarshal(d.Message, &e); err != nil {
			b.Fatal(err)
		}
		if a, ok := acked[e.Detail.IncidentTitle]; ok && d.DeliveredTime != nil {
			lat = append(lat, max(d.DeliveredTime.Sub(a), 0))
		}
	}
	if len(lat) != b.N {
		b.Fatalf("%d of %d updates delivered", len(lat), b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)-1)*99/100].Microseconds())/1000, "p99-ms")
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
			testserver.UseMotoCredentials(b)
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
