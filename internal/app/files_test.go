package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/secrets"
	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/incidentd/incidentd/internal/testserver"
)

const (
	rootKey     = "AKIDFILESTEST"
	rootSecret  = "secret-of-the-files-test"
	rootAccount = "111122223333"
)

// rootConfig is the configuration of a server on data with the root key.
func rootConfig(data string) app.Config {
	return app.Config{Addr: "127.0.0.1:0", DataDir: data, AccessKeyID: rootKey, SecretAccessKey: rootSecret, AccountID: rootAccount}
}

// open starts a server with cfg and returns it, what it wrote to Out, and
// the error of Open. A started server is closed at the end of the test.
func open(t *testing.T, cfg app.Config) (*app.Main, string, error) {
	t.Helper()
	out := &testserver.SyncBuffer{}
	m := &app.Main{Config: cfg, Out: out}
	err := m.Open(context.Background())
	if err == nil {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := m.Close(ctx); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	return m, out.String(), err
}

// privateDir returns a new directory of mode 0700: t.TempDir's are 0777
// less the umask, which is often 022.
func privateDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	chmod(t, dir, 0o700)
	return dir
}

// chmod sets the mode of path and fails the test if it cannot.
func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes content to a new file of mode 0600 in a new directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDataDirectoryPermissions(t *testing.T) {
	cases := []struct {
		mode     os.FileMode
		insecure bool   // AllowInsecurePermissions
		problem  string // PATH stands for the directory; "" for none
	}{
		{0o700, false, ""},
		{0o755, false, "data directory PATH is accessible by others (mode 0755): run chmod 700 PATH"},
		{0o750, false, "data directory PATH is accessible by others (mode 0750): run chmod 700 PATH"},
		{0o701, false, "data directory PATH is accessible by others (mode 0701): run chmod 700 PATH"},
		{0o777, false, "data directory PATH is accessible by others (mode 0777): run chmod 700 PATH"},
		{0o700, true, ""},
		{0o755, true, "data directory PATH is accessible by others (mode 0755): run chmod 700 PATH"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%04o%s", tc.mode, map[bool]string{true: " allowed"}[tc.insecure]), func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(data, 0o700); err != nil {
				t.Fatal(err)
			}
			chmod(t, data, tc.mode)
			cfg := rootConfig(data)
			cfg.AllowInsecurePermissions = tc.insecure
			_, out, err := open(t, cfg)
			checkStart(t, tc.problem, tc.insecure, data, out, err)
			if err != nil {
				if _, serr := os.Stat(filepath.Join(data, sqlite.FileName)); serr == nil {
					t.Error("the refused start created the database")
				}
			}
		})
	}
}

// checkStart checks the outcome of a start whose problem, if any, is
// problem with PATH standing for path: refused with it and its remedy, or
// started with it as a warning when insecure modes are allowed.
func checkStart(t *testing.T, problem string, insecure bool, path, out string, err error) {
	t.Helper()
	problem = strings.ReplaceAll(problem, "PATH", path)
	switch {
	case problem == "":
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		if strings.Contains(out, "warning") {
			t.Fatalf("warned:\n%s", out)
		}
	case insecure:
		if err != nil {
			t.Fatalf("refused with insecure modes allowed: %v", err)
		}
		if want := "incidentd: warning: " + problem + "\n"; !strings.Contains(out, want) {
			t.Fatalf("no warning %q in:\n%s", want, out)
		}
	default:
		if want := problem + ", or start with --strict-permissions=false"; err == nil || err.Error() != want {
			t.Fatalf("error %v\nwant %s", err, want)
		}
	}
}

func TestCredentialsFilePermissions(t *testing.T) {
	const line = "AKIDPERMISSIONS secret-of-permissions 444455556666\n"
	cases := []struct {
		name      string
		generated bool // the file is DATA/credentials.json rather than --credentials-file
		mode      os.FileMode
		insecure  bool
		problem   string
	}{
		{"file 0600", false, 0o600, false, ""},
		{"file 0400", false, 0o400, false, ""},
		{"file 0644", false, 0o644, false, "credentials file PATH is accessible by others (mode 0644): run chmod 600 PATH"},
		{"file 0640", false, 0o640, false, "credentials file PATH is accessible by others (mode 0640): run chmod 600 PATH"},
		{"file 0606", false, 0o606, false, "credentials file PATH is accessible by others (mode 0606): run chmod 600 PATH"},
		{"file 0644 allowed", false, 0o644, true, "credentials file PATH is accessible by others (mode 0644): run chmod 600 PATH"},
		{"credentials.json 0600", true, 0o600, false, ""},
		{"credentials.json 0644", true, 0o644, false, "credentials file PATH is accessible by others (mode 0644): run chmod 600 PATH"},
		{"credentials.json 0644 allowed", true, 0o644, true, "credentials file PATH is accessible by others (mode 0644): run chmod 600 PATH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := privateDir(t)
			cfg := rootConfig(data)
			cfg.AllowInsecurePermissions = tc.insecure
			var path string
			if tc.generated {
				cfg.AccessKeyID, cfg.SecretAccessKey, cfg.AccountID = "", "", ""
				path = filepath.Join(data, app.CredentialsFileName)
				b, _ := json.Marshal(map[string]string{"accessKeyId": rootKey, "secretAccessKey": rootSecret, "accountId": rootAccount})
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
			} else {
				path = writeFile(t, "keys", line)
				cfg.CredentialsFile = path
			}
			chmod(t, path, tc.mode)
			_, out, err := open(t, cfg)
			checkStart(t, tc.problem, tc.insecure, path, out, err)
		})
	}
}

func TestMigrateRefusesOpenDataDirectory(t *testing.T) {
	data := t.TempDir()
	chmod(t, data, 0o750)
	_, err := app.OpenStore(context.Background(), rootConfig(data))
	want := "data directory " + data + " is accessible by others (mode 0750): run chmod 700 " + data + ", or start with --strict-permissions=false"
	if err == nil || err.Error() != want {
		t.Fatalf("OpenStore: %v\nwant %s", err, want)
	}
	cfg := rootConfig(data)
	cfg.AllowInsecurePermissions = true
	store, err := app.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatalf("OpenStore with insecure modes allowed: %v", err)
	}
	store.Close()
}

func TestPermissionsMessageQuotesPath(t *testing.T) {
	data := filepath.Join(t.TempDir(), "my data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	chmod(t, data, 0o755)
	_, _, err := open(t, rootConfig(data))
	if err == nil || !strings.Contains(err.Error(), "run chmod 700 '"+data+"', or") {
		t.Fatalf("error %v does not quote %s", err, data)
	}
}

func TestGeneratedCredentialsFile(t *testing.T) {
	for _, existing := range []bool{false, true} {
		name := map[bool]string{false: "new data directory", true: "existing data directory"}[existing]
		t.Run(name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			if existing {
				if err := os.Mkdir(data, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			_, out, err := open(t, app.Config{Addr: "127.0.0.1:0", DataDir: data})
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range map[string]os.FileMode{data: 0o700, filepath.Join(data, app.CredentialsFileName): 0o600} {
				fi, err := os.Stat(path)
				if err != nil || fi.Mode().Perm() != want {
					t.Fatalf("%s: %v %v, want mode %04o", path, fi, err, want)
				}
			}
			b, err := os.ReadFile(filepath.Join(data, app.CredentialsFileName))
			if err != nil {
				t.Fatal(err)
			}
			var c struct{ AccessKeyID, SecretAccessKey, AccountID string }
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatalf("credentials.json is not JSON: %v\n%s", err, b)
			}
			if !regexp.MustCompile(`^AKID[A-Z2-7]{16}$`).MatchString(c.AccessKeyID) || len(c.SecretAccessKey) != 40 || !regexp.MustCompile(`^[0-9]{12}$`).MatchString(c.AccountID) {
				t.Fatalf("credentials.json holds %+v", c)
			}
			if want := "export AWS_ACCESS_KEY_ID=" + c.AccessKeyID + " AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey + " "; !strings.Contains(out, want) {
				t.Fatalf("the printed key is not the kept one (%q):\n%s", want, out)
			}
			entries, err := os.ReadDir(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != app.CredentialsFileName && e.Name() != secrets.FileName && !strings.HasPrefix(e.Name(), sqlite.FileName) {
					t.Errorf("%s left in the data directory", e.Name())
				}
			}
		})
	}
}

func TestGeneratedCredentialsFileMustBeComplete(t *testing.T) {
	data := privateDir(t)
	path := filepath.Join(data, app.CredentialsFileName)
	if err := os.WriteFile(path, []byte(`{"accessKeyId": "AKIDINCOMPLETE", "accountId": "111122223333"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := open(t, app.Config{Addr: "127.0.0.1:0", DataDir: data})
	if want := path + ": want all of accessKeyId, secretAccessKey and accountId"; err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
}

func TestCredentialsFileLines(t *testing.T) {
	const good = "AKIDGOODLINE good-secret 444455556666 arn:aws:iam::444455556666:user/good"
	cases := []struct {
		name, line, want string // want follows "FILE:3: "
	}{
		{"wrong account", "AKIDBADLINE s 444455556666 arn:aws:iam::111122223333:user/alice",
			`principal "arn:aws:iam::111122223333:user/alice" is in account "111122223333", not in the line's account 444455556666`},
		{"root of another account", "AKIDBADLINE s 444455556666 arn:aws:iam::111122223333:root",
			`principal "arn:aws:iam::111122223333:root" is in account "111122223333", not in the line's account 444455556666`},
		{"no account", "AKIDBADLINE s 444455556666 arn:aws:iam:::user/alice",
			`principal "arn:aws:iam:::user/alice" is in account "", not in the line's account 444455556666`},
		{"not an ARN", "AKIDBADLINE s 444455556666 alice",
			`principal "alice" is not an ARN: want arn:aws:iam::444455556666:root, arn:aws:iam::444455556666:user/NAME or arn:aws:iam::444455556666:role/NAME`},
		{"too few parts", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666",
			`principal "arn:aws:iam::444455556666" is not an ARN: want arn:aws:iam::444455556666:root, arn:aws:iam::444455556666:user/NAME or arn:aws:iam::444455556666:role/NAME`},
		{"other partition", "AKIDBADLINE s 444455556666 arn:aws-cn:iam::444455556666:user/alice",
			`principal "arn:aws-cn:iam::444455556666:user/alice" is in partition "aws-cn": incidentd knows only the aws partition`},
		{"other service", "AKIDBADLINE s 444455556666 arn:aws:sts::444455556666:assumed-role/ops/session",
			`principal "arn:aws:sts::444455556666:assumed-role/ops/session" is of service "sts", not iam`},
		{"region", "AKIDBADLINE s 444455556666 arn:aws:iam:us-east-1:444455556666:user/alice",
			`principal "arn:aws:iam:us-east-1:444455556666:user/alice" names region "us-east-1": IAM ARNs name none`},
		{"group", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666:group/admins",
			`principal "arn:aws:iam::444455556666:group/admins" names "group/admins": want root, user/NAME or role/NAME`},
		{"policy", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666:policy/ReadOnly",
			`principal "arn:aws:iam::444455556666:policy/ReadOnly" names "policy/ReadOnly": want root, user/NAME or role/NAME`},
		{"user without name", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666:user",
			`principal "arn:aws:iam::444455556666:user" names "user": want root, user/NAME or role/NAME`},
		{"root with name", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666:root/alice",
			`principal "arn:aws:iam::444455556666:root/alice" names "root/alice": want root, user/NAME or role/NAME`},
		{"empty name", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666:user/",
			`principal "arn:aws:iam::444455556666:user/" has an empty path segment or name`},
		{"empty path segment", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666:role/ops//oncall",
			`principal "arn:aws:iam::444455556666:role/ops//oncall" has an empty path segment or name`},
		{"trailing slash", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666:role/ops/",
			`principal "arn:aws:iam::444455556666:role/ops/" has an empty path segment or name`},
		{"character", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666:user/al*ce",
			`principal "arn:aws:iam::444455556666:user/al*ce": "al*ce" may hold only letters, digits and + = , . @ _ - (and / between path segments)`},
		{"colon", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666:user/a:b",
			`principal "arn:aws:iam::444455556666:user/a:b": "a:b" may hold only letters, digits and + = , . @ _ - (and / between path segments)`},
		{"long name", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666:role/" + strings.Repeat("r", 65),
			`principal "arn:aws:iam::444455556666:role/` + strings.Repeat("r", 65) + `": role name ` + strings.Repeat("r", 65) + ` is longer than 64 characters`},
		{"long key id", strings.Repeat("A", 129) + " s 444455556666",
			`access key id "` + strings.Repeat("A", 129) + `" is not 1 to 128 letters and digits`},
		{"key id with a dash", "AKID-BAD-LINE s 444455556666",
			`access key id "AKID-BAD-LINE" is not 1 to 128 letters and digits`},
		{"columns swapped", "wJalrXUtnFEMI/K7MDENG AKIDBADLINE 444455556666",
			`access key id "wJalrXUtnFEMI/K7MDENG" is not 1 to 128 letters and digits`},
		{"no secret", "AKIDBADLINE 444455556666",
			`want ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID [PRINCIPAL_ARN], not 2 fields`},
		{"too many fields", "AKIDBADLINE s 444455556666 arn:aws:iam::444455556666:root extra",
			`want ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID [PRINCIPAL_ARN], not 5 fields`},
		{"account", "AKIDBADLINE s 4444555566",
			`account id "4444555566" is not 12 digits`},
		{"duplicate", good,
			`access key AKIDGOODLINE is defined twice`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "keys", "# keys of the tests\n"+good+"\n"+tc.line+"  # the bad one\n"+good+"2\n")
			cfg := rootConfig(privateDir(t))
			cfg.CredentialsFile = path
			_, _, err := open(t, cfg)
			if want := path + ":3: " + tc.want; err == nil || err.Error() != want {
				t.Fatalf("error %v\nwant %s", err, want)
			}
		})
	}
}

func TestRootKeyIDIsChecked(t *testing.T) {
	cfg := rootConfig(privateDir(t))
	cfg.AccessKeyID = "akid-files-test"
	_, _, err := open(t, cfg)
	if want := `access key id "akid-files-test" is not 1 to 128 letters and digits`; err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
}

func TestCredentialsFilePrincipals(t *testing.T) {
	keys := []struct{ key, secret, account, principal string }{
		{"AKIDROOTOFB", "secret-of-b", "444455556666", ""},
		{"AKIDROOTOFBAGAIN", "secret-of-b-again", "444455556666", "arn:aws:iam::444455556666:root"},
		{"AKIDALICE", "secret-of-alice", rootAccount, "arn:aws:iam::" + rootAccount + ":user/alice"},
		{"AKIDBOBBY", "secret-of-bob", rootAccount, "arn:aws:iam::" + rootAccount + ":user/engineering/bob.smith+ops=1,x@example.com_-"},
		{"AKIDONCALL", "secret-of-oncall", rootAccount, "arn:aws:iam::" + rootAccount + ":role/ops/oncall"},
		{"AKIDDEPLOY", "secret-of-deploy", rootAccount, "arn:aws:iam::" + rootAccount + ":role/" + strings.Repeat("d", 64)},
		{strings.Repeat("K", 128), "secret-of-a-long-key", rootAccount, ""},
	}
	var lines strings.Builder
	lines.WriteString("# further keys\n\n")
	for _, k := range keys {
		lines.WriteString(strings.TrimSpace(k.key+" "+k.secret+" "+k.account+" "+k.principal) + "\n")
	}
	cfg := rootConfig(privateDir(t))
	cfg.CredentialsFile = writeFile(t, "keys", lines.String())
	srv := testserver.StartWith(t, cfg)
	ctx := context.Background()
	plans := map[string]string{}
	for _, account := range []struct{ account, key, secret string }{{rootAccount, rootKey, rootSecret}, {"444455556666", keys[0].key, keys[0].secret}} {
		c := srv.Client(account.key, account.secret)
		if _, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
			t.Fatal(err)
		}
		plan, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String("principals"),
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Principals"), Impact: aws.Int32(3)}})
		if err != nil {
			t.Fatal(err)
		}
		plans[account.account] = aws.ToString(plan.Arn)
	}
	for _, k := range keys {
		t.Run(k.key[:min(len(k.key), 20)], func(t *testing.T) {
			want := k.principal
			if want == "" {
				want = app.RootPrincipal(k.account)
			}
			c := srv.Client(k.key, k.secret)
			inc, err := c.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String(plans[k.account]), Title: aws.String(k.key)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: inc.IncidentRecordArn})
			if err != nil {
				t.Fatal(err)
			}
			if by := aws.ToString(got.IncidentRecord.IncidentRecordSource.CreatedBy); by != want {
				t.Fatalf("created by %s, want %s", by, want)
			}
		})
	}
}
