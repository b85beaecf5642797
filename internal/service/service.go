// Package service implements the semantics of every ssm-incidents operation.
// Each operation is a method of Service named after it (UpdateIncidentRecord,
// CreateResponsePlan, …) that takes the model's input shape, already checked
// against the model's constraints, and returns its output shape or one of
// the typed errors of package domain.
package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// Config holds the service's tunables.
type Config struct {
	// ProvisioningDelay is how long a replication set or a region added to it
	// reads CREATING (and a removed region DELETING). Zero makes them ACTIVE
	// (or gone) at once.
	ProvisioningDelay time.Duration
	// RegionDeleteMinAge refuses to delete a region younger than this. AWS
	// enforces 24 hours; zero disables the rule.
	RegionDeleteMinAge time.Duration
	// FindingLookback is how far before an incident's creation its window
	// of findings opens: a change that ended earlier is not a finding of the
	// incident. Zero means DefaultFindingLookback (2 hours).
	FindingLookback time.Duration
	// ResourcePoliciesPerPlan is how many resource policies one response
	// plan may have; zero means DefaultResourcePoliciesPerPlan.
	ResourcePoliciesPerPlan int
	// Region is the region the notifications' events name; empty means
	// DefaultRegion.
	Region string
	// EventBus is the EventBridge event bus, by name or ARN, that every
	// successful call of an operation that changes state is announced on
	// (see announceCall); empty announces none.
	EventBus string
	// Queued, when set, is called after a call that queued deliveries has
	// committed, so that a dispatcher need not wait for its next poll.
	Queued func()
}

// Service carries out the operations on a Store.
type Service struct {
	store  domain.Store
	cfg    Config
	now    func() time.Time
	tokens *pageTokens
}

// New returns a Service on store. now may be nil (time.Now).
func New(ctx context.Context, store domain.Store, cfg Config, now func() time.Time) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	key, err := store.Secret(ctx, "page-token-key", 32)
	if err != nil {
		return nil, fmt.Errorf("load pagination key: %w", err)
	}
	return &Service{store: store, cfg: cfg, now: now, tokens: &pageTokens{key: key}}, nil
}

// caller returns the authenticated caller; the transport always sets one.
func caller(ctx context.Context) domain.Caller {
	c, ok := domain.CallerFrom(ctx)
	if !ok {
		panic("service: request without an authenticated caller")
	}
	return c
}

func (s *Service) clock() time.Time { return s.now().UTC() }

// ARN is a parsed Incident Manager ARN.
type ARN struct {
	Partition string
	Account   string
	Type      string // replication-set, response-plan, incident-record
	ID        string // what follows "Type/"
}

// incidentd issues ARNs in the aws partition only; an ARN of another
// partition names nothing it holds.
var arnRE = regexp.MustCompile(`^arn:(aws):ssm-incidents::([0-9]{12}):(replication-set|response-plan|incident-record)/(.+)$`)

// ParseARN splits an Incident Manager ARN of the aws partition; ok is false
// for anything else.
func ParseARN(s string) (ARN, bool) {
	m := arnRE.FindStringSubmatch(s)
	if m == nil {
		return ARN{}, false
	}
	return ARN{Partition: m[1], Account: m[2], Type: m[3], ID: m[4]}, true
}

func makeARN(account, typ, id string) string {
	return "arn:aws:ssm-incidents::" + account + ":" + typ + "/" + id
}

var planNameRE = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,200}$`)

// responsePlanName returns the plan name of a response plan ARN.
func responsePlanName(arn string) (ARN, error) {
	a, ok := ParseARN(arn)
	if !ok || a.Type != "response-plan" || !planNameRE.MatchString(a.ID) {
		return ARN{}, domain.Invalid("%s is not a response plan ARN (arn:aws:ssm-incidents::ACCOUNT:response-plan/NAME)", arn)
	}
	return a, nil
}

// requireActiveReplicationSet fails unless the account's replication set is
// ACTIVE, or UPDATING (a region being added or removed; the set serves).
func (s *Service) requireActiveReplicationSet(ctx context.Context, account string) error {
	rs, err := s.store.GetReplicationSet(ctx, account)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Invalid("Incident Manager is not set up in account %s: create a replication set first (CreateReplicationSet)", account)
	}
	if err != nil {
		return err
	}
	if st := rs.Status(s.clock(), s.cfg.ProvisioningDelay); st != domain.StatusActive && st != domain.StatusUpdating {
		return domain.Invalid("the replication set %s is %s; retry when it is ACTIVE", rs.ARN, st)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
