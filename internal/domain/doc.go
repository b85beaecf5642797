// Package domain holds incidentd's entities (replication sets, response plans,
// incident records, findings), the typed errors every operation returns, the
// caller's identity, and the Store interface that the storage engines
// implement.
//
// It imports neither net/http nor a database driver.
package domain
