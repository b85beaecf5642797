package testserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is the PostgreSQL server the tests use unless
// INCIDENTD_TEST_DATABASE_URL names another: the machine's own, trust
// authentication.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// OnPostgres reports whether test servers run on PostgreSQL:
// INCIDENTD_TEST_ENGINE=postgres, as ./scripts/test sets it for its second
// pass over the SDK-driven suites.
func OnPostgres() bool { return os.Getenv("INCIDENTD_TEST_ENGINE") == "postgres" }

// PostgresDatabase creates a fresh, empty database on the tests' PostgreSQL
// server, drops it when the test ends, and returns its URL. Without a
// reachable server the test stops with MissingTool: it fails under CI.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv("INCIDENTD_TEST_DATABASE_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		MissingTool(t, "PostgreSQL is not reachable at "+base+" ("+err.Error()+"): start it with pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, or set INCIDENTD_TEST_DATABASE_URL")
	}
	defer conn.Close(context.Background())
	b := make([]byte, 8)
	rand.Read(b)
	name := "incidentd_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
