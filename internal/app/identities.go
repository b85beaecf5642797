package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/iam"
	"github.com/incidentd/incidentd/internal/metrics"
	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/secrets"
	"github.com/incidentd/incidentd/internal/service"
)

// loadSecretsKey finds the key that seals the secret access keys kept in
// the store (see secrets.Load) and logs where it comes from, never the key.
// A server generates it in its data directory on its first start; so may
// the admin commands on the embedded database, which is in that directory.
// On PostgreSQL they never generate one: theirs would not be the servers'.
func loadSecretsKey(cfg Config, log *slog.Logger, admin bool) (*secrets.Key, error) {
	if admin && cfg.DatabaseURL != "" {
		k, _, err := secrets.Find(cfg.SecretsKey, cfg.SecretsKeyFile, cfg.DataDir)
		if errors.Is(err, fs.ErrNotExist) && cfg.SecretsKey == "" && cfg.SecretsKeyFile == "" {
			return nil, fmt.Errorf("no secrets key: give the key the servers of the database use (INCIDENTD_SECRETS_KEY or --secrets-key-file), or --data DIR of one of them")
		}
		if err != nil {
			return nil, fmt.Errorf("secrets key: %w", err)
		}
		return k, nil
	}
	if cfg.SecretsKey == "" && cfg.SecretsKeyFile == "" {
		// The key is generated in the data directory, which a server on
		// PostgreSQL has not created yet.
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, err
		}
	}
	k, source, err := secrets.Load(cfg.SecretsKey, cfg.SecretsKeyFile, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	if log != nil {
		notice(log, slog.LevelInfo, "secrets key", "source", string(source))
	}
	return k, nil
}

// openDirectory returns the Directory of store, with the bootstrap keys,
// for a server or, when admin, for the admin commands, having checked that the secrets key opens the keys the store holds and
// that the bootstrap keys' accounts exist.
func openDirectory(ctx context.Context, cfg Config, store domain.Store, bootstrap map[string]restjson.Key, log *slog.Logger, admin bool) (*iam.Directory, error) {
	sk, err := loadSecretsKey(cfg, log, admin)
	if err != nil {
		return nil, err
	}
	keys := make(map[string]iam.Key, len(bootstrap))
	for id, k := range bootstrap {
		keys[id] = iam.Key{ID: id, SecretAccessKey: k.SecretAccessKey, Account: k.Account, Principal: k.Principal}
	}
	dir := iam.New(store, sk, keys, cfg.Now)
	if err := dir.CheckSecretsKey(ctx); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := dir.EnsureAccount(ctx, k.Account); err != nil {
			return nil, fmt.Errorf("add the account %s of a key given at start: %w", k.Account, err)
		}
	}
	return dir, nil
}

// OpenDirectory opens the store of cfg and its Directory, for the admin
// commands that work on the database directly; close the store when done.
func OpenDirectory(ctx context.Context, cfg Config) (*iam.Directory, domain.Store, error) {
	store, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	dir, err := openDirectory(ctx, cfg, store, nil, nil, true)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return dir, store, nil
}

// directoryKeys answers the transport's key lookups from a Directory.
type directoryKeys struct{ dir *iam.Directory }

// LookupKey implements restjson.Keys.
func (d directoryKeys) LookupKey(ctx context.Context, id string) (restjson.Key, bool, error) {
	k, ok, err := d.dir.LookupKey(ctx, id)
	return restjson.Key{SecretAccessKey: k.SecretAccessKey, Account: k.Account, Principal: k.Principal, ActsAsRoot: k.ActsAsRoot}, ok, err
}

// auditor logs and counts every authorization decision: one log line each,
// with the request's id, the principal, the action, the resource, the
// decision and the statement that made it ("implicit deny" for none).
func auditor(log *slog.Logger, m *metrics.Metrics) func(ctx context.Context, d service.Decision) {
	return func(ctx context.Context, d service.Decision) {
		m.ObserveDecision(d.Action, d.Allowed, d.Reason)
		c, _ := domain.CallerFrom(ctx)
		level := slog.LevelInfo
		if c.Refresh {
			level = slog.LevelDebug
		}
		if !log.Enabled(ctx, level) {
			return
		}
		decision, statement := "deny", d.Statement
		if d.Allowed {
			decision = "allow"
		}
		switch {
		case d.Reason == "implicit-deny":
			statement = "implicit deny"
		case d.Reason == "root":
			statement = "root of the account"
		case d.Policy != "":
			statement = d.Policy + " " + d.Statement
		}
		log.LogAttrs(ctx, level, "authorization",
			slog.String("request_id", c.RequestID), slog.String("principal", d.Principal),
			slog.String("action", d.Action), slog.String("resource", d.Resource),
			slog.String("decision", decision), slog.String("reason", d.Reason),
			slog.String("statement", statement))
	}
}
