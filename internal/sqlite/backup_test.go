package sqlite_test

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/sqlite"
)

const backupAccount = "111122223333"

func incident(name string) *domain.IncidentRecord {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &domain.IncidentRecord{
		ARN: "arn:aws:ssm-incidents::" + backupAccount + ":incident-record/p/" + name, Account: backupAccount,
		PlanName: "p", Title: name, Status: "OPEN", Impact: 3, CreationTime: now, LastModifiedTime: now,
		LastModifiedBy: "arn:aws:iam::" + backupAccount + ":root",
		Source:         domain.IncidentRecordSource{CreatedBy: "arn:aws:iam::" + backupAccount + ":root", Source: "aws.ssm-incidents.custom"},
	}
}

// createIncidents stores incidents named prefix0 … prefix(n-1).
func createIncidents(t *testing.T, s *sqlite.Store, prefix string, n int) []string {
	t.Helper()
	var names []string
	for i := range n {
		name := fmt.Sprintf("%s%d", prefix, i)
		if err := s.CreateIncidentRecord(ctx, incident(name), nil, nil); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// fileState is what a directory holds: per name, its mode, size, time of
// modification and content hash.
func fileState(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]string{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		state[e.Name()] = fmt.Sprintf("%v %d %v %x", fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), sha256.Sum256(b))
	}
	return state
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// openCopy opens a database file that nothing else uses, read-only, without
// creating any file beside it.
func openCopy(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func hasIncident(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM incident_records WHERE arn = ?`, incident(name).ARN).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func newestMigration(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	slices.Sort(files)
	var v int
	if _, err := fmt.Sscanf(filepath.Base(files[len(files)-1]), "%d_", &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBackupHoldsWritesStillInTheLog backs up an open store whose newest
// writes are in its write-ahead log only: a reader holding an old snapshot
// keeps them from being checkpointed into the database file. A copy of that
// file lacks them; the backup holds every one, opens, and is described
// rightly. Nothing is left beside the backup, and the source directory
// holds what it held.
func TestBackupHoldsWritesStillInTheLog(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	early := createIncidents(t, s, "early", 5)

	pin := openFile(t, dir)
	defer pin.Close()
	// The early writes are in the database file; what is committed while
	// the snapshot is held stays in the log.
	if _, err := pin.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		t.Fatal(err)
	}
	snapshot, err := pin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var seen int
	if err := snapshot.QueryRow(`SELECT count(*) FROM incident_records`).Scan(&seen); err != nil || seen != len(early) {
		t.Fatalf("the pinned snapshot sees %d incidents (%v), want %d", seen, err, len(early))
	}
	late := createIncidents(t, s, "late", 5) // acknowledged: committed, in the log only

	// A plain copy of the database file misses them.
	plain := filepath.Join(t.TempDir(), "plain.db")
	b, err := os.ReadFile(filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, b, 0o600); err != nil {
		t.Fatal(err)
	}
	plainDB := openCopy(t, plain)
	for _, name := range early {
		if !hasIncident(t, plainDB, name) {
			t.Fatalf("the checkpointed database file lacks %s", name)
		}
	}
	for _, name := range late {
		if hasIncident(t, plainDB, name) {
			t.Fatalf("the database file already holds %s: this test cannot tell a backup from a copy of the file", name)
		}
	}

	before := names(t, dir)
	out := t.TempDir()
	to := filepath.Join(out, "backup.db")
	info, err := sqlite.Backup(ctx, dir, to)
	if err != nil {
		t.Fatal(err)
	}
	snapshot.Rollback()

	fi, err := os.Stat(to)
	if err != nil {
		t.Fatal(err)
	}
	want := sqlite.BackupInfo{Path: to, Bytes: fi.Size(), SchemaVersion: newestMigration(t), IncidentRecords: 10}
	if info != want {
		t.Errorf("Backup = %+v, want %+v", info, want)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("the backup has mode %v, want %v", fi.Mode(), os.FileMode(0o600))
	}
	copyDB := openCopy(t, to)
	for _, name := range append(early, late...) {
		if !hasIncident(t, copyDB, name) {
			t.Errorf("the backup lacks incident %s", name)
		}
	}
	var check string
	if err := copyDB.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check of the backup: %q %v", check, err)
	}
	if got := names(t, out); !reflect.DeepEqual(got, []string{"backup.db"}) {
		t.Errorf("the backup's directory holds %v, want only backup.db", got)
	}
	if after := names(t, dir); !reflect.DeepEqual(after, before) {
		t.Errorf("the source directory held %v, now %v", before, after)
	}

	// The store goes on; the copy, put in a data directory, is a store.
	if err := s.CreateIncidentRecord(ctx, incident("after"), nil, nil); err != nil {
		t.Fatal(err)
	}
	restored := t.TempDir()
	if err := os.WriteFile(filepath.Join(restored, sqlite.FileName), mustRead(t, to), 0o600); err != nil {
		t.Fatal(err)
	}
	r := open(t, restored)
	for _, name := range append(early, late...) {
		if _, err := r.GetIncidentRecord(ctx, backupAccount, incident(name).ARN); err != nil {
			t.Errorf("restored store: incident %s: %v", name, err)
		}
	}
	if _, err := r.GetIncidentRecord(ctx, backupAccount, incident("after").ARN); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("restored store: an incident written after the backup: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBackupOfAClosedStoreChangesNothing: with no server on the database,
// backing it up leaves every file of the data directory as it was, and
// creates no log or shared-memory file there.
func TestBackupOfAClosedStoreChangesNothing(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	created := createIncidents(t, s, "i", 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileState(t, dir)
	if _, ok := before[sqlite.FileName+"-wal"]; ok {
		t.Fatalf("the closed store left its log: %v", before)
	}
	to := filepath.Join(t.TempDir(), "b.db")
	info, err := sqlite.Backup(ctx, dir, to)
	if err != nil {
		t.Fatal(err)
	}
	if after := fileState(t, dir); !reflect.DeepEqual(after, before) {
		t.Errorf("the data directory changed:\nbefore %v\nafter  %v", before, after)
	}
	if info.IncidentRecords != int64(len(created)) {
		t.Errorf("%d incident records reported, want %d", info.IncidentRecords, len(created))
	}
	db := openCopy(t, to)
	for _, name := range created {
		if !hasIncident(t, db, name) {
			t.Errorf("the backup lacks %s", name)
		}
	}
}

// TestBackupRefusesAnExistingTarget: an existing file (or anything else)
// at the target is not replaced, and nothing is left beside it.
func TestBackupRefusesAnExistingTarget(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	createIncidents(t, s, "i", 1)
	out := t.TempDir()
	to := filepath.Join(out, "b.db")
	if err := os.WriteFile(to, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(out, "nowhere"), filepath.Join(out, "link.db")); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{to, filepath.Join(out, "link.db"), out} {
		_, err := sqlite.Backup(ctx, dir, target)
		if err == nil || !strings.Contains(err.Error(), target+" already exists") {
			t.Errorf("backup to the existing %s: %v", target, err)
		}
	}
	if got := string(mustRead(t, to)); got != "keep me" {
		t.Errorf("the existing file now holds %q", got)
	}
	if got := names(t, out); !reflect.DeepEqual(got, []string{"b.db", "link.db"}) {
		t.Errorf("the target directory holds %v", got)
	}
	// A missing target directory is not created.
	missing := filepath.Join(out, "missing", "b.db")
	if _, err := sqlite.Backup(ctx, dir, missing); err == nil {
		t.Error("a backup into a missing directory succeeded")
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the missing directory: %v", err)
	}
}

// TestBackupRefusesADirectoryWithoutDatabase: a data directory without a
// database, or whose database is not one of incidentd, is refused, and no
// database is created in it.
func TestBackupRefusesADirectoryWithoutDatabase(t *testing.T) {
	out := t.TempDir()
	empty := t.TempDir()
	if _, err := sqlite.Backup(ctx, empty, filepath.Join(out, "a.db")); err == nil || !strings.Contains(err.Error(), "no database to back up") {
		t.Errorf("an empty data directory: %v", err)
	}
	if got := names(t, empty); len(got) != 0 {
		t.Errorf("the empty data directory now holds %v", got)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := sqlite.Backup(ctx, missing, filepath.Join(out, "b.db")); err == nil || !strings.Contains(err.Error(), "no database to back up") {
		t.Errorf("a missing data directory: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the missing data directory: %v", err)
	}
	for content, want := range map[string]string{
		"":                                    "not an incidentd database",
		strings.Repeat("not a database ", 99): "not a database",
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, sqlite.FileName)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := sqlite.Backup(ctx, dir, filepath.Join(out, "c.db")); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a database file of %d bytes: %v, want an error saying %q", len(content), err, want)
		}
		if got := string(mustRead(t, path)); got != content {
			t.Errorf("the refused database file changed")
		}
		if got := names(t, dir); !reflect.DeepEqual(got, []string{sqlite.FileName}) {
			t.Errorf("the data directory now holds %v", got)
		}
	}
	if got := names(t, out); len(got) != 0 {
		t.Errorf("the refused backups left %v", got)
	}
}

// TestBackupRefusesANewerSchema: a database written by a newer incidentd
// is not backed up by this one, as it is not opened by it.
func TestBackupRefusesANewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := openFile(t, dir)
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 'x')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := t.TempDir()
	_, err := sqlite.Backup(ctx, dir, filepath.Join(out, "b.db"))
	if err == nil || !strings.Contains(err.Error(), "database schema version 9999 is newer than this incidentd knows") {
		t.Fatalf("a newer schema: %v", err)
	}
	if got := names(t, out); len(got) != 0 {
		t.Errorf("the refused backup left %v", got)
	}
}
