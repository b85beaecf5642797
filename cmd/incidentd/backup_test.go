package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/incidentd/incidentd/internal/testserver"

	_ "modernc.org/sqlite"
)

const readmePath = "../../README.md"

// readmeEnv is the environment the README's backup and restore steps run
// in: DATA, BACKUP, and the binary under test first on PATH.
func readmeEnv(data, backup string) []string {
	return []string{"DATA=" + data, "BACKUP=" + backup, "PATH=" + filepath.Dir(binary) + string(os.PathListSeparator) + os.Getenv("PATH")}
}

// TestBackupWhileWritingKeepsEveryAcknowledgedWrite runs the README's
// backup steps (incidentd backup, and a copy of the generated credentials)
// while clients write to the server, then restores the backup with the
// README's steps, both into a new data directory and in place of the
// database after the server was killed, and checks that a server on each
// serves, with the same credentials, every write acknowledged before the
// backup started and nothing written after it.
//
// A reader holds a snapshot from the middle of the writes, so that the
// writes acknowledged after it stay in the write-ahead log: a copy of
// incidentd.db alone lacks them (or is torn), which the test checks too, so that it cannot pass with a backup that copies the database
// file only.
func TestBackupWhileWritingKeepsEveryAcknowledgedWrite(t *testing.T) {
	testserver.RequireTool(t, "bash", "install bash")
	ctx := context.Background()
	data := dataDir(t)
	p := startServerArgs(t, data, freeAddr(t), unlimited, noKeyEnv()...)
	key := readKept(t, data)
	newClient := func() *ssmincidents.Client { return client(p.endpoint, key.key, key.secret) }
	w := testserver.StartWorkload(t, newClient, 6)
	w.WaitAcked(60)
	release := testserver.PinSnapshot(t, filepath.Join(data, sqlite.FileName))
	w.WaitAcked(len(w.Acked()) + 60)
	plain := filepath.Join(t.TempDir(), "plain-copy.db")
	testserver.CopyFile(t, filepath.Join(data, sqlite.FileName), plain)

	before := w.Acked() // acknowledged before the backup starts
	backup := filepath.Join(t.TempDir(), "incidentd-backup.db")
	out, err := testserver.RunReadmeBlock(t, readmePath, "## Backup and restore", readmeEnv(data, backup)...)
	if err != nil {
		t.Fatalf("the README's backup steps failed: %v\n%s", err, out)
	}
	during := len(w.Acked()) - len(before)
	w.WaitAcked(len(w.Acked()) + 30) // the writes go on
	release()
	w.Stop()
	t.Logf("%d writes acknowledged before the backup, %d during it; %s", len(before), during, strings.TrimSpace(string(out)))
	if !regexp.MustCompile(`^incidentd: backup written to ` + regexp.QuoteMeta(backup) + `: [1-9][0-9]* bytes, schema version [1-9][0-9]*, [1-9][0-9]* incident records\n$`).Match(out) {
		t.Errorf("incidentd backup printed %q", out)
	}
	for _, f := range []string{backup, backup + ".credentials.json"} {
		if fi, err := os.Stat(f); err != nil || fi.Mode() != 0o600 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}

	// A write sent after the backup, then the server dies, leaving its log.
	plan, err := newClient().ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
	if err != nil || len(plan.ResponsePlanSummaries) != 1 {
		t.Fatalf("ListResponsePlans: %v %v", plan, err)
	}
	late, err := newClient().StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.ResponsePlanSummaries[0].Arn, Title: aws.String("after the backup")})
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	if _, err := os.Stat(filepath.Join(data, sqlite.FileName+"-wal")); err != nil {
		t.Fatalf("the killed server left no log: %v", err)
	}

	check := func(where, data string) {
		t.Helper()
		p := startServerArgs(t, data, freeAddr(t), unlimited, noKeyEnv()...)
		defer stop(t, p)
		c := client(p.endpoint, key.key, key.secret)
		if missing := testserver.MissingWrites(t, c, before); len(missing) > 0 {
			t.Errorf("restored %s: %d of %d writes acknowledged before the backup are not served, first %v", where, len(missing), len(before), missing[0])
		}
		_, err := c.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: late.IncidentRecordArn})
		var notFound *types.ResourceNotFoundException
		if !errors.As(err, &notFound) {
			t.Errorf("restored %s: the incident started after the backup: %v", where, err)
		}
	}
	fresh := dataDir(t)
	testserver.RestoreAsReadme(t, readmePath, fresh, backup)
	check("into a new data directory", fresh)

	testserver.RestoreAsReadme(t, readmePath, data, backup)
	replaced, err := filepath.Glob(data + ".replaced.*")
	if err != nil || len(replaced) != 1 {
		t.Fatalf("the replaced database: %v %v", replaced, err)
	}
	for _, f := range []string{sqlite.FileName, sqlite.FileName + "-wal", sqlite.FileName + "-shm"} {
		if _, err := os.Stat(filepath.Join(replaced[0], f)); err != nil {
			t.Errorf("the restore did not move %s away: %v", f, err)
		}
	}
	check("in place of the database", data)

	shortfall := testserver.PlainCopyShortfall(t, plain, before)
	if shortfall == "" {
		t.Fatal("a plain copy of incidentd.db holds every write acknowledged before it: this test cannot tell a backup from it")
	}
	t.Logf("a plain copy of incidentd.db is no backup: %s", shortfall)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newerDatabase returns a data directory, and its database file, that a
// newer incidentd has migrated: to schema version 9999.
func newerDatabase(t *testing.T) (data, path string) {
	t.Helper()
	data = dataDir(t)
	if out, errOut, code := incidentd(t, nil, "migrate", "--data", data); code != 0 {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errOut)
	}
	path = filepath.Join(data, sqlite.FileName)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', '2099-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return data, path
}

// TestNewerDatabaseIsRefused: a database that a newer incidentd migrated is
// refused by serve at start, by migrate and by backup, each saying so, and
// is left as it was.
func TestNewerDatabaseIsRefused(t *testing.T) {
	data, path := newerDatabase(t)
	sum := sha256.Sum256(mustRead(t, path))
	const refusal = "database schema version 9999 is newer than this incidentd knows ("

	// serve must exit at once: it is killed if it does not.
	cmdCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	serve := exec.CommandContext(cmdCtx, binary, "serve", "--addr", freeAddr(t), "--data", data)
	serve.Env = append(os.Environ(), rootEnv()...)
	var serveErr bytes.Buffer
	serve.Stderr = &serveErr
	err := serve.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || cmdCtx.Err() != nil || !strings.Contains(serveErr.String(), "incidentd: open storage: "+refusal) {
		t.Errorf("serve on a newer database: %v (context: %v)\n%s", err, cmdCtx.Err(), serveErr.String())
	}
	_, errOut, code := incidentd(t, nil, "migrate", "--data", data)
	if code == 0 || !strings.Contains(errOut, refusal) {
		t.Errorf("migrate on a newer database: exit %d\n%s", code, errOut)
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	_, errOut, code = incidentd(t, nil, "backup", "--data", data, "--to", backup)
	if code == 0 || !strings.Contains(errOut, refusal) {
		t.Errorf("backup of a newer database: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(backup); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused backup: %v", err)
	}
	if sha256.Sum256(mustRead(t, path)) != sum {
		t.Error("the refused database changed")
	}
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the data directory holds %v, want only %s", entries, sqlite.FileName)
	}
}

// TestBackupRefusesWhatItCannotDo: an existing target, and a data
// directory without a database (none is created).
func TestBackupRefusesWhatItCannotDo(t *testing.T) {
	data := dataDir(t)
	if out, errOut, code := incidentd(t, nil, "migrate", "--data", data); code != 0 {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errOut)
	}
	existing := filepath.Join(t.TempDir(), "b.db")
	if err := os.WriteFile(existing, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := incidentd(t, nil, "backup", "--data", data, "--to", existing)
	if code == 0 || !strings.Contains(errOut, existing+" already exists") || string(mustRead(t, existing)) != "keep" {
		t.Errorf("backup to an existing file: exit %d\n%s", code, errOut)
	}
	empty := dataDir(t)
	_, errOut, code = incidentd(t, nil, "backup", "--data", empty, "--to", filepath.Join(t.TempDir(), "b.db"))
	if code == 0 || !strings.Contains(errOut, "no database to back up") {
		t.Errorf("backup of a missing data directory: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(empty); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the missing data directory: %v", err)
	}
}
