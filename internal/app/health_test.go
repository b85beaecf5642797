package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/incidentd/incidentd/internal/testserver"
)

// TestHealthzReportsUnusableStorage closes the store of a running server
// under it: /healthz, which answered 200 "ok", answers 503 with the reason.
func TestHealthzReportsUnusableStorage(t *testing.T) {
	srv := testserver.Start(t, testserver.OnSQLite)
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get(srv.Endpoint + "/healthz")
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
	if status, body := get(); status != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthz %d %q, want 200 ok", status, body)
	}
	if err := srv.Main.Store.Close(); err != nil {
		t.Fatal(err)
	}
	status, body := get()
	if status != http.StatusServiceUnavailable || !strings.HasPrefix(body, "storage unavailable: ") || !strings.Contains(body, "closed") {
		t.Fatalf("healthz with a closed store: %d %q, want 503 storage unavailable", status, body)
	}
	if !strings.Contains(srv.Log.String(), "storage unavailable") {
		t.Fatalf("no warning in the log:\n%s", srv.Log.String())
	}
}
