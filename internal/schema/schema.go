// Package schema lists a storage engine's embedded migrations and words the
// refusal of a database that a newer incidentd migrated, the same for every
// engine.
package schema

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one embedded migration, a file NNNN_name.sql.
type Migration struct {
	Path    string // in the engine's file system
	Version int    // NNNN
}

// Name is the migration's file name, as schema_migrations records it.
func (m Migration) Name() string { return path.Base(m.Path) }

// Migrations lists the files migrations/*.sql of fsys in order, and the
// newest version among them: the newest schema this incidentd knows.
func Migrations(fsys fs.FS) (files []Migration, known int, err error) {
	paths, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, 0, err
	}
	sort.Strings(paths)
	for _, p := range paths {
		v, err := strconv.Atoi(strings.SplitN(path.Base(p), "_", 2)[0])
		if err != nil {
			return nil, 0, fmt.Errorf("bad migration name %s", path.Base(p))
		}
		files, known = append(files, Migration{p, v}), max(known, v)
	}
	return files, known, nil
}

// Newer refuses a database at schema version v that is newer than known,
// the newest this incidentd knows.
func Newer(v, known int) error {
	return fmt.Errorf("database schema version %d is newer than this incidentd knows (%d)", v, known)
}
