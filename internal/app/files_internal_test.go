package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/incidentd/incidentd/internal/sqlite"
)

func TestWriteFileAtomic(t *testing.T) {
	cases := []struct {
		name   string
		before func(t *testing.T, path string) // prepares path
		ok     bool
	}{
		{"new file", func(*testing.T, string) {}, true},
		{"replaces a file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("old content that is longer"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"fails over a directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(path, "inside"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "file.json")
			tc.before(t, path)
			err := writeFileAtomic(path, []byte("new\n"))
			if tc.ok != (err == nil) {
				t.Fatalf("writeFileAtomic: %v", err)
			}
			if tc.ok {
				fi, err := os.Stat(path)
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("%v %v, want mode 0600", fi, err)
				}
				if b, _ := os.ReadFile(path); string(b) != "new\n" {
					t.Fatalf("content %q", b)
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil || len(entries) != 1 || entries[0].Name() != "file.json" {
				t.Fatalf("directory holds %v %v, want only file.json", entries, err)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"./data":                    "./data",
		"/var/lib/incidentd-1.2_x@": "/var/lib/incidentd-1.2_x@",
		"my data":                   "'my data'",
		"it's":                      `'it'\''s'`,
		"$HOME/data":                "'$HOME/data'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestCreationsUndoWhatAStartMade notes a data directory whose parents are
// missing too, creates what a start creates, and undoes it: every
// directory made goes, from the innermost out; a directory that holds
// something else stays.
func TestCreationsUndoWhatAStartMade(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "a", "b", "data")
	c := newCreations(data)
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{CredentialsFileName, sqlite.FileName, sqlite.FileName + "-wal", sqlite.FileName + "-shm"} {
		if err := os.WriteFile(filepath.Join(data, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.undo()
	if _, err := os.Stat(filepath.Join(root, "a")); !os.IsNotExist(err) {
		t.Fatalf("undo left %s: %v", filepath.Join(root, "a"), err)
	}

	// Beside an existing database, its log and shared-memory files are
	// never removed: they may hold its newest commits.
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, sqlite.FileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c = newCreations(data)
	for _, name := range []string{sqlite.FileName + "-wal", sqlite.FileName + "-shm", "other"} {
		if err := os.WriteFile(filepath.Join(data, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.undo()
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := sqlite.FileName + " " + sqlite.FileName + "-shm " + sqlite.FileName + "-wal other"; strings.Join(names, " ") != want {
		t.Fatalf("after undo the data directory holds %v, want %s", names, want)
	}
}
