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
	"strings"
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
	// Identities, when set, gives the identity-based policies of callers
	// that are not an account's root; without it they have none.
	Identities Identities
	// Decided, when set, is told of every authorization decision (the
	// audit); it is called on the request's goroutine and must return
	// quickly.
	Decided func(ctx context.Context, d Decision)
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
	// parsedPolicies keeps the resource policies consulted across
	// accounts parsed.
	parsedPolicies policyCache
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

// arnPrefix starts every ARN incidentd issues: it issues ARNs in the aws
// partition only, and an ARN of another partition names nothing it holds.
const arnPrefix = "arn:aws:ssm-incidents::"

// ParseARN splits an Incident Manager ARN of the aws partition,
// arn:aws:ssm-incidents::ACCOUNT:TYPE/ID (ACCOUNT 12 digits, TYPE
// replication-set, response-plan or incident-record, ID one or more
// characters but a line break); ok is false for anything else. Every request
// parses one: it takes no regular expression.
func ParseARN(s string) (ARN, bool) {
	rest, ok := strings.CutPrefix(s, arnPrefix)
	if !ok || len(rest) < 14 || rest[12] != ':' {
		return ARN{}, false
	}
	for i := range 12 {
		if rest[i] < '0' || rest[i] > '9' {
			return ARN{}, false
		}
	}
	typ, id, ok := strings.Cut(rest[13:], "/")
	if !ok || id == "" || strings.ContainsRune(id, '\n') {
		return ARN{}, false
	}
	switch typ {
	case "replication-set", "response-plan", "incident-record":
		return ARN{Partition: "aws", Account: rest[:12], Type: typ, ID: id}, true
	}
	return ARN{}, false
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
