package domain

import "context"

// ResourceRef names a taggable resource of an account.
type ResourceRef struct {
	Account string
	Type    ResourceType
	ARN     string
	// Key is the resource's key in its own table: the response plan's name,
	// the replication set's ARN, the incident record's ARN.
	Key string
}

// Store keeps incidentd's state. Every method that writes is durable when it
// returns nil. Methods return ErrNotFound or ErrConflict (possibly wrapped)
// for a missing or duplicate resource; the service layer adds the details.
type Store interface {
	// Tx runs fn so that every Store call made with the ctx it receives is
	// part of one transaction, committed (durably) when fn returns nil and
	// rolled back when it returns an error.
	Tx(ctx context.Context, fn func(ctx context.Context) error) error

	// CreateReplicationSet stores rs; ErrConflict when the account has one.
	CreateReplicationSet(ctx context.Context, rs *ReplicationSet, tags map[string]string) error
	// GetReplicationSet returns the account's replication set or ErrNotFound.
	GetReplicationSet(ctx context.Context, account string) (*ReplicationSet, error)
	// UpdateReplicationSet applies fn to the account's set in one transaction;
	// nothing is written when fn returns an error.
	UpdateReplicationSet(ctx context.Context, account string, fn func(*ReplicationSet) error) error
	// DeleteAccountData removes the replication set and everything else the
	// account has stored, when check (run in the same transaction) allows it.
	DeleteAccountData(ctx context.Context, account string, check func(*ReplicationSet) error) error

	// CreateResponsePlan stores p with its tags; ErrConflict when the name is taken.
	CreateResponsePlan(ctx context.Context, p *ResponsePlan, tags map[string]string) error
	// GetResponsePlan returns the plan or ErrNotFound.
	GetResponsePlan(ctx context.Context, account, name string) (*ResponsePlan, error)
	// ListResponsePlans returns up to limit plans whose names sort after after.
	ListResponsePlans(ctx context.Context, account, after string, limit int) ([]*ResponsePlan, error)
	// UpdateResponsePlan applies fn to the plan in one transaction.
	UpdateResponsePlan(ctx context.Context, account, name string, fn func(*ResponsePlan) error) error
	// DeleteResponsePlan removes the plan and its tags; deleting a missing plan is not an error.
	DeleteResponsePlan(ctx context.Context, account, name string) error

	// Tags returns the tags of an existing resource, or ErrNotFound.
	Tags(ctx context.Context, r ResourceRef) (map[string]string, error)
	// UpdateTags applies fn to the tags of an existing resource in one transaction.
	UpdateTags(ctx context.Context, r ResourceRef, fn func(tags map[string]string) error) error

	// Secret returns the named random secret, creating it with size bytes on first use.
	Secret(ctx context.Context, name string, size int) ([]byte, error)

	// Close releases the store; writes acknowledged before it stay durable.
	Close() error
}
