// Command incidentd is a self-hosted, wire-compatible AWS Systems Manager
// Incident Manager (ssm-incidents).
//
//	incidentd serve   [--addr HOST:PORT] [--data DIR] [--database-url URL]
//	incidentd migrate [--data DIR] [--database-url URL]
//	incidentd version
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/service"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "incidentd:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  incidentd serve   [--addr HOST:PORT] [--data DIR] [--database-url URL]   run the server
  incidentd migrate [--data DIR] [--database-url URL]                      apply schema migrations and exit
  incidentd version                                                        print the version
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("missing subcommand")
	}
	switch args[0] {
	case "serve":
		cfg, err := parseFlags("serve", args[1:], stderr)
		if err != nil {
			return err
		}
		return serve(cfg, stderr)
	case "migrate":
		cfg, err := parseFlags("migrate", args[1:], stderr)
		if err != nil {
			return err
		}
		store, err := app.OpenStore(context.Background(), cfg)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "incidentd: schema is up to date")
		return store.Close()
	case "version":
		fmt.Fprintln(stdout, "incidentd", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// parseFlags reads the flags of a subcommand and the INCIDENTD_* environment.
func parseFlags(name string, args []string, stderr io.Writer) (app.Config, error) {
	cfg := app.Config{
		AccessKeyID:     os.Getenv("INCIDENTD_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("INCIDENTD_SECRET_ACCESS_KEY"),
		AccountID:       os.Getenv("INCIDENTD_ACCOUNT_ID"),
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", app.DefaultAddr, "address to listen on")
	fs.StringVar(&cfg.DataDir, "data", app.DefaultDataDir(), "data directory (embedded database, generated credentials)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", os.Getenv("INCIDENTD_DATABASE_URL"), "PostgreSQL URL to use instead of the embedded database")
	fs.StringVar(&cfg.CredentialsFile, "credentials-file", os.Getenv("INCIDENTD_CREDENTIALS_FILE"), "file of further access keys: ACCESS_KEY_ID SECRET ACCOUNT_ID [PRINCIPAL_ARN] per line")
	fs.DurationVar(&cfg.Service.ProvisioningDelay, "provisioning-delay", 0, "how long a new replication set or region reads CREATING")
	fs.DurationVar(&cfg.Service.RegionDeleteMinAge, "region-delete-min-age", 0, "refuse to delete a region younger than this (AWS: 24h; 0 disables)")
	fs.DurationVar(&cfg.Service.FindingLookback, "finding-lookback", service.DefaultFindingLookback, "how long before an incident's creation a change counts as a finding of it")
	fs.IntVar(&cfg.Service.ResourcePoliciesPerPlan, "resource-policies-per-plan", service.DefaultResourcePoliciesPerPlan, "how many resource policies one response plan may have")
	fs.Float64Var(&cfg.Limits.ReadRate, "rate-reads", app.DefaultReadRate, "reads (Get*, List*, BatchGet*) per second per account; 0 turns the limit off")
	fs.Float64Var(&cfg.Limits.WriteRate, "rate-writes", app.DefaultWriteRate, "writes (every other operation) per second per account; 0 turns the limit off")
	fs.IntVar(&cfg.Limits.MaxInFlight, "max-in-flight", app.DefaultMaxInFlight, "requests served at once; beyond it requests are throttled at once")
	fs.Int64Var(&cfg.Limits.MaxBodyBytesInFlight, "max-body-bytes-in-flight", app.DefaultMaxBodyBytesInFlight, "bytes of request bodies held at once; beyond it requests are throttled at once")
	fs.IntVar(&cfg.Server.MaxConnections, "max-connections", restjson.DefaultMaxConnections, "connections open at once; further ones wait to be accepted")
	fs.IntVar(&cfg.Server.MaxConnectionsPerClient, "max-connections-per-client", restjson.DefaultMaxConnectionsPerClient, "connections open at once from one client address; further ones are throttled")
	fs.DurationVar(&cfg.Server.ReadHeaderTimeout, "read-header-timeout", restjson.DefaultReadHeaderTimeout, "time a client has to send a request's headers")
	fs.DurationVar(&cfg.Server.ReadTimeout, "read-timeout", restjson.DefaultReadTimeout, "time a client has to send a whole request")
	fs.DurationVar(&cfg.Server.WriteTimeout, "write-timeout", restjson.DefaultWriteTimeout, "time from a request's headers to the end of its answer")
	fs.DurationVar(&cfg.Server.IdleTimeout, "idle-timeout", restjson.DefaultIdleTimeout, "how long a kept-alive connection may wait for its next request")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	strictPermissions := fs.Bool("strict-permissions", true, "refuse to start when the data directory or a credentials file is accessible by group or others (false: only warn)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return cfg, err
	}
	cfg.AllowInsecurePermissions = !*strictPermissions
	if cfg.Service.FindingLookback <= 0 {
		return cfg, fmt.Errorf("--finding-lookback must be positive, not %v", cfg.Service.FindingLookback)
	}
	if cfg.Limits.ReadRate < 0 || cfg.Limits.WriteRate < 0 {
		return cfg, fmt.Errorf("--rate-reads and --rate-writes must be 0 (no limit) or more")
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"--max-in-flight", int64(cfg.Limits.MaxInFlight)}, {"--max-connections", int64(cfg.Server.MaxConnections)},
		{"--max-connections-per-client", int64(cfg.Server.MaxConnectionsPerClient)},
		{"--max-body-bytes-in-flight", cfg.Limits.MaxBodyBytesInFlight}} {
		if f.v < 1 {
			return cfg, fmt.Errorf("%s must be at least 1, not %d", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"--read-header-timeout", cfg.Server.ReadHeaderTimeout}, {"--read-timeout", cfg.Server.ReadTimeout},
		{"--write-timeout", cfg.Server.WriteTimeout}, {"--idle-timeout", cfg.Server.IdleTimeout}} {
		if f.v <= 0 {
			return cfg, fmt.Errorf("%s must be positive, not %v", f.name, f.v)
		}
	}
	if cfg.Service.ResourcePoliciesPerPlan < 1 {
		return cfg, fmt.Errorf("--resource-policies-per-plan must be at least 1, not %d", cfg.Service.ResourcePoliciesPerPlan)
	}
	return cfg, nil
}

func serve(cfg app.Config, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	m := &app.Main{Config: cfg, Out: stderr}
	if err := m.Open(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-waitChan(m):
		m.Close(context.Background())
		return err
	}
	m.Log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return m.Close(shutdownCtx)
}

func waitChan(m *app.Main) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- m.Wait() }()
	return ch
}
