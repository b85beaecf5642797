package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/incidentd/incidentd/internal/schema"
)

// BackupInfo describes a copy written by Backup.
type BackupInfo struct {
	Path            string // where the copy is
	Bytes           int64  // its size
	SchemaVersion   int    // the newest migration applied to it
	IncidentRecords int64  // the incident records it holds, of every account
}

// Backup writes a consistent copy of the database in the data directory dir
// to the new file to, while a server may be running on dir and writing.
//
// The copy is one snapshot of the database, taken on a connection of its
// own (VACUUM INTO) after Backup starts: it holds every transaction committed
// before, also those still in the write-ahead log only. Since the store
// acknowledges a write only once it is committed and on disk, the copy holds
// every write acknowledged before Backup was called.
//
// The copy is written to a temporary file (mode 0600) in to's directory,
// flushed to disk and checked: it must pass SQLite's integrity check and hold
// a schema this incidentd knows. Only then is it put at to, and the directory
// flushed. Backup never overwrites to, never creates a database in dir and
// never writes the source database; it refuses one written by a newer
// incidentd, as Open does. When it fails, it leaves no file behind.
func Backup(ctx context.Context, dir, to string) (BackupInfo, error) {
	src := filepath.Join(dir, FileName)
	fi, err := os.Stat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return BackupInfo{}, fmt.Errorf("no database to back up: %s does not exist", src)
	}
	if err != nil {
		return BackupInfo{}, err
	}
	if !fi.Mode().IsRegular() {
		return BackupInfo{}, fmt.Errorf("no database to back up: %s is not a file", src)
	}
	if _, err := os.Lstat(to); err == nil {
		return BackupInfo{}, targetExists(to)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return BackupInfo{}, err
	}
	_, known, err := schema.Migrations(migrations)
	if err != nil {
		return BackupInfo{}, err
	}
	if src, err = filepath.Abs(src); err != nil {
		return BackupInfo{}, err
	}
	db, err := openSource(src)
	if err != nil {
		return BackupInfo{}, err
	}
	defer db.Close()
	// One connection: the check and the copy read the same database.
	conn, err := db.Conn(ctx)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("open %s: %w", src, err)
	}
	defer conn.Close()
	if v, err := schemaVersion(ctx, conn); err != nil {
		return BackupInfo{}, fmt.Errorf("%s: %w", src, err)
	} else if v > known {
		return BackupInfo{}, newerSchema(src, v, known)
	}

	abs, err := filepath.Abs(to)
	if err != nil {
		return BackupInfo{}, err
	}
	targetDir := filepath.Dir(abs)
	f, err := os.CreateTemp(targetDir, "."+filepath.Base(abs)+".*.tmp") // mode 0600
	if err != nil {
		return BackupInfo{}, fmt.Errorf("create the backup: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			removeDatabase(tmp)
		}
	}()
	if err := f.Close(); err != nil {
		return BackupInfo{}, err
	}
	// VACUUM INTO writes into an existing file if it is empty, keeping its
	// mode. It reads one snapshot of the source, through its log.
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		return BackupInfo{}, fmt.Errorf("copy %s: %w", src, err)
	}
	if err := conn.Close(); err != nil {
		return BackupInfo{}, err
	}
	if err := db.Close(); err != nil {
		return BackupInfo{}, err
	}
	if f, err = os.OpenFile(tmp, os.O_RDWR, 0); err != nil {
		return BackupInfo{}, err
	}
	err = syncBackup(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return BackupInfo{}, fmt.Errorf("flush the backup to disk: %w", err)
	}
	info, err := checkCopy(ctx, tmp, known)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("the copy of %s failed its check: %w", src, err)
	}
	info.Path = to
	if err := putNew(tmp, to); err != nil {
		return BackupInfo{}, err
	}
	ok = true
	if err := syncDir(targetDir); err != nil {
		return BackupInfo{}, fmt.Errorf("backup written to %s, but its directory could not be flushed to disk: %w", to, err)
	}
	return info, nil
}

// syncBackup flushes the copy to disk; tests replace it.
var syncBackup = func(f *os.File) error { return f.Sync() }

// openSource opens the database at src for reading a copy of it, on one
// connection, without creating it (mode=rw or mode=ro).
//
// While a server has the database open, its log (-wal) and shared-memory
// (-shm) files exist and the copy joins them read-only. Without a log no
// server has the database open: a read-only connection would then create
// both files and leave them behind, so the connection is opened read-write
// (it writes nothing) and, as the last one to close, removes them again.
func openSource(src string) (*sql.DB, error) {
	mode := "ro"
	if _, err := os.Lstat(src + "-wal"); errors.Is(err, fs.ErrNotExist) {
		mode = "rw"
	}
	db, err := sql.Open("sqlite", fileURI(src)+"?mode="+mode+"&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// checkCopy opens the copy at path read-only and checks it: SQLite's
// integrity check and a schema this incidentd knows (at most known).
func checkCopy(ctx context.Context, path string, known int) (BackupInfo, error) {
	info := BackupInfo{}
	// The copy is a database in rollback-journal mode: read-only, it is
	// read without a log or shared-memory file.
	db, err := sql.Open("sqlite", fileURI(path)+"?mode=ro")
	if err != nil {
		return info, err
	}
	defer removeSidecars(path) // in case SQLite made any: the copy is renamed
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return info, err
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return info, err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return info, err
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], "…")
		}
		return info, fmt.Errorf("integrity check: %s", strings.Join(problems, "; "))
	}
	if info.SchemaVersion, err = schemaVersion(ctx, db); err != nil {
		return info, err
	}
	if info.SchemaVersion > known {
		return info, newerSchema(path, info.SchemaVersion, known)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM incident_records").Scan(&info.IncidentRecords); err != nil {
		return info, fmt.Errorf("count incident records: %w", err)
	}
	if err := db.Close(); err != nil {
		return info, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return info, err
	}
	info.Bytes = fi.Size()
	return info, nil
}

// putNew moves the file tmp to the path to, which must not exist: a hard
// link fails rather than replace a file that appeared meanwhile. Where the
// file system has no hard links, tmp is renamed after a last check.
func putNew(tmp, to string) error {
	err := os.Link(tmp, to)
	if err == nil {
		if err := os.Remove(tmp); err != nil {
			return fmt.Errorf("backup written to %s, but the temporary file %s could not be removed: %w", to, tmp, err)
		}
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return targetExists(to)
	}
	if _, serr := os.Lstat(to); serr == nil {
		return targetExists(to)
	} else if !errors.Is(serr, fs.ErrNotExist) {
		return serr
	}
	return os.Rename(tmp, to)
}

func targetExists(to string) error {
	return fmt.Errorf("%s already exists: a backup does not replace a file; choose a new name or remove it first", to)
}

func newerSchema(path string, v, known int) error {
	return fmt.Errorf("%s: %w: use the incidentd that wrote it", path, schema.Newer(v, known))
}

// querier of schemaVersion: a connection or a pool.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaVersion is the newest migration recorded in the database; a database
// without the table of migrations is not one of incidentd.
func schemaVersion(ctx context.Context, q rowQuerier) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errors.New("not an incidentd database: it has no schema_migrations table")
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	if !v.Valid {
		return 0, errors.New("not an incidentd database: it records no migration")
	}
	return int(v.Int64), nil
}

// removeDatabase removes a database file of Backup's own and whatever
// SQLite may have put beside it.
func removeDatabase(path string) {
	os.Remove(path)
	removeSidecars(path)
}

func removeSidecars(path string) {
	for _, s := range []string{"-journal", "-wal", "-shm"} {
		os.Remove(path + s)
	}
}
