package service

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/policy"
)

// Every operation is authorized before it does anything, as AWS's Service
// Authorization Reference for Incident Manager defines it: the action is
// ssm-incidents:OPERATION; the resource is the ARN the request names (an
// incident record, a response plan or a replication set), or "*" for the
// actions that name none (CreateReplicationSet, CreateResponsePlan and the
// List operations of whole collections). The decision is policy.Evaluate's,
// on the caller's identity-based policies and, when the resource is of
// another account, on the resource policies of the response plan that
// shares it.

// ActionPrefix is the service prefix of Incident Manager's IAM actions.
const ActionPrefix = "ssm-incidents:"

// Identities tells the service who a caller is beyond its key: the
// identity-based policies that apply to it and its account's organisation.
type Identities interface {
	// Policies returns the identity-based policies of the principal of
	// account (none for an account's root).
	Policies(ctx context.Context, account, principal string) ([]*policy.Policy, error)
	// OrgID returns the organisation id of account, "" when it has none.
	OrgID(ctx context.Context, account string) (string, error)
}

// Decision is one authorization decision, as the audit records it.
type Decision struct {
	Principal string
	Action    string // ssm-incidents:NAME
	Resource  string
	Allowed   bool
	// Reason is why: "root", "identity-policy", "resource-policy",
	// "cross-account", "explicit-deny" or "implicit-deny".
	Reason string
	// Policy and Statement name the statement that decided: the policy's
	// name (an identity-based policy) or id (a resource policy), and the
	// statement's Sid or its position ("#2"); both "" for an implicit deny
	// and for a root in its own account.
	Policy    string
	Statement string
	// Message is the AccessDeniedException message of a refusal.
	Message string
}

// shareable are the operations that a resource policy of a response plan
// grants to other accounts, on the plan and on the incident records started
// from it: starting incidents and working on them. The others (deleting,
// tagging, changing the plan or its policies) stay with the owner.
var shareable = map[string]bool{
	"GetResponsePlan": true, "StartIncident": true,
	"GetIncidentRecord": true, "UpdateIncidentRecord": true,
	"CreateTimelineEvent": true, "UpdateTimelineEvent": true, "DeleteTimelineEvent": true,
	"GetTimelineEvent": true, "ListTimelineEvents": true,
	"UpdateRelatedItems": true, "ListRelatedItems": true,
	"ListIncidentFindings": true, "BatchGetIncidentFindings": true,
}

// access is one request to authorize.
type access struct {
	op       string // the operation, e.g. UpdateIncidentRecord
	resource string // an ARN, or "*"
	// requestTags and tagKeys are the tags a request sets (aws:RequestTag/…)
	// and the keys it names (aws:TagKeys).
	requestTags map[string]string
	tagKeys     []string
	hasTagKeys  bool
}

type ownerKey struct{}

// owner returns the account whose data the request acts on: the account of
// a resource of another account that authorization allowed, else the
// caller's own.
func owner(ctx context.Context) string {
	if a, ok := ctx.Value(ownerKey{}).(string); ok {
		return a
	}
	return caller(ctx).Account
}

// authorize decides a request on the resource arn (or "*"), and returns
// the ctx to go on with: one that acts in the resource's account when it
// is another account's and authorization allowed that. A refusal is a
// *domain.AccessDeniedError with AWS's message.
func (s *Service) authorize(ctx context.Context, op, resource string) (context.Context, error) {
	return s.authorizeAccess(ctx, &access{op: op, resource: resource})
}

func (s *Service) authorizeAccess(ctx context.Context, a *access) (context.Context, error) {
	c := caller(ctx)
	var e Explanation
	if err := s.decide(ctx, c, a, &e); err != nil {
		return ctx, err
	}
	s.audit(ctx, e.Decision)
	if !e.Allowed {
		return ctx, &domain.AccessDeniedError{Message: e.Message}
	}
	if e.resourceAccount != c.Account {
		ctx = context.WithValue(ctx, ownerKey{}, e.resourceAccount)
	}
	return ctx, nil
}

// authorizeCreate authorizes op, which creates a resource with tags and
// names no resource, and, when tags are given, as the Service
// Authorization Reference lists for CreateResponsePlan and
// CreateReplicationSet, also ssm-incidents:TagResource on the new resource
// (its ARN arn, or "*" while it has none).
func (s *Service) authorizeCreate(ctx context.Context, op, arn string, tags map[string]string) (context.Context, error) {
	a := &access{op: op, resource: "*", requestTags: tags, tagKeys: slices.Collect(maps.Keys(tags)), hasTagKeys: len(tags) > 0}
	ctx, err := s.authorizeAccess(ctx, a)
	if err != nil || len(tags) == 0 {
		return ctx, err
	}
	a.op, a.resource = "TagResource", arn
	return s.authorizeAccess(ctx, a)
}

// Explanation is a decision with the policies that were weighed.
type Explanation struct {
	Decision
	// IdentityPolicies are the caller's identity-based policies,
	// ResourcePolicies the resource policies of the plan that shares a
	// resource of another account (none in the caller's own account).
	IdentityPolicies, ResourcePolicies []*policy.Policy
	// Deciding is the statement that decided, nil for an implicit deny and
	// for a root in its own account.
	Deciding *policy.Statement

	resourceAccount string
}

// decide decides a on behalf of c, into e.
func (s *Service) decide(ctx context.Context, c domain.Caller, a *access, e *Explanation) error {
	resourceAccount := c.Account
	var parsed ARN
	if arn, ok := ParseARN(a.resource); ok {
		parsed, resourceAccount = arn, arn.Account
	}
	root := isRootOf(c.Principal, c.Account) || c.ActsAsRoot
	req := policy.Request{
		Principal: c.Principal, PrincipalAccount: c.Account,
		Action: ActionPrefix + a.op, Resource: a.resource, ResourceAccount: resourceAccount,
	}
	e.resourceAccount = resourceAccount
	if c.ActsAsRoot && !isRootOf(c.Principal, c.Account) {
		// A key given at start that names a user or role: what its
		// account's root needs no identity-based policy for, it has one.
		e.IdentityPolicies = []*policy.Policy{actsAsRoot}
	}
	if !root && s.cfg.Identities != nil {
		var err error
		if e.IdentityPolicies, err = s.cfg.Identities.Policies(ctx, c.Account, c.Principal); err != nil {
			return err
		}
	}
	across := resourceAccount != c.Account
	if across && !shareable[a.op] {
		// Nothing of the resource is read for an action no policy can
		// share: its tags stay the owner's to know.
		parsed = ARN{}
	}
	if across && shareable[a.op] && parsed.Type != "replication-set" {
		var err error
		if e.ResourcePolicies, err = s.sharingPolicies(ctx, parsed); err != nil {
			return err
		}
	}
	var d policy.Decision
	if root && !across {
		// A root in its own account is always allowed: no policy is read.
		d = policy.Decision{Allowed: true, Reason: policy.AllowedAsRoot}
	} else {
		var err error
		if req.Context, err = s.conditionContext(ctx, c, a, parsed, e.IdentityPolicies, e.ResourcePolicies); err != nil {
			return err
		}
		d = policy.Evaluate(&req, e.IdentityPolicies, e.ResourcePolicies)
	}
	e.Decision, e.Deciding = auditRecord(&req, d), d.Statement
	return nil
}

// Explain decides, without acting and without an audit record, whether
// principal (arn:aws:iam::ACCOUNT:root or …:user/NAME) may perform action
// (ssm-incidents:NAME) on resource (an ARN, or "*"), as a request from
// sourceIP ("" for none) would be decided now.
func (s *Service) Explain(ctx context.Context, principal, action, resource, sourceIP string) (*Explanation, error) {
	rest, ok := strings.CutPrefix(principal, "arn:aws:iam::")
	account, _, _ := strings.Cut(rest, ":")
	if !ok || len(account) != 12 {
		return nil, domain.Invalid("The principal %q is not an IAM ARN: use arn:aws:iam::ACCOUNT:root or arn:aws:iam::ACCOUNT:user/NAME.", principal)
	}
	op, ok := strings.CutPrefix(action, ActionPrefix)
	if !ok || op == "" {
		return nil, domain.Invalid("The action %q is not an Incident Manager action: use ssm-incidents:OPERATION.", action)
	}
	if resource == "" {
		resource = "*"
	}
	c := domain.Caller{Account: account, Principal: principal, Region: s.region(), SourceIP: sourceIP}
	e := &Explanation{}
	if err := s.decide(ctx, c, &access{op: op, resource: resource}, e); err != nil {
		return nil, err
	}
	return e, nil
}

// actsAsRoot is the identity-based policy of the keys given at start that
// name a principal other than their account's root.
var actsAsRoot = func() *policy.Policy {
	p, err := policy.Parse([]byte(`{"Version": "2012-10-17", "Statement": {"Sid": "KeyGivenAtStart", "Effect": "Allow", "Action": "*", "Resource": "*"}}`))
	if err != nil {
		panic(err)
	}
	p.Name = "key given at start"
	return p
}()

// isRootOf reports whether principal is the root of account.
func isRootOf(principal, account string) bool {
	return principal == "arn:aws:iam::"+account+":root"
}

// sharingPolicies returns the resource policies of the response plan that
// shares the resource a (the plan itself, or the plan an incident record
// was started from), parsed.
func (s *Service) sharingPolicies(ctx context.Context, a ARN) ([]*policy.Policy, error) {
	plan := a.ID
	if a.Type == "incident-record" {
		plan, _, _ = strings.Cut(a.ID, "/")
	}
	if !planNameRE.MatchString(plan) {
		return nil, nil
	}
	var out []*policy.Policy
	after := int64(0)
	for {
		ps, err := s.store.ListResourcePolicies(ctx, a.Account, plan, after, 100)
		if err != nil {
			return nil, err
		}
		for _, rp := range ps {
			after = rp.Seq
			p, err := s.parsedPolicies.get(rp)
			if err != nil {
				// A stored policy that no longer parses grants nothing.
				continue
			}
			out = append(out, p)
		}
		if len(ps) < 100 {
			return out, nil
		}
	}
}

// policyCache keeps resource policies parsed: a policy's document never
// changes under its id.
type policyCache struct {
	mu sync.Mutex
	m  map[string]*policy.Policy
}

// maxCachedPolicies bounds the cache; past it, it starts again empty.
const maxCachedPolicies = 10000

func (c *policyCache) get(rp *domain.ResourcePolicy) (*policy.Policy, error) {
	key := rp.Account + " " + rp.PlanName + " " + rp.ID
	c.mu.Lock()
	p, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := policy.Parse([]byte(rp.Document))
	if err != nil {
		return nil, err
	}
	p.Name = rp.ID
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedPolicies {
		c.m = map[string]*policy.Policy{}
	}
	c.m[key] = p
	c.mu.Unlock()
	return p, nil
}

// conditionContext returns the values of the condition keys that the
// policies in play use, and only those: a request decided by policies
// without conditions builds nothing, and the resource's tags
// (aws:ResourceTag/…), which cost a read, are read only when a policy asks
// for them.
func (s *Service) conditionContext(ctx context.Context, c domain.Caller, a *access, arn ARN, policies ...[]*policy.Policy) (map[string][]string, error) {
	var (
		m        map[string][]string
		tags     map[string]string
		tagsRead bool
	)
	for _, ps := range policies {
		for _, p := range ps {
			for i := range p.Statements {
				for j := range p.Statements[i].Conditions {
					key := p.Statements[i].Conditions[j].Key
					if _, done := m[key]; done {
						continue
					}
					if strings.HasPrefix(key, "aws:resourcetag/") && !tagsRead && arn.Type != "" {
						var err error
						if tags, err = s.resourceTags(ctx, arn, a.resource); err != nil {
							return nil, err
						}
						tagsRead = true
					}
					values, err := s.conditionValues(ctx, c, a, tags, key)
					if err != nil {
						return nil, err
					}
					if m == nil {
						m = make(map[string][]string, 4)
					}
					// A key without a value is noted as such, so that it is
					// looked up once.
					m[key] = values
				}
			}
		}
	}
	return m, nil
}

// conditionValues returns the values of one condition key (lower-cased) of
// the request; nil when the request has none.
func (s *Service) conditionValues(ctx context.Context, c domain.Caller, a *access, resourceTags map[string]string, key string) ([]string, error) {
	switch key {
	case "aws:principalaccount":
		return []string{c.Account}, nil
	case "aws:principalarn":
		return []string{c.Principal}, nil
	case "aws:principaltype":
		return []string{principalType(c)}, nil
	case "aws:currenttime":
		return []string{s.clock().Format(time.RFC3339)}, nil
	case "aws:epochtime":
		return []string{strconv.FormatInt(s.clock().Unix(), 10)}, nil
	case "aws:requestedregion":
		return []string{c.Region}, nil
	case "aws:securetransport":
		return []string{strconv.FormatBool(c.SecureTransport)}, nil
	case "aws:useragent":
		if c.UserAgent == "" {
			return nil, nil
		}
		return []string{c.UserAgent}, nil
	case "aws:sourceip":
		ip, err := netip.ParseAddr(c.SourceIP)
		switch {
		case err != nil:
			return nil, nil
		case ip.Is4In6():
			return []string{ip.Unmap().String()}, nil
		}
		return []string{c.SourceIP}, nil
	case "aws:principalorgid":
		if s.cfg.Identities == nil {
			return nil, nil
		}
		org, err := s.cfg.Identities.OrgID(ctx, c.Account)
		if err != nil || org == "" {
			return nil, err
		}
		return []string{org}, nil
	case "aws:tagkeys":
		if !a.hasTagKeys {
			return nil, nil
		}
		keys := append([]string(nil), a.tagKeys...)
		sort.Strings(keys)
		return keys, nil
	}
	if name, ok := strings.CutPrefix(key, "aws:resourcetag/"); ok {
		return tagValue(resourceTags, name), nil
	}
	if name, ok := strings.CutPrefix(key, "aws:requesttag/"); ok {
		return tagValue(a.requestTags, name), nil
	}
	return nil, nil
}

// tagValue returns the value of the tag whose key is name, compared
// without regard to case (as condition keys are), or nil.
func tagValue(tags map[string]string, name string) []string {
	for k, v := range tags {
		if strings.EqualFold(k, name) {
			return []string{v}
		}
	}
	return nil
}

// resourceTags returns the tags of an existing resource, none for one
// that does not exist (the operation answers for it).
func (s *Service) resourceTags(ctx context.Context, a ARN, arn string) (map[string]string, error) {
	tags, err := s.store.Tags(ctx, resourceRef(a, arn))
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	return tags, err
}

func principalType(c domain.Caller) string {
	if isRootOf(c.Principal, c.Account) {
		return "Account"
	}
	if strings.Contains(c.Principal, ":role/") {
		return "AssumedRole"
	}
	return "User"
}

// audit reports a decision to Config.Decided.
func (s *Service) audit(ctx context.Context, d Decision) {
	if s.cfg.Decided != nil {
		s.cfg.Decided(ctx, d)
	}
}

// auditRecord is the Decision that records d of req.
func auditRecord(req *policy.Request, d policy.Decision) Decision {
	out := Decision{Principal: req.Principal, Action: req.Action, Resource: req.Resource, Allowed: d.Allowed}
	switch d.Reason {
	case policy.AllowedAsRoot:
		out.Reason = "root"
	case policy.AllowedByIdentityPolicy:
		out.Reason = "identity-policy"
	case policy.AllowedByResourcePolicy:
		out.Reason = "resource-policy"
	case policy.AllowedAcrossAccounts:
		out.Reason = "cross-account"
	case policy.DeniedByIdentityPolicy, policy.DeniedByResourcePolicy:
		out.Reason = "explicit-deny"
	default:
		out.Reason = "implicit-deny"
	}
	if d.Policy != nil && d.Statement != nil {
		out.Policy = d.Policy.Name
		out.Statement = d.Statement.Sid
		if out.Statement == "" {
			for i := range d.Policy.Statements {
				if &d.Policy.Statements[i] == d.Statement {
					out.Statement = "#" + strconv.Itoa(i+1)
				}
			}
		}
	}
	if !d.Allowed {
		out.Message = d.Message(req)
	}
	return out
}
