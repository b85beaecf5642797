package main

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/incidentd/incidentd/internal/testserver"
)

// incidentd runs the binary with args and the environment extended by env,
// and returns its stdout, stderr and exit code.
func incidentd(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// commandFlags lists the flags of c as the code defines them.
func commandFlags(c *command) []*flag.Flag {
	var fl []*flag.Flag
	flagSet(c, &options{}).VisitAll(func(f *flag.Flag) { fl = append(fl, f) })
	return fl
}

// TestHelpListsEveryCommandAndFlag checks that help, -h and --help print,
// on stdout with exit 0, every command and every flag with its default.
func TestHelpListsEveryCommandAndFlag(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		out, errOut, code := incidentd(t, nil, arg)
		if code != 0 || errOut != "" {
			t.Fatalf("incidentd %s: exit %d, stderr %q", arg, code, errOut)
		}
		for _, c := range commands {
			if !strings.Contains(out, "incidentd "+c.name) {
				t.Errorf("incidentd %s does not list the command %s:\n%s", arg, c.name, out)
			}
			if c.flags == nil {
				continue
			}
			_, section, ok := strings.Cut(out, "Flags of incidentd "+c.name+":\n")
			if !ok {
				t.Errorf("incidentd %s lists no flags of %s", arg, c.name)
				continue
			}
			section, _, _ = strings.Cut(section, "\n\n")
			for _, f := range commandFlags(c) {
				if !flagListed(section, f) {
					t.Errorf("incidentd %s: %s's flag --%s with its default %q is not listed:\n%s", arg, c.name, f.Name, f.DefValue, section)
				}
			}
		}
	}
}

// flagListed reports whether a help text lists f with its default.
func flagListed(text string, f *flag.Flag) bool {
	def := "(default " + f.DefValue + ")"
	switch {
	case required[f.Name]:
		def = "(required)"
	case f.DefValue == "":
		def = "(default: none)"
	}
	re := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(f.Name) + `( \S+)?\n      .*` + regexp.QuoteMeta(def) + `$`)
	return re.MatchString(text)
}

// TestCommandHelpExitsZero checks that every command's --help and -h, and
// help COMMAND, print its flags on stdout and exit 0, creating nothing.
func TestCommandHelpExitsZero(t *testing.T) {
	for _, c := range commands {
		if c.name == "help" {
			continue
		}
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			out, errOut, code := incidentd(t, nil, args...)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: incidentd "+c.name) {
				t.Errorf("incidentd %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
			}
			for _, f := range commandFlags(c) {
				if !flagListed(out, f) {
					t.Errorf("incidentd %v does not list --%s with its default", args, f.Name)
				}
			}
		}
	}
	if out, errOut, code := incidentd(t, nil, "help", "help"); code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: incidentd help [COMMAND]") {
		t.Errorf("help help: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code := incidentd(t, nil, "help", "bogus"); code == 0 || !strings.Contains(errOut, `no command "bogus"`) {
		t.Errorf("help bogus: exit %d, stderr %q", code, errOut)
	}
}

// TestEveryListedFlagWorks parses every flag that the help lists with its
// own default value: the usage offers nothing that is refused.
func TestEveryListedFlagWorks(t *testing.T) {
	required := map[string][]string{"backup": {"--to", "copy.db"}}
	positional := map[string][]string{"notifications": {"list"}, "admin": {"accounts", "list"}}
	for _, c := range commands {
		for _, f := range commandFlags(c) {
			args := append(slices.Clone(positional[c.name]), "--"+f.Name+"="+f.DefValue)
			args = append(args, required[c.name]...)
			if f.Name == "to" {
				args = []string{"--to=copy.db"}
			}
			if _, err := parseCommand(c, args, os.Stderr); err != nil {
				t.Errorf("incidentd %s --%s=%s: %v", c.name, f.Name, f.DefValue, err)
			}
		}
	}
}

// TestMistakesExitNonZeroAndCreateNothing runs commands with a wrong flag,
// an unknown command and no command: each says what is wrong on stderr,
// exits 2 and creates no data directory.
func TestMistakesExitNonZeroAndCreateNothing(t *testing.T) {
	data := dataDir(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--data", data, "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"serve", "--data", data, "--rate-reads", "many"}, `invalid value "many" for flag -rate-reads`},
		{[]string{"serve", "--data", data, "--log-level", "loud"}, "--log-level"},
		{[]string{"serve", "--data", data, "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--data", data, "--eventbridge-bus", "no spaces"}, `--eventbridge-bus "no spaces" is not an event bus`},
		{[]string{"migrate", "--data", data, "--addr", "127.0.0.1:0"}, "flag provided but not defined: -addr"},
		{[]string{"notifications", "resend", "--data", data}, `notifications does list, show or retry, not "resend"`},
		{[]string{"notifications", "list", "--state", "lost", "--data", data}, `--state is pending, delivered or parked`},
		{[]string{"notifications", "--data", data}, "missing argument"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{nil, "Usage:"},
	} {
		out, errOut, code := incidentd(t, rootEnv(), tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "Usage") {
			t.Errorf("incidentd %v: exit %d, stdout %q, stderr %q; want exit 2 and %q with the usage on stderr", tc.args, code, out, errOut, tc.want)
		}
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused command left %s behind: %v", data, err)
	}
}

// TestVersion checks that version and --version print the module version,
// the source revision (when the build is in a git checkout) and the Go
// version.
func TestVersion(t *testing.T) {
	var rev string
	if out, err := exec.Command("git", "-C", "../..", "rev-parse", "HEAD").Output(); err == nil {
		rev = strings.TrimSpace(string(out))
	}
	for _, arg := range []string{"version", "--version"} {
		out, errOut, code := incidentd(t, nil, arg)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "incidentd ") || !strings.Contains(out, " go1.") {
			t.Fatalf("incidentd %s: exit %d, %q, stderr %q", arg, code, out, errOut)
		}
		if rev != "" && (!strings.Contains(out, "revision "+rev) || strings.Contains(out, "(devel)")) {
			t.Errorf("incidentd %s: %q names neither the module version from the build information nor the revision %s", arg, out, rev)
		}
		if rev == "" && !strings.Contains(out, "(devel)") {
			t.Errorf("incidentd %s outside a checkout: %q", arg, out)
		}
	}
}

// TestStaticBinary checks that the README's build and install lines give a
// static binary (no interpreter, no shared libraries) that serves.
func TestStaticBinary(t *testing.T) {
	gobin := t.TempDir()
	install, err := readmeCommand("CGO_ENABLED=0 go install ", "")
	if err != nil {
		t.Fatal(err)
	}
	install.Env = append(install.Env, "GOBIN="+gobin)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", install, err, out)
	}
	for _, path := range []string{binary, filepath.Join(gobin, "incidentd")} {
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s has a %v program header: it is linked dynamically", path, p.Type)
			}
		}
		if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
			t.Errorf("%s needs shared libraries %v (%v)", path, libs, err)
		}
		f.Close()
	}
	p := startServer(t, dataDir(t), freeAddr(t), rootEnv()...)
	if _, err := client(p.endpoint, testKey, testSecret).ListResponsePlans(context.Background(), &ssmincidents.ListResponsePlansInput{}); err != nil {
		t.Fatalf("the static binary does not serve: %v", err)
	}
}

// TestPrintedKeyLinesWorkWithAWSCLI runs, with the aws CLI and no AWS
// setting of the environment, the lines the first start prints.
func TestPrintedKeyLinesWorkWithAWSCLI(t *testing.T) {
	aws := testserver.RequireTool(t, "aws", "pip install awscli, or see https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html")
	data := dataDir(t)
	// On every address: the printed line names one a client can reach.
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	p := startServerArgs(t, data, addr, []string{"--log-level", "info", "--addr", ":" + port}, noKeyEnv()...)
	_, lines, ok := strings.Cut(p.stderr.String(), "Use them with any AWS client:\n")
	if !ok {
		t.Fatalf("no key lines printed:\n%s", p.stderr.String())
	}
	export, rest, _ := strings.Cut(lines, "\n")
	command, _, _ := strings.Cut(rest, "\n")
	if !strings.HasPrefix(strings.TrimSpace(command), "aws ") {
		t.Fatalf("the second line is not an aws command: %q", command)
	}
	script := strings.TrimSpace(export) + "\n" + strings.Replace(strings.TrimSpace(command), "aws ", aws+" ", 1) + "\n"
	cmd := exec.Command("sh", "-ec", script)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// No configuration file may supply a region or a key.
	cmd.Env = append(cmd.Env, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "replicationSetArns") {
		t.Fatalf("the printed lines\n%s\nfailed: %v\n%s", script, err, out)
	}
}

// noKeyEnv empties the INCIDENTD_* key variables, so that a start generates
// or uses the data directory's credentials.
func noKeyEnv() []string {
	return []string{"INCIDENTD_ACCESS_KEY_ID=", "INCIDENTD_SECRET_ACCESS_KEY=", "INCIDENTD_ACCOUNT_ID="}
}

// TestStartLogsKeyInUseAndWarnsOfIgnoredKey checks that every start logs
// the root key id, account and source, never the secret, and that a start
// with INCIDENTD_* on a data directory that keeps generated credentials
// warns that the kept key is ignored.
func TestStartLogsKeyInUseAndWarnsOfIgnoredKey(t *testing.T) {
	data := dataDir(t)
	info := []string{"--log-level", "info"}
	p := startServerArgs(t, data, freeAddr(t), info, noKeyEnv()...)
	kept := readKept(t, data)
	stop(t, p)
	if !regexp.MustCompile(`msg="root access key" access_key_id=` + kept.key + ` account=` + kept.account + ` source="generated, kept in `).MatchString(p.stderr.String()) {
		t.Errorf("first start does not log the generated key:\n%s", p.stderr.String())
	}

	p = startServerArgs(t, data, freeAddr(t), info, noKeyEnv()...)
	stop(t, p)
	log := p.stderr.String()
	if !strings.Contains(log, `access_key_id=`+kept.key+` account=`+kept.account+` source=`+filepath.Join(data, "credentials.json")) || strings.Contains(log, kept.secret) {
		t.Errorf("second start does not log the kept key, or logs its secret:\n%s", log)
	}
	if strings.Contains(log, "IGNORING") {
		t.Errorf("a start with the kept key warns of ignoring it:\n%s", log)
	}

	// Whatever the log level, the key in use and the ignored one are told.
	p = startServerArgs(t, data, freeAddr(t), []string{"--log-level", "error"}, rootEnv()...)
	log = p.stderr.String()
	if !strings.Contains(log, `access_key_id=`+testKey+` account=`+testAccount+` source="environment`) {
		t.Errorf("a start with INCIDENTD_* does not log its key:\n%s", log)
	}
	if !regexp.MustCompile(`level=WARN msg="IGNORING the root key kept in the data directory.*ignored_access_key_id=` + kept.key + ` ignored_account=` + kept.account).MatchString(log) {
		t.Errorf("a start with INCIDENTD_* does not warn that the kept key is ignored:\n%s", log)
	}
	for _, secret := range []string{kept.secret, testSecret} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds a secret:\n%s", log)
		}
	}
	// What the warning says is so: the kept key is refused.
	_, err := client(p.endpoint, kept.key, kept.secret).ListResponsePlans(context.Background(), &ssmincidents.ListResponsePlansInput{})
	if err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") {
		t.Fatalf("the ignored key: %v", err)
	}
}

type keptKey struct{ key, secret, account string }

// readKept reads the generated credentials of a data directory.
func readKept(t *testing.T, data string) keptKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	field := func(name string) string {
		m := regexp.MustCompile(`"` + name + `": "([^"]+)"`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("credentials.json has no %s: %s", name, b)
		}
		return string(m[1])
	}
	return keptKey{field("accessKeyId"), field("secretAccessKey"), field("accountId")}
}

func stop(t testing.TB, p *proc) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("server exited with %v:\n%s", err, p.stderr.String())
	}
}

// TestFailedStartLeavesNothingBehind starts the server where it cannot
// serve: on an address in use, and with a database path that cannot be
// opened. Neither leaves credentials, a database or a data directory that
// it created.
func TestFailedStartLeavesNothingBehind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := dataDir(t)
	_, errOut, code := incidentd(t, noKeyEnv(), "serve", "--addr", ln.Addr().String(), "--data", data)
	if code != 1 || !strings.Contains(errOut, "address already in use") {
		t.Fatalf("serve on a used address: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a start on a used address left %s behind (%v)", data, err)
	}
	// A credentials file that cannot be read: no key is generated, nor
	// printed.
	_, errOut, code = incidentd(t, noKeyEnv(), "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(data, "nested"), "--credentials-file", filepath.Join(t.TempDir(), "missing"))
	if code != 1 || strings.Contains(errOut, "AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("serve with a missing credentials file: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a start without its credentials file left %s behind (%v)", data, err)
	}

	// The database cannot be opened, after the credentials were generated:
	// they are removed again, and the data directory, which was there
	// before, stays with what else it holds.
	if err := os.MkdirAll(filepath.Join(data, "incidentd.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = incidentd(t, noKeyEnv(), "serve", "--addr", "127.0.0.1:0", "--data", data)
	if code != 1 || !strings.Contains(errOut, "open storage") || strings.Contains(errOut, "AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("serve on an unusable database: exit %d, %s (want no key lines: the key they name is removed)", code, errOut)
	}
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "incidentd.db" {
		t.Fatalf("a failed start left %v in the data directory, want only what was there", names)
	}
}

// TestRuntimePathsAreIgnoredByGit checks, with git in a repository of its
// own that holds only the .gitignore, that the README's data directory and
// build output are ignored: the secret key must never be committed.
func TestRuntimePathsAreIgnoredByGit(t *testing.T) {
	git := testserver.RequireTool(t, "git", "apt-get install -y git")
	ignore, err := os.ReadFile("../../.gitignore")
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if out, err := exec.Command(git, "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(repo, ".gitignore"), ignore, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"data/credentials.json", "data/incidentd.db", "data/incidentd.db-wal", "bin/incidentd", "incidentd"} {
		if err := exec.Command(git, "-C", repo, "check-ignore", "-q", "--no-index", path).Run(); err != nil {
			t.Errorf("git does not ignore %s: %v", path, err)
		}
	}
	for _, path := range []string{"cmd/incidentd/main.go", "deploy/incidentd.service", "internal/sqlite/migrations/0001_init.sql"} {
		if err := exec.Command(git, "-C", repo, "check-ignore", "-q", "--no-index", path).Run(); err == nil {
			t.Errorf("git ignores %s, a source file", path)
		}
	}
}

// TestREADMEListsEveryFlagWithItsDefault checks the README's table of
// flags against the code: every flag of every command is there with its
// default and its commands, and every flag an `incidentd COMMAND` line of the
// README uses exists.
func TestREADMEListsEveryFlagWithItsDefault(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ def, of string }
	table := map[string]row{}
	for _, m := range regexp.MustCompile("(?m)^\\| `--([a-z-]+)[^`]*` \\| ([^|]+) \\| .* \\| ([a-z, ]+) \\|$").FindAllStringSubmatch(string(readme), -1) {
		table[m[1]] = row{strings.TrimSpace(m[2]), m[3]}
	}
	environmental := map[string]string{"data": "`~/.local/share/incidentd`", "credentials-file": "none"}
	for _, c := range commands {
		for _, f := range commandFlags(c) {
			r, ok := table[f.Name]
			want := "`" + f.DefValue + "`"
			switch {
			case required[f.Name]:
				want = "required"
			case f.DefValue == "":
				want = "none"
			}
			if w, ok := environmental[f.Name]; ok {
				want = w
			}
			switch {
			case !ok:
				t.Errorf("the README's table of flags lacks --%s", f.Name)
			case !strings.Contains(r.def, want):
				t.Errorf("the README gives --%s the default %s, want %s", f.Name, r.def, want)
			case !regexp.MustCompile(`\b` + c.name + `\b`).MatchString(r.of):
				t.Errorf("the README does not say --%s is a flag of %s (%q)", f.Name, c.name, r.of)
			}
		}
	}
	for _, m := range regexp.MustCompile(`incidentd (serve|migrate|backup)\b([^\n`+"`"+`]*)`).FindAllStringSubmatch(string(readme), -1) {
		c := lookup(m[1])
		if c == nil {
			t.Errorf("the README uses a command incidentd %s that does not exist", m[1])
			continue
		}
		known := map[string]bool{"help": true, "h": true}
		for _, f := range commandFlags(c) {
			known[f.Name] = true
		}
		for _, f := range regexp.MustCompile(`--([a-z-]+)`).FindAllStringSubmatch(m[2], -1) {
			if !known[f[1]] {
				t.Errorf("the README's %q uses --%s, which incidentd %s does not have", m[0], f[1], c.name)
			}
		}
	}
}
