package sqlite_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/sqlite"
)

func finding(account, id string, start time.Time, end *time.Time) *domain.Finding {
	return &domain.Finding{
		Account: account, ID: id, CreationTime: start, LastModifiedTime: start, StartTime: start, EndTime: end,
		CodeDeployDeployment: &domain.CodeDeployDeployment{DeploymentGroupARN: "arn:aws:codedeploy:us-east-1:" + account + ":deploymentgroup:a/g", DeploymentID: id},
	}
}

func findingIDs(fs []*domain.Finding) []string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.ID)
	}
	return ids
}

func TestFindings(t *testing.T) {
	s := open(t, t.TempDir())
	const a, b = "111122223333", "444455556666"
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	end := func(m int) *time.Time { e := at(m); return &e }

	for _, f := range []*domain.Finding{
		finding(a, "early", at(0), end(10)), // ends before the window
		finding(a, "edge", at(0), end(20)),  // ends where the window starts
		finding(a, "open", at(5), nil),      // in progress: ends now
		finding(a, "inside-2", at(30), end(31)),
		finding(a, "inside-1", at(30), end(35)), // same start: by id
		finding(a, "last", at(40), end(50)),     // starts where the window ends
		finding(a, "late", at(41), nil),         // starts after
		finding(b, "other", at(30), end(31)),    // another account's
	} {
		if err := s.PutFinding(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	now := at(100)
	list := func(after *domain.FindingCursor, limit int) []string {
		t.Helper()
		fs, err := s.ListFindings(ctx, a, at(20), at(40), now, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		return findingIDs(fs)
	}
	want := []string{"edge", "open", "inside-1", "inside-2", "last"}
	if got := list(nil, 100); !slices.Equal(got, want) {
		t.Fatalf("window: %v, want %v", got, want)
	}
	if got := list(&domain.FindingCursor{StartTime: at(30), ID: "inside-1"}, 2); !slices.Equal(got, want[3:5]) {
		t.Fatalf("after inside-1: %v, want %v", got, want[3:5])
	}
	// An in-progress finding ends at now: before the window, it is not in it.
	if fs, _ := s.ListFindings(ctx, a, at(20), at(40), at(19), nil, 100); slices.Contains(findingIDs(fs), "open") {
		t.Fatal("a finding in progress ended after now")
	}

	// Putting the same id again replaces the finding.
	done := finding(a, "open", at(5), end(6))
	done.CreationTime, done.LastModifiedTime = at(5), at(6)
	if err := s.PutFinding(ctx, done); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetFindings(ctx, a, []string{"open", "missing", "other"})
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], done) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if got := list(nil, 100); slices.Contains(got, "open") {
		t.Fatalf("the finished finding is still listed: %v", got)
	}

	// DeleteAccountData removes the account's findings, not another's.
	now = time.Now().UTC()
	rs := &domain.ReplicationSet{ARN: "arn:aws:ssm-incidents::" + a + ":replication-set/x", Account: a, CreatedTime: now,
		Regions: map[string]*domain.Region{"us-east-1": {SSEKMSKeyID: "DefaultKey", AddedTime: now}}}
	if err := s.CreateReplicationSet(ctx, rs, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccountData(ctx, a, func(*domain.ReplicationSet) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetFindings(ctx, a, []string{"edge", "last"}); err != nil || len(got) != 0 {
		t.Fatalf("after DeleteAccountData: %v %v", findingIDs(got), err)
	}
	if got, err := s.GetFindings(ctx, b, []string{"other"}); err != nil || len(got) != 1 {
		t.Fatalf("another account's finding: %v %v", findingIDs(got), err)
	}
}

// TestMigrationWritesFindingIDsAsAWSDoes: a finding kept under the id form
// of earlier versions (KIND/32 hex digits) gets the UUID-like id of the
// same digits, in its row and its document, when the database is opened.
func TestMigrationWritesFindingIDsAsAWSDoes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	const old, want = "codedeploy/0123456789abcdef0123456789abcdef", "01234567-89ab-cdef-0123-456789abcdef"
	start := time.UnixMilli(1700000000000).UTC()
	f := &domain.Finding{Account: "111122223333", ID: old, CreationTime: start, LastModifiedTime: start, StartTime: start,
		CodeDeployDeployment: &domain.CodeDeployDeployment{DeploymentGroupARN: "arn:aws:codedeploy:us-east-1:111122223333:deploymentgroup:a/b", DeploymentID: "d-1"}}
	if err := s.PutFinding(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The database as an earlier version left it: without the migration.
	db := openFile(t, dir)
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE name = '0006_finding_ids.sql'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = sqlite.Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.GetFindings(ctx, "111122223333", []string{old}); err != nil || len(got) != 0 {
		t.Fatalf("the old id still finds %v (%v)", got, err)
	}
	got, err := s.GetFindings(ctx, "111122223333", []string{want})
	if err != nil || len(got) != 1 || got[0].ID != want || got[0].CodeDeployDeployment.DeploymentID != "d-1" {
		t.Fatalf("the migrated finding: %+v %v", got, err)
	}
}
