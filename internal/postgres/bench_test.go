package postgres_test

import (
	"fmt"
	"testing"

	"github.com/incidentd/incidentd/internal/postgres"
	"github.com/incidentd/incidentd/internal/storetest"
	"github.com/incidentd/incidentd/internal/testserver"
)

// BenchmarkClaimBehindBacklog: see storetest.BenchmarkClaimBehindBacklog.
func BenchmarkClaimBehindBacklog(b *testing.B) {
	for _, backlog := range []int{1000, 100000} {
		b.Run(fmt.Sprint("backlog=", backlog), func(b *testing.B) {
			storetest.BenchmarkClaimBehindBacklog(b, open(b, testserver.PostgresDatabase(b), postgres.Options{}), backlog)
		})
	}
}
