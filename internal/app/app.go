// Package app wires incidentd together: configuration, credentials, storage,
// service and HTTP transport. cmd/incidentd parses flags into a Config and
// runs a Main; tests run a Main in-process on 127.0.0.1:0.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/sqlite"
)

// Config is everything a server needs to start.
type Config struct {
	Addr        string // host:port to listen on
	DataDir     string // where the embedded database and generated credentials live
	DatabaseURL string // a PostgreSQL URL instead of the embedded database

	// Root credentials (INCIDENTD_ACCESS_KEY_ID, INCIDENTD_SECRET_ACCESS_KEY,
	// INCIDENTD_ACCOUNT_ID). When all are empty, credentials are generated
	// once and kept in DataDir.
	AccessKeyID     string
	SecretAccessKey string
	AccountID       string
	// CredentialsFile lists further keys, one per line:
	// ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID [PRINCIPAL_ARN]
	CredentialsFile string
	// AllowInsecurePermissions starts the server, with a warning, when the
	// data directory or a credentials file is accessible by group or others
	// (--strict-permissions=false); by default such a start is refused.
	AllowInsecurePermissions bool

	// Limits are the per-account request rates and the bound of requests in
	// flight. Zero fields impose no limit: the flags of incidentd serve
	// give the defaults (DefaultReadRate, DefaultWriteRate, DefaultMaxInFlight,
	// DefaultMaxBodyBytesInFlight).
	Limits restjson.Limits
	// Server bounds each connection; zero fields take restjson's defaults.
	Server restjson.ServerLimits

	Service  service.Config
	LogLevel slog.Level
	// Now replaces the clock in tests; nil means time.Now.
	Now func() time.Time
}

// Defaults of the request limits of incidentd serve (see Config.Limits).
const (
	DefaultReadRate    = 100 // requests per second per account
	DefaultWriteRate   = 50  // requests per second per account
	DefaultMaxInFlight = 256
	// DefaultMaxBodyBytesInFlight bounds the request bodies held at once.
	DefaultMaxBodyBytesInFlight = 64 << 20
)

// DefaultAddr is where the server listens unless told otherwise.
const DefaultAddr = "127.0.0.1:4747"

// DefaultDataDir is $XDG_DATA_HOME/incidentd, or ~/.local/share/incidentd.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "incidentd")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "incidentd")
	}
	return "incidentd-data"
}

// Main is a running server.
type Main struct {
	Config Config
	Out    io.Writer // where start-up notices go (stderr by default)
	Log    *slog.Logger

	Store    domain.Store
	listener net.Listener
	server   *http.Server
	done     chan error
	stop     chan struct{}  // ends background work
	bg       sync.WaitGroup // background work
}

// purgeInterval is how often forgotten clientTokens are deleted.
const purgeInterval = time.Hour

// OpenStore opens the configured storage engine and applies migrations. It
// first refuses, unless cfg.AllowInsecurePermissions, a data directory or
// credentials file that group or others can access (Open warns of them).
func OpenStore(ctx context.Context, cfg Config) (domain.Store, error) {
	if cfg.DatabaseURL != "" {
		return nil, errors.New("PostgreSQL storage is not available in this version of incidentd: omit --database-url to use the embedded database")
	}
	if err := checkPermissions(cfg, nil); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, cfg.DataDir)
}

// Open starts the server: listener, keys, storage. It returns once
// /healthz answers. The listener is bound first, so that a start that cannot
// listen creates nothing; a start that fails later removes what it created
// (generated credentials, a new database, the data directory).
func (m *Main) Open(ctx context.Context) (err error) {
	if m.Out == nil {
		m.Out = os.Stderr
	}
	if m.Log == nil {
		m.Log = slog.New(slog.NewTextHandler(m.Out, &slog.HandlerOptions{Level: m.Config.LogLevel}))
	}
	if m.Config.DataDir == "" {
		m.Config.DataDir = DefaultDataDir()
	}
	if m.Config.Addr == "" {
		m.Config.Addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return err
	}
	created := newCreations(m.Config.DataDir)
	defer func() {
		if err != nil {
			ln.Close()
			if m.Store != nil {
				m.Store.Close()
				m.Store = nil
			}
			created.undo()
		}
	}()
	keys, err := loadKeys(m.Config, m.Out, m.Log)
	if err != nil {
		return err
	}
	store, err := OpenStore(ctx, m.Config)
	if err != nil {
		return fmt.Errorf("open storage: %w", err)
	}
	m.Store = store
	svc, err := service.New(ctx, store, m.Config.Service, m.Config.Now)
	if err != nil {
		return err
	}
	h := restjson.New(svc, keys, m.Log, m.Config.Now)
	h.SetLimits(m.Config.Limits)
	m.server, ln = restjson.NewServer(h, ln, m.Config.Server)
	m.listener = ln
	m.done = make(chan error, 1)
	go func() { m.done <- m.server.Serve(ln) }()
	m.stop = make(chan struct{})
	m.bg.Add(1)
	go m.purge(svc)
	m.Log.Info("incidentd listening", "addr", ln.Addr().String(), "data", m.Config.DataDir)
	return nil
}

// purge deletes expired clientTokens now and every purgeInterval until Close.
func (m *Main) purge(svc *service.Service) {
	defer m.bg.Done()
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		recovered(m.Log, "purging expired client tokens", func() {
			if n, err := svc.PurgeIdempotencyRecords(context.Background()); err != nil {
				m.Log.Warn("purging expired client tokens", "err", err)
			} else if n > 0 {
				m.Log.Info("purged expired client tokens", "count", n)
			}
		})
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

// recovered runs one round of background work; a panic in it is logged at
// ERROR with its stack, and the work's next round runs as planned.
func recovered(log *slog.Logger, what string, fn func()) {
	defer func() {
		if v := recover(); v != nil {
			log.Error("background work panicked", "work", what, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// Addr is the address the server listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// Endpoint is the URL clients pass as their endpoint.
func (m *Main) Endpoint() string { return "http://" + m.Addr() }

// Wait blocks until the server stops serving.
func (m *Main) Wait() error { return <-m.done }

// Close stops accepting connections, lets in-flight requests finish (until
// ctx ends), then closes storage.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	if m.server != nil {
		errs = append(errs, m.server.Shutdown(ctx))
	}
	if m.stop != nil {
		close(m.stop)
		m.bg.Wait()
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}
