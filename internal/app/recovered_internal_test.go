package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestBackgroundPanicIsLoggedAndSurvived injects a panic into a round of
// background work: it is logged once at ERROR with its stack, and the next
// round runs.
func TestBackgroundPanicIsLoggedAndSurvived(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	recovered(log, "test work", func() { panic("injected 9c1e") })
	ran := false
	recovered(log, "test work", func() { ran = true })
	if !ran {
		t.Fatal("the round after a panic did not run")
	}
	out := buf.String()
	if n := strings.Count(out, "level=ERROR"); n != 1 {
		t.Fatalf("%d ERROR lines, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "injected 9c1e") || !strings.Contains(out, "recovered_internal_test.go") {
		t.Fatalf("the ERROR line lacks the panic or its stack:\n%s", out)
	}
}
