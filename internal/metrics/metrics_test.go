package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/aws/smithy-go"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/testserver"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var ctx = context.Background()

// families is one scrape of /metrics, parsed.
type families map[string]*dto.MetricFamily

// scrape fetches and parses the text format of url/metrics.
func scrape(t *testing.T, url string) families {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// series returns the series of the metric name whose labels have the values
// in labels (an absent label has the value ""), or nil.
func (f families) series(name string, labels map[string]string) *dto.Metric {
	mf, ok := f[name]
	if !ok {
		return nil
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is a counter's or a gauge's value, or a histogram's count of
// observations; 0 for a series not there.
func (f families) value(name string, labels map[string]string) float64 {
	m := f.series(name, labels)
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}

// request is a series of incidentd_requests_total and how much it must grow.
type request struct {
	op, status, code string
	delta            float64
}

func (r request) labels() map[string]string {
	return map[string]string{"operation": r.op, "status": r.status, "code": r.code}
}

// waitForRequests scrapes until every series of want has grown by its delta
// since before: a request is counted just after its answer is written.
func waitForRequests(t *testing.T, url string, before families, want []request) families {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		after := scrape(t, url)
		done := true
		for _, r := range want {
			if after.value("incidentd_requests_total", r.labels())-before.value("incidentd_requests_total", r.labels()) < r.delta {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			return after
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func noRetries(o *ssmincidents.Options) { o.RetryMaxAttempts = 1 }

// TestRequestAndStorageMetrics makes calls that succeed and calls that are
// refused, and checks that the request counters moved by exactly those
// calls, that the histograms saw them, and that the storage, runtime and
// process metrics are there.
func TestRequestAndStorageMetrics(t *testing.T) {
	srv := testserver.Start(t, testserver.OnSQLite, testserver.WithMetrics)
	if srv.Metrics == "" {
		t.Fatal("no metrics listener")
	}
	a := srv.A(noRetries)
	if _, err := a.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{
		Regions: map[string]types.RegionMapInputValue{"us-east-1": {}},
	}); err != nil {
		t.Fatal(err)
	}
	waitForRequests(t, srv.Metrics, families{}, []request{{"CreateReplicationSet", "201", "", 1}})
	before := scrape(t, srv.Metrics)

	// A new input each time: the SDK keeps the clientToken it fills in.
	plan := func() *ssmincidents.CreateResponsePlanInput {
		return &ssmincidents.CreateResponsePlanInput{
			Name:             aws.String("metrics"),
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String("t"), Impact: aws.Int32(3)},
		}
	}
	if _, err := a.CreateResponsePlan(ctx, plan()); err != nil {
		t.Fatal(err)
	}
	_, err := a.CreateResponsePlan(ctx, plan())
	wantCode(t, err, "ConflictException")
	for range 2 {
		if _, err := a.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = srv.Client("AKIDUNKNOWN", "not-a-secret", noRetries).ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	wantCode(t, err, "UnrecognizedClientException")
	_, err = a.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{MaxResults: aws.Int32(0)})
	wantCode(t, err, "ValidationException")
	// The API listener serves no metrics: /metrics there is no operation.
	if r := srv.Do(http.MethodGet, "/metrics", nil); r.Status != http.StatusNotFound || r.ErrorType != "UnknownOperationException" {
		t.Fatalf("signed GET /metrics on the API listener: %d %s", r.Status, r.ErrorType)
	}
	resp, err := http.Get(srv.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned GET /metrics on the API listener: %s %s", resp.Status, resp.Header.Get("x-amzn-ErrorType"))
	}

	want := []request{
		{"CreateResponsePlan", "201", "", 1},
		{"CreateResponsePlan", "409", "ConflictException", 1},
		{"ListResponsePlans", "200", "", 2},
		{"ListResponsePlans", "403", "UnrecognizedClientException", 1},
		{"ListResponsePlans", "400", "ValidationException", 1},
		{"unknown", "404", "UnknownOperationException", 1},
		{"unknown", "403", "MissingAuthenticationTokenException", 1},
	}
	after := waitForRequests(t, srv.Metrics, before, want)
	total := func(f families) (n float64) {
		for _, m := range f["incidentd_requests_total"].GetMetric() {
			n += m.GetCounter().GetValue()
		}
		return n
	}
	for _, r := range want {
		if got := after.value("incidentd_requests_total", r.labels()) - before.value("incidentd_requests_total", r.labels()); got != r.delta {
			t.Errorf("incidentd_requests_total%v grew by %v, want %v", r.labels(), got, r.delta)
		}
	}
	if got, want := total(after)-total(before), 8.0; got != want {
		t.Errorf("incidentd_requests_total grew by %v in all, want %v", got, want)
	}
	for op, n := range map[string]float64{"CreateResponsePlan": 2, "ListResponsePlans": 4, "unknown": 2} {
		l := map[string]string{"operation": op}
		if got := after.value("incidentd_request_duration_seconds", l) - before.value("incidentd_request_duration_seconds", l); got != n {
			t.Errorf("incidentd_request_duration_seconds{operation=%q} counted %v requests, want %v", op, got, n)
		}
	}
	if _, ok := after["incidentd_requests_total"]; !ok {
		t.Fatal("no incidentd_requests_total")
	}
	for _, m := range after["incidentd_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if n := l.GetName(); n != "operation" && n != "status" && n != "code" {
				t.Errorf("incidentd_requests_total has a label %s", n)
			}
		}
	}

	// Storage: the replication set and the plan were committed; the
	// refused duplicate was rolled back alone.
	groups := after.value("incidentd_sqlite_commit_groups_total", nil)
	if groups < 2 {
		t.Errorf("incidentd_sqlite_commit_groups_total = %v after two writes", groups)
	}
	for _, h := range []string{"incidentd_sqlite_commit_group_size", "incidentd_sqlite_commit_pages", "incidentd_sqlite_fsync_duration_seconds", "incidentd_sqlite_commit_duration_seconds"} {
		if got := after.value(h, nil); got != groups {
			t.Errorf("%s counted %v, want one per commit group (%v)", h, got, groups)
		}
	}
	if sum := after.series("incidentd_sqlite_commit_group_size", nil).GetHistogram().GetSampleSum(); sum < 2 {
		t.Errorf("incidentd_sqlite_commit_group_size sums %v transactions, want at least 2", sum)
	}
	if got := after.value("incidentd_sqlite_transactions_rolled_back_total", nil) - before.value("incidentd_sqlite_transactions_rolled_back_total", nil); got != 1 {
		t.Errorf("incidentd_sqlite_transactions_rolled_back_total grew by %v, want 1 (the duplicate plan)", got)
	}
	if got := after.value("incidentd_sqlite_transactions_failed_total", nil); got != 0 {
		t.Errorf("incidentd_sqlite_transactions_failed_total = %v", got)
	}
	if after.series("incidentd_sqlite_wal_bytes", nil) == nil {
		t.Error("no incidentd_sqlite_wal_bytes")
	} else if got := after.value("incidentd_sqlite_wal_bytes", nil); got <= 0 {
		t.Errorf("incidentd_sqlite_wal_bytes = %v after writes", got)
	}
	// A checkpoint runs every 200ms.
	deadline := time.Now().Add(5 * time.Second)
	for after.value("incidentd_sqlite_checkpoint_duration_seconds", nil) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		after = scrape(t, srv.Metrics)
	}
	if after.value("incidentd_sqlite_checkpoint_duration_seconds", nil) == 0 {
		t.Error("incidentd_sqlite_checkpoint_duration_seconds counted no checkpoint")
	}
	if after.series("incidentd_sqlite_checkpoint_failures_total", nil) == nil {
		t.Error("no incidentd_sqlite_checkpoint_failures_total")
	}

	for _, name := range []string{"go_goroutines", "go_gc_duration_seconds", "go_memstats_alloc_bytes",
		"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "go_build_info"} {
		if _, ok := after[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	if after.series("incidentd_build_info", nil) == nil || after.value("incidentd_build_info", nil) != 1 {
		t.Error("incidentd_build_info is not 1")
	}
	if m := after.series("incidentd_build_info", nil); m != nil {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] == "" || !strings.HasPrefix(labels["goversion"], "go") {
			t.Errorf("incidentd_build_info labels %v", labels)
		}
	}
}

// get returns the status and body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestPprof: the profiles are served on the metrics listener only when
// asked for.
func TestPprof(t *testing.T) {
	off := testserver.Start(t, testserver.WithMetrics)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine", "/debug/pprof/cmdline"} {
		if status, _ := get(t, off.Metrics+path); status != http.StatusNotFound {
			t.Errorf("without Pprof, GET %s: %d, want 404", path, status)
		}
	}
	on := testserver.Start(t, testserver.WithMetrics, func(c *app.Config) { c.Pprof = true })
	status, body := get(t, on.Metrics+"/debug/pprof/")
	if status != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("with Pprof, GET /debug/pprof/: %d\n%s", status, body)
	}
	if status, body := get(t, on.Metrics+"/debug/pprof/goroutine?debug=1"); status != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("with Pprof, GET /debug/pprof/goroutine?debug=1: %d\n%.200s", status, body)
	}
	if status, _ := get(t, on.Metrics+"/metrics"); status != http.StatusOK {
		t.Errorf("with Pprof, GET /metrics: %d", status)
	}
	// The API listener serves no profile.
	if r := on.Do(http.MethodGet, "/debug/pprof/", nil); r.ErrorType != "UnknownOperationException" {
		t.Errorf("signed GET /debug/pprof/ on the API listener: %d %s", r.Status, r.ErrorType)
	}
}

// TestMetricsOffByDefault: without MetricsAddr there is no metrics
// listener, and the API listener does not serve metrics either.
func TestMetricsOffByDefault(t *testing.T) {
	srv := testserver.Start(t)
	if addr := srv.Main.MetricsAddr(); addr != "" || srv.Metrics != "" {
		t.Fatalf("a metrics listener on %q without MetricsAddr", addr)
	}
	status, body := get(t, srv.Endpoint+"/metrics")
	if status != http.StatusForbidden || strings.Contains(body, "incidentd_") {
		t.Fatalf("GET /metrics on the API listener: %d\n%s", status, body)
	}
}
