package postgres_test

import (
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/postgres"
	"github.com/incidentd/incidentd/internal/storetest"
	"github.com/incidentd/incidentd/internal/testserver"
)

// TestContract runs the engine-neutral contract of domain.Store on
// PostgreSQL, each case on a fresh database of its own.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		// Few connections each: the cases run in parallel, each with a pool.
		s, err := postgres.Open(t.Context(), testserver.PostgresDatabase(t), postgres.Options{MaxConns: 4})
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
