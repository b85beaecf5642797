package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/sqlite"
)

// consoleBenchIncident is the incident of 10,000 timeline events that
// seedConsole adds.
const consoleBenchIncident = "arn:aws:ssm-incidents::" + testAccount + ":incident-record/plan-0/ffffffff-0000-4000-8000-000000000000"

// seedConsole adds to the n records of seedIncidents an open incident,
// the newest, of 10,000 timeline events (one in ten a note), and a console
// user "responder" allowed everything, with the password consolePassword.
func seedConsole(b *testing.B, n int) string {
	b.Helper()
	dir := seedIncidents(b, n)
	if _, err := os.Stat(filepath.Join(dir, "console-v1")); err == nil {
		return dir
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	root := "arn:aws:iam::" + testAccount + ":root"
	err = store.Tx(ctx, func(ctx context.Context) error {
		r := &domain.IncidentRecord{ARN: consoleBenchIncident, Account: testAccount, PlanName: "plan-0", Title: "Checkout is down",
			Summary: aws.String("Payments fail after the 14:02 deployment."), Status: domain.IncidentOpen, Impact: 1, CreationTime: now,
			LastModifiedBy: root, LastModifiedTime: now, DedupeString: "console-bench", Source: domain.IncidentRecordSource{CreatedBy: root, Source: domain.SourceCustom}}
		if err := store.CreateIncidentRecord(ctx, r, map[string]string{"team": "payments"}, nil); err != nil {
			return err
		}
		for i := range 10_000 {
			e := &domain.TimelineEvent{Account: testAccount, IncidentARN: r.ARN, EventID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i),
				EventTime: now.Add(-time.Duration(10_000-i) * time.Second), EventType: "Custom Event",
				EventData: "Step " + strconv.Itoa(i) + ": checked the checkout service's error rate and the database's replication lag."}
			if i%10 == 0 {
				e.EventType = "Note"
			}
			e.EventUpdatedTime = e.EventTime
			if err := store.AddTimelineEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	store.Close()
	if err != nil {
		b.Fatal(err)
	}
	admin := func(stdin string, args ...string) {
		cmd := exec.Command(binary, append(append([]string{"admin"}, args...), "--data", dir)...)
		cmd.Env = append(os.Environ(), rootEnv()...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("admin %v: %v\n%s", args, err, out)
		}
	}
	admin("", "accounts", "create", "--account-id", testAccount)
	admin("", "users", "create", "--account-id", testAccount, "--name", "responder")
	admin("", "policies", "put", "--account-id", testAccount, "--user", "responder", "--policy-name", "all",
		"--document", `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ssm-incidents:*", "Resource": "*"}}`)
	admin(consolePassword+"\n", "users", "set-password", "--account-id", testAccount, "--name", "responder")
	if err := os.WriteFile(filepath.Join(dir, "console-v1"), nil, 0o600); err != nil {
		b.Fatal(err)
	}
	return dir
}

const consolePassword = "correct horse battery staple"

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// BenchmarkConsolePages1M measures the console's pages as a signed-in user
// sees them, with the real binary at its default log level, over the
// 1,000,000 records of seedIncidents: the incidents list (its first page,
// 50 records, open ones as tiles) and the page of an incident of 10,000
// timeline events (its newest 20, its newest 20 notes), and the insights
// (their first computation alone, then the page as it is kept). It reports
// each page's latency, as the client measures it over loopback, and its
// size.
// INCIDENTD_BENCH_RECORDS changes the count of records.
func BenchmarkConsolePages1M(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("INCIDENTD_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	dir := seedConsole(b, n)
	p := startServerArgs(b, dir, freeAddr(b), append(slices.Clone(unlimited), "--log-level", "info"), rootEnv()...)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, p.endpoint+path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	_, login := get("/console/login")
	m := csrfField.FindStringSubmatch(login)
	if m == nil {
		b.Fatalf("no sign-in form:\n%s", login)
	}
	resp, err := c.PostForm(p.endpoint+"/console/login", url.Values{"csrf": {m[1]}, "account": {testAccount}, "user": {"responder"}, "password": {consolePassword}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	// The insights of the account read up to 100,000 records of the last
	// 91 days and all open ones (up to 100,000) once, then keep them 30 s:
	// the first request is timed alone.
	t0 := time.Now()
	if status, body := get("/console/insights.json"); status != http.StatusOK {
		b.Fatalf("insights: %d\n%s", status, body)
	}
	first := time.Since(t0)
	for _, page := range []struct{ name, path, want string }{
		{"incidents", "/console/", "Checkout is down"},
		{"incident", "/console/incident?arn=" + url.QueryEscape(consoleBenchIncident), "Step 9999:"},
		{"insights", "/console/insights", "Time to resolve"},
	} {
		b.Run(page.name, func(b *testing.B) {
			var lat []time.Duration
			var size int
			for b.Loop() {
				t0 := time.Now()
				status, body := get(page.path)
				lat = append(lat, time.Since(t0))
				if status != http.StatusOK || !strings.Contains(body, page.want) {
					b.Fatalf("%s: %d\n%s", page.path, status, body)
				}
				size = len(body)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(size), "bytes")
			if page.name == "insights" {
				b.ReportMetric(float64(first.Milliseconds()), "first-ms")
			}
		})
	}
	b.ReportMetric(rssMiB(p.cmd.Process.Pid), "server-rss-MiB")
}
