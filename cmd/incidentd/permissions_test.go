//go:build unix

package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestStrictPermissionsFlag(t *testing.T) {
	cases := []struct {
		args     []string
		insecure bool
	}{
		{nil, false},
		{[]string{"--strict-permissions"}, false},
		{[]string{"--strict-permissions=true"}, false},
		{[]string{"--strict-permissions=false"}, true},
	}
	for _, c := range commands {
		if c.flags == nil {
			continue
		}
		for _, tc := range cases {
			args := tc.args
			switch c.name {
			case "backup":
				args = append([]string{"--to", "copy.db"}, args...)
			case "notifications":
				args = append([]string{"list"}, args...)
			case "admin":
				args = append([]string{"accounts", "list"}, args...)
			}
			o, err := parseCommand(c, args, io.Discard)
			if err != nil {
				t.Errorf("%s %v: %v", c.name, tc.args, err)
			} else if o.AllowInsecurePermissions != tc.insecure {
				t.Errorf("%s %v: AllowInsecurePermissions %v, want %v", c.name, tc.args, o.AllowInsecurePermissions, tc.insecure)
			}
		}
	}
}

// openDir returns a new data directory of mode 0755.
func openDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// keysFile returns a new file of mode with content.
func keysFile(t *testing.T, mode os.FileMode, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBinaryRefusesInsecureFiles runs serve and migrate on what they must
// refuse and checks that they exit with the one-line reason.
func TestBinaryRefusesInsecureFiles(t *testing.T) {
	const remedy = ", or start with --strict-permissions=false\n"
	data := openDir(t)
	openKeys := keysFile(t, 0o644, "AKIDFURTHERKEY further-secret 444455556666\n")
	badKeys := keysFile(t, 0o600, "AKIDFURTHERKEY further-secret 444455556666 arn:aws:iam::123456789012:user/alice\n")
	cases := []struct {
		name string
		args []string
		want string // the whole of stderr
	}{
		{"serve, data directory 0755", []string{"serve", "--data", data},
			"incidentd: data directory " + data + " is accessible by others (mode 0755): run chmod 700 " + data + remedy},
		{"migrate, data directory 0755", []string{"migrate", "--data", data},
			"incidentd: data directory " + data + " is accessible by others (mode 0755): run chmod 700 " + data + remedy},
		{"backup, data directory 0755", []string{"backup", "--data", data, "--to", filepath.Join(t.TempDir(), "copy.db")},
			"incidentd: data directory " + data + " is accessible by others (mode 0755): run chmod 700 " + data + remedy},
		{"serve, credentials file 0644", []string{"serve", "--data", dataDir(t), "--credentials-file", openKeys},
			"incidentd: credentials file " + openKeys + " is accessible by others (mode 0644): run chmod 600 " + openKeys + remedy},
		{"serve, principal of another account", []string{"serve", "--data", dataDir(t), "--credentials-file", badKeys},
			"incidentd: " + badKeys + `:1: principal "arn:aws:iam::123456789012:user/alice" is in account "123456789012", not in the line's account 444455556666` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if args[0] == "serve" {
				args = append(args, "--addr", freeAddr(t))
			}
			cmd := exec.Command(binary, args...)
			cmd.Env = append(os.Environ(), rootEnv()...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); err == nil || code != 1 || stderr.String() != tc.want {
				t.Fatalf("exit %d (%v), stderr:\n%s\nwant exit 1, stderr:\n%s", code, err, stderr.String(), tc.want)
			}
		})
	}
}

// TestBinaryWarnsOfInsecureFiles runs serve and migrate with
// --strict-permissions=false on an open data directory.
func TestBinaryWarnsOfInsecureFiles(t *testing.T) {
	data := openDir(t)
	warning := "incidentd: warning: data directory " + data + " is accessible by others (mode 0755): run chmod 700 " + data + "\n"
	out, err := exec.Command(binary, "migrate", "--data", data, "--strict-permissions=false").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "schema is up to date") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	p := startServerArgs(t, data, freeAddr(t), []string{"--strict-permissions=false"}, rootEnv()...)
	if !strings.Contains(p.stderr.String(), warning) {
		t.Fatalf("no warning %q in:\n%s", warning, p.stderr.String())
	}
}
