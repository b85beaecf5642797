package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
	"github.com/incidentd/incidentd/internal/policy"
)

// DefaultResourcePoliciesPerPlan is how many resource policies a response
// plan may have when Config.ResourcePoliciesPerPlan is zero.
const DefaultResourcePoliciesPerPlan = 100

func (s *Service) resourcePoliciesPerPlan() int {
	if s.cfg.ResourcePoliciesPerPlan > 0 {
		return s.cfg.ResourcePoliciesPerPlan
	}
	return DefaultResourcePoliciesPerPlan
}

// newPolicyID returns a resource policy id: 32 lower-case hex digits.
func newPolicyID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// PutResourcePolicy attaches a new policy to a response plan and returns its
// id; each call adds a policy, the plan's earlier ones stay.
// Errors: NotFoundError for a missing plan or another account's;
// ValidationError for an ARN that is not a plan's, a policy document that
// is not an acceptable resource policy of that plan, or a plan that has as
// many policies as its quota allows.
func (s *Service) PutResourcePolicy(ctx context.Context, in *model.PutResourcePolicyInput) (*model.PutResourcePolicyOutput, error) {
	ctx, err := s.authorize(ctx, "PutResourcePolicy", *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "PutResourcePolicy", nil, in, func(ctx context.Context) (*model.PutResourcePolicyOutput, error) {
		return s.putResourcePolicy(ctx, in)
	})
}

func (s *Service) putResourcePolicy(ctx context.Context, in *model.PutResourcePolicyInput) (*model.PutResourcePolicyOutput, error) {
	c := caller(ctx)
	rp := &domain.ResourcePolicy{ID: newPolicyID(), Account: c.Account, Document: *in.Policy, Region: c.Region, CreatedTime: s.clock()}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		p, err := s.responsePlan(ctx, *in.ResourceArn)
		if err != nil {
			return err
		}
		if rp.Policy, err = parsePolicy(rp.Document, p); err != nil {
			return err
		}
		// What is enforced is what package policy reads: its conditions
		// too, so that an operator it does not know is refused now
		// rather than deny later.
		enforced, err := policy.Parse([]byte(rp.Document))
		if err != nil {
			return policyError("%v", err)
		}
		if ops := enforced.UnknownOperators(); len(ops) > 0 {
			return policyError("the condition operators %s are not supported.", strings.Join(ops, ", "))
		}
		n, err := s.store.CountResourcePolicies(ctx, c.Account, p.Name)
		if err != nil {
			return err
		}
		if quota := s.resourcePoliciesPerPlan(); n >= quota {
			return domain.Invalid("The response plan %s has %d resource policies, the most it may have: delete one (DeleteResourcePolicy) before adding another.", p.ARN, quota)
		}
		rp.PlanName = p.Name
		return s.store.PutResourcePolicy(ctx, rp)
	})
	if err != nil {
		return nil, err
	}
	return &model.PutResourcePolicyOutput{PolicyId: &rp.ID}, nil
}

// GetResourcePolicies lists the policies of a response plan in the order
// they were added.
// Errors: NotFoundError for a missing plan or another account's;
// ValidationError for an ARN that is not a plan's or a bad nextToken.
func (s *Service) GetResourcePolicies(ctx context.Context, in *model.GetResourcePoliciesInput) (*model.GetResourcePoliciesOutput, error) {
	ctx, err := s.authorize(ctx, "GetResourcePolicies", *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	p, err := s.responsePlan(ctx, *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	// A token resumes the listing of one plan.
	l := listing{op: "GetResourcePolicies", account: p.Account, scope: p.Name, params: "resourceArn"}
	var after int64
	if _, err := s.tokens.resume(l, in.NextToken, &after); err != nil {
		return nil, err
	}
	limit := pageSize(in.MaxResults, defaultPageSize)
	policies, err := s.store.ListResourcePolicies(ctx, p.Account, p.Name, after, limit+1)
	if err != nil {
		return nil, err
	}
	out := &model.GetResourcePoliciesOutput{ResourcePolicies: []model.ResourcePolicy{}}
	policies, out.NextToken = page(s.tokens, l, policies, limit, func(rp *domain.ResourcePolicy) any { return rp.Seq })
	for _, rp := range policies {
		out.ResourcePolicies = append(out.ResourcePolicies, model.ResourcePolicy{PolicyId: ptr(rp.ID), PolicyDocument: ptr(rp.Document), RamResourceShareRegion: ptr(rp.Region)})
	}
	return out, nil
}

// DeleteResourcePolicy removes a policy from a response plan.
// Errors: NotFoundError for a missing plan or another account's (resource
// type RESPONSE_PLAN) and for a policy id the plan does not have (resource
// type RESOURCE_POLICY); ValidationError for an ARN that is not a plan's.
func (s *Service) DeleteResourcePolicy(ctx context.Context, in *model.DeleteResourcePolicyInput) (*model.DeleteResourcePolicyOutput, error) {
	ctx, err := s.authorize(ctx, "DeleteResourcePolicy", *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "DeleteResourcePolicy", nil, in, func(ctx context.Context) (*model.DeleteResourcePolicyOutput, error) {
		return s.deleteResourcePolicy(ctx, in)
	})
}

func (s *Service) deleteResourcePolicy(ctx context.Context, in *model.DeleteResourcePolicyInput) (*model.DeleteResourcePolicyOutput, error) {
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		p, err := s.responsePlan(ctx, *in.ResourceArn)
		if err != nil {
			return err
		}
		err = s.store.DeleteResourcePolicy(ctx, p.Account, p.Name, *in.PolicyId)
		if errors.Is(err, domain.ErrNotFound) {
			return domain.NotFound(domain.ResourceResourcePolicy, *in.PolicyId, "Resource policy %s not found on response plan %s", *in.PolicyId, p.ARN)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &model.DeleteResourcePolicyOutput{}, nil
}

// Parsing of policy documents.

var (
	accountIDRE    = regexp.MustCompile(`^[0-9]{12}$`)
	iamPrincipalRE = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:(root|(user|role)/[\w+=,.@/-]+)$`)
	actionNameRE   = regexp.MustCompile(`^[A-Za-z*?]+$`)
	incidentIDRE   = regexp.MustCompile(`^[A-Za-z0-9*?-]+$`)
)

// policyError is a ValidationError about a policy document.
func policyError(format string, args ...any) error {
	return domain.Invalid("Invalid resource policy: %s", fmt.Sprintf(format, args...))
}

// parsePolicy checks that doc is a resource policy that shares plan p, and
// returns it parsed. Statements are counted from 1 in the error messages.
func parsePolicy(doc string, p *domain.ResponsePlan) (domain.Policy, error) {
	var pol domain.Policy
	top, err := jsonObject([]byte(doc))
	if err != nil {
		return pol, policyError("the policy must be a JSON object: %v", err)
	}
	// A member given twice would be read as its last value only, so the
	// policy kept would differ from the document shown.
	if key, ok := duplicateKey([]byte(doc)); ok {
		return pol, policyError("the member %q appears twice in one object.", key)
	}
	if err := knownMembers(top, "the policy", "Version", "Id", "Statement"); err != nil {
		return pol, policyError("%v", err)
	}
	raw, ok := top["Version"]
	if !ok {
		return pol, policyError("Version is missing: use \"2012-10-17\".")
	}
	if json.Unmarshal(raw, &pol.Version) != nil || !slices.Contains(policy.Versions, pol.Version) {
		return pol, policyError("Version %s is not supported: use \"2012-10-17\" (or \"2008-10-17\").", raw)
	}
	if raw, ok := top["Id"]; ok && (!isJSONString(raw) || json.Unmarshal(raw, &pol.ID) != nil) {
		return pol, policyError("Id must be a string.")
	}
	raw, ok = top["Statement"]
	if !ok {
		return pol, policyError("Statement is missing.")
	}
	var stmts []json.RawMessage
	switch firstByte(raw) {
	case '{':
		stmts = []json.RawMessage{raw}
	case '[':
		if json.Unmarshal(raw, &stmts) != nil || len(stmts) == 0 {
			return pol, policyError("Statement must be a statement or a non-empty list of statements.")
		}
	default:
		return pol, policyError("Statement must be a statement or a non-empty list of statements.")
	}
	for i, raw := range stmts {
		st, err := parseStatement(raw, p)
		if err != nil {
			return pol, policyError("Statement %d: %v", i+1, err)
		}
		pol.Statements = append(pol.Statements, st)
	}
	return pol, nil
}

// parseStatement checks one statement; its errors name the member at fault.
func parseStatement(raw json.RawMessage, p *domain.ResponsePlan) (domain.Statement, error) {
	var st domain.Statement
	m, err := jsonObject(raw)
	if err != nil {
		return st, errors.New("a statement must be a JSON object.")
	}
	for _, not := range []string{"NotPrincipal", "NotAction", "NotResource"} {
		if _, ok := m[not]; ok {
			return st, fmt.Errorf("%s is not supported: name what the statement allows with %s.", not, strings.TrimPrefix(not, "Not"))
		}
	}
	if err := knownMembers(m, "a statement", "Sid", "Effect", "Principal", "Action", "Resource", "Condition"); err != nil {
		return st, err
	}
	if raw, ok := m["Sid"]; ok && (!isJSONString(raw) || json.Unmarshal(raw, &st.Sid) != nil) {
		return st, errors.New("Sid must be a string.")
	}

	raw, ok := m["Effect"]
	if !ok {
		return st, errors.New("Effect is missing: use \"Allow\".")
	}
	if !isJSONString(raw) || json.Unmarshal(raw, &st.Effect) != nil {
		return st, errors.New("Effect must be \"Allow\".")
	}
	switch st.Effect {
	case "Allow":
	case "Deny":
		return st, errors.New("Effect \"Deny\" is not supported: deny statements are not supported in resource policies of Incident Manager; use \"Allow\".")
	default:
		return st, fmt.Errorf("Effect %s is not valid: use \"Allow\".", raw)
	}

	if st.Principals, err = principals(m["Principal"]); err != nil {
		return st, err
	}
	if st.Actions, err = stringList(m, "Action"); err != nil {
		return st, err
	}
	for _, a := range st.Actions {
		if err := checkAction(a); err != nil {
			return st, err
		}
	}
	if st.Resources, err = stringList(m, "Resource"); err != nil {
		return st, err
	}
	for _, r := range st.Resources {
		if err := checkResource(r, p); err != nil {
			return st, err
		}
	}
	if raw, ok := m["Condition"]; ok {
		if firstByte(raw) != '{' {
			return st, errors.New("Condition must be a JSON object.")
		}
		st.Condition = raw
	}
	return st, nil
}

// principals checks a Principal: "*", or {"AWS": one or more of "*", account
// ids and IAM ARNs}.
func principals(raw json.RawMessage) ([]string, error) {
	if raw == nil {
		return nil, errors.New("Principal is missing: name the accounts the plan is shared with, e.g. {\"AWS\": \"arn:aws:iam::111122223333:root\"}.")
	}
	var s string
	if isJSONString(raw) && json.Unmarshal(raw, &s) == nil {
		if s != "*" {
			return nil, fmt.Errorf("Principal %s is not valid: use \"*\" or {\"AWS\": …}.", raw)
		}
		return []string{"*"}, nil
	}
	m, err := jsonObject(raw)
	if err != nil {
		return nil, errors.New("Principal must be \"*\" or an object with an AWS member.")
	}
	for k := range m {
		if k != "AWS" {
			return nil, fmt.Errorf("Principal.%s is not supported: share the plan with AWS accounts and IAM principals through Principal.AWS.", k)
		}
	}
	list, err := stringList(m, "AWS")
	if err != nil {
		return nil, fmt.Errorf("Principal.%v", err)
	}
	for _, v := range list {
		if v != "*" && !accountIDRE.MatchString(v) && !iamPrincipalRE.MatchString(v) {
			return nil, fmt.Errorf("Principal.AWS %q is not valid: use \"*\", a 12-digit account id, arn:aws:iam::ACCOUNT:root, or the ARN of an IAM user or role.", v)
		}
	}
	return list, nil
}

// checkAction accepts ssm-incidents:NAME where NAME is an operation of the
// model or a pattern (with * and ?) that matches at least one. As in IAM,
// the service prefix and the name are not case-sensitive.
func checkAction(a string) error {
	prefix, name, ok := strings.Cut(a, ":")
	if !ok || !strings.EqualFold(prefix, "ssm-incidents") {
		return fmt.Errorf("Action %q is not an Incident Manager action: use ssm-incidents:OPERATION (for example ssm-incidents:GetResponsePlan).", a)
	}
	if actionNameRE.MatchString(name) {
		pattern := strings.ToLower(name)
		for _, op := range model.Operations {
			if ok, _ := path.Match(pattern, strings.ToLower(op.Name)); ok {
				return nil
			}
		}
	}
	return fmt.Errorf("Action %q names no Incident Manager operation.", a)
}

// checkResource accepts a resource ARN, or an ARN pattern with * and ?, that
// matches the plan's ARN or the ARN of at least one of its incident records,
// as IAM matches a statement's Resource (each wildcard may also match
// colons and slashes; "*" matches everything). AWS's own examples write
// arn:aws:ssm-incidents:*:ACCOUNT:response-plan/NAME: the "*" matches the
// empty region of Incident Manager's ARNs. A policy of the plan shares
// nothing beyond the plan and its records, whatever else its patterns match.
func checkResource(r string, p *domain.ResponsePlan) error {
	prefix := makeARN(p.Account, "incident-record", p.Name) + "/"
	if policy.Match(r, p.ARN) || wildcardMatchesSomeID(r, prefix) {
		return nil
	}
	return fmt.Errorf("Resource %q matches nothing of the response plan: use %s or %s*, or patterns that match them (as AWS's examples write arn:aws:ssm-incidents:*:%s:response-plan/%s).",
		r, p.ARN, prefix, p.Account, p.Name)
}

// wildcardMatchesSomeID reports whether pattern matches prefix+ID for some
// incident id ID: one or more letters, digits and hyphens.
func wildcardMatchesSomeID(pattern, prefix string) bool {
	// reach[k][n]: the first k bytes of the pattern can match prefix[:n]
	// (n <= len(prefix)); inID[k][m]: they can match prefix and then m (0,
	// or 1 for one or more) characters of an id.
	isID := func(c byte) bool {
		return c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	reach := make([]bool, len(prefix)+1)
	reach[0] = true
	var inID [2]bool
	for k := 0; k < len(pattern); k++ {
		c := pattern[k]
		next := make([]bool, len(prefix)+1)
		var nextID [2]bool
		// Where the prefix was matched whole, the id part begins.
		if reach[len(prefix)] {
			inID[0] = true
		}
		switch c {
		case '*':
			// Any run of prefix bytes, and on into the id.
			seen := false
			for n := range next {
				seen = seen || reach[n]
				next[n] = seen
			}
			nextID[0] = inID[0] || seen
			nextID[1] = inID[1] || inID[0] || seen
		case '?':
			for n := 1; n < len(next); n++ {
				next[n] = reach[n-1]
			}
			nextID[1] = inID[0] || inID[1]
		default:
			for n := 1; n < len(next); n++ {
				next[n] = reach[n-1] && prefix[n-1] == c
			}
			nextID[1] = isID(c) && (inID[0] || inID[1])
		}
		reach, inID = next, nextID
	}
	return inID[1]
}

// stringList reads member key of m: a string or a non-empty list of strings.
func stringList(m map[string]json.RawMessage, key string) ([]string, error) {
	raw, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("%s is missing.", key)
	}
	bad := fmt.Errorf("%s must be a string or a non-empty list of strings.", key)
	switch firstByte(raw) {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, bad
		}
		return []string{s}, nil
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil || len(items) == 0 {
			return nil, bad
		}
		list := make([]string, len(items))
		for i, it := range items {
			if !isJSONString(it) || json.Unmarshal(it, &list[i]) != nil {
				return nil, bad
			}
		}
		return list, nil
	}
	return nil, bad
}

// jsonObject decodes a JSON object into its members.
func jsonObject(b []byte) (map[string]json.RawMessage, error) {
	if firstByte(b) != '{' {
		if !json.Valid(b) {
			var v any
			return nil, json.Unmarshal(b, &v)
		}
		return nil, errors.New("not an object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// duplicateKey returns a member name that appears twice in one object of
// the JSON document b, which must be valid.
func duplicateKey(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	// One set of names per object being read; nil for an array.
	var stack []map[string]bool
	expectKey := func() bool { return len(stack) > 0 && stack[len(stack)-1] != nil }
	afterValue := true // the next token in an object is a key
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, map[string]bool{})
				afterValue = true
				continue
			case '[':
				stack = append(stack, nil)
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if afterValue && expectKey() {
				if stack[len(stack)-1][t] {
					return t, true
				}
				stack[len(stack)-1][t] = true
				afterValue = false
				continue
			}
		}
		afterValue = true
	}
}

// knownMembers fails on a member of m that is not among names.
func knownMembers(m map[string]json.RawMessage, what string, names ...string) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(names, k) {
			return fmt.Errorf("%s has an unknown member %q (members: %s).", what, k, strings.Join(names, ", "))
		}
	}
	return nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func isJSONString(b []byte) bool { return firstByte(b) == '"' }
