package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/incidentd/incidentd/internal/schema"
)

// Snapshot is one consistent read of the database of a data directory, on
// a connection of its own, while a server may be running on it and writing:
// every query of the snapshot sees the database as it was when the snapshot
// was taken (one read transaction), and nothing written after.
type Snapshot struct {
	Path          string // the database read
	SchemaVersion int    // the newest migration applied to it
	db            *sql.DB
	conn          *sql.Conn
}

// OpenSnapshot takes a snapshot of the database in the data directory dir.
// It never creates a database, writes nothing and refuses a database whose
// schema is not the one this incidentd writes: a newer one (written by a
// newer incidentd) or an older one (to be brought up to date with
// incidentd migrate --data DIR first).
func OpenSnapshot(ctx context.Context, dir string) (_ *Snapshot, err error) {
	src := filepath.Join(dir, FileName)
	fi, err := os.Stat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no database: %s does not exist", src)
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("no database: %s is not a file", src)
	}
	_, known, err := schema.Migrations(migrations)
	if err != nil {
		return nil, err
	}
	if src, err = filepath.Abs(src); err != nil {
		return nil, err
	}
	db, err := openSource(src)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Path: src, db: db}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.conn, err = db.Conn(ctx); err != nil {
		return nil, fmt.Errorf("open %s: %w", src, err)
	}
	// A deferred transaction takes its snapshot at its first read: the
	// check of the schema below.
	if _, err := s.conn.ExecContext(ctx, "BEGIN"); err != nil {
		return nil, fmt.Errorf("open %s: %w", src, err)
	}
	if s.SchemaVersion, err = schemaVersion(ctx, s.conn); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	switch {
	case s.SchemaVersion > known:
		return nil, newerSchema(src, s.SchemaVersion, known)
	case s.SchemaVersion < known:
		return nil, fmt.Errorf("%s: database schema version %d is older than this incidentd's (%d): bring it up to date first with incidentd migrate --data %s",
			src, s.SchemaVersion, known, dir)
	}
	return s, nil
}

// QueryContext runs a query in the snapshot.
func (s *Snapshot) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.conn.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query of one row in the snapshot.
func (s *Snapshot) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return s.conn.QueryRowContext(ctx, query, args...)
}

// Close ends the snapshot.
func (s *Snapshot) Close() error {
	var errs []error
	if s.conn != nil {
		s.conn.ExecContext(context.Background(), "ROLLBACK")
		errs = append(errs, s.conn.Close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}
