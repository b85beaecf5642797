package sqlite

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

// TestFailedSyncStopsWrites: once the log cannot be synced, the write that
// waited for it and every later write fail, and none is acknowledged.
func TestFailedSyncStopsWrites(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := &domain.ResponsePlan{ARN: "arn:aws:ssm-incidents::111122223333:response-plan/a", Account: "111122223333", Name: "a"}
	if err := s.CreateResponsePlan(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	syncLog = func(*os.File) error { return errors.New("EIO") }
	defer func() { syncLog = datasync }()
	p2 := *p
	p2.Name, p2.ARN = "b", "arn:aws:ssm-incidents::111122223333:response-plan/b"
	if err := s.CreateResponsePlan(ctx, &p2, nil); err == nil || !strings.Contains(err.Error(), "could not be synced") {
		t.Fatalf("write during a failed sync: %v", err)
	}
	syncLog = datasync
	p3 := *p
	p3.Name, p3.ARN = "c", "arn:aws:ssm-incidents::111122223333:response-plan/c"
	if err := s.CreateResponsePlan(ctx, &p3, nil); err == nil || !strings.Contains(err.Error(), "could not be synced") {
		t.Fatalf("write after a failed sync: %v", err)
	}
	// Reads go on.
	if _, err := s.GetResponsePlan(ctx, "111122223333", "a"); err != nil {
		t.Fatal(err)
	}
}
