package sqlite

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

// TestPing: Ping passes on an open store, fails with the reason once the
// log could not be synced (the store takes no more writes), and fails on a
// closed store.
func TestPing(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("open store: %v", err)
	}
	syncLog = func(*os.File) error { return errors.New("EIO") }
	defer func() { syncLog = datasync }()
	p := &domain.ResponsePlan{ARN: "arn:aws:ssm-incidents::111122223333:response-plan/a", Account: "111122223333", Name: "a"}
	if err := s.CreateResponsePlan(ctx, p, nil); err == nil {
		t.Fatal("a write was acknowledged without its sync")
	}
	syncLog = datasync
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "could not be synced") {
		t.Fatalf("store that takes no more writes: %v", err)
	}

	s2, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if err := s2.Ping(ctx); err == nil {
		t.Fatal("a closed store answered the ping")
	}
}
