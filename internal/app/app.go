// Package app wires incidentd together: configuration, credentials, storage,
// service, HTTP transport, logs and metrics. cmd/incidentd parses flags into
// a Config and runs a Main; tests run a Main in-process on 127.0.0.1:0.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/incidentd/incidentd/internal/console"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/iam"
	"github.com/incidentd/incidentd/internal/metrics"
	"github.com/incidentd/incidentd/internal/postgres"
	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/service"
	"github.com/incidentd/incidentd/internal/sqlite"
)

// Config is everything a server needs to start.
type Config struct {
	Addr    string // host:port to listen on
	DataDir string // where the embedded database and generated credentials live
	// DatabaseURL, when set, stores everything in that PostgreSQL database
	// instead of the embedded one (the data directory then keeps only
	// generated credentials); Postgres sizes its pool and bounds statements.
	DatabaseURL string
	Postgres    postgres.Options

	// Root credentials (INCIDENTD_ACCESS_KEY_ID, INCIDENTD_SECRET_ACCESS_KEY,
	// INCIDENTD_ACCOUNT_ID). When all are empty, credentials are generated
	// once and kept in DataDir.
	AccessKeyID     string
	SecretAccessKey string
	AccountID       string
	// CredentialsFile lists further keys, one per line:
	// ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID [PRINCIPAL_ARN]
	CredentialsFile string
	// SecretsKey (INCIDENTD_SECRETS_KEY, base64) or, without it,
	// SecretsKeyFile is the key that seals the secret access keys kept in
	// the database; without either, a key file generated in DataDir. Every
	// node of one database needs the same one.
	SecretsKey     string
	SecretsKeyFile string
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

	Service service.Config
	// SNSEndpoint is the SNS endpoint notifications are published to; empty
	// leaves it to the AWS SDK (AWS_ENDPOINT_URL_SNS, AWS_ENDPOINT_URL, or
	// AWS's own for each topic's region).
	SNSEndpoint string
	// NotificationAttempts is how many attempts a notification gets before
	// it is parked; 0 means notify.DefaultMaxAttempts.
	NotificationAttempts int
	LogLevel             slog.Level
	// LogFormat is how log lines are written to Main.Out: "text" (the
	// default, key=value pairs) or "json" (one JSON object per line).
	LogFormat string

	// MetricsAddr is the host:port of a second listener, serving the
	// Prometheus metrics at /metrics without authentication; empty (the
	// default) serves none. The API listener never serves them.
	MetricsAddr string
	// Pprof also serves the runtime profiles of net/http/pprof under
	// /debug/pprof/ on the metrics listener; Open refuses it without
	// MetricsAddr.
	Pprof bool
	// Version is the server's version, shown by incidentd_build_info;
	// empty takes the module version the binary was built with.
	Version string

	// NoConsole turns the web console off (--console=false): /console/ is
	// then answered as any path that is no operation.
	NoConsole bool

	// Now replaces the clock in tests; nil means time.Now.
	Now func() time.Time
}

// Log formats of Config.LogFormat.
const (
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// Defaults of the request limits of incidentd serve (see Config.Limits).
const (
	DefaultReadRate    = 100 // requests per second per account
	DefaultWriteRate   = 50  // requests per second per account
	DefaultMaxInFlight = 256
	// DefaultMaxBodyBytesInFlight bounds the request bodies held at once.
	DefaultMaxBodyBytesInFlight = 64 << 20
)

// Defaults of the PostgreSQL pool of incidentd serve (Config.Postgres).
const (
	DefaultDatabaseMaxConns         = 16
	DefaultDatabaseStatementTimeout = 30 * time.Second
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
	Out    io.Writer // where start-up notices and, unless Log is set, log lines go (stderr by default)
	Log    *slog.Logger
	// Metrics holds the server's metrics, served on Config.MetricsAddr
	// when it is set; Open creates it. Parts of the server register theirs
	// in Metrics.Registry.
	Metrics *metrics.Metrics

	Store domain.Store
	// Directory is the accounts, users, keys and policies of Store; Open
	// creates it.
	Directory     *iam.Directory
	deliveries    *metrics.Deliveries // what the notification dispatcher reports to
	listener      net.Listener
	server        *http.Server
	console       *console.Console
	closeOnce     sync.Once
	closeErr      error
	metricsLn     net.Listener // nil without Config.MetricsAddr
	metricsServer *http.Server
	node          string        // this process, as the holder of leases
	wake          chan struct{} // tells the dispatcher of deliveries just queued
	done          chan error
	stop          chan struct{}  // ends background work
	bg            sync.WaitGroup // background work
}

// purgeInterval is how often forgotten clientTokens are deleted, under the
// lease purgeLease.
const (
	purgeInterval = time.Hour
	purgeLease    = "purge-client-tokens"
)

// OpenStore opens the configured storage engine and applies migrations. It
// first refuses, unless cfg.AllowInsecurePermissions, a data directory or
// credentials file that group or others can access (Open warns of them).
func OpenStore(ctx context.Context, cfg Config) (domain.Store, error) {
	return openStore(ctx, cfg, nil)
}

// openStore is OpenStore reporting the embedded engine's work to m, if not nil.
func openStore(ctx context.Context, cfg Config, m *metrics.Metrics) (domain.Store, error) {
	if err := checkPermissions(cfg, nil); err != nil {
		return nil, err
	}
	if cfg.DatabaseURL != "" {
		return postgres.Open(ctx, cfg.DatabaseURL, cfg.Postgres)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	var opts []sqlite.Option
	if m != nil {
		opts = append(opts, sqlite.WithObserver(m.Storage(filepath.Join(cfg.DataDir, sqlite.WALFileName))))
	}
	return sqlite.Open(ctx, cfg.DataDir, opts...)
}

// newLogger returns the logger of cfg, writing to out.
func newLogger(cfg Config, out io.Writer) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	switch cfg.LogFormat {
	case "", LogFormatText:
		return slog.New(slog.NewTextHandler(out, opts)), nil
	case LogFormatJSON:
		return slog.New(slog.NewJSONHandler(out, opts)), nil
	}
	return nil, fmt.Errorf("unknown log format %q: use %s or %s", cfg.LogFormat, LogFormatText, LogFormatJSON)
}

// Open starts the server: listeners, keys, storage. It returns once
// /healthz answers. The listeners (the API's and the metrics') are bound
// first, so that a start that cannot listen creates nothing; a start that
// fails later removes what it created (generated credentials, a new
// database, the data directory).
func (m *Main) Open(ctx context.Context) (err error) {
	if m.Out == nil {
		m.Out = os.Stderr
	}
	logger, err := newLogger(m.Config, m.Out)
	if err != nil {
		return err
	}
	if m.Config.Pprof && m.Config.MetricsAddr == "" {
		return errors.New("the profiles (pprof) are served on the metrics listener: give it an address")
	}
	if m.Log == nil {
		m.Log = logger
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
	if m.Config.MetricsAddr != "" {
		if m.metricsLn, err = net.Listen("tcp", m.Config.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
	}
	created := newCreations(m.Config.DataDir)
	defer func() {
		if err != nil {
			ln.Close()
			if m.metricsLn != nil {
				m.metricsLn.Close()
				m.metricsLn = nil
			}
			if m.Store != nil {
				m.Store.Close()
				m.Store = nil
			}
			created.undo()
		}
	}()
	keys, root, generated, err := loadKeys(m.Config, m.Out, m.Log, clientAddr(ln.Addr()))
	if err != nil {
		return err
	}
	m.Metrics = metrics.New(m.Config.Version)
	store, err := openStore(ctx, m.Config, m.Metrics)
	if err != nil {
		return fmt.Errorf("open storage: %w", err)
	}
	m.Store = store
	// A call that queued deliveries wakes the dispatcher.
	m.wake = make(chan struct{}, 1)
	svcCfg := m.Config.Service
	svcCfg.Queued = func() {
		select {
		case m.wake <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
	dir, err := openDirectory(ctx, m.Config, store, keys, m.Log, false)
	if err != nil {
		return err
	}
	m.Directory = dir
	svcCfg.Identities = dir
	audit := auditor(m.Log, m.Metrics)
	svcCfg.Decided = audit
	svc, err := service.New(ctx, store, svcCfg, m.Config.Now)
	if err != nil {
		return err
	}
	h := restjson.New(svc, directoryKeys{dir}, m.Log, m.Config.Now)
	h.MountAdmin(dir, root.AccountID, audit)
	h.SetLimits(m.Config.Limits)
	h.SetObserver(m.Metrics)
	h.SetHealth(storageHealth(store, m.Config.DatabaseURL, m.Log))
	var served http.Handler = h
	if !m.Config.NoConsole {
		m.console = console.New(svc, store, m.Log, svcCfg.EventRegion(), m.Config.Now)
		served = withConsole(h, m.console)
	}
	m.server, ln = restjson.NewServer(served, ln, m.Config.Server)
	m.listener = ln
	m.done = make(chan error, 1)
	m.stop = make(chan struct{})
	m.node = nodeName()
	// The lines to use a generated key come once the start can no longer
	// fail, and remove the key again. They and the listening lines are
	// written before /healthz answers, so that whoever waits for it finds
	// them.
	io.WriteString(m.Out, generated)
	notice(m.Log, slog.LevelInfo, "incidentd listening", "addr", ln.Addr().String(), "data", m.Config.DataDir, "storage", storageName(m.Config))
	if m.metricsLn != nil {
		notice(m.Log, slog.LevelInfo, "metrics listening", "addr", m.MetricsAddr(), "pprof", m.Config.Pprof)
	}
	go func() { m.done <- m.server.Serve(ln) }()
	if m.metricsLn != nil {
		m.metricsServer = metrics.NewServer(metrics.Handler(m.Metrics.Registry, m.Config.Pprof))
		m.bg.Add(1)
		go m.serveMetrics()
	}
	m.deliveries = m.Metrics.Deliveries(func() (int64, time.Time, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return store.DeliveryBacklog(ctx)
	})
	m.bg.Add(2)
	go m.purge(svc)
	go m.deliver()
	return nil
}

// nodeName names this process among those on one database: its host, its
// pid and a random part, so that a restarted process is a new holder.
func nodeName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

// storageName says where the server keeps its state, without a password.
func storageName(cfg Config) string {
	if cfg.DatabaseURL == "" {
		return "sqlite " + filepath.Join(cfg.DataDir, sqlite.FileName)
	}
	if u, err := url.Parse(cfg.DatabaseURL); err == nil && u.Scheme != "" {
		return "postgresql " + u.Redacted()
	}
	return "postgresql"
}

// notice writes a start-up line whatever the log level: which key is in
// use, and where the server listens, are always told.
func notice(log *slog.Logger, level slog.Level, msg string, args ...any) {
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.Add(args...)
	log.Handler().Handle(context.Background(), r)
}

// clientAddr is the host:port a client on this machine reaches the
// listener at: a listener on every address (0.0.0.0, ::) is reached at the
// loopback address.
func clientAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	switch {
	case ip == nil || ip.Equal(net.IPv4zero):
		ip = net.IPv4(127, 0, 0, 1)
	case ip.Equal(net.IPv6unspecified):
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}

// serveMetrics serves the metrics listener until Close shuts it down.
func (m *Main) serveMetrics() {
	defer m.bg.Done()
	if err := m.metricsServer.Serve(m.metricsLn); !errors.Is(err, http.ErrServerClosed) {
		m.Log.Error("serving metrics", "err", err)
	}
}

// purge deletes expired clientTokens now and every purgeInterval until Close.
//
// Of the processes on one database, the one that holds the purge's lease
// purges; the lease lasts a little longer than an interval, so its holder
// keeps it by purging on time, and another process takes it over once the
// holder has stopped.
func (m *Main) purge(svc *service.Service) {
	defer m.bg.Done()
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		recovered(m.Log, "purging expired client tokens", func() {
			ctx := context.Background()
			now := time.Now()
			held, err := m.Store.AcquireLease(ctx, purgeLease, m.node, now, now.Add(purgeInterval+purgeInterval/2))
			switch {
			case err != nil:
				m.Log.Warn("purging expired client tokens: taking the lease", "err", err)
				return
			case !held:
				m.Log.Debug("purging expired client tokens: another process holds the lease", "lease", purgeLease)
				return
			}
			if n, err := svc.PurgeIdempotencyRecords(ctx); err != nil {
				m.Log.Warn("purging expired client tokens", "err", err)
			} else if n > 0 {
				m.Log.Info("purged expired client tokens", "count", n)
			}
			if n, err := m.Store.PurgeConsoleSessions(ctx, now); err != nil {
				m.Log.Warn("purging expired console sessions", "err", err)
			} else if n > 0 {
				m.Log.Info("purged expired console sessions", "count", n)
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

// MetricsAddr is the address the metrics listener listens on, or "" when
// there is none (Config.MetricsAddr is empty).
func (m *Main) MetricsAddr() string {
	if m.metricsLn == nil {
		return ""
	}
	return m.metricsLn.Addr().String()
}

// Endpoint is the URL clients pass as their endpoint.
func (m *Main) Endpoint() string { return "http://" + m.Addr() }

// Wait blocks until the server stops serving.
func (m *Main) Wait() error { return <-m.done }

// Close stops accepting connections, lets in-flight requests finish (until
// ctx ends), then stops serving metrics and closes storage. A second call
// returns what the first did.
func (m *Main) Close(ctx context.Context) error {
	m.closeOnce.Do(func() { m.closeErr = m.close(ctx) })
	return m.closeErr
}

func (m *Main) close(ctx context.Context) error {
	var errs []error
	if m.console != nil {
		// Its live streams would hold the shutdown up to its end.
		m.console.Close()
	}
	if m.server != nil {
		errs = append(errs, m.server.Shutdown(ctx))
	}
	if m.metricsServer != nil {
		errs = append(errs, m.metricsServer.Shutdown(ctx))
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
