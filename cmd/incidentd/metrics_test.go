package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsAndLogsOfTheBinary runs incidentd serve with --metrics-addr,
// --pprof and --log-format json, makes one accepted and one refused call,
// and reads what an operator would: the scraped metrics, parsed with the
// Prometheus text parser, the profiles, and the JSON log lines.
func TestMetricsAndLogsOfTheBinary(t *testing.T) {
	metricsAddr := freeAddr(t)
	p := startServerArgs(t, dataDir(t), freeAddr(t),
		[]string{"--metrics-addr", metricsAddr, "--pprof", "--log-format", "json", "--log-level", "info"}, rootEnv()...)
	ctx := context.Background()
	if _, err := client(p.endpoint, testKey, testSecret).ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client(p.endpoint, "AKIDUNKNOWN", "wrong").ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{}); err == nil {
		t.Fatal("an unknown key was accepted")
	}

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("the metrics do not parse: %v", err)
	}
	counter := func(labels map[string]string) float64 {
		f := families["incidentd_requests_total"]
		if f == nil {
			t.Fatal("no incidentd_requests_total")
		}
	metric:
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
		return 0
	}
	if n := counter(map[string]string{"operation": "ListResponsePlans", "status": "200", "code": ""}); n != 1 {
		t.Errorf("accepted ListResponsePlans counted %v times, want 1", n)
	}
	// The SDK does not retry an unknown key.
	if n := counter(map[string]string{"operation": "ListResponsePlans", "status": "403", "code": "UnrecognizedClientException"}); n != 1 {
		t.Errorf("refused ListResponsePlans counted %v times, want 1", n)
	}
	if h := families["incidentd_request_duration_seconds"]; h == nil || h.GetType() != dto.MetricType_HISTOGRAM {
		t.Error("no request latency histogram")
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "incidentd_build_info", "incidentd_sqlite_commit_groups_total", "incidentd_sqlite_wal_bytes"} {
		if families[name] == nil {
			t.Errorf("no metric %s among %d families", name, len(families))
		}
	}

	resp, err = http.Get("http://" + metricsAddr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/debug/pprof/ with --pprof: %s", resp.Status)
	}
	// The API listener stays SigV4-only.
	resp, err = http.Get(p.endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 200 || resp.Header.Get("x-amzn-ErrorType") == "" || strings.Contains(string(body), "go_goroutines") {
		t.Errorf("the API listener answered /metrics with %s %s", resp.Status, body)
	}

	var refused map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("a log line is not JSON: %q", sc.Text())
		}
		if line["msg"] == "request" && line["op"] == "ListResponsePlans" && line["status"] == float64(403) {
			refused = line
		}
	}
	if refused == nil || refused["error_code"] != "UnrecognizedClientException" || refused["access_key_id"] != "AKIDUNKNOWN" {
		t.Fatalf("the refused request's log line is %v:\n%s", refused, p.stderr.String())
	}
}
