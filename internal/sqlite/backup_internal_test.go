package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

// TestFailedBackupLeavesNoFile: a copy that cannot be flushed to disk, or
// that fails its check, is not put at the target, and its temporary file is
// removed with whatever SQLite put beside it.
func TestFailedBackupLeavesNoFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := &domain.ResponsePlan{ARN: "arn:aws:ssm-incidents::111122223333:response-plan/a", Account: "111122223333", Name: "a"}
	if err := s.CreateResponsePlan(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	defer func() { syncBackup = func(f *os.File) error { return f.Sync() } }()
	for _, c := range []struct {
		name string
		sync func(*os.File) error
		want string
	}{
		{"the flush fails", func(*os.File) error { return errors.New("EIO") }, "flush the backup to disk: EIO"},
		{"the copy is damaged", func(f *os.File) error {
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			// All but the file's header (100 bytes) is overwritten.
			junk := []byte(strings.Repeat("\xa5", max(0, int(fi.Size())-100)))
			if _, err := f.WriteAt(junk, 100); err != nil {
				return err
			}
			return f.Sync()
		}, "failed its check"},
	} {
		syncBackup = c.sync
		out := t.TempDir()
		_, err := Backup(ctx, dir, filepath.Join(out, "b.db"))
		t.Logf("%s: %v", c.name, err)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("%s: the target directory holds %v", c.name, entries)
		}
	}
}
