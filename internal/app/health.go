package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/postgres"
	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
)

// Both engines tell /healthz whether their storage answers.
var (
	_ domain.Pinger = (*postgres.Store)(nil)
	_ domain.Pinger = (*sqlite.Store)(nil)
)

// storageHealth returns the check of GET /healthz for store: nil while the
// store answers, else "storage unavailable: " and the reason. It returns
// nil (no check) when the store is no domain.Pinger. The reason is shown
// without authentication: the password of databaseURL, should the engine's
// error repeat it, is masked. The first failure after a success (or the
// start) is logged as a warning, and the recovery after it.
func storageHealth(store domain.Store, databaseURL string, log *slog.Logger) func(context.Context) error {
	p, ok := store.(domain.Pinger)
	if !ok {
		return nil
	}
	password := databasePassword(databaseURL)
	var down atomic.Bool
	return func(ctx context.Context) error {
		if err := p.Ping(ctx); err != nil {
			reason := err.Error()
			if password != "" {
				reason = strings.ReplaceAll(reason, password, "xxxxx")
			}
			if !down.Swap(true) {
				log.Warn("storage unavailable", "err", reason)
			}
			return errors.New("storage unavailable: " + reason)
		}
		if down.Swap(false) {
			log.Info("storage available again")
		}
		return nil
	}
}

// databasePassword is the password a PostgreSQL URL or DSN carries, if any.
func databasePassword(databaseURL string) string {
	if databaseURL == "" {
		return ""
	}
	cfg, err := pgconn.ParseConfig(databaseURL)
	if err != nil {
		return ""
	}
	return cfg.Password
}
