package restjson

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/model"
)

// countingObserver counts the requests it is told of.
type countingObserver struct{ n atomic.Int64 }

func (o *countingObserver) ObserveRequest(string, int, string, time.Duration) { o.n.Add(1) }

// healthServer serves a handler whose /healthz runs check (nil: none), and
// returns its URL and observer.
func healthServer(t *testing.T, check func(context.Context) error, timeout time.Duration) (string, *countingObserver) {
	t.Helper()
	ops := map[string]opFunc{}
	for _, op := range model.Operations {
		ops[op.Name] = func(context.Context, model.Input) (any, error) { return struct{}{}, nil }
	}
	h := newHandler(ops, StaticKeys{}, slog.New(slog.DiscardHandler), nil)
	obs := &countingObserver{}
	h.SetObserver(obs)
	h.SetHealth(check)
	if timeout > 0 {
		h.healthTimeout = timeout
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, obs
}

// getHealthz returns the status and body of an unsigned GET /healthz.
func getHealthz(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	return resp.StatusCode, string(b)
}

// TestHealthzWithoutCheck: a handler given no check answers 200 "ok".
func TestHealthzWithoutCheck(t *testing.T) {
	url, _ := healthServer(t, nil, 0)
	if status, body := getHealthz(t, url); status != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthz %d %q, want 200 ok", status, body)
	}
}

// TestHealthzFollowsCheck: /healthz answers 200 "ok" while the check
// passes, 503 and the check's error in one line while it fails, and 200
// again once it passes; it needs no signature and is not observed.
func TestHealthzFollowsCheck(t *testing.T) {
	var failing atomic.Pointer[error]
	check := func(context.Context) error {
		if err := failing.Load(); err != nil {
			return *err
		}
		return nil
	}
	url, obs := healthServer(t, check, 0)
	if status, body := getHealthz(t, url); status != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthy: %d %q, want 200 ok", status, body)
	}
	down := errors.New("storage unavailable: failed to connect to `user=incidentd database=incidents`:\n\t127.0.0.1:5432: connect: connection refused")
	failing.Store(&down)
	status, body := getHealthz(t, url)
	want := "storage unavailable: failed to connect to `user=incidentd database=incidents`: 127.0.0.1:5432: connect: connection refused\n"
	if status != http.StatusServiceUnavailable || body != want {
		t.Fatalf("failing: %d %q, want 503 %q", status, body, want)
	}
	failing.Store(nil)
	if status, body := getHealthz(t, url); status != http.StatusOK || body != "ok\n" {
		t.Fatalf("recovered: %d %q, want 200 ok", status, body)
	}
	if n := obs.n.Load(); n != 0 {
		t.Fatalf("the observer was told of %d /healthz requests, want none", n)
	}
}

// TestHealthzCheckHasDeadline: the check runs with a context that ends
// after the handler's timeout; a check that waits for it makes /healthz
// answer 503 with its error, in time.
func TestHealthzCheckHasDeadline(t *testing.T) {
	const timeout = 100 * time.Millisecond
	var deadline atomic.Int64 // the check's deadline, from now, in ns
	check := func(ctx context.Context) error {
		d, ok := ctx.Deadline()
		if !ok {
			return errors.New("no deadline")
		}
		deadline.Store(int64(time.Until(d)))
		<-ctx.Done()
		return errors.New("storage unavailable: " + ctx.Err().Error())
	}
	url, _ := healthServer(t, check, timeout)
	start := time.Now()
	status, body := getHealthz(t, url)
	took := time.Since(start)
	if status != http.StatusServiceUnavailable || body != "storage unavailable: context deadline exceeded\n" {
		t.Fatalf("healthz %d %q, want 503 and the check's error", status, body)
	}
	if d := time.Duration(deadline.Load()); d <= 0 || d > timeout {
		t.Fatalf("the check's deadline was %v away, want at most %v", d, timeout)
	}
	if took > 10*timeout {
		t.Fatalf("healthz took %v with a timeout of %v", took, timeout)
	}
}

// TestHealthzGivesUpOnCheckThatHangs: a check that ignores its context does
// not make /healthz hang: every request waiting for it is answered 503
// once the timeout is past, and they share one run of the check; the next
// request after that runs the check again.
func TestHealthzGivesUpOnCheckThatHangs(t *testing.T) {
	const timeout = 200 * time.Millisecond
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var runs atomic.Int64
	check := func(context.Context) error {
		runs.Add(1)
		<-release
		return nil
	}
	url, _ := healthServer(t, check, timeout)
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			start := time.Now()
			resp, err := http.Get(url + "/healthz")
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "did not answer within 200ms") {
				t.Errorf("healthz %d %q, want 503 and that the check did not answer", resp.StatusCode, b)
			}
			if took > 10*timeout {
				t.Errorf("healthz took %v with a timeout of %v", took, timeout)
			}
		})
	}
	wg.Wait()
	if r := runs.Load(); r != 1 {
		t.Fatalf("%d concurrent requests ran the hanging check %d times, want once", n, r)
	}
	// The check that was given up on is not waited for again.
	if status, _ := getHealthz(t, url); status != http.StatusServiceUnavailable {
		t.Fatalf("healthz %d, want 503", status)
	}
	if r := runs.Load(); r != 2 {
		t.Fatalf("the request after the timeout ran the check %d times in all, want 2", r)
	}
}

// TestHealthzSurvivesPanickingCheck: a check that panics is a failing one;
// the server goes on serving.
func TestHealthzSurvivesPanickingCheck(t *testing.T) {
	var panics atomic.Bool
	panics.Store(true)
	check := func(context.Context) error {
		if panics.Load() {
			panic("boom")
		}
		return nil
	}
	url, _ := healthServer(t, check, 0)
	if status, body := getHealthz(t, url); status != http.StatusServiceUnavailable || body != "the health check failed\n" {
		t.Fatalf("panicking check: %d %q, want 503", status, body)
	}
	panics.Store(false)
	if status, body := getHealthz(t, url); status != http.StatusOK || body != "ok\n" {
		t.Fatalf("after the panic: %d %q, want 200 ok", status, body)
	}
}
