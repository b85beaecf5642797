package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/incidentd/incidentd/internal/testserver"
)

const readme = "../../README.md"

// TestBackupWhileWritingKeepsEveryAcknowledgedWrite backs a server up while
// clients write to it, restores the backup into a new data directory with
// the README's steps and checks that a new server on it serves every write
// acknowledged before the backup started.
//
// A reader holds a snapshot from the middle of the writes, so that the
// writes acknowledged after it stay in the write-ahead log: a copy of
// incidentd.db alone lacks them (or is torn), which the test checks too, so that it cannot pass with a backup that copies the database
// file only.
func TestBackupWhileWritingKeepsEveryAcknowledgedWrite(t *testing.T) {
	srv := testserver.Start(t, testserver.OnSQLite)
	ctx := context.Background()
	w := testserver.StartWorkload(t, func() *ssmincidents.Client { return srv.A() }, 6)
	w.WaitAcked(60)
	release := testserver.PinSnapshot(t, filepath.Join(srv.DataDir, sqlite.FileName))
	w.WaitAcked(len(w.Acked()) + 60)

	plain := filepath.Join(t.TempDir(), "plain-copy.db")
	testserver.CopyFile(t, filepath.Join(srv.DataDir, sqlite.FileName), plain)
	before := w.Acked() // acknowledged before the backup starts
	backup := filepath.Join(t.TempDir(), "incidentd-backup.db")
	var out bytes.Buffer
	if err := app.Backup(ctx, srv.Main.Config, backup, &out); err != nil {
		t.Fatal(err)
	}
	during := len(w.Acked()) - len(before)
	w.WaitAcked(len(w.Acked()) + 30) // the writes go on
	release()
	w.Stop()
	t.Logf("%d writes acknowledged before the backup, %d during it; %s", len(before), during, strings.TrimSpace(out.String()))

	line := regexp.MustCompile(`^incidentd: backup written to ` + regexp.QuoteMeta(backup) + `: [1-9][0-9]* bytes, schema version [1-9][0-9]*, ([0-9]+) incident records\n$`)
	if m := line.FindStringSubmatch(out.String()); m == nil {
		t.Errorf("Backup printed %q", out.String())
	} else if n, _ := strconv.Atoi(m[1]); n < started(before) || n > started(w.Acked())+6 {
		t.Errorf("the backup holds %d incident records: %d were started before it, %d in all", n, started(before), started(w.Acked()))
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode() != 0o600 {
		t.Fatalf("the backup: %v %v", fi, err)
	}

	restored := filepath.Join(t.TempDir(), "data")
	testserver.RestoreAsReadme(t, readme, restored, backup)
	cfg := srv.Main.Config
	cfg.DataDir = restored
	srv2 := testserver.StartWith(t, cfg)
	if missing := testserver.MissingWrites(t, srv2.A(), before); len(missing) > 0 {
		t.Errorf("%d of %d writes acknowledged before the backup are not in it, first %v", len(missing), len(before), missing[0])
	}

	shortfall := testserver.PlainCopyShortfall(t, plain, before)
	if shortfall == "" {
		t.Fatal("a plain copy of incidentd.db holds every write acknowledged before it: this test cannot tell a backup from it")
	}
	t.Logf("a plain copy of incidentd.db is no backup: %s", shortfall)
}

// started counts the incidents that writes started.
func started(writes []testserver.Write) int {
	n := 0
	for _, w := range writes {
		if w.Op == "StartIncident" {
			n++
		}
	}
	return n
}

// TestBackupRefusals: a missing target, a data directory
// open to others, one without a database, an existing target.
func TestBackupRefusals(t *testing.T) {
	ctx := context.Background()
	data := privateDir(t)
	var out bytes.Buffer
	to := filepath.Join(t.TempDir(), "b.db")

	if err := app.Backup(ctx, rootConfig(data), "", &out); err == nil || !strings.Contains(err.Error(), "--to") {
		t.Errorf("without a target: %v", err)
	}
	if err := app.Backup(ctx, rootConfig(data), to, &out); err == nil || !strings.Contains(err.Error(), "no database to back up") {
		t.Errorf("without a database: %v", err)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Errorf("the data directory now holds %v", entries)
	}

	if _, _, err := open(t, rootConfig(data)); err != nil {
		t.Fatal(err)
	}
	chmod(t, data, 0o750)
	err := app.Backup(ctx, rootConfig(data), to, &out)
	if err == nil || !strings.Contains(err.Error(), "data directory "+data+" is accessible by others") {
		t.Errorf("a data directory open to its group: %v", err)
	}
	insecure := rootConfig(data)
	insecure.AllowInsecurePermissions = true
	if err := app.Backup(ctx, insecure, to, &out); err != nil {
		t.Errorf("with AllowInsecurePermissions: %v", err)
	}
	chmod(t, data, 0o700)
	if err := app.Backup(ctx, rootConfig(data), to, &out); err == nil || !strings.Contains(err.Error(), to+" already exists") {
		t.Errorf("an existing target: %v", err)
	}
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Errorf("%d lines printed for one backup:\n%s", n, out.String())
	}
}
