package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/incidentd/incidentd/internal/postgres"
	"github.com/incidentd/incidentd/internal/sqlite"
)

// The kinds of the columns copied from SQLite to PostgreSQL.
type columnKind int

const (
	kindText    columnKind = iota // TEXT
	kindInt                       // INTEGER, BIGINT
	kindNullInt                   // INTEGER, BIGINT that may be NULL
	kindBlob                      // BLOB, BYTEA
)

type column struct {
	name string
	kind columnKind
}

// copiedTable is one table MigrateFromSQLite copies: the same name and
// columns in both schemas, or, where the embedded schema differs, the
// columns its source query returns.
type copiedTable struct {
	name string
	cols []column
	// source is the SQLite query that returns cols in the order of the
	// key; "" selects cols from the table of the same name.
	source string
	keys   int // the primary key: the first keys columns
	// every is how often a copied row is read back and compared: every
	// row (1) or every 100th.
	every int
	// identity is the column whose identity sequence PostgreSQL advances
	// past the copied values (an AUTOINCREMENT column in SQLite).
	identity string
}

// sampleEvery is how often a row of a large table is read back and compared.
const sampleEvery = 100

func cols(spec ...any) []column {
	var c []column
	for i := 0; i < len(spec); i += 2 {
		c = append(c, column{spec[i].(string), spec[i+1].(columnKind)})
	}
	return c
}

// copiedTables are the tables of both schemas, in the order they are copied.
var copiedTables = []copiedTable{
	{name: "secrets", cols: cols("name", kindText, "value", kindBlob), keys: 1, every: 1},
	{name: "replication_sets", cols: cols("account", kindText, "arn", kindText, "doc", kindText), keys: 1, every: 1},
	{name: "response_plans", cols: cols("account", kindText, "name", kindText, "doc", kindText), keys: 2, every: 1},
	{name: "tags", cols: cols("account", kindText, "resource_arn", kindText, "key", kindText, "value", kindText), keys: 3, every: sampleEvery},
	{name: "resource_policies", cols: cols("seq", kindInt, "account", kindText, "plan_name", kindText, "policy_id", kindText,
		"created_time", kindInt, "doc", kindText), keys: 1, every: 1, identity: "seq"},
	{name: "incident_records", cols: cols("account", kindText, "arn", kindText, "status", kindText, "impact", kindInt,
		"created_by", kindText, "creation_time", kindInt, "dedupe_string", kindText, "doc", kindText, "next_item_seq", kindInt, "next_change_seq", kindInt),
		keys: 2, every: sampleEvery},
	// The embedded schema names an event's record by the record's id.
	{name: "timeline_events", cols: cols("seq", kindInt, "account", kindText, "incident_arn", kindText, "event_id", kindText,
		"event_time", kindInt, "event_type", kindText, "doc", kindText), keys: 1, every: sampleEvery, identity: "seq",
		source: `SELECT e.seq, r.account, r.arn, e.event_id, e.event_time, e.event_type, e.doc
			FROM timeline_events e JOIN incident_records r ON r.id = e.incident ORDER BY e.seq`},
	{name: "related_items", cols: cols("account", kindText, "incident_arn", kindText, "generated_id", kindText, "seq", kindInt,
		"doc", kindText), keys: 3, every: sampleEvery},
	{name: "idempotency_records", cols: cols("account", kindText, "operation", kindText, "token", kindText,
		"request_hash", kindBlob, "result", kindBlob, "created_at", kindInt), keys: 3, every: sampleEvery},
	{name: "deliveries", cols: cols("id", kindText, "topic", kindText, "account", kindText, "incident_arn", kindText, "seq", kindInt,
		"detail_type", kindText, "message", kindBlob, "attributes", kindText, "created_at", kindInt, "state", kindText,
		"attempts", kindInt, "next_attempt", kindInt, "last_error", kindText, "delivered_at", kindNullInt,
		"claimed_by", kindText, "claimed_until", kindNullInt), keys: 2, every: sampleEvery},
	{name: "findings", cols: cols("account", kindText, "id", kindText, "start_time", kindInt, "end_time", kindNullInt,
		"doc", kindText), keys: 2, every: sampleEvery},
	{name: "sequences", cols: cols("account", kindText, "name", kindText, "value", kindInt), keys: 2, every: 1},
	{name: "leases", cols: cols("name", kindText, "holder", kindText, "expires_at", kindInt), keys: 1, every: 1},
	// The identities, each table after those its foreign keys refer to.
	{name: "accounts", cols: cols("id", kindText, "org_id", kindText, "created_time", kindInt), keys: 1, every: 1},
	{name: "users", cols: cols("account", kindText, "name", kindText, "created_time", kindInt), keys: 2, every: 1},
	{name: "groups", cols: cols("account", kindText, "name", kindText, "created_time", kindInt), keys: 2, every: 1},
	{name: "group_members", cols: cols("account", kindText, "group_name", kindText, "user_name", kindText), keys: 3, every: 1},
	{name: "access_keys", cols: cols("id", kindText, "account", kindText, "user_name", kindText, "sealed_secret", kindBlob,
		"active", kindInt, "created_time", kindInt), keys: 1, every: 1},
	{name: "identity_policies", cols: cols("account", kindText, "holder", kindText, "holder_name", kindText, "name", kindText,
		"document", kindText, "updated_time", kindInt), keys: 4, every: 1},
	// The console's passwords and sessions, after the users they belong to.
	{name: "console_passwords", cols: cols("account", kindText, "user_name", kindText, "hash", kindBlob, "updated_time", kindInt),
		keys: 2, every: 1},
	{name: "console_sessions", cols: cols("id", kindText, "account", kindText, "user_name", kindText, "csrf", kindText,
		"created_time", kindInt, "expires_time", kindInt), keys: 1, every: 1},
}

// postgresOnlyTables are the tables of the PostgreSQL schema that the
// SQLite schema has not: nothing is copied into them, and they too must be
// empty.
var postgresOnlyTables = []string{"locks"}

// MigrateFromSQLite copies the whole embedded database of the data
// directory dir into the empty PostgreSQL database cfg.DatabaseURL
// (incidentd migrate --from-sqlite DIR --database-url URL) and prints a line
// per table to out.
//
// It applies the PostgreSQL migrations first, and refuses a target that
// holds any row. It copies every table, secrets and clientTokens included
// (page tokens and replayed clientTokens keep working), keeping every value
// as it is (documents byte for byte, but those of incident records and
// timeline events, which it completes from their columns), timeline and resource policy sequence
// numbers, related item positions, notification deliveries and their state, the
// named counters (Store.NextSeq), the identities (accounts, users, groups,
// access keys with their sealed secrets, identity-based policies), and the
// console's password hashes and sessions. It then advances the
// PostgreSQL identity sequences past the copied values (and past values
// SQLite has handed out before, so that none is reused), and checks the copy
// before committing: the row count of every table, and a sample of rows
// (every one of the small tables, every 100th of the others) read back
// and compared column by column. The copy is one PostgreSQL transaction:
// when it fails, the target holds nothing of it.
//
// The source is read as one snapshot (one SQLite read transaction) and never
// written: a server may go on running on dir, but what it writes after the
// snapshot is not copied. Stop it first to copy everything. MigrateFromSQLite
// refuses a directory without a database and a database whose schema is not
// the one this incidentd writes.
func MigrateFromSQLite(ctx context.Context, cfg Config, dir string, out io.Writer) error {
	if dir == "" {
		return errors.New("missing --from-sqlite DIR: the data directory of the embedded database to copy")
	}
	if cfg.DatabaseURL == "" {
		return errors.New("--from-sqlite copies into PostgreSQL: give the empty database to copy into with --database-url URL (or $INCIDENTD_DATABASE_URL)")
	}
	src := cfg
	src.DataDir, src.CredentialsFile = dir, ""
	if err := checkPermissions(src, nil); err != nil {
		return err
	}
	start := time.Now()
	snap, err := sqlite.OpenSnapshot(ctx, dir)
	if err != nil {
		return err
	}
	defer snap.Close()
	if err := checkSQLiteTables(ctx, snap); err != nil {
		return err
	}

	// The target's schema, then one connection without a statement
	// timeout for the copy.
	store, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 1})
	if err != nil {
		return err
	}
	store.Close()
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer tx.Rollback(context.Background())
	if err := checkTargetEmpty(ctx, tx); err != nil {
		return err
	}

	sequences, err := sqliteSequences(ctx, snap)
	if err != nil {
		return err
	}
	var summary []string
	for _, t := range copiedTables {
		n, samples, err := copyTable(ctx, snap, tx, t)
		if err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
		if err := verifyTable(ctx, snap, tx, t, n, samples); err != nil {
			return fmt.Errorf("check the copy of %s: %w", t.name, err)
		}
		if t.identity != "" {
			if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%[1]s', '%[2]s'),
				GREATEST((SELECT COALESCE(MAX(%[2]s), 0) FROM %[1]s), $1::bigint) + 1, false)`, t.name, t.identity), sequences[t.name]); err != nil {
				return fmt.Errorf("advance the sequence of %s.%s: %w", t.name, t.identity, err)
			}
		}
		summary = append(summary, fmt.Sprintf("incidentd: %-19s %d rows copied, %d read back and compared\n", t.name, n, len(samples)))
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit the copy: %w", err)
	}
	// The copied tables have no statistics until autovacuum (which may be
	// off) gets to them: without, the planner sorts a million incidents for
	// a page of a hundred.
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("postgres: analyze the copied tables: %w", err)
	}
	for _, s := range summary {
		if _, err := io.WriteString(out, s); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(out, "incidentd: copied %s (schema version %d) into %s in %v; writes made to it after the copy started are not copied\n",
		snap.Path, snap.SchemaVersion, storageName(cfg), time.Since(start).Round(time.Millisecond))
	return err
}

// checkSQLiteTables refuses a source holding a table this incidentd would
// not copy.
func checkSQLiteTables(ctx context.Context, snap *sqlite.Snapshot) error {
	rows, err := snap.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'
		AND name NOT IN ('schema_migrations', 'sqlite_sequence') AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("%s: %w", snap.Path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		if !slices.ContainsFunc(copiedTables, func(t copiedTable) bool { return t.name == name }) {
			return fmt.Errorf("%s: table %s is not one this incidentd knows how to copy", snap.Path, name)
		}
	}
	return rows.Err()
}

// checkTargetEmpty locks the tables of the target against writes until the
// copy commits, and refuses a target holding any row or a table that is
// neither copied nor known.
func checkTargetEmpty(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY table_name`)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	for _, name := range names {
		if !slices.Contains(postgresOnlyTables, name) && !slices.ContainsFunc(copiedTables, func(t copiedTable) bool { return t.name == name }) {
			return fmt.Errorf("the target database has a table %s that this incidentd does not know: refusing to copy into it", name)
		}
	}
	for _, t := range copiedTables {
		if !slices.Contains(names, t.name) {
			return fmt.Errorf("the target database has no table %s after its migrations", t.name)
		}
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+strings.Join(names, ", ")+" IN EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("postgres: lock the tables: %w", err)
	}
	for _, name := range names {
		var held bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+name+")").Scan(&held); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		if held {
			return fmt.Errorf("the target database is not empty (table %s holds rows): --from-sqlite copies into an empty database only", name)
		}
	}
	return nil
}

// sqliteSequences returns the last value SQLite handed out of each
// AUTOINCREMENT column, by table: at least the column's largest value.
func sqliteSequences(ctx context.Context, snap *sqlite.Snapshot) (map[string]int64, error) {
	seqs := map[string]int64{}
	rows, err := snap.QueryContext(ctx, `SELECT name, seq FROM sqlite_sequence`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", snap.Path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var seq int64
		if err := rows.Scan(&name, &seq); err != nil {
			return nil, err
		}
		seqs[name] = seq
	}
	return seqs, rows.Err()
}

// copyTable copies the rows of t in the order of its primary key, and
// returns how many and the sample to read back (each as PostgreSQL takes it).
func copyTable(ctx context.Context, snap *sqlite.Snapshot, tx pgx.Tx, t copiedTable) (int64, [][]any, error) {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	source := t.source
	if source == "" {
		source = "SELECT " + strings.Join(names, ", ") + " FROM " + t.name + " ORDER BY " + strings.Join(names[:t.keys], ", ")
	}
	rows, err := snap.QueryContext(ctx, source)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	target := slices.Clone(names)
	if t.name == "timeline_events" {
		target = append(target, "refs")
	}
	var n int64
	var samples [][]any
	next := func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		raw := make([]any, len(t.cols))
		ptrs := make([]any, len(t.cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, len(t.cols), len(target))
		for i, c := range t.cols {
			v, err := convert(raw[i], c.kind)
			if err != nil {
				return nil, fmt.Errorf("column %s of row %d: %w", c.name, n+1, err)
			}
			row[i] = v
		}
		if err := completeDocument(t.name, row); err != nil {
			return nil, fmt.Errorf("row %d: %w", n+1, err)
		}
		if t.name == "timeline_events" {
			refs, err := postgres.TimelineRefs(row[len(row)-1].(string))
			if err != nil {
				return nil, fmt.Errorf("timeline event %v: %w", row[0], err)
			}
			row = append(row, refs)
		}
		if n%int64(t.every) == 0 {
			samples = append(samples, row[:len(t.cols)])
		}
		n++
		return row, nil
	}
	copied, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, target, pgx.CopyFromFunc(next))
	if err != nil {
		return 0, nil, err
	}
	if copied != n {
		return 0, nil, fmt.Errorf("PostgreSQL took %d rows of the %d sent", copied, n)
	}
	return n, samples, nil
}

// completeDocument completes, in a row of incident_records or
// timeline_events, the document from the row's columns: the embedded engine
// stores it without what they hold, PostgreSQL with it.
func completeDocument(table string, row []any) error {
	var err error
	switch table {
	case "incident_records":
		row[7], err = sqlite.FullRecordDocument(row[0].(string), row[1].(string), row[2].(string), row[3].(int64), row[6].(string), row[4].(string), row[7].(string))
	case "timeline_events":
		row[6], err = sqlite.FullEventDocument(row[1].(string), row[2].(string), row[3].(string), row[5].(string), row[6].(string))
	}
	return err
}

// convert returns the value SQLite returned for a column of kind k as the
// Go value PostgreSQL takes for it.
func convert(v any, k columnKind) (any, error) {
	switch k {
	case kindText:
		switch v := v.(type) {
		case string:
			return v, nil
		case []byte:
			return string(v), nil
		}
	case kindBlob:
		switch v := v.(type) {
		case []byte:
			if v == nil {
				return []byte{}, nil
			}
			return v, nil
		case string:
			return []byte(v), nil
		}
	case kindNullInt:
		if v == nil {
			return nil, nil
		}
		fallthrough
	case kindInt:
		if v, ok := v.(int64); ok {
			return v, nil
		}
	}
	return nil, fmt.Errorf("unexpected value %T %v", v, v)
}

// verifyTable checks the copy of t: PostgreSQL holds as many rows as the
// snapshot, and each sample row reads back equal.
func verifyTable(ctx context.Context, snap *sqlite.Snapshot, tx pgx.Tx, t copiedTable, copied int64, samples [][]any) error {
	var want, got int64
	if err := snap.QueryRowContext(ctx, "SELECT count(*) FROM "+t.name).Scan(&want); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+t.name).Scan(&got); err != nil {
		return err
	}
	if want != copied || got != copied {
		return fmt.Errorf("SQLite holds %d rows, %d were copied, PostgreSQL holds %d", want, copied, got)
	}
	names := make([]string, len(t.cols))
	var where []string
	for i, c := range t.cols {
		names[i] = c.name
		if i < t.keys {
			where = append(where, fmt.Sprintf("%s = $%d", c.name, i+1))
		}
	}
	query := "SELECT " + strings.Join(names, ", ") + " FROM " + t.name + " WHERE " + strings.Join(where, " AND ")
	for _, s := range samples {
		rows, err := tx.Query(ctx, query, s[:t.keys]...)
		if err != nil {
			return err
		}
		var back [][]any
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				rows.Close()
				return err
			}
			back = append(back, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(back) != 1 {
			return fmt.Errorf("the row of key %v reads back %d times", s[:t.keys], len(back))
		}
		for i, c := range t.cols {
			if !sameValue(s[i], back[0][i]) {
				return fmt.Errorf("the row of key %v reads back %s %v, not %v", s[:t.keys], c.name, back[0][i], s[i])
			}
		}
	}
	return nil
}

// sameValue compares a copied value with the one PostgreSQL reads back.
func sameValue(sent, back any) bool {
	switch b := back.(type) {
	case int32:
		back = int64(b)
	case int16:
		back = int64(b)
	}
	if s, ok := sent.([]byte); ok {
		b, ok := back.([]byte)
		return ok && bytes.Equal(s, b)
	}
	return sent == back
}
