package domain

import (
	"context"
	"time"
)

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
//
// The guarantees below are the whole contract the service relies on: an
// engine must keep them also when several transactions, of one process or
// of several incidentd nodes on one database, run at once. None of them may
// rest on one engine's machinery (such as SQLite's single writer) without
// being written here. internal/storetest checks them on every engine.
//
// A call's ctx may carry a StoreTrace (StoreTraceFrom): an engine may record
// in it the time the call spent and, for a write, its waits and the commit
// group it joined. Recording is optional: an engine that records nothing
// leaves the trace empty. Reads and writes made inside Tx count as part of
// the Tx.
type Store interface {
	// Tx runs fn so that every Store call made with the ctx it receives is
	// part of one transaction, committed (durably) when fn returns nil and
	// rolled back when it returns an error.
	//
	// Isolation: reads inside the transaction see its own writes; the
	// read-modify-write methods (Update*, ClaimIdempotencyRecord) lock what
	// they change until the transaction ends, and FindOpenIncident and
	// CountResourcePolicies lock what their answer depends on (below), so
	// that a decision made on a read still holds at commit. Other reads see
	// committed data and need no more than read-committed isolation.
	//
	// fn may be run again, from the start, when the engine must retry the
	// transaction (a serialization failure or a deadlock the database
	// reports): it must have no effect outside the store, and must not
	// depend on state it kept from an earlier run.
	//
	// A Store call that fails inside a transaction rolls back its own
	// changes only (a savepoint): fn may handle the error and go on, and
	// the rest commits.
	//
	// Deferred writes: a call inside a transaction that returns nothing but
	// its error, and whose failure is no answer fn could handle (below),
	// may defer its write, to send it with the transaction's next statement
	// or with its commit, and return nil. Should that write fail, the whole
	// transaction fails: every later call in it fails with an error that is
	// none of the store's answers, nothing of it commits, and Tx returns
	// the error the call would have returned (ErrConflict for a duplicate),
	// or runs fn again when the engine must retry. Reads see every write
	// made before them, deferred or not, and a nested Tx that fails drops
	// the deferred writes it made. The calls whose failure is an answer
	// never defer that part: the Create* methods, PutResourcePolicy,
	// AddRelatedItem, RemoveRelatedItem, DeleteResourcePolicy,
	// ClaimIdempotencyRecord, and the read and fn of the Update* methods.
	// AddTimelineEvent, whose event id the caller generates unique, may
	// fail the transaction on a duplicate id rather than the call.
	Tx(ctx context.Context, fn func(ctx context.Context) error) error

	// CreateReplicationSet stores rs; ErrConflict when the account has one.
	CreateReplicationSet(ctx context.Context, rs *ReplicationSet, tags map[string]string) error
	// GetReplicationSet returns the account's replication set or ErrNotFound.
	// Inside a Tx it keeps the set from being deleted (DeleteAccountData)
	// until the transaction ends: what the transaction writes for the
	// account, having seen its set, is not left behind by a deletion.
	GetReplicationSet(ctx context.Context, account string) (*ReplicationSet, error)
	// UpdateReplicationSet applies fn to the account's set in one transaction;
	// nothing is written when fn returns an error.
	UpdateReplicationSet(ctx context.Context, account string, fn func(*ReplicationSet) error) error
	// DeleteAccountData removes the replication set and everything else the
	// account has stored, when check (run in the same transaction) allows it.
	DeleteAccountData(ctx context.Context, account string, check func(*ReplicationSet) error) error

	// CreateResponsePlan stores p with its tags; ErrConflict when the name is taken.
	CreateResponsePlan(ctx context.Context, p *ResponsePlan, tags map[string]string) error
	// GetResponsePlan returns the plan or ErrNotFound. Inside a Tx it keeps
	// the plan from being deleted until the transaction ends: a policy put
	// for a plan the transaction saw is not left to a later plan of the
	// same name.
	GetResponsePlan(ctx context.Context, account, name string) (*ResponsePlan, error)
	// ListResponsePlans returns up to limit plans whose names sort after after.
	ListResponsePlans(ctx context.Context, account, after string, limit int) ([]*ResponsePlan, error)
	// UpdateResponsePlan applies fn to the plan in one transaction.
	UpdateResponsePlan(ctx context.Context, account, name string, fn func(*ResponsePlan) error) error
	// DeleteResponsePlan removes the plan, its tags and its resource
	// policies; deleting a missing plan is not an error.
	DeleteResponsePlan(ctx context.Context, account, name string) error

	// PutResourcePolicy stores a new policy of the plan p.PlanName; it does
	// not check that the plan exists (call it in a Tx that does).
	// ErrConflict when the plan has a policy of that id.
	PutResourcePolicy(ctx context.Context, p *ResourcePolicy) error
	// CountResourcePolicies returns how many policies the plan has. Inside
	// a Tx it locks the plan's policies until the transaction ends, so that
	// concurrent count-then-put sequences of one plan run one after another
	// and a quota checked on the count holds.
	CountResourcePolicies(ctx context.Context, account, planName string) (int, error)
	// ListResourcePolicies returns up to limit policies of the plan in the
	// order they were added, those after Seq after (0: from the first).
	// A missing plan has none.
	ListResourcePolicies(ctx context.Context, account, planName string, after int64, limit int) ([]*ResourcePolicy, error)
	// DeleteResourcePolicy removes a policy of the plan; ErrNotFound when
	// the plan has no policy of that id.
	DeleteResourcePolicy(ctx context.Context, account, planName, id string) error

	// Tags returns the tags of an existing resource, or ErrNotFound.
	Tags(ctx context.Context, r ResourceRef) (map[string]string, error)
	// UpdateTags applies fn to the tags of an existing resource in one
	// transaction, the resource's tags locked against other changes until
	// it ends; nothing is written when fn returns an error.
	UpdateTags(ctx context.Context, r ResourceRef, fn func(tags map[string]string) error) error

	// GetIdempotencyRecord returns the record of a clientToken or ErrNotFound.
	GetIdempotencyRecord(ctx context.Context, account, operation, token string) (*IdempotencyRecord, error)
	// ClaimIdempotencyRecord claims r's clientToken (Account, Operation,
	// Token): when no record of it created at or after notBefore exists, it
	// stores r (replacing an older one) and returns nil; otherwise it
	// returns that record and writes nothing. Of transactions that claim
	// one token at once, one gets nil and the others wait for it to end:
	// then they get its record, or, when it rolled back, claim the token
	// themselves. So two requests never both run the effect of one token.
	ClaimIdempotencyRecord(ctx context.Context, r *IdempotencyRecord, notBefore time.Time) (*IdempotencyRecord, error)
	// PutIdempotencyRecord stores r, replacing the record of the same token
	// (the one ClaimIdempotencyRecord stored).
	PutIdempotencyRecord(ctx context.Context, r *IdempotencyRecord) error
	// PurgeIdempotencyRecords deletes records created before t.
	PurgeIdempotencyRecords(ctx context.Context, before time.Time) (int64, error)

	// CreateIncidentRecord stores a new record with its tags and related items.
	CreateIncidentRecord(ctx context.Context, r *IncidentRecord, tags map[string]string, items []RelatedItem) error
	// GetIncidentRecord returns the record or ErrNotFound.
	GetIncidentRecord(ctx context.Context, account, arn string) (*IncidentRecord, error)
	// UpdateIncidentRecord applies fn to the stored record and writes it
	// back, in one transaction in which no other transaction changes the
	// record: concurrent updates of one record run one after another, each
	// on the record as the one before left it. ErrNotFound when there is
	// none (also when it was deleted meanwhile); nothing is written, and
	// fn's error returned, when fn returns one. fn may change every member
	// but the Account and ARN.
	UpdateIncidentRecord(ctx context.Context, account, arn string, fn func(*IncidentRecord) error) error
	// DeleteIncidentRecord removes a record with its timeline, related items
	// and tags; deleting a missing record is not an error.
	DeleteIncidentRecord(ctx context.Context, account, arn string) error
	// FindOpenIncident returns the account's oldest OPEN record with that
	// dedupeString, or ErrNotFound. Inside a Tx it serialises the
	// transaction with every other one that looks up the same (account,
	// dedupeString), until it ends: two transactions that each find none
	// and then create a record with that dedupeString never both commit
	// having found none.
	FindOpenIncident(ctx context.Context, account, dedupeString string) (*IncidentRecord, error)
	// ListIncidentRecords returns up to limit records matching every
	// condition, newest first, after the cursor when one is given.
	ListIncidentRecords(ctx context.Context, account string, conds []IncidentCondition, after *IncidentCursor, limit int) ([]*IncidentRecord, error)

	// AddTimelineEvent stores a new event; ErrNotFound when the engine finds
	// its incident record gone (an engine need not check).
	AddTimelineEvent(ctx context.Context, e *TimelineEvent) error
	// GetTimelineEvent returns the event or ErrNotFound.
	GetTimelineEvent(ctx context.Context, account, incidentARN, eventID string) (*TimelineEvent, error)
	// ListTimelineEvents returns up to limit events of an incident in the
	// filter's order, after the cursor when one is given.
	ListTimelineEvents(ctx context.Context, account, incidentARN string, f TimelineFilter, after *TimelineCursor, limit int) ([]*TimelineEvent, error)

	// UpdateTimelineEvent applies fn to the stored event (found by account,
	// incident and event id) and writes it back, under the rules of
	// UpdateIncidentRecord; ErrNotFound when there is none. fn may change
	// its time, type, data and references.
	UpdateTimelineEvent(ctx context.Context, account, incidentARN, eventID string, fn func(*TimelineEvent) error) error
	// DeleteTimelineEvent removes an event; deleting a missing event is not an error.
	DeleteTimelineEvent(ctx context.Context, account, incidentARN, eventID string) error

	// AddRelatedItem adds an item after the incident's other related items;
	// ErrConflict when its generated id is taken.
	AddRelatedItem(ctx context.Context, account, incidentARN string, it RelatedItem) error
	// RemoveRelatedItem removes the item with that generated id; ErrNotFound
	// when the incident has none.
	RemoveRelatedItem(ctx context.Context, account, incidentARN, generatedID string) error
	// ListRelatedItems returns up to limit related items of an incident (all
	// of them when limit is 0) in the order they were added, after the
	// cursor when one is given. Inside a Tx it locks the incident's related
	// items until the transaction ends, so that a check for a duplicate on
	// the list, then AddRelatedItem, is not raced by another.
	ListRelatedItems(ctx context.Context, account, incidentARN string, after *RelatedItemCursor, limit int) ([]RelatedItem, error)

	// PutFinding stores f under (f.Account, f.ID), replacing the finding
	// stored there, if any, whole.
	PutFinding(ctx context.Context, f *Finding) error
	// GetFindings returns the account's findings among ids, in no particular
	// order; ids the account has no finding for are left out (not an error).
	GetFindings(ctx context.Context, account string, ids []string) ([]*Finding, error)
	// ListFindings returns up to limit findings of the account whose time
	// range overlaps [from, to] (see Finding.Overlaps; a finding without
	// EndTime ends at now), by StartTime then ID, after the cursor when one is
	// given.
	ListFindings(ctx context.Context, account string, from, to, now time.Time, after *FindingCursor, limit int) ([]*Finding, error)

	// NextChangeSeq numbers a change of an incident record that is to be
	// notified: 1 for the record's first, one more for each next, never the
	// same twice for one record, in the order of the transactions that
	// call it (it locks the record until the transaction ends).
	// ErrNotFound when there is no such record. (Record ARNs end in a
	// time-ordered UUID and are not used twice.)
	NextChangeSeq(ctx context.Context, account, arn string) (int64, error)
	// NextSeq numbers the next use of the counter name of account: 1 for
	// its first, one more for each next, never the same twice, in the
	// order of the transactions that call it: it locks the counter until
	// the transaction ends, so that of two transactions taking one counter
	// the later waits for the first to end. A counter is never reset, not
	// by DeleteAccountData either.
	NextSeq(ctx context.Context, account, name string) (int64, error)
	// AddDeliveries queues deliveries, in the transaction of the change
	// they announce: pending, with no attempts, due at their CreatedTime,
	// whatever their state members hold. ErrConflict when an (ID, Topic) is
	// taken, and nothing of the call is stored. They outlive their record
	// and their account's data (DeleteIncidentRecord, DeleteAccountData): a
	// change that was acknowledged is announced.
	AddDeliveries(ctx context.Context, ds []*Delivery) error
	// ClaimDeliveries claims for holder, until until, up to limit pending
	// deliveries due at now, and returns them with their state, in Seq
	// order. Of the deliveries of one incident to one topic it claims only
	// the pending one of the lowest Seq, and only when no other holder's
	// claim on it lasts past now: deliveries to a topic go out in the
	// order of the incident's changes, one at a time, and a delivery is
	// claimed by one holder at a time. (Delivered and parked ones hold
	// nothing up.) A claim until t has ended at t; a holder may claim its
	// own claimed deliveries again. Of more candidates than limit, which it
	// takes is the engine's choice. It returns only deliveries whose
	// transaction is durable.
	ClaimDeliveries(ctx context.Context, holder string, now, until time.Time, limit int) ([]*Delivery, error)
	// DeliveryDelivered records that the pending delivery (id, topic) was
	// accepted at t, and ends its claim. ErrNotFound when there is no such
	// pending delivery: one delivered or parked meanwhile (by a holder that
	// claimed it once an earlier claim had ended) is left as it is.
	DeliveryDelivered(ctx context.Context, id, topic string, t time.Time) error
	// DeliveryFailed records a failed attempt of the pending delivery (id,
	// topic): one more attempt, lastError, due again at next, or parked
	// when park; it ends its claim. ErrNotFound when there is no such
	// pending delivery, as for DeliveryDelivered. The caller records the
	// outcome of its own claim only.
	DeliveryFailed(ctx context.Context, id, topic, lastError string, next time.Time, park bool) error
	// RetryDelivery makes a parked delivery pending again, due at now, its
	// attempts counted from zero. ErrNotFound when there is no such
	// parked delivery.
	RetryDelivery(ctx context.Context, id, topic string, now time.Time) error
	// ListDeliveries returns up to limit deliveries matching f, newest
	// first (by CreatedTime, then ID and Topic).
	ListDeliveries(ctx context.Context, f DeliveryFilter, limit int) ([]*Delivery, error)
	// DeliveryBacklog counts the pending deliveries and returns the
	// CreatedTime of the oldest (the zero time when there is none).
	DeliveryBacklog(ctx context.Context) (pending int64, oldest time.Time, err error)
	// PurgeDeliveries deletes deliveries delivered before t.
	PurgeDeliveries(ctx context.Context, before time.Time) (int64, error)

	// AcquireLease takes, or renews, the lease called name for holder until
	// until, when it is free at now: never taken, expired, or holder's
	// already. It reports whether holder holds it. Of holders that ask at
	// once for a free lease, exactly one gets it. Background work that must
	// run once across the processes on one database runs only while its
	// process holds the work's lease.
	AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)

	// IdentityStore keeps the accounts, users, groups, access keys and
	// identity-based policies that authenticate and authorize requests.
	IdentityStore
	// ConsoleStore keeps the web console's passwords and sessions.
	ConsoleStore

	// Secret returns the named random secret, creating it with size bytes on first use.
	Secret(ctx context.Context, name string, size int) ([]byte, error)

	// Close releases the store; writes acknowledged before it stay durable.
	Close() error
}

// Pinger is a Store that can tell whether its storage answers. An engine
// implements it when its storage can become unreachable or unusable while
// the server runs (a database server that went away, a log that can no
// longer be synced to disk); /healthz then answers 503 while Ping fails,
// and 200 again once it succeeds. A Store that does not implement it is
// taken to be healthy whenever the server answers at all.
//
// Ping must be cheap (it runs on every /healthz request), write nothing,
// and return once ctx ends: its caller bounds it with a short timeout. Its
// error is shown to unauthenticated callers of /healthz, so it must carry
// no secret (a password, a key).
type Pinger interface {
	Ping(ctx context.Context) error
}
