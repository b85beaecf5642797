// Command incidentd is a self-hosted, wire-compatible AWS Systems Manager
// Incident Manager (ssm-incidents). `incidentd help` lists its commands and
// their flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/notify"
	"github.com/incidentd/incidentd/internal/restjson"
	"github.com/incidentd/incidentd/internal/service"
)

// version is set at build time with -ldflags "-X main.version=…"; without
// it the module version of the build information is printed.
var version = ""

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "incidentd:", err)
		os.Exit(1)
	}
}

// errUsage is returned once the usage text has said what is wrong; the
// command then exits 2, and 1 when it failed otherwise.
var errUsage = errors.New("usage")

// A command is one subcommand of incidentd.
type command struct {
	name    string
	args    string // what follows the name in the usage line
	summary string
	// flags registers the command's flags on fs, parsing into cfg.
	flags func(fs *flag.FlagSet, cfg *options)
	run   func(opts *options, stdout, stderr io.Writer) error
	// positional is how many arguments the command takes before its flags
	// (at least min, at most max); they are in options.args.
	positional struct{ min, max int }
}

// options is what the flags of a command set.
type options struct {
	app.Config
	logLevel          string
	strictPermissions bool
	backupTo          string
	fromSQLite        string
	databaseMaxConns  int
	args              []string // the command's positional arguments
	notifications     notificationOptions
	admin             adminOptions
	console           bool
}

var commands []*command

func init() {
	commands = []*command{
		{name: "serve", args: "[flags]", summary: "run the server", flags: serveFlags, run: func(o *options, _, stderr io.Writer) error {
			return serve(o.Config, stderr)
		}},
		{name: "migrate", args: "[flags]", summary: "apply the schema migrations to the database and exit; with --from-sqlite, copy an embedded database into an empty PostgreSQL one", flags: migrateFlags, run: func(o *options, stdout, _ io.Writer) error {
			ctx, stop := interruptible()
			defer stop()
			if o.fromSQLite != "" {
				return app.MigrateFromSQLite(ctx, o.Config, o.fromSQLite, stdout)
			}
			store, err := app.OpenStore(ctx, o.Config)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, "incidentd: schema is up to date")
			return store.Close()
		}},
		{name: "backup", args: "--to FILE [flags]", summary: "write a consistent copy of the database, also while the server runs, and check that it opens", flags: backupFlags, run: func(o *options, stdout, _ io.Writer) error {
			// Interrupted, the backup stops and removes what it wrote.
			ctx, stop := interruptible()
			defer stop()
			return app.Backup(ctx, o.Config, o.backupTo, stdout)
		}},
		{name: "notifications", args: "list|show ID|retry ID [flags]", summary: "list the notifications to SNS and their delivery, show one, or deliver a parked one again; on the database directly, the server running or not",
			flags: notificationsFlags, positional: struct{ min, max int }{1, 2}, run: runNotifications},
		{name: "admin", args: "accounts|users|groups|keys|policies VERB | explain [flags]", summary: "manage the accounts, users, groups, access keys and identity-based policies that authorize requests (accounts create|list|set-org, users create|list|delete|set-password, groups create|list|delete|add-user|remove-user, keys create|list|activate|deactivate|delete, policies put|list|delete), or explain how a request would be decided; on the database directly, the server running or not",
			flags: adminFlags, positional: struct{ min, max int }{1, 2}, run: runAdmin},
		{name: "version", summary: "print the version, the source revision and the Go version", run: func(_ *options, stdout, _ io.Writer) error {
			fmt.Fprintln(stdout, versionString())
			return nil
		}},
		{name: "help", args: "[COMMAND]", summary: "print this help, or the help of one command"},
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printUsage(stderr)
		return errUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	if name == "help" {
		if len(args) > 2 {
			printUsage(stderr)
			return errUsage
		}
		if len(args) == 2 {
			c := lookup(args[1])
			if c == nil {
				fmt.Fprintf(stderr, "incidentd: no command %q\n\n", args[1])
				printUsage(stderr)
				return errUsage
			}
			printCommand(stdout, c)
			return nil
		}
		printUsage(stdout)
		return nil
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(stderr, "incidentd: unknown command %q\n\n", name)
		printUsage(stderr)
		return errUsage
	}
	opts, err := parseCommand(c, args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		printCommand(stdout, c)
		return nil
	}
	if err != nil {
		return err
	}
	return c.run(opts, stdout, stderr)
}

// parseCommand parses a command's flags; on a mistake it prints the
// command's help to stderr after saying what is wrong.
func parseCommand(c *command, args []string, stderr io.Writer) (*options, error) {
	opts := &options{}
	fs := flagSet(c, opts)
	fs.SetOutput(io.Discard)
	// Positional arguments come first.
	for len(args) > 0 && len(opts.args) < c.positional.max && !strings.HasPrefix(args[0], "-") {
		opts.args, args = append(opts.args, args[0]), args[1:]
	}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, err
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err == nil && len(opts.args) < c.positional.min {
		err = fmt.Errorf("missing argument: %s", c.args)
	}
	if err == nil && c.flags != nil {
		err = opts.check(c)
	}
	if err != nil {
		fmt.Fprintf(stderr, "incidentd %s: %v\n\n", c.name, err)
		printCommand(stderr, c)
		return nil, errUsage
	}
	return opts, nil
}

func flagSet(c *command, opts *options) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	if c.flags != nil {
		c.flags(fs, opts)
	}
	return fs
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "incidentd serves the API of AWS Systems Manager Incident Manager (ssm-incidents).\n\nUsage:\n")
	width := 0
	for _, c := range commands {
		width = max(width, len(synopsis(c)))
	}
	for _, c := range commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, synopsis(c), c.summary)
	}
	for _, c := range commands {
		if c.flags != nil {
			fmt.Fprintf(w, "\nFlags of incidentd %s:\n", c.name)
			printFlags(w, flagSet(c, &options{}))
		}
	}
}

// synopsis is the usage line of c.
func synopsis(c *command) string { return strings.TrimSpace("incidentd " + c.name + " " + c.args) }

func printCommand(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: %s\n\n%s.\n", synopsis(c), strings.ToUpper(c.summary[:1])+c.summary[1:])
	if c.flags != nil {
		fmt.Fprint(w, "\nFlags:\n")
		printFlags(w, flagSet(c, &options{}))
	}
}

// printFlags lists the flags of fs in the --name form the documentation
// uses, each with its default, or "(required)" for one that has none and
// must be given.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if kind != "" {
			line += " " + kind
		}
		fmt.Fprintf(w, "%s\n      %s", line, usage)
		switch {
		case required[f.Name]:
			fmt.Fprint(w, " (required)")
		case f.DefValue == "":
			fmt.Fprint(w, " (default: none)")
		default:
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// required are the flags without a default that their command needs.
var required = map[string]bool{"to": true}

func versionString() string {
	v := version
	bi, ok := debug.ReadBuildInfo()
	if v == "" && ok {
		v = bi.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	s := "incidentd " + v
	if ok {
		var rev, at string
		var modified bool
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.time":
				at = kv.Value
			case "vcs.modified":
				modified = kv.Value == "true"
			}
		}
		if rev != "" {
			s += ", revision " + rev
			if at != "" {
				s += " of " + at
			}
			if modified {
				s += " with uncommitted changes"
			}
		}
	}
	return s + ", " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// dataFlags are the flags of the commands that open the data directory.
func dataFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.DataDir, "data", app.DefaultDataDir(), "`DIR` of the embedded database and the generated credentials")
	fs.BoolVar(&o.strictPermissions, "strict-permissions", true, "refuse to start when the data directory or a credentials file is accessible by group or others (false: only warn)")
}

// databaseFlag is the flag that chooses PostgreSQL over the embedded
// database.
func databaseFlag(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("INCIDENTD_DATABASE_URL"), "PostgreSQL `URL` (postgres://USER@HOST:PORT/DATABASE?sslmode=…) to keep everything in instead of the embedded database (or $INCIDENTD_DATABASE_URL)")
}

// migrateFlags are the flags of incidentd migrate.
func migrateFlags(fs *flag.FlagSet, o *options) {
	dataFlags(fs, o)
	databaseFlag(fs, o)
	fs.StringVar(&o.fromSQLite, "from-sqlite", "", "data `DIR` of an embedded database to copy, whole, into the empty PostgreSQL database of --database-url, also while a server runs on it")
}

// backupFlags are the flags of incidentd backup.
func backupFlags(fs *flag.FlagSet, o *options) {
	dataFlags(fs, o)
	fs.StringVar(&o.backupTo, "to", "", "`FILE` to write the copy to; it must not exist yet")
}

// serveFlags are the flags of incidentd serve; the root credentials come
// from the INCIDENTD_* environment.
func serveFlags(fs *flag.FlagSet, o *options) {
	o.AccessKeyID = os.Getenv("INCIDENTD_ACCESS_KEY_ID")
	o.SecretAccessKey = os.Getenv("INCIDENTD_SECRET_ACCESS_KEY")
	o.AccountID = os.Getenv("INCIDENTD_ACCOUNT_ID")
	fs.StringVar(&o.Addr, "addr", app.DefaultAddr, "`HOST:PORT` to serve the API on")
	dataFlags(fs, o)
	databaseFlag(fs, o)
	fs.IntVar(&o.databaseMaxConns, "database-max-conns", app.DefaultDatabaseMaxConns, "connections to PostgreSQL at most, per incidentd process")
	fs.DurationVar(&o.Postgres.StatementTimeout, "database-statement-timeout", app.DefaultDatabaseStatementTimeout, "how long one PostgreSQL statement may run before it is cancelled")
	secretsFlag(fs, o)
	fs.BoolVar(&o.console, "console", true, "serve the web console under /console/ on the API listener (a browser asking for / is sent there)")
	fs.StringVar(&o.CredentialsFile, "credentials-file", os.Getenv("INCIDENTD_CREDENTIALS_FILE"), "`FILE` of further access keys, one ACCESS_KEY_ID SECRET ACCOUNT_ID [PRINCIPAL_ARN] per line (or $INCIDENTD_CREDENTIALS_FILE)")
	fs.DurationVar(&o.Service.ProvisioningDelay, "provisioning-delay", 0, "how long a new replication set or region reads CREATING")
	fs.DurationVar(&o.Service.RegionDeleteMinAge, "region-delete-min-age", 0, "refuse to delete a region younger than this (AWS: 24h; 0 disables)")
	fs.DurationVar(&o.Service.FindingLookback, "finding-lookback", service.DefaultFindingLookback, "how long before an incident's creation a change counts as a finding of it")
	fs.IntVar(&o.Service.ResourcePoliciesPerPlan, "resource-policies-per-plan", service.DefaultResourcePoliciesPerPlan, "how many resource policies one response plan may have")
	fs.Float64Var(&o.Limits.ReadRate, "rate-reads", app.DefaultReadRate, "reads (Get*, List*, BatchGet*) per second per account; 0 turns the limit off")
	fs.Float64Var(&o.Limits.WriteRate, "rate-writes", app.DefaultWriteRate, "writes (every other operation) per second per account; 0 turns the limit off")
	fs.IntVar(&o.Limits.MaxInFlight, "max-in-flight", app.DefaultMaxInFlight, "requests served at once; beyond it requests are throttled at once")
	fs.Int64Var(&o.Limits.MaxBodyBytesInFlight, "max-body-bytes-in-flight", app.DefaultMaxBodyBytesInFlight, "bytes of request bodies held at once; beyond it requests are throttled at once")
	fs.IntVar(&o.Server.MaxConnections, "max-connections", restjson.DefaultMaxConnections, "connections open at once; further ones wait to be accepted")
	fs.IntVar(&o.Server.MaxConnectionsPerClient, "max-connections-per-client", restjson.DefaultMaxConnectionsPerClient, "connections open at once from one client address; further ones are throttled")
	fs.DurationVar(&o.Server.ReadHeaderTimeout, "read-header-timeout", restjson.DefaultReadHeaderTimeout, "time a client has to send a request's headers")
	fs.DurationVar(&o.Server.ReadTimeout, "read-timeout", restjson.DefaultReadTimeout, "time a client has to send a whole request")
	fs.DurationVar(&o.Server.WriteTimeout, "write-timeout", restjson.DefaultWriteTimeout, "time from a request's headers to the end of its answer")
	fs.DurationVar(&o.Server.IdleTimeout, "idle-timeout", restjson.DefaultIdleTimeout, "how long a kept-alive connection may wait for its next request")
	fs.StringVar(&o.logLevel, "log-level", "info", "`LEVEL` of the log: debug, info, warn or error (debug adds each request's storage time and commit group)")
	fs.StringVar(&o.LogFormat, "log-format", app.LogFormatText, "`FORMAT` of the log lines: text (key=value) or json")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", "", "`HOST:PORT` of a second listener serving Prometheus metrics at /metrics, without authentication")
	fs.BoolVar(&o.Pprof, "pprof", false, "also serve the Go runtime's profiles at /debug/pprof/ on the metrics listener")
	fs.StringVar(&o.SNSEndpoint, "sns-endpoint", "", "`URL` of the SNS endpoint notifications are published to (else $AWS_ENDPOINT_URL_SNS, $AWS_ENDPOINT_URL, or AWS's own for each topic's region; credentials from the standard AWS chain)")
	fs.IntVar(&o.NotificationAttempts, "notification-attempts", notify.DefaultMaxAttempts, "attempts to publish a notification before it is parked")
	fs.StringVar(&o.Service.EventBus, "eventbridge-bus", "", "`NAME` (or ARN) of an EventBridge event bus that every call changing state is put on as an \"AWS API Call via CloudTrail\" event (endpoint from $AWS_ENDPOINT_URL_EVENTBRIDGE or $AWS_ENDPOINT_URL, region from $AWS_REGION, credentials from the standard AWS chain)")
}

// eventBusRE is what EventBridge takes as an event bus: a name, or the
// ARN of one.
var eventBusRE = regexp.MustCompile(`^(arn:aws[\w-]*:events:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:event-bus/)?[/.\-_A-Za-z0-9]{1,256}$`)

// check validates what the flags set and derives the rest of the Config.
func (o *options) check(c *command) error {
	o.AllowInsecurePermissions = !o.strictPermissions
	o.NoConsole = !o.console
	if c.name == "backup" && o.backupTo == "" {
		return errors.New("--to FILE is required: where to write the copy")
	}
	if c.name == "migrate" && o.fromSQLite != "" && o.DatabaseURL == "" {
		return errors.New("--from-sqlite DIR copies into PostgreSQL: --database-url URL (or $INCIDENTD_DATABASE_URL) is required, the empty database to copy into")
	}
	if o.Service.EventBus != "" && !eventBusRE.MatchString(o.Service.EventBus) {
		return fmt.Errorf("--eventbridge-bus %q is not an event bus: give its name (letters, digits, ., -, _ and /; at most 256) or its ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)", o.Service.EventBus)
	}
	if c.name == "notifications" {
		return checkNotifications(o)
	}
	if c.name == "admin" {
		return checkAdmin(o)
	}
	if c.name != "serve" {
		return nil
	}
	if o.databaseMaxConns < 1 || o.databaseMaxConns > math.MaxInt32 {
		return fmt.Errorf("--database-max-conns must be at least 1, not %d", o.databaseMaxConns)
	}
	o.Postgres.MaxConns = int32(o.databaseMaxConns)
	if o.Postgres.StatementTimeout <= 0 {
		return fmt.Errorf("--database-statement-timeout must be positive, not %v", o.Postgres.StatementTimeout)
	}
	o.Version = version
	if err := o.LogLevel.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %v", err)
	}
	if o.LogFormat != app.LogFormatText && o.LogFormat != app.LogFormatJSON {
		return fmt.Errorf("--log-format is text or json, not %q", o.LogFormat)
	}
	if o.Pprof && o.MetricsAddr == "" {
		return errors.New("--pprof serves the profiles on the metrics listener: give it an address with --metrics-addr")
	}
	if o.Service.FindingLookback <= 0 {
		return fmt.Errorf("--finding-lookback must be positive, not %v", o.Service.FindingLookback)
	}
	if o.Limits.ReadRate < 0 || o.Limits.WriteRate < 0 {
		return fmt.Errorf("--rate-reads and --rate-writes must be 0 (no limit) or more")
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"--max-in-flight", int64(o.Limits.MaxInFlight)}, {"--max-connections", int64(o.Server.MaxConnections)},
		{"--max-connections-per-client", int64(o.Server.MaxConnectionsPerClient)},
		{"--max-body-bytes-in-flight", o.Limits.MaxBodyBytesInFlight}} {
		if f.v < 1 {
			return fmt.Errorf("%s must be at least 1, not %d", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"--read-header-timeout", o.Server.ReadHeaderTimeout}, {"--read-timeout", o.Server.ReadTimeout},
		{"--write-timeout", o.Server.WriteTimeout}, {"--idle-timeout", o.Server.IdleTimeout}} {
		if f.v <= 0 {
			return fmt.Errorf("%s must be positive, not %v", f.name, f.v)
		}
	}
	if o.Service.ResourcePoliciesPerPlan < 1 {
		return fmt.Errorf("--resource-policies-per-plan must be at least 1, not %d", o.Service.ResourcePoliciesPerPlan)
	}
	return nil
}

// interruptible is a context that SIGTERM and SIGINT end.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

func serve(cfg app.Config, stderr io.Writer) error {
	ctx, stop := interruptible()
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
