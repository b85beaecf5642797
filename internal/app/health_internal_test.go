package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

// pingStore is a Store whose Ping answers err; its other methods are not
// called.
type pingStore struct {
	domain.Store
	err error
}

func (s *pingStore) Ping(context.Context) error { return s.err }

// TestStorageHealth: the check passes while the store answers, fails with
// "storage unavailable: " and the reason (the database password masked)
// while it does not, and logs the change each way once.
func TestStorageHealth(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	store := &pingStore{}
	check := storageHealth(store, "postgres://incidentd:s3cr3t-pw@db.example:5432/incidents?sslmode=disable", log)
	if check == nil {
		t.Fatal("no check for a store that pings")
	}
	ctx := context.Background()
	if err := check(ctx); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	store.err = errors.New("failed to connect to `user=incidentd database=incidents`: dial tcp: connection refused (password s3cr3t-pw)")
	for range 3 {
		err := check(ctx)
		if err == nil || !strings.HasPrefix(err.Error(), "storage unavailable: failed to connect") {
			t.Fatalf("failing store: %v", err)
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Fatalf("the reason repeats the password: %v", err)
		}
	}
	store.err = nil
	if err := check(ctx); err != nil {
		t.Fatalf("recovered store: %v", err)
	}
	out := buf.String()
	if strings.Count(out, "storage unavailable") != 1 || strings.Count(out, "level=WARN") != 1 || strings.Count(out, "storage available again") != 1 {
		t.Fatalf("want one warning and one recovery line, got:\n%s", out)
	}
	if strings.Contains(out, "s3cr3t-pw") {
		t.Fatalf("the log repeats the password:\n%s", out)
	}
}

// TestStorageHealthWithoutPinger: a store that cannot ping gets no check.
func TestStorageHealthWithoutPinger(t *testing.T) {
	var store struct{ domain.Store }
	if check := storageHealth(&store, "", slog.New(slog.DiscardHandler)); check != nil {
		t.Fatal("a check for a store that cannot ping")
	}
}

// TestDatabasePassword reads the password of URLs and DSNs.
func TestDatabasePassword(t *testing.T) {
	for url, want := range map[string]string{
		"":                                       "",
		"postgres://u:pw1@h/db":                  "pw1",
		"postgres://u@h/db":                      "",
		"host=h user=u password=pw2 dbname=db":   "pw2",
		"postgres://u:p%40ss@h/db?sslmode=allow": "p@ss",
	} {
		t.Setenv("PGPASSWORD", "")
		t.Setenv("PGPASSFILE", "/nonexistent")
		if got := databasePassword(url); got != want {
			t.Errorf("databasePassword(%q) = %q, want %q", url, got, want)
		}
	}
}
