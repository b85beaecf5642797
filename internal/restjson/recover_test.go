package restjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/incidentd/incidentd/internal/model"
)

const (
	testKeyID   = "AKIDINTERNAL"
	testSecret  = "internal-secret"
	testAccount = "111122223333"
)

// syncBuffer is a bytes.Buffer safe for the handler's concurrent log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveOps serves ops (every other operation answers an empty output) on a
// real listener and returns its URL and log.
func serveOps(t *testing.T, ops map[string]opFunc, limits Limits) (string, *syncBuffer) {
	t.Helper()
	all := map[string]opFunc{}
	for _, op := range model.Operations {
		all[op.Name] = func(context.Context, model.Input) (any, error) { return struct{}{}, nil }
	}
	for name, f := range ops {
		all[name] = f
	}
	log := &syncBuffer{}
	keys := map[string]Key{testKeyID: {SecretAccessKey: testSecret, Account: testAccount, Principal: "arn:aws:iam::" + testAccount + ":root"}}
	h := newHandler(all, StaticKeys(keys), slog.New(slog.NewTextHandler(log, nil)), nil)
	h.SetLimits(limits)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, log
}

// post sends a signed POST of body to path and returns the status, the
// error type and the body of the answer.
func post(t *testing.T, url, path, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret},
		req, hex.EncodeToString(sum[:]), SigningName, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), b
}

// TestPanicIsAnsweredAndLoggedOnce injects a panic into an operation: it is
// answered 500 InternalServerException with no internals, logged once at
// ERROR with its stack, and the server goes on serving.
func TestPanicIsAnsweredAndLoggedOnce(t *testing.T) {
	url, log := serveOps(t, map[string]opFunc{
		"ListResponsePlans": func(context.Context, model.Input) (any, error) { panic("injected failure 7f3a") },
	}, Limits{})
	status, code, body := post(t, url, "/listResponsePlans", `{}`)
	if status != http.StatusInternalServerError || code != "InternalServerException" {
		t.Fatalf("answer %d %s %s, want 500 InternalServerException", status, code, body)
	}
	var e struct{ Message string }
	if err := json.Unmarshal(body, &e); err != nil || e.Message != "An internal error occurred. Retry the request." || strings.Contains(string(body), "7f3a") {
		t.Fatalf("body %s leaks internals or is not the fixed message", body)
	}
	for range 3 {
		if status, _, body := post(t, url, "/listReplicationSets", `{}`); status != http.StatusOK {
			t.Fatalf("after the panic: %d %s", status, body)
		}
	}
	lines := strings.Split(log.String(), "\n")
	var errorLines []string
	for _, l := range lines {
		if strings.Contains(l, "level=ERROR") {
			errorLines = append(errorLines, l)
		}
	}
	if len(errorLines) != 1 {
		t.Fatalf("%d ERROR lines, want 1:\n%s", len(errorLines), log.String())
	}
	if l := errorLines[0]; !strings.Contains(l, "injected failure 7f3a") || !strings.Contains(l, "goroutine ") || !strings.Contains(l, "recover_test.go") {
		t.Fatalf("the ERROR line lacks the panic value or its stack: %s", l)
	}
	if !strings.Contains(log.String(), "op=ListResponsePlans status=500") {
		t.Fatalf("the request line of the panicking request is missing:\n%s", log.String())
	}
}

// TestInFlightBoundAnswersAtOnce holds MaxInFlight requests inside an
// operation; the next request is refused at once with ThrottlingException,
// and once they finish requests are served again.
func TestInFlightBoundAnswersAtOnce(t *testing.T) {
	const bound = 3
	entered, release := make(chan struct{}, bound), make(chan struct{})
	url, _ := serveOps(t, map[string]opFunc{
		"ListResponsePlans": func(context.Context, model.Input) (any, error) {
			entered <- struct{}{}
			<-release
			return struct{}{}, nil
		},
	}, Limits{MaxInFlight: bound})
	var wg sync.WaitGroup
	for range bound {
		wg.Go(func() {
			if status, _, body := post(t, url, "/listResponsePlans", `{}`); status != http.StatusOK {
				t.Errorf("held request: %d %s", status, body)
			}
		})
	}
	for range bound {
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatal("the held requests never reached the operation")
		}
	}
	start := time.Now()
	status, code, body := post(t, url, "/listReplicationSets", `{}`)
	if status != http.StatusTooManyRequests || code != "ThrottlingException" {
		t.Fatalf("beyond the bound: %d %s %s, want 429 ThrottlingException", status, code, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the refusal took %v: it waited instead of answering at once", d)
	}
	var e struct {
		Message     string `json:"message"`
		ServiceCode string `json:"serviceCode"`
		QuotaCode   string `json:"quotaCode"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.ServiceCode != "ssm-incidents" || e.QuotaCode != QuotaInFlight || e.Message == "" {
		t.Fatalf("body %s, want serviceCode ssm-incidents and quotaCode %s", body, QuotaInFlight)
	}
	close(release)
	wg.Wait()
	if status, _, body := post(t, url, "/listReplicationSets", `{}`); status != http.StatusOK {
		t.Fatalf("after the held requests finished: %d %s", status, body)
	}
}
