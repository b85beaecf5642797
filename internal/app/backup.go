package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/incidentd/incidentd/internal/sqlite"
)

// Backup writes a copy of the embedded database in cfg.DataDir to the new
// file to (incidentd backup --data DIR --to FILE), while a server may be
// running on it, and prints one line about the copy to out. The copy holds
// every write acknowledged before Backup was called; see sqlite.Backup. Like
// OpenStore it first refuses, unless cfg.AllowInsecurePermissions, a data
// directory or credentials file that group or others can access.
//
// The copy holds the database only: the generated credentials in
// cfg.DataDir (credentials.json) are a plain file, to be copied as it is.
func Backup(ctx context.Context, cfg Config, to string, out io.Writer) error {
	if to == "" {
		return errors.New("missing --to FILE: the file to write the backup to")
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir()
	}
	if err := checkPermissions(cfg, nil); err != nil {
		return err
	}
	info, err := sqlite.Backup(ctx, cfg.DataDir, to)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	_, err = fmt.Fprintf(out, "incidentd: backup written to %s: %d bytes, schema version %d, %d incident records\n",
		info.Path, info.Bytes, info.SchemaVersion, info.IncidentRecords)
	return err
}
