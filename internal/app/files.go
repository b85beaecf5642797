package app

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/incidentd/incidentd/internal/secrets"
	"github.com/incidentd/incidentd/internal/sqlite"
)

// checkPermissions refuses a data directory, or a credentials file
// (cfg.CredentialsFile, and credentials.json in the data directory), that
// group or others can access, saying what is wrong and how to fix it. With
// cfg.AllowInsecurePermissions it refuses nothing and writes each problem as
// a warning to warn instead, unless warn is nil. A path that does not exist is
// not checked: incidentd creates its own files accessible by their owner only.
func checkPermissions(cfg Config, warn io.Writer) error {
	type check struct{ what, path, chmod string }
	checks := []check{
		{"data directory", cfg.DataDir, "700"},
		{"credentials file", filepath.Join(cfg.DataDir, CredentialsFileName), "600"},
	}
	if cfg.CredentialsFile != "" {
		checks = append(checks, check{"credentials file", cfg.CredentialsFile, "600"})
	}
	for _, c := range checks {
		fi, err := os.Stat(c.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm()
		if mode&0o077 == 0 {
			continue
		}
		problem := fmt.Sprintf("%s %s is accessible by others (mode %04o): run chmod %s %s", c.what, c.path, mode, c.chmod, shellQuote(c.path))
		if !cfg.AllowInsecurePermissions {
			return errors.New(problem + ", or start with --strict-permissions=false")
		}
		if warn != nil {
			fmt.Fprintf(warn, "incidentd: warning: %s\n", problem)
		}
	}
	return nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote returns s as a shell word that stands for s.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeFileAtomic replaces the file at path with one of mode 0600 holding
// data, such that path holds either its old content or all of data, even
// after a crash: it writes a temporary file in the same directory, flushes it
// to disk, renames it over path and flushes the directory. When it fails, it
// leaves no temporary file behind.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// syncDir flushes a directory to disk, so that the files renamed into it stay
// after a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// creations remembers which of the files a start may create did not exist
// before it, so that a failed start can remove them again.
type creations struct {
	paths []string // to remove, files before their directory
}

// newCreations notes which of the data directory (and its missing parent
// directories), its generated credentials, its secrets key and its database are missing
// now. The database's log and shared-memory files are noted only with the
// database: beside an existing database they may hold its newest commits.
func newCreations(dataDir string) *creations {
	c := &creations{}
	missing := func(p string) bool {
		_, err := os.Lstat(p)
		return errors.Is(err, fs.ErrNotExist)
	}
	for _, p := range []string{filepath.Join(dataDir, CredentialsFileName), filepath.Join(dataDir, secrets.FileName), filepath.Join(dataDir, sqlite.FileName)} {
		if missing(p) {
			c.paths = append(c.paths, p)
		}
	}
	if db := filepath.Join(dataDir, sqlite.FileName); missing(db) {
		c.paths = append(c.paths, db+"-wal", db+"-shm")
	}
	for dir := filepath.Clean(dataDir); missing(dir); dir = filepath.Dir(dir) {
		c.paths = append(c.paths, dir)
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return c
}

// undo removes what was noted missing and exists now, files first, then
// directories from the innermost out. A directory is removed only if it is
// empty by then: what else is in it is not incidentd's.
func (c *creations) undo() {
	for _, p := range c.paths {
		os.Remove(p)
	}
}
