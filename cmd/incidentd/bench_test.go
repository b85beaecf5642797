package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/sqlite"
)

// seedIncidents fills a data directory with n incident records of
// testAccount (10% OPEN, impacts 1–5, three creators, creation times over a
// year) and returns it. The directory is kept between runs.
func seedIncidents(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("incidentd-bench-%d-v3", n))
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
	b.ReportMetric(rssMiB(p.cmd.Process.Pid), "server-rss-MiB")
}
