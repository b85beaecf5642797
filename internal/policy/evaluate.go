package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Request is what a decision is about.
type Request struct {
	// Principal is the caller: arn:aws:iam::ACCOUNT:root or
	// arn:aws:iam::ACCOUNT:user/NAME, of PrincipalAccount.
	Principal        string
	PrincipalAccount string
	// Action is service:name, e.g. ssm-incidents:UpdateIncidentRecord.
	Action string
	// Resource is the ARN of the resource acted on, or "*" for an action
	// on no resource in particular; ResourceAccount is the account that
	// owns it, empty (the caller's account) for "*".
	Resource        string
	ResourceAccount string
	// Context holds the values of the request's condition keys by their
	// lower-cased names (aws:sourceip, aws:resourcetag/team, …).
	Context map[string][]string
}

// Reason tells how a decision came about.
type Reason uint8

// The reasons.
const (
	// AllowedAsRoot: the account's root acts in its own account.
	AllowedAsRoot Reason = iota + 1
	// AllowedByIdentityPolicy: in the resource's account, an identity-based
	// policy of the caller allows.
	AllowedByIdentityPolicy
	// AllowedByResourcePolicy: a resource-based policy allows, naming the
	// caller itself (in the resource's account), or the caller is the root
	// of another account it names.
	AllowedByResourcePolicy
	// AllowedAcrossAccounts: an identity-based policy of the caller and a
	// resource-based policy of the resource of another account both allow.
	AllowedAcrossAccounts
	// DeniedByIdentityPolicy: a Deny of an identity-based policy matches.
	DeniedByIdentityPolicy
	// DeniedByResourcePolicy: a Deny of a resource-based policy matches.
	DeniedByResourcePolicy
	// NoIdentityPolicyAllows: an implicit deny, for want of an Allow of the
	// caller's identity-based policies.
	NoIdentityPolicyAllows
	// NoResourcePolicyAllows: an implicit deny across accounts, for want of
	// an Allow of the resource's resource-based policies.
	NoResourcePolicyAllows
)

// Decision is the answer to a request.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Policy and Statement are the statement that decided (the Deny, or
	// the Allow; the identity-based one across accounts), nil for an
	// implicit deny and for a root in its account.
	Policy    *Policy
	Statement *Statement
}

// Evaluate decides req with the caller's identity-based policies and the
// resource's resource-based policies, in AWS's order: an explicit Deny of
// any of them; else, in the resource's account, the root, an Allow of an
// identity-based policy, or an Allow of a resource-based policy that names
// the caller itself; across accounts, an Allow of a resource-based policy
// naming the caller or its account, and an Allow of an identity-based
// policy (unless the caller is its account's root); else an implicit deny.
func Evaluate(req *Request, identity, resource []*Policy) Decision {
	var allow, resourceAllow, resourceDirect Decision
	for _, p := range identity {
		for i := range p.Statements {
			st := &p.Statements[i]
			// A Principal has no place in an identity-based policy
			// (CheckIdentity refuses it): such an Allow allows nothing, such
			// a Deny denies whoever it is attached to.
			if (st.HasPrincipal && st.Effect == Allow) || !st.matches(req) {
				continue
			}
			if st.Effect == Deny {
				return Decision{Reason: DeniedByIdentityPolicy, Policy: p, Statement: st}
			}
			if allow.Statement == nil {
				allow = Decision{Policy: p, Statement: st}
			}
		}
	}
	for _, p := range resource {
		for i := range p.Statements {
			st := &p.Statements[i]
			named, direct := st.principalMatches(req)
			// A resource-based statement without a Principal
			// (CheckResource refuses it): such an Allow allows no one, such a
			// Deny denies everyone.
			if !st.HasPrincipal && st.Effect == Deny {
				named = true
			}
			if !named || !st.matches(req) {
				continue
			}
			if st.Effect == Deny {
				return Decision{Reason: DeniedByResourcePolicy, Policy: p, Statement: st}
			}
			if resourceAllow.Statement == nil {
				resourceAllow = Decision{Policy: p, Statement: st}
			}
			if direct && resourceDirect.Statement == nil {
				resourceDirect = Decision{Policy: p, Statement: st}
			}
		}
	}
	root := isRoot(req.Principal, req.PrincipalAccount)
	if req.ResourceAccount == req.PrincipalAccount || req.ResourceAccount == "" {
		switch {
		case root:
			return Decision{Allowed: true, Reason: AllowedAsRoot}
		case allow.Statement != nil:
			allow.Allowed, allow.Reason = true, AllowedByIdentityPolicy
			return allow
		case resourceDirect.Statement != nil:
			resourceDirect.Allowed, resourceDirect.Reason = true, AllowedByResourcePolicy
			return resourceDirect
		}
		return Decision{Reason: NoIdentityPolicyAllows}
	}
	switch {
	case !root && allow.Statement == nil:
		return Decision{Reason: NoIdentityPolicyAllows}
	case resourceAllow.Statement == nil:
		return Decision{Reason: NoResourcePolicyAllows}
	case root:
		resourceAllow.Allowed, resourceAllow.Reason = true, AllowedByResourcePolicy
		return resourceAllow
	}
	allow.Allowed, allow.Reason = true, AllowedAcrossAccounts
	return allow
}

// Message is the message of AWS's AccessDeniedException for a refusal.
func (d Decision) Message(req *Request) string {
	head := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", req.Principal, req.Action, req.Resource)
	switch d.Reason {
	case DeniedByIdentityPolicy:
		return head + " with an explicit deny in an identity-based policy"
	case DeniedByResourcePolicy:
		return head + " with an explicit deny in a resource-based policy"
	case NoResourcePolicyAllows:
		return head + " because no resource-based policy allows the " + req.Action + " action"
	}
	return head + " because no identity-based policy allows the " + req.Action + " action"
}

// isRoot reports whether principal is arn:aws:iam::account:root.
func isRoot(principal, account string) bool {
	rest, ok := strings.CutPrefix(principal, "arn:aws:iam::")
	return ok && len(rest) == len(account)+len(":root") && rest[:len(account)] == account && rest[len(account):] == ":root"
}

// principalMatches reports whether a resource-based statement names the
// caller, and whether it names the caller itself (or everyone) rather than
// the caller's account.
//
// NotPrincipal leaves out only a caller whose whole chain it lists, as AWS
// does: a user is left out when both the user and its account (its id or
// its root) are listed; a root when its account is.
func (st *Statement) principalMatches(req *Request) (named, direct bool) {
	if !st.HasPrincipal {
		return false, false
	}
	var everyone, self, account bool
	for _, p := range st.Principals {
		switch {
		case p == "*":
			everyone = true
		case p == req.PrincipalAccount || isRoot(p, req.PrincipalAccount):
			account = true
		case p == req.Principal:
			self = true
		}
	}
	if st.NotPrincipal {
		root := isRoot(req.Principal, req.PrincipalAccount)
		left := everyone || (account && (root || self))
		return !left, !left
	}
	switch {
	case everyone || self:
		return true, true
	case account:
		// The root's own ARN names the root itself.
		return true, isRoot(req.Principal, req.PrincipalAccount)
	}
	return false, false
}

// matches reports whether the statement's actions, resources and
// conditions match req.
func (st *Statement) matches(req *Request) bool {
	hit := false
	for _, a := range st.Actions {
		if globFold(a, req.Action) {
			hit = true
			break
		}
	}
	if hit == st.NotAction {
		return false
	}
	hit = false
	for _, r := range st.Resources {
		if glob(r, req.Resource) {
			hit = true
			break
		}
	}
	if hit == st.NotResource {
		return false
	}
	for i := range st.Conditions {
		if st.Conditions[i].op == opUnknown {
			// An operator it does not know: a Deny denies, an Allow allows
			// nothing, whatever the other conditions.
			return st.Effect == Deny
		}
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if !c.holds(req.Context[c.Key]) {
			return false
		}
	}
	return true
}

// holds evaluates the condition on the request's values of its key.
func (c *Condition) holds(values []string) bool {
	if c.op == opNull {
		for _, v := range c.Values {
			if strings.EqualFold(v, "true") == (len(values) == 0) {
				return true
			}
		}
		return false
	}
	negated := c.op.negated()
	if len(values) == 0 {
		return c.ifExists || c.set == forAllValues || (negated && c.set == single)
	}
	anyOf := c.set == forAnyValue || (c.set == single && !negated)
	for _, v := range values {
		r := c.matchesValue(v) != negated
		if anyOf && r {
			return true
		}
		if !anyOf && !r {
			return false
		}
	}
	return !anyOf
}

// matchesValue reports whether the request's value v matches one of the
// condition's values under the positive form of its operator.
func (c *Condition) matchesValue(v string) bool {
	switch c.op {
	case opStringEquals, opStringNotEquals:
		for _, p := range c.Values {
			if p == v {
				return true
			}
		}
	case opStringEqualsIgnoreCase, opStringNotEqualsIgnoreCase, opBool:
		for _, p := range c.Values {
			if strings.EqualFold(p, v) {
				return true
			}
		}
	case opStringLike, opStringNotLike:
		for _, p := range c.Values {
			if glob(p, v) {
				return true
			}
		}
	case opArnEquals, opArnLike, opArnNotEquals, opArnNotLike:
		for _, p := range c.Values {
			if arnMatch(p, v) {
				return true
			}
		}
	case opDateEquals, opDateNotEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		t, ok := parseTime(v)
		if !ok {
			return false
		}
		for _, p := range c.times {
			var hit bool
			switch c.op {
			case opDateEquals, opDateNotEquals:
				hit = t.Equal(p)
			case opDateLessThan:
				hit = t.Before(p)
			case opDateLessThanEquals:
				hit = !t.After(p)
			case opDateGreaterThan:
				hit = t.After(p)
			case opDateGreaterThanEquals:
				hit = !t.Before(p)
			}
			if hit {
				return true
			}
		}
	case opNumericEquals, opNumericNotEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		for _, p := range c.numbers {
			var hit bool
			switch c.op {
			case opNumericEquals, opNumericNotEquals:
				hit = n == p
			case opNumericLessThan:
				hit = n < p
			case opNumericLessThanEquals:
				hit = n <= p
			case opNumericGreaterThan:
				hit = n > p
			case opNumericGreaterThanEquals:
				hit = n >= p
			}
			if hit {
				return true
			}
		}
	case opIPAddress, opNotIPAddress:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// Match reports whether s matches pattern as IAM matches a Resource: *
// stands for any run of characters (colons and slashes too) and ? for any
// one; case counts.
func Match(pattern, s string) bool { return glob(pattern, s) }

// glob reports whether s matches pattern, where * stands for any run of
// characters and ? for any one; case counts.
func glob(pattern, s string) bool { return globWith(pattern, s, false) }

// globFold is glob for a lower-case pattern and a subject of any case.
func globFold(pattern, s string) bool { return globWith(pattern, s, true) }

// globWith matches s against pattern, lower-casing the bytes of s when
// fold. It matches the literal bytes before the pattern's first wildcard
// at once (most patterns that fail, fail there), then the rest by
// backtracking to the last *.
func globWith(pattern, s string, fold bool) bool {
	p, i := 0, 0
	for p < len(pattern) && pattern[p] != '*' && pattern[p] != '?' {
		if i == len(s) || pattern[p] != lower(s[i], fold) {
			return false
		}
		p++
		i++
	}
	if p == len(pattern) {
		return i == len(s)
	}
	if p == len(pattern)-1 && pattern[p] == '*' {
		return true
	}
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == lower(s[i], fold)):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// lower is b lower-cased when fold.
func lower(b byte, fold bool) byte {
	if fold && 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// arnMatch matches an ARN against a pattern part by part: each of the six
// parts of arn:partition:service:region:account:resource is matched on its
// own, so that a wildcard does not run past a colon, except in the
// resource, which takes the rest. A pattern without a colon is matched
// against the whole value.
func arnMatch(pattern, v string) bool {
	if !strings.Contains(pattern, ":") {
		return glob(pattern, v)
	}
	for part := 0; part < 5; part++ {
		pi, vi := strings.IndexByte(pattern, ':'), strings.IndexByte(v, ':')
		if pi < 0 || vi < 0 {
			return false
		}
		if !glob(pattern[:pi], v[:vi]) {
			return false
		}
		pattern, v = pattern[pi+1:], v[vi+1:]
	}
	return glob(pattern, v)
}
