package sqlite_test

import (
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/sqlite"
	"github.com/incidentd/incidentd/internal/storetest"
)

// TestContract runs the engine-neutral contract of domain.Store on SQLite.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		s, err := sqlite.Open(t.Context(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}
