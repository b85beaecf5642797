package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/testserver"
)

// TestPurgeRunsOnceAcrossNodes starts three servers on one PostgreSQL
// database: the purge of expired clientTokens, which each starts at once,
// runs in one of them; the others find its lease held.
func TestPurgeRunsOnceAcrossNodes(t *testing.T) {
	url := testserver.PostgresDatabase(t)
	var logs []*testserver.SyncBuffer
	for range 3 {
		cfg := rootConfig(privateDir(t))
		cfg.DatabaseURL, cfg.LogLevel = url, -4 // slog.LevelDebug
		srv := testserver.StartWith(t, cfg)
		logs = append(logs, srv.Log)
	}
	const skipped = "another process holds the lease"
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		for _, l := range logs {
			if strings.Contains(l.String(), skipped) {
				n++
			}
		}
		if n == len(logs)-1 {
			return
		}
		if n > len(logs)-1 || time.Now().After(deadline) {
			var all []string
			for _, l := range logs {
				all = append(all, l.String())
			}
			t.Fatalf("%d of %d servers skipped the purge, want %d:\n%s", n, len(logs), len(logs)-1, strings.Join(all, "\n---\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
