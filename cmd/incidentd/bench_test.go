package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/incidentd/incidentd/internal/testserver"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// seedIncidents fills a data directory with n incident records of
// testAccount (10% OPEN, impacts 1–5, three creators, creation times over a
// year) and returns it. The directory is kept between runs.
func seedIncidents(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("incidentd-bench-%d-v4", n))
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	start := time.Now().Add(-365 * 24 * time.Hour)
	creators := []string{"arn:aws:iam::" + testAccount + ":root", "arn:aws:iam::" + testAccount + ":role/pager", "arn:aws:iam::" + testAccount + ":user/ops"}
	const batch = 5000
	for i := 0; i < n; i += batch {
		err := store.Tx(ctx, func(ctx context.Context) error {
			for k := i; k < min(i+batch, n); k++ {
				created := start.Add(time.Duration(k) * (365 * 24 * time.Hour / time.Duration(n)))
				status := domain.IncidentResolved
				if k%10 == 0 {
					status = domain.IncidentOpen
				}
				r := &domain.IncidentRecord{
					ARN:              fmt.Sprintf("arn:aws:ssm-incidents::%s:incident-record/plan-%d/%08d-0000-4000-8000-000000000000", testAccount, k%20, k),
					Account:          testAccount,
					PlanName:         fmt.Sprintf("plan-%d", k%20),
					Title:            "Elevated error rate on checkout " + strconv.Itoa(k),
					Summary:          aws.String("Checkout requests fail with 5xx after a deployment; the deployment was rolled back."),
					Status:           status,
					Impact:           int32(k%5 + 1),
					CreationTime:     created,
					LastModifiedBy:   creators[k%3],
					LastModifiedTime: created,
					DedupeString:     fmt.Sprintf("dedupe-%d", k),
					Source:           domain.IncidentRecordSource{CreatedBy: creators[k%3], Source: domain.SourceCustom},
				}
				if status == domain.IncidentResolved {
					r.ResolvedTime = aws.Time(created.Add(time.Hour))
				}
				if err := store.CreateIncidentRecord(ctx, r, nil, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600); err != nil {
		b.Fatal(err)
	}
	return dir
}

func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

// BenchmarkListIncidentRecords1M pages through ListIncidentRecords with a
// status filter over 1,000,000 stored records with the real binary and an
// SDK client, and reports the latency of a page (100 records) and the
// server's resident memory. Set INCIDENTD_BENCH_RECORDS to change the count.
func BenchmarkListIncidentRecords1M(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("INCIDENTD_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	dir := seedIncidents(b, n)
	p := startServerB(b, dir)
	benchListByStatus(b, p)
	b.ReportMetric(rssMiB(p.cmd.Process.Pid), "server-rss-MiB")
}

// benchListByStatus pages through ListIncidentRecords of the server p with a
// status filter, 100 records a page, alternating OPEN and RESOLVED every 20
// pages, and reports the latency of a page.
func benchListByStatus(b *testing.B, p *proc) {
	c := client(p.endpoint, testKey, testSecret)
	ctx := context.Background()
	status := func(s string) types.Filter {
		return types.Filter{Key: aws.String("status"), Condition: &types.ConditionMemberEquals{Value: &types.AttributeValueListMemberStringValues{Value: []string{s}}}}
	}
	filters := [][]types.Filter{{status("OPEN")}, {status("RESOLVED")}}
	var lat []time.Duration
	var token *string
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%20 == 0 {
			token = nil
		}
		t0 := time.Now()
		out, err := c.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{
			Filters: filters[(i/20)%2], MaxResults: aws.Int32(100), NextToken: token,
		})
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		if len(out.IncidentRecordSummaries) != 100 {
			b.Fatalf("page of %d", len(out.IncidentRecordSummaries))
		}
		token = out.NextToken
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// postgresBase is the URL of the benchmarks' PostgreSQL server, the tests'.
func postgresBase() string {
	if u := os.Getenv("INCIDENTD_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return testserver.DefaultPostgresURL
}

// seedIncidentsPostgres returns the URL of a PostgreSQL database that holds
// the n incident records of seedIncidents, copied into it with the binary's
// `migrate --from-sqlite`. The database (incidentd_bench_N) is kept between
// runs and copied again only when it does not hold n records.
func seedIncidentsPostgres(b *testing.B, n int) string {
	b.Helper()
	ctx := context.Background()
	base := postgresBase()
	name := fmt.Sprintf("incidentd_bench_%d", n)
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	dbURL := u.String()
	if conn, err := pgx.Connect(ctx, dbURL); err == nil {
		var count int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM incident_records`).Scan(&count)
		conn.Close(ctx)
		if err == nil && count == n {
			return dbURL
		}
	} else if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "3D000" { // 3D000: no such database
		testserver.MissingTool(b, "PostgreSQL is not reachable at "+base+" ("+err.Error()+")")
	}
	dir := seedIncidents(b, n)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		testserver.MissingTool(b, "PostgreSQL is not reachable at "+base+" ("+err.Error()+")")
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			b.Fatalf("%s: %v", stmt, err)
		}
	}
	t0 := time.Now()
	out, err := exec.Command(binary, "migrate", "--data", filepath.Join(b.TempDir(), "data"), "--from-sqlite", dir, "--database-url", dbURL).CombinedOutput()
	if err != nil {
		b.Fatalf("migrate --from-sqlite: %v\n%s", err, out)
	}
	b.Logf("copied %d records into %s in %v", n, name, time.Since(t0).Round(time.Second))
	return dbURL
}

// logStatistics logs whether PostgreSQL has analyzed incident_records:
// migrate --from-sqlite leaves that to autovacuum, and without statistics
// the planner's choices for the list differ.
func logStatistics(b *testing.B, dbURL string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var autovacuum string
	var analyzed *time.Time
	err = conn.QueryRow(ctx, `SELECT current_setting('autovacuum'), greatest(last_analyze, last_autoanalyze)
		FROM pg_stat_user_tables WHERE relname = 'incident_records'`).Scan(&autovacuum, &analyzed)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("autovacuum %s; incident_records last analyzed: %v", autovacuum, analyzed)
}

// BenchmarkListIncidentRecords1MPostgres is BenchmarkListIncidentRecords1M
// on PostgreSQL: the same 1,000,000 records, copied with `incidentd migrate
// --from-sqlite` into a database kept between runs (incidentd_bench_1000000),
// served by the real binary.
func BenchmarkListIncidentRecords1MPostgres(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("INCIDENTD_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	dbURL := seedIncidentsPostgres(b, n)
	logStatistics(b, dbURL)
	p := startServerArgs(b, filepath.Join(b.TempDir(), "data"), freeAddr(b), append(slices.Clone(unlimited), "--database-url", dbURL), rootEnv()...)
	benchListByStatus(b, p)
	b.ReportMetric(rssMiB(p.cmd.Process.Pid), "server-rss-MiB")
}

// BenchmarkUpdateIncidentRecordTwoNodes: durable UpdateIncidentRecord from
// 32 concurrent SDK clients over 64 incident records, as
// BenchmarkUpdateIncidentRecord32Clients, with the real binary on a fresh
// PostgreSQL database: served by one incidentd process ("nodes=1") and by
// two with the same root key, half the clients on each ("nodes=2").
func BenchmarkUpdateIncidentRecordTwoNodes(b *testing.B) {
	for _, nodes := range []int{1, 2} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			dbURL := testserver.PostgresDatabase(b)
			flags := append(slices.Clone(unlimited), "--database-url", dbURL)
			ps := make([]*proc, nodes)
			for i := range ps {
				// One after the other: the first applies the migrations.
				ps[i] = startServerArgs(b, filepath.Join(b.TempDir(), "data"), freeAddr(b), flags, rootEnv()...)
			}
			ctx := context.Background()
			c := client(ps[0].endpoint, testKey, testSecret)
			if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
				b.Fatal(err)
			}
			plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
				Name:             aws.String("bench"),
				IncidentTemplate: &types.IncidentTemplate{Title: aws.String("bench"), Impact: aws.Int32(3)},
			})
			if err != nil {
				b.Fatal(err)
			}
			arns := make([]string, 64)
			for i := range arns {
				out, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn})
				if err != nil {
					b.Fatal(err)
				}
				arns[i] = aws.ToString(out.IncidentRecordArn)
			}
			update := func(c *ssmincidents.Client, i int) error {
				_, err := c.UpdateIncidentRecord(ctx, testserver.BenchUpdate(arns, i))
				return err
			}
			const clients = 32
			cs := make([]*ssmincidents.Client, clients)
			for w := range cs {
				cs[w] = client(ps[w%nodes].endpoint, testKey, testSecret)
			}
			testserver.RunConcurrently(b, clients, func(w, i int) error { return update(cs[w], i) })
		})
	}
}

// BenchmarkLoadThroughAPI starts INCIDENTD_BENCH_RECORDS incidents
// (1,000,000 by default; b.N is ignored beyond the first run) through the
// API of the real binary on a fresh data directory, from 32 SDK clients,
// each from a response plan with a title and a summary of 100 characters.
// It reports the load's rate, the server's resident memory after the load,
// the time from a restart on the loaded directory to /healthz answering
// 200, the resident memory after the restart and after a page of
// ListIncidentRecords, and the database's size per incident.
func BenchmarkLoadThroughAPI(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("INCIDENTD_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	if b.N > 1 {
		b.Skip("one load per run")
	}
	data := filepath.Join(b.TempDir(), "data")
	p := startServerB(b, data)
	ctx := context.Background()
	c := client(p.endpoint, testKey, testSecret)
	if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		b.Fatal(err)
	}
	plan := testserver.BenchPlan(b, c)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 32 {
		c := client(p.endpoint, testKey, testSecret)
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: &plan}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "loaded/s")
	b.ReportMetric(rssMiB(p.cmd.Process.Pid), "rss-after-load-MiB")
	stop(b, p)
	var size int64
	for _, name := range []string{sqlite.FileName, sqlite.WALFileName} {
		if fi, err := os.Stat(filepath.Join(data, name)); err == nil {
			size += fi.Size()
		}
	}
	b.ReportMetric(float64(size)/float64(n), "file-B/incident")

	t0 := time.Now()
	p = startServerArgs(b, data, freeAddr(b), unlimited, rootEnv()...)
	b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, "restart-to-healthy-ms")
	b.ReportMetric(rssMiB(p.cmd.Process.Pid), "rss-after-restart-MiB")
	c = client(p.endpoint, testKey, testSecret)
	if _, err := c.ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{MaxResults: aws.Int32(100)}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rssMiB(p.cmd.Process.Pid), "rss-after-list-MiB")
}
