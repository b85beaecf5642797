// Package sqlite is the embedded storage engine: one SQLite database file in
// WAL mode with full fsync on commit, one writer connection and a pool of
// readers. It implements domain.Store.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/incidentd/incidentd/internal/domain"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a domain.Store on one SQLite file.
type Store struct {
	write *sql.DB // exactly one connection: SQLite has one writer
	read  *sql.DB
}

var _ domain.Store = (*Store)(nil)

// FileName is the database file inside the data directory.
const FileName = "incidentd.db"

// Open opens (creating if needed) the database in dir and applies pending
// migrations. It refuses a database written by a newer incidentd.
func Open(ctx context.Context, dir string) (*Store, error) {
	path := filepath.Join(dir, FileName)
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{write: w, read: r}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// Migrate applies the embedded migrations not yet recorded, in order, each in
// its own transaction.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	var latest int
	if err := s.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&latest); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	known := 0
	for _, f := range files {
		name := filepath.Base(f)
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migrate: bad migration name %s", name)
		}
		known = v
		if v <= latest {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				v, name, time.Now().UTC().Format(time.RFC3339))
			return err
		})
		if err != nil {
			return err
		}
	}
	if latest > known {
		return fmt.Errorf("database schema version %d is newer than this incidentd knows (%d)", latest, known)
	}
	return nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func getDoc[T any](ctx context.Context, q querier, query string, args ...any) (*T, error) {
	var doc string
	if err := q.QueryRowContext(ctx, query, args...).Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, domain.ErrNotFound
		}
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return nil, fmt.Errorf("decode stored document: %w", err)
	}
	return v, nil
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// CreateReplicationSet implements domain.Store.
func (s *Store) CreateReplicationSet(ctx context.Context, rs *domain.ReplicationSet, tags map[string]string) error {
	doc, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO replication_sets (account, arn, doc) VALUES (?, ?, ?)`, rs.Account, rs.ARN, string(doc))
		if isUniqueViolation(err) {
			return domain.ErrConflict
		}
		if err != nil {
			return err
		}
		return putTags(ctx, tx, rs.Account, rs.ARN, tags)
	})
}

// GetReplicationSet implements domain.Store.
func (s *Store) GetReplicationSet(ctx context.Context, account string) (*domain.ReplicationSet, error) {
	return getDoc[domain.ReplicationSet](ctx, s.read, `SELECT doc FROM replication_sets WHERE account = ?`, account)
}

// UpdateReplicationSet implements domain.Store.
func (s *Store) UpdateReplicationSet(ctx context.Context, account string, fn func(*domain.ReplicationSet) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		rs, err := getDoc[domain.ReplicationSet](ctx, tx, `SELECT doc FROM replication_sets WHERE account = ?`, account)
		if err != nil {
			return err
		}
		if err := fn(rs); err != nil {
			return err
		}
		doc, err := json.Marshal(rs)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE replication_sets SET doc = ? WHERE account = ?`, string(doc), account)
		return err
	})
}

// DeleteAccountData implements domain.Store.
func (s *Store) DeleteAccountData(ctx context.Context, account string, check func(*domain.ReplicationSet) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		rs, err := getDoc[domain.ReplicationSet](ctx, tx, `SELECT doc FROM replication_sets WHERE account = ?`, account)
		if err != nil {
			return err
		}
		if err := check(rs); err != nil {
			return err
		}
		for _, table := range []string{"replication_sets", "response_plans", "tags"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE account = ?`, account); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateResponsePlan implements domain.Store.
func (s *Store) CreateResponsePlan(ctx context.Context, p *domain.ResponsePlan, tags map[string]string) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO response_plans (account, name, doc) VALUES (?, ?, ?)`, p.Account, p.Name, string(doc))
		if isUniqueViolation(err) {
			return domain.ErrConflict
		}
		if err != nil {
			return err
		}
		return putTags(ctx, tx, p.Account, p.ARN, tags)
	})
}

// GetResponsePlan implements domain.Store.
func (s *Store) GetResponsePlan(ctx context.Context, account, name string) (*domain.ResponsePlan, error) {
	return getDoc[domain.ResponsePlan](ctx, s.read, `SELECT doc FROM response_plans WHERE account = ? AND name = ?`, account, name)
}

// ListResponsePlans implements domain.Store.
func (s *Store) ListResponsePlans(ctx context.Context, account, after string, limit int) ([]*domain.ResponsePlan, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT doc FROM response_plans WHERE account = ? AND name > ? ORDER BY name LIMIT ?`, account, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*domain.ResponsePlan
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		p := new(domain.ResponsePlan)
		if err := json.Unmarshal([]byte(doc), p); err != nil {
			return nil, fmt.Errorf("decode stored document: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdateResponsePlan implements domain.Store.
func (s *Store) UpdateResponsePlan(ctx context.Context, account, name string, fn func(*domain.ResponsePlan) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		p, err := getDoc[domain.ResponsePlan](ctx, tx, `SELECT doc FROM response_plans WHERE account = ? AND name = ?`, account, name)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		doc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE response_plans SET doc = ? WHERE account = ? AND name = ?`, string(doc), account, name)
		return err
	})
}

// DeleteResponsePlan implements domain.Store.
func (s *Store) DeleteResponsePlan(ctx context.Context, account, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var arn string
		err := tx.QueryRowContext(ctx, `DELETE FROM response_plans WHERE account = ? AND name = ? RETURNING json_extract(doc, '$.arn')`, account, name).Scan(&arn)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM tags WHERE account = ? AND resource_arn = ?`, account, arn)
		return err
	})
}

func resourceExists(ctx context.Context, q querier, r domain.ResourceRef) error {
	var query string
	switch r.Type {
	case domain.ResourceReplicationSet:
		query = `SELECT 1 FROM replication_sets WHERE account = ? AND arn = ?`
	case domain.ResourceResponsePlan:
		query = `SELECT 1 FROM response_plans WHERE account = ? AND name = ?`
	default:
		return domain.ErrNotFound
	}
	var one int
	if err := q.QueryRowContext(ctx, query, r.Account, r.Key).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return domain.ErrNotFound
		}
		return err
	}
	return nil
}

func readTags(ctx context.Context, q querier, account, arn string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM tags WHERE account = ? AND resource_arn = ?`, account, arn)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tags := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		tags[k] = v
	}
	return tags, rows.Err()
}

func putTags(ctx context.Context, tx *sql.Tx, account, arn string, tags map[string]string) error {
	for k, v := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tags (account, resource_arn, key, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (account, resource_arn, key) DO UPDATE SET value = excluded.value`, account, arn, k, v); err != nil {
			return err
		}
	}
	return nil
}

// Tags implements domain.Store.
func (s *Store) Tags(ctx context.Context, r domain.ResourceRef) (map[string]string, error) {
	if err := resourceExists(ctx, s.read, r); err != nil {
		return nil, err
	}
	return readTags(ctx, s.read, r.Account, r.ARN)
}

// UpdateTags implements domain.Store.
func (s *Store) UpdateTags(ctx context.Context, r domain.ResourceRef, fn func(map[string]string) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := resourceExists(ctx, tx, r); err != nil {
			return err
		}
		tags, err := readTags(ctx, tx, r.Account, r.ARN)
		if err != nil {
			return err
		}
		if err := fn(tags); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE account = ? AND resource_arn = ?`, r.Account, r.ARN); err != nil {
			return err
		}
		return putTags(ctx, tx, r.Account, r.ARN, tags)
	})
}

// Secret implements domain.Store.
func (s *Store) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	var v []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		v = make([]byte, size)
		rand.Read(v)
		_, err = tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?)`, name, v)
		return err
	})
	return v, err
}
