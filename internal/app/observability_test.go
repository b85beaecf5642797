package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/testserver"
)

func noRetry(o *ssmincidents.Options) { o.RetryMaxAttempts = 1 }

// requestLine waits for the request log line that contains every one of
// parts and returns it; a request is logged just after it is answered.
func requestLine(t *testing.T, srv *testserver.Server, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for line := range strings.Lines(srv.Log.String()) {
			if !strings.Contains(line, "msg=request") {
				continue
			}
			found := true
			for _, p := range parts {
				found = found && strings.Contains(line, p)
			}
			if found {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request line with %q in the log:\n%s", parts, srv.Log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRequestLogErrorCode: the line of a refused request names its AWS error
// code, and for one that did not authenticate the access key id it named;
// the line of a success has no error code, and no debug detail is logged
// at INFO.
func TestRequestLogErrorCode(t *testing.T) {
	srv := testserver.Start(t)
	ctx := context.Background()
	if _, err := srv.A().ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{}); err != nil {
		t.Fatal(err)
	}
	srv.Client("AKIDUNKNOWN", "wrong-secret-1", noRetry).ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	srv.Client(testserver.KeyA, "wrong-secret-2", noRetry).GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: aws.String("arn:x")})
	srv.A(noRetry).ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{MaxResults: aws.Int32(0)})
	resp, err := http.Get(srv.Endpoint + "/listResponsePlans")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	ok := requestLine(t, srv, "op=ListResponsePlans status=200")
	for _, debugOnly := range []string{"error_code", "access_key_id", "bytes_in", "store."} {
		if strings.Contains(ok, debugOnly) {
			t.Errorf("the line of a success at INFO has %s:\n%s", debugOnly, ok)
		}
	}
	requestLine(t, srv, "op=ListResponsePlans status=403", `principal=""`, "error_code=UnrecognizedClientException", "access_key_id=AKIDUNKNOWN")
	requestLine(t, srv, "op=GetResponsePlan status=403", "error_code=InvalidSignatureException", "access_key_id="+testserver.KeyA)
	line := requestLine(t, srv, "op=ListResponsePlans status=400", "error_code=ValidationException", "principal=arn:aws:iam::"+testserver.AccountA)
	if strings.Contains(line, "access_key_id") {
		t.Errorf("an authenticated request's line names its key:\n%s", line)
	}
	line = requestLine(t, srv, "status=403", "error_code=MissingAuthenticationTokenException")
	if strings.Contains(line, "access_key_id") {
		t.Errorf("a request without credentials logs an access key id:\n%s", line)
	}
	log := srv.Log.String()
	for _, secret := range []string{"wrong-secret-1", "wrong-secret-2", testserver.SecretA, "Signature="} {
		if strings.Contains(log, secret) {
			t.Errorf("the log has %q:\n%s", secret, log)
		}
	}
}

// logLines parses every line of out as a JSON object.
func logLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("a log line is not JSON: %v\n%s", err, sc.Text())
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := v[k]; !ok {
				t.Errorf("log line without %s: %s", k, sc.Text())
			}
		}
		lines = append(lines, v)
	}
	return lines
}

// jsonRequestLine waits for the JSON request line of op with status.
func jsonRequestLine(t *testing.T, srv *testserver.Server, op string, status int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, l := range logLines(t, srv.Log.String()) {
			if l["msg"] == "request" && l["op"] == op && l["status"] == float64(status) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request line of %s %d:\n%s", op, status, srv.Log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestJSONLogFormat: with LogFormat json every line written is a JSON
// object, the request line among them.
func TestJSONLogFormat(t *testing.T) {
	srv := testserver.Start(t, func(c *app.Config) { c.LogFormat = app.LogFormatJSON })
	ctx := context.Background()
	if _, err := srv.A().ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{}); err != nil {
		t.Fatal(err)
	}
	srv.Client("AKIDUNKNOWN", "wrong", noRetry).ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	l := jsonRequestLine(t, srv, "ListResponsePlans", 200)
	if l["level"] != "INFO" || l["principal"] != "arn:aws:iam::"+testserver.AccountA+":root" || l["request_id"] == "" {
		t.Errorf("request line %v", l)
	}
	if _, ok := l["error_code"]; ok {
		t.Errorf("a success has an error_code: %v", l)
	}
	l = jsonRequestLine(t, srv, "ListResponsePlans", 403)
	if l["error_code"] != "UnrecognizedClientException" || l["access_key_id"] != "AKIDUNKNOWN" {
		t.Errorf("refused request line %v", l)
	}
	if lines := logLines(t, srv.Log.String()); len(lines) < 3 {
		t.Errorf("only %d log lines", len(lines))
	}
}

// TestDebugLogStorage: at debug level the request line tells what the
// storage took (a write's waits and commit group, a read's time) and the
// bytes of the bodies, and never a secret or a body.
func TestDebugLogStorage(t *testing.T) {
	srv := testserver.Start(t, func(c *app.Config) {
		c.LogFormat = app.LogFormatJSON
		c.LogLevel = -4 // slog.LevelDebug
	})
	ctx := context.Background()
	a := srv.A()
	if _, err := a.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{
		Regions: map[string]types.RegionMapInputValue{"us-east-1": {}},
	}); err != nil {
		t.Fatal(err)
	}
	const marker = "body-marker-9f1c"
	out, err := a.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("debug"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String(marker), Impact: aws.Int32(3)},
		Tags:             map[string]string{"k": marker},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: out.Arn}); err != nil {
		t.Fatal(err)
	}

	store := func(l map[string]any) map[string]any {
		t.Helper()
		s, ok := l["store"].(map[string]any)
		if !ok {
			t.Fatalf("request line without store: %v", l)
		}
		return s
	}
	write := jsonRequestLine(t, srv, "CreateResponsePlan", 201)
	ws := store(write)
	if ws["writes"].(float64) < 1 || ws["group_size"].(float64) < 1 {
		t.Errorf("a write's line: store %v", ws)
	}
	for _, k := range []string{"time", "run", "sync"} {
		if ws[k].(float64) <= 0 {
			t.Errorf("a write's store.%s is %v: %v", k, ws[k], ws)
		}
	}
	if ws["time"].(float64) < ws["queue"].(float64)+ws["run"].(float64)+ws["sync"].(float64) {
		t.Errorf("a write's store.time is less than its parts: %v", ws)
	}
	if time.Duration(ws["time"].(float64)) > time.Duration(write["latency"].(float64)) {
		t.Errorf("a write's store.time %v exceeds its latency %v", ws["time"], write["latency"])
	}
	if write["bytes_in"].(float64) <= 0 || write["bytes_out"].(float64) <= 0 {
		t.Errorf("a write's bytes: in %v, out %v", write["bytes_in"], write["bytes_out"])
	}
	read := jsonRequestLine(t, srv, "GetResponsePlan", 200)
	rs := store(read)
	if rs["reads"].(float64) < 1 || rs["read_time"].(float64) <= 0 || rs["writes"].(float64) != 0 {
		t.Errorf("a read's line: store %v", rs)
	}
	log := srv.Log.String()
	for _, secret := range []string{testserver.SecretA, testserver.SecretB, marker, "Signature=", "AWS4-HMAC-SHA256"} {
		if strings.Contains(log, secret) {
			t.Errorf("the debug log has %q:\n%s", secret, log)
		}
	}
}

// TestUnknownLogFormat: Open refuses a log format it does not know before
// it creates anything.
func TestUnknownLogFormat(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	cfg := rootConfig(data)
	cfg.LogFormat = "yaml"
	m := &app.Main{Config: cfg, Out: &testserver.SyncBuffer{}}
	err := m.Open(context.Background())
	if err == nil {
		m.Close(context.Background())
		t.Fatal("Open accepted log format yaml")
	}
	if !strings.Contains(err.Error(), `"yaml"`) {
		t.Errorf("error %q does not name the format", err)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start left %s: %v", data, err)
	}
}

// TestPprofNeedsMetricsAddr: the profiles have no listener of their own, so
// asking for them without a metrics address refuses the start.
func TestPprofNeedsMetricsAddr(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	cfg := rootConfig(data)
	cfg.Pprof = true
	m := &app.Main{Config: cfg, Out: &testserver.SyncBuffer{}}
	if err := m.Open(context.Background()); err == nil {
		m.Close(context.Background())
		t.Fatal("Open accepted Pprof without MetricsAddr")
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start left %s: %v", data, err)
	}
}

// freeAddr returns a loopback address no one listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestMetricsListener: the metrics listener serves until Close; one that
// cannot be bound fails the start before anything is created, and leaves
// the API address free.
func TestMetricsListener(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	data := filepath.Join(t.TempDir(), "data")
	cfg := rootConfig(data)
	cfg.Addr = freeAddr(t)
	cfg.MetricsAddr = taken.Addr().String()
	m := &app.Main{Config: cfg, Out: &testserver.SyncBuffer{}}
	if err := m.Open(context.Background()); err == nil {
		m.Close(context.Background())
		t.Fatal("Open succeeded on a metrics address in use")
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a start that could not listen left %s: %v", data, err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatalf("the API address is still taken after a failed start: %v", err)
	}
	ln.Close()

	cfg.MetricsAddr = "127.0.0.1:0"
	out := &testserver.SyncBuffer{}
	m = &app.Main{Config: cfg, Out: out}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	url := "http://" + m.MetricsAddr() + "/metrics"
	if !strings.Contains(out.String(), "msg=\"metrics listening\" addr="+m.MetricsAddr()) {
		t.Errorf("the metrics address is not logged:\n%s", out)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	if m.Metrics == nil || m.Metrics.Registry == nil {
		t.Fatal("Main.Metrics is not set")
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := c.Get(url); err == nil {
		resp.Body.Close()
		t.Fatalf("the metrics listener answers after Close: %s", resp.Status)
	}
}
