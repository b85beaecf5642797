package service_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/google/uuid"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
	"github.com/incidentd/incidentd/internal/postgres"
	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/sigv4"
	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/incidentd/incidentd/internal/testserver"
)

// runClients spreads b.N calls of call over clients concurrent SDK clients of
// a real server and reports throughput and latency percentiles.
func runClients(b *testing.B, srv *testserver.Server, clients int, call func(c *ssmincidents.Client, i int) error) float64 {
	return runClientsOf(b, srv, testserver.KeyA, testserver.SecretA, clients, call)
}

// runClientsOf is runClients with clients signing with key and secret.
func runClientsOf(b *testing.B, srv *testserver.Server, key, secret string, clients int, call func(c *ssmincidents.Client, i int) error) float64 {
	b.Helper()
	cs := make([]*ssmincidents.Client, clients)
	for i := range cs {
		cs[i] = srv.Client(key, secret)
	}
	return testserver.RunConcurrently(b, clients, func(w, i int) error { return call(cs[w], i) })
}

// runSerial makes b.N calls one after another and reports their latency.
func runSerial(b *testing.B, call func(i int) error) {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if err := call(i); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	testserver.ReportLatency(b, lat)
}

// seed calls put for 0 … n-1 through the store, a thousand calls a
// transaction.
func seed(b *testing.B, store domain.Store, n int, put func(ctx context.Context, i int) error) {
	for i := 0; i < n; i += 1000 {
		err := store.Tx(ctx, func(ctx context.Context) error {
			for j := i; j < min(i+1000, n); j++ {
				if err := put(ctx, j); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetResponsePlan32Clients: GetResponsePlan from 32 concurrent SDK
// clients against a real server on loopback.
func BenchmarkGetResponsePlan32Clients(b *testing.B) {
	srv := testserver.Start(b)
	c := srv.A()
	setUp(b, c)
	arns := make([]string, 16)
	for i := range arns {
		arns[i] = createPlan(b, c, fmt.Sprintf("plan-%d", i))
	}
	runClients(b, srv, 32, func(c *ssmincidents.Client, i int) error {
		_, err := c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &arns[i%len(arns)]})
		return err
	})
}

// BenchmarkUpdateIncidentRecord32Clients: durable UpdateIncidentRecord from
// 32 concurrent clients over 64 incident records ("durable"), and the same
// clients, in the same run, against a handler that only verifies SigV4 and
// decodes the body ("sigv4+decode", the ceiling the transport allows on
// this machine) and against one that also writes one small row durably
// through the store, group-committed and fsynced like every write
// ("sigv4+decode+one-row", the least any durable write costs here); beside
// them durable StartIncident ("start") and CreateTimelineEvent
// ("timeline"), and UpdateIncidentRecord of incidents that notify two SNS
// topics ("durable-notifying"). Each runs with SDK clients ("sdk") and with lean clients
// ("lean": one signed HTTP request each, see leanClient), which leave the
// server more of the machine's two cores. At the end it prints each
// operation's throughput as a share of the floor and of the ceiling of the
// same clients in the same run.
func BenchmarkUpdateIncidentRecord32Clients(b *testing.B) {
	arns := make([]string, 64)
	for i := range arns {
		arns[i] = fmt.Sprintf("arn:aws:ssm-incidents::%s:incident-record/plan/%d", testserver.AccountA, i)
	}
	// against serves the clients with a handler that verifies SigV4,
	// decodes the body and then calls write.
	against := func(b *testing.B, lean bool, write func(in *model.UpdateIncidentRecordInput) error) float64 {
		srv := testserver.Start(b)
		verifier := &sigv4.Verifier{Service: "ssm-incidents", Lookup: func(_ context.Context, id string) (string, bool, error) {
			return testserver.SecretA, id == testserver.KeyA, nil
		}}
		baseline := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				w.WriteHeader(400)
				return
			}
			if _, err := verifier.Verify(r, body); err != nil {
				w.WriteHeader(403)
				return
			}
			var in model.UpdateIncidentRecordInput
			if err := json.Unmarshal(body, &in); err != nil {
				w.WriteHeader(400)
				return
			}
			if err := write(&in); err != nil {
				w.WriteHeader(500)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		defer baseline.Close()
		srv.Endpoint = baseline.URL
		return runUpdates(b, srv, lean, arns)
	}
	// incidents starts a server with 64 incidents from one plan, whose
	// incidents notify targets.
	incidents := func(b *testing.B, configure func(*app.Config), targets ...string) (srv *testserver.Server, plan string, arns []string) {
		srv = testserver.Start(b, testserver.WithMetrics, configure)
		c := srv.A()
		setUp(b, c)
		tmpl := &types.IncidentTemplate{Title: aws.String("bench"), Impact: aws.Int32(3)}
		for _, t := range targets {
			tmpl.NotificationTargets = append(tmpl.NotificationTargets, &types.NotificationTargetItemMemberSnsTopicArn{Value: t})
		}
		out, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String("bench"), IncidentTemplate: tmpl})
		if err != nil {
			b.Fatal(err)
		}
		plan = aws.ToString(out.Arn)
		for range 64 {
			out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan})
			if err != nil {
				b.Fatal(err)
			}
			arns = append(arns, aws.ToString(out.IncidentRecordArn))
		}
		return srv, plan, arns
	}
	none := func(*app.Config) {}
	rates := map[string]float64{}
	run := func(name string, f func(b *testing.B) float64) {
		b.Run(name, func(b *testing.B) { rates[name] = f(b) })
	}
	for _, clients := range []string{"sdk", "lean"} {
		lean := clients == "lean"
		run(clients+"/sigv4+decode", func(b *testing.B) float64 {
			return against(b, lean, func(*model.UpdateIncidentRecordInput) error { return nil })
		})
		run(clients+"/sigv4+decode+one-row", func(b *testing.B) float64 {
			// The one row goes to the engine the servers of the run use.
			var store domain.Store
			var err error
			if testserver.OnPostgres() {
				store, err = postgres.Open(ctx, testserver.PostgresDatabase(b), postgres.Options{MaxConns: 16})
			} else {
				store, err = sqlite.Open(ctx, b.TempDir())
			}
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			var n atomic.Int64
			return against(b, lean, func(in *model.UpdateIncidentRecordInput) error {
				return store.AddDeliveries(ctx, []*domain.Delivery{{ID: uuid.NewString(), Topic: "arn:aws:sns:us-east-1:" + testserver.AccountA + ":t",
					Account: testserver.AccountA, IncidentARN: *in.Arn, Seq: n.Add(1), DetailType: "SSM Incident Record Update",
					Message: []byte(`{}`), CreatedTime: time.Now()}})
			})
		})
		run(clients+"/durable", func(b *testing.B) float64 {
			srv, _, arns := incidents(b, none)
			rate := runUpdates(b, srv, lean, arns)
			reportCommits(b, srv)
			return rate
		})
		// The same updates by a user whose 20 attached statements allow
		// them (the last one), rather than by the account's root, which
		// reads no policy: what authorization costs.
		run(clients+"/durable-as-user", func(b *testing.B) float64 {
			srv, _, arns := incidents(b, none)
			key, secret := srv.User(testserver.AccountA, "responder", twentyStatements(b))
			rate := runUpdatesAs(b, srv, key, secret, lean, arns)
			reportCommits(b, srv)
			return rate
		})
		// Each update also queues its notification to two topics (which
		// nobody publishes: the server has no SNS credentials here).
		run(clients+"/durable-notifying", func(b *testing.B) float64 {
			srv, _, arns := incidents(b, none, "arn:aws:sns:us-east-1:"+testserver.AccountA+":one", "arn:aws:sns:us-east-1:"+testserver.AccountA+":two")
			rate := runUpdates(b, srv, lean, arns)
			reportCommits(b, srv)
			return rate
		})
		// The same, the dispatcher publishing each delivery as it comes to
		// an SNS that accepts everything at once (testserver.StartSNSSink):
		// deliveries are claimed, published and marked delivered beside
		// the updates, as they are while SNS is up.
		run(clients+"/durable-notifying-delivered", func(b *testing.B) float64 {
			testserver.UseMotoCredentials(b)
			sink := testserver.StartSNSSink(b)
			srv, _, arns := incidents(b, func(c *app.Config) { c.SNSEndpoint = sink },
				"arn:aws:sns:us-east-1:"+testserver.AccountA+":one", "arn:aws:sns:us-east-1:"+testserver.AccountA+":two")
			rate := runUpdates(b, srv, lean, arns)
			reportCommits(b, srv)
			return rate
		})
		run(clients+"/start", func(b *testing.B) float64 {
			srv, plan, _ := incidents(b, none)
			rate := runStarts(b, srv, lean, plan)
			reportCommits(b, srv)
			return rate
		})
		run(clients+"/timeline", func(b *testing.B) float64 {
			srv, _, arns := incidents(b, none)
			rate := runTimelineEvents(b, srv, lean, arns)
			reportCommits(b, srv)
			return rate
		})
	}
	for _, clients := range []string{"sdk", "lean"} {
		ceiling, floor := rates[clients+"/sigv4+decode"], rates[clients+"/sigv4+decode+one-row"]
		if ceiling == 0 || floor == 0 {
			continue
		}
		fmt.Printf("%s clients: one-row floor %.0f req/s, %.2f of the ceiling (%.0f req/s)\n", clients, floor, floor/ceiling, ceiling)
		for _, op := range []string{"durable", "durable-as-user", "durable-notifying", "durable-notifying-delivered", "start", "timeline"} {
			if r := rates[clients+"/"+op]; r > 0 {
				fmt.Printf("  %-8s %6.0f req/s: %.2f of the floor, %.2f of the ceiling\n", op, r, r/floor, r/ceiling)
			}
		}
	}
}

// runUpdates makes b.N updates of the records arns from 32 concurrent
// clients, SDK or lean, each with a new clientToken as the SDK gives, and
// returns their throughput.
func runUpdates(b *testing.B, srv *testserver.Server, lean bool, arns []string) float64 {
	return runUpdatesAs(b, srv, testserver.KeyA, testserver.SecretA, lean, arns)
}

// runUpdatesAs is runUpdates with clients signing with key and secret.
func runUpdatesAs(b *testing.B, srv *testserver.Server, key, secret string, lean bool, arns []string) float64 {
	if !lean {
		return runClientsOf(b, srv, key, secret, 32, func(c *ssmincidents.Client, i int) error {
			_, err := c.UpdateIncidentRecord(ctx, testserver.BenchUpdate(arns, i))
			return err
		})
	}
	lc := newLeanClient(srv.Endpoint)
	lc.creds = aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
	return testserver.RunConcurrently(b, 32, func(_, i int) error {
		body, _ := json.Marshal(map[string]any{
			"arn": arns[i%len(arns)], "title": fmt.Sprintf("title %d", i), "clientToken": uuid.NewString(),
			"summary": "The primary database stopped answering after a failed deployment.", "impact": i%5 + 1,
		})
		return lc.post("/updateIncidentRecord", body)
	})
}

// twentyStatements is testdata/twenty-statements.json, an identity-based
// policy of account A of 20 statements whose last allows updating the
// incidents of the plan "bench": the others are of other actions, of other
// resources, or denials whose conditions do not hold.
func twentyStatements(b *testing.B) string {
	doc, err := os.ReadFile("testdata/twenty-statements.json")
	if err != nil {
		b.Fatal(err)
	}
	return string(doc)
}

// runStarts starts b.N incidents from plan from 32 concurrent clients, SDK
// or lean, and returns their throughput.
func runStarts(b *testing.B, srv *testserver.Server, lean bool, plan string) float64 {
	if !lean {
		return runClients(b, srv, 32, func(c *ssmincidents.Client, i int) error {
			_, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan})
			return err
		})
	}
	lc := newLeanClient(srv.Endpoint)
	return testserver.RunConcurrently(b, 32, func(_, i int) error {
		body, _ := json.Marshal(map[string]any{"responsePlanArn": plan, "clientToken": uuid.NewString()})
		return lc.post("/startIncident", body)
	})
}

// runTimelineEvents adds b.N custom timeline events to the incidents arns
// from 32 concurrent clients, SDK or lean, and returns their throughput.
func runTimelineEvents(b *testing.B, srv *testserver.Server, lean bool, arns []string) float64 {
	data := func(i int) string { return fmt.Sprintf("Step %d of the failover finished.", i) }
	if !lean {
		return runClients(b, srv, 32, func(c *ssmincidents.Client, i int) error {
			_, err := c.CreateTimelineEvent(ctx, &ssmincidents.CreateTimelineEventInput{
				IncidentRecordArn: &arns[i%len(arns)], EventTime: aws.Time(time.Now()),
				EventType: aws.String("Custom Event"), EventData: aws.String(data(i)),
			})
			return err
		})
	}
	lc := newLeanClient(srv.Endpoint)
	return testserver.RunConcurrently(b, 32, func(_, i int) error {
		body, _ := json.Marshal(map[string]any{"incidentRecordArn": arns[i%len(arns)], "clientToken": uuid.NewString(),
			"eventTime": float64(time.Now().UnixMilli()) / 1000, "eventType": "Custom Event", "eventData": data(i)})
		return lc.post("/createTimelineEvent", body)
	})
}

// reportCommits reports, from the server's metrics, how many transactions
// a durable commit group held on average, how many pages of the log a
// transaction wrote, and how long a group's COMMIT and fsync took (on
// SQLite; PostgreSQL reports no storage metrics).
func reportCommits(b *testing.B, srv *testserver.Server) {
	resp, err := http.Get(srv.Metrics + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	value := func(name string) float64 {
		for _, line := range strings.Split(string(text), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		return 0
	}
	groups, txs, pages := value("incidentd_sqlite_commit_groups_total"), value("incidentd_sqlite_commit_group_size_sum"), value("incidentd_sqlite_commit_pages_sum")
	if groups > 0 && txs > 0 {
		b.ReportMetric(txs/groups, "tx/group")
		b.ReportMetric(pages/txs, "pages/tx")
		b.ReportMetric(1000*value("incidentd_sqlite_fsync_duration_seconds_sum")/groups, "fsync-ms")
		b.ReportMetric(1000*value("incidentd_sqlite_commit_duration_seconds_sum")/groups, "commit-ms")
	}
}

// leanClient sends requests as an AWS SDK would put them on the wire (a
// JSON body, SigV4-signed by the SDK's own signer) without the SDK's
// middleware stack, retries and output parsing: a load generator that
// leaves more of the machine to the server.
type leanClient struct {
	endpoint string
	http     *http.Client
	signer   *v4.Signer
	creds    aws.Credentials
}

func newLeanClient(endpoint string) *leanClient {
	return &leanClient{
		endpoint: endpoint,
		http:     &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		signer:   v4.NewSigner(),
		creds:    aws.Credentials{AccessKeyID: testserver.KeyA, SecretAccessKey: testserver.SecretA},
	}
}

// post sends body to path and wants a 2xx answer.
func (l *leanClient) post(path string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, l.endpoint+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := l.signer.SignHTTP(ctx, l.creds, req, hex.EncodeToString(sum[:]), "ssm-incidents", testserver.Region, time.Now()); err != nil {
		return err
	}
	resp, err := l.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s %s", path, resp.Status, answer)
	}
	return nil
}

// BenchmarkListTimelineEvents100k: one page (the default 100 events) of an
// incident with 100,000 timeline events, from one SDK client, alternating
// the first page ascending, a page deep inside, and the first page
// descending filtered on eventType.
func BenchmarkListTimelineEvents100k(b *testing.B) {
	const events = 100_000
	srv := testserver.Start(b)
	c := srv.A()
	setUp(b, c)
	arn := aws.ToString(must(c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(createPlan(b, c, "bench"))})).IncidentRecordArn)
	base := time.Now().Add(-events * time.Second)
	seed(b, srv.Main.Store, events, func(ctx context.Context, j int) error {
		typ := "Custom Event"
		if j%10 == 0 {
			typ = "Note"
		}
		return srv.Main.Store.AddTimelineEvent(ctx, &domain.TimelineEvent{
			Account: testserver.AccountA, IncidentARN: arn, EventID: uuid.Must(uuid.NewV7()).String(),
			EventTime: base.Add(time.Duration(j) * time.Second), EventUpdatedTime: time.Now(),
			EventType: typ, EventData: fmt.Sprintf("event %d", j),
		})
	})
	// A token for a page in the middle of the timeline.
	var middle *string
	in := &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &arn}
	for range events / 2 / 100 {
		middle = must(c.ListTimelineEvents(ctx, in)).NextToken
		in.NextToken = middle
	}
	inputs := []*ssmincidents.ListTimelineEventsInput{
		{IncidentRecordArn: &arn},
		{IncidentRecordArn: &arn, NextToken: middle},
		{IncidentRecordArn: &arn, SortOrder: types.SortOrderDescending, Filters: []types.Filter{{
			Key: aws.String("eventType"), Condition: &types.ConditionMemberEquals{Value: &types.AttributeValueListMemberStringValues{Value: []string{"Note"}}},
		}}},
	}
	runSerial(b, func(i int) error {
		out, err := c.ListTimelineEvents(ctx, inputs[i%len(inputs)])
		if err == nil && len(out.EventSummaries) != 100 {
			err = fmt.Errorf("a page of %d events", len(out.EventSummaries))
		}
		return err
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// BenchmarkListIncidentFindings100k: ListIncidentFindings of a new incident,
// from one SDK client, in an account that recorded 100,000 deployments over
// the past year (one every 5 minutes, each 3 minutes long), the last few
// inside the incident's window.
func BenchmarkListIncidentFindings100k(b *testing.B) {
	const findings = 100_000
	srv := testserver.Start(b)
	c := srv.A()
	setUp(b, c)
	now := time.Now()
	seed(b, srv.Main.Store, findings, func(ctx context.Context, j int) error {
		start := now.Add(-time.Duration(findings-j) * 5 * time.Minute)
		end := start.Add(3 * time.Minute)
		return srv.Main.Store.PutFinding(ctx, &domain.Finding{
			Account: testserver.AccountA, ID: fmt.Sprintf("%08x-0000-0000-0000-%012x", j, j), CreationTime: start, LastModifiedTime: end,
			StartTime: start, EndTime: &end,
			CodeDeployDeployment: &domain.CodeDeployDeployment{DeploymentGroupARN: "arn:aws:codedeploy:us-east-1:" + testserver.AccountA + ":deploymentgroup:shop/web", DeploymentID: fmt.Sprintf("d-%09d", j)},
		})
	})
	arn := aws.ToString(must(c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(createPlan(b, c, "bench"))})).IncidentRecordArn)
	runSerial(b, func(int) error {
		out, err := c.ListIncidentFindings(ctx, &ssmincidents.ListIncidentFindingsInput{IncidentRecordArn: &arn})
		if err == nil && len(out.Findings) != 20 { // two hours of deployments, 24, in pages of 20
			err = fmt.Errorf("a page of %d findings", len(out.Findings))
		}
		return err
	})
}

// BenchmarkOverload: GetResponsePlan from SDK clients without retries
// against a server that serves at most 16 requests at once, with half as
// many clients as that bound (unloaded) and twice as many (overloaded).
// Refused requests are counted apart; the latency reported is that of the
// accepted ones.
func BenchmarkOverload(b *testing.B) {
	const bound = 16
	for _, clients := range []int{bound / 2, 2 * bound} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			srv := testserver.Start(b, func(c *app.Config) { c.Limits = restjson.Limits{MaxInFlight: bound} })
			c := srv.A()
			setUp(b, c)
			arn := createPlan(b, c, "overload")
			cs := make([]*ssmincidents.Client, clients)
			for i := range cs {
				cs[i] = srv.A(func(o *ssmincidents.Options) { o.RetryMaxAttempts = 1 })
			}
			lat := make([][]time.Duration, clients)
			var next, refused atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range clients {
				wg.Go(func() {
					for int(next.Add(1)) <= b.N {
						t0 := time.Now()
						_, err := cs[w].GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: aws.String(arn)})
						var te *types.ThrottlingException
						switch {
						case errors.As(err, &te):
							refused.Add(1)
						case err != nil:
							b.Error(err)
							return
						default:
							lat[w] = append(lat[w], time.Since(t0))
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			all := slices.Concat(lat...)
			b.ReportMetric(float64(len(all))/elapsed.Seconds(), "accepted/s")
			b.ReportMetric(100*float64(refused.Load())/float64(b.N), "refused-%")
			testserver.ReportLatency(b, all)
		})
	}
}

// BenchmarkStartIncident32Clients: durable StartIncident from 32 concurrent
// SDK clients, each from a response plan whose incident template has a
// title and a summary of 100 characters, the SDK giving each request its
// clientToken. On SQLite it also reports what the database file holds per
// incident (its record, its start event and its token), taken from SQLite's
// page statistics after a checkpoint, table by table.
func BenchmarkStartIncident32Clients(b *testing.B) {
	srv := testserver.Start(b)
	c := srv.A()
	setUp(b, c)
	plan := testserver.BenchPlan(b, c)
	runClients(b, srv, 32, func(c *ssmincidents.Client, i int) error {
		_, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan})
		return err
	})
	if srv.Main.Config.DatabaseURL != "" {
		return
	}
	db, err := sql.Open("sqlite", filepath.Join(srv.DataDir, sqlite.FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	var pages, pageSize int64
	if err := db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		b.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		b.Fatal(err)
	}
	incidents := float64(b.N + 32) // and the warm-up calls
	b.ReportMetric(float64(pages*pageSize)/incidents, "file-B/incident")
	rows, err := db.Query(`SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			b.Fatal(err)
		}
		if per := float64(size) / incidents; per >= 1 && b.N >= 1000 {
			fmt.Printf("    %-40s %7.0f B/incident\n", name, per)
		}
	}
}
