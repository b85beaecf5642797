// Package policy reads IAM JSON policies and decides requests with them
// as AWS does: an explicit Deny in any policy wins; else, in the account
// of the resource, an Allow in an identity-based policy of the caller (or
// a resource-based policy naming the caller itself) allows, and the
// account's root is allowed without one; across accounts, both an Allow of
// the caller's identity-based policies (needless for a root) and an Allow
// of the resource's resource-based policy are needed. Anything else is an
// implicit deny.
//
// Statements match on Action or NotAction, Resource or NotResource (with
// the wildcards * and ?), Principal (resource-based policies) and
// Condition, with the operators of the String, Arn, Bool, Date, Numeric,
// IpAddress and Null families, their …IfExists forms, and the ForAnyValue:
// and ForAllValues: qualifiers for multi-valued keys. A condition operator
// the package does not know makes an Allow statement match nothing and a
// Deny statement match everything its actions and resources name: such a
// policy denies rather than allows.
package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Effect is what a statement does to the requests it matches.
type Effect uint8

// The effects.
const (
	Allow Effect = iota + 1
	Deny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "?"
}

// Policy is a parsed policy document.
type Policy struct {
	// Name names the policy in decisions (the name it was attached with);
	// the caller sets it.
	Name       string
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one statement of a policy.
type Statement struct {
	Sid    string
	Effect Effect

	// Principals are those of Principal (or NotPrincipal when
	// NotPrincipal): "*", 12-digit account ids and IAM ARNs of the AWS
	// key; HasPrincipal is false when the statement names none (an
	// identity-based policy's).
	Principals   []string
	NotPrincipal bool
	HasPrincipal bool

	// Actions are lower-cased patterns (service:name, or *).
	Actions   []string
	NotAction bool

	Resources   []string
	NotResource bool

	Conditions []Condition
}

// Condition is one key of one operator of a Condition block.
type Condition struct {
	Operator string // as written, e.g. ForAnyValue:StringLikeIfExists
	Key      string // lower-cased: condition keys are not case-sensitive
	Values   []string

	op       operator
	ifExists bool
	set      setQualifier
	// Parsed forms of Values for the operators that compare them so.
	times    []time.Time
	numbers  []float64
	prefixes []netip.Prefix
}

type setQualifier uint8

const (
	single setQualifier = iota
	forAnyValue
	forAllValues
)

type operator uint8

const (
	opUnknown operator = iota
	opStringEquals
	opStringNotEquals
	opStringEqualsIgnoreCase
	opStringNotEqualsIgnoreCase
	opStringLike
	opStringNotLike
	opArnEquals
	opArnLike
	opArnNotEquals
	opArnNotLike
	opBool
	opDateEquals
	opDateNotEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opNumericEquals
	opNumericNotEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opIPAddress
	opNotIPAddress
	opNull
)

var operators = map[string]operator{
	"StringEquals": opStringEquals, "StringNotEquals": opStringNotEquals,
	"StringEqualsIgnoreCase": opStringEqualsIgnoreCase, "StringNotEqualsIgnoreCase": opStringNotEqualsIgnoreCase,
	"StringLike": opStringLike, "StringNotLike": opStringNotLike,
	"ArnEquals": opArnEquals, "ArnLike": opArnLike, "ArnNotEquals": opArnNotEquals, "ArnNotLike": opArnNotLike,
	"Bool":       opBool,
	"DateEquals": opDateEquals, "DateNotEquals": opDateNotEquals, "DateLessThan": opDateLessThan,
	"DateLessThanEquals": opDateLessThanEquals, "DateGreaterThan": opDateGreaterThan, "DateGreaterThanEquals": opDateGreaterThanEquals,
	"NumericEquals": opNumericEquals, "NumericNotEquals": opNumericNotEquals, "NumericLessThan": opNumericLessThan,
	"NumericLessThanEquals": opNumericLessThanEquals, "NumericGreaterThan": opNumericGreaterThan,
	"NumericGreaterThanEquals": opNumericGreaterThanEquals,
	"IpAddress":                opIPAddress, "NotIpAddress": opNotIPAddress,
	"Null": opNull,
}

// negated are the operators that hold when no value of the request
// matches: they hold, too, for a key the request does not have.
func (o operator) negated() bool {
	switch o {
	case opStringNotEquals, opStringNotEqualsIgnoreCase, opStringNotLike, opArnNotEquals, opArnNotLike,
		opDateNotEquals, opNumericNotEquals, opNotIPAddress:
		return true
	}
	return false
}

// Versions are the policy language versions.
var Versions = []string{"2012-10-17", "2008-10-17"}

// Parse reads a policy document. Its errors name what is wrong; a
// condition operator it does not know is no error (see UnknownOperators).
func Parse(doc []byte) (*Policy, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil || top == nil {
		return nil, errors.New("the policy must be a JSON object")
	}
	for k := range top {
		if k != "Version" && k != "Id" && k != "Statement" {
			return nil, fmt.Errorf("the policy has an unknown member %q (it takes Version, Id and Statement)", k)
		}
	}
	p := &Policy{Version: "2008-10-17"}
	if raw, ok := top["Version"]; ok {
		if json.Unmarshal(raw, &p.Version) != nil || !slices.Contains(Versions, p.Version) {
			return nil, fmt.Errorf("Version %s is not supported: use \"2012-10-17\"", raw)
		}
	}
	if raw, ok := top["Id"]; ok && json.Unmarshal(raw, &p.ID) != nil {
		return nil, errors.New("Id must be a string")
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, errors.New("Statement is missing")
	}
	var stmts []json.RawMessage
	if json.Unmarshal(raw, &stmts) != nil {
		stmts = []json.RawMessage{raw}
	}
	if len(stmts) == 0 {
		return nil, errors.New("Statement must be a statement or a non-empty list of statements")
	}
	for i, raw := range stmts {
		st, err := parseStatement(raw)
		if err != nil {
			return nil, fmt.Errorf("Statement %d: %w", i+1, err)
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

// UnknownOperators lists the condition operators of p that Parse did not
// know, each once: a document to be stored should be refused with them.
func (p *Policy) UnknownOperators() []string {
	var out []string
	for _, st := range p.Statements {
		for _, c := range st.Conditions {
			if c.op == opUnknown && !slices.Contains(out, c.Operator) {
				out = append(out, c.Operator)
			}
		}
	}
	return out
}

// CheckIdentity refuses what an identity-based policy may not hold: a
// Principal or NotPrincipal, and condition operators Parse did not know.
func (p *Policy) CheckIdentity() error {
	for i, st := range p.Statements {
		if st.HasPrincipal {
			return fmt.Errorf("Statement %d: an identity-based policy names no Principal: it applies to whoever it is attached to", i+1)
		}
	}
	return p.checkOperators()
}

// CheckResource refuses what a resource-based policy may not hold: a
// statement without a Principal (or NotPrincipal), and condition
// operators Parse did not know.
func (p *Policy) CheckResource() error {
	for i, st := range p.Statements {
		if !st.HasPrincipal {
			return fmt.Errorf("Statement %d: a resource-based policy names its Principal", i+1)
		}
	}
	return p.checkOperators()
}

func (p *Policy) checkOperators() error {
	if ops := p.UnknownOperators(); len(ops) > 0 {
		return fmt.Errorf("unknown condition operators: %s", strings.Join(ops, ", "))
	}
	return nil
}

func parseStatement(raw json.RawMessage) (Statement, error) {
	var st Statement
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return st, errors.New("a statement must be a JSON object")
	}
	for k := range m {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			return st, fmt.Errorf("unknown member %q", k)
		}
	}
	if raw, ok := m["Sid"]; ok && json.Unmarshal(raw, &st.Sid) != nil {
		return st, errors.New("Sid must be a string")
	}
	var effect string
	if raw, ok := m["Effect"]; !ok || json.Unmarshal(raw, &effect) != nil {
		return st, errors.New(`Effect is missing: give "Allow" or "Deny"`)
	}
	switch effect {
	case "Allow":
		st.Effect = Allow
	case "Deny":
		st.Effect = Deny
	default:
		return st, fmt.Errorf(`Effect is "Allow" or "Deny", not %q`, effect)
	}
	var err error
	if st.Principals, st.NotPrincipal, st.HasPrincipal, err = principals(m); err != nil {
		return st, err
	}
	if st.Actions, st.NotAction, err = either(m, "Action", "NotAction"); err != nil {
		return st, err
	}
	for i, a := range st.Actions {
		if a != "*" && !strings.Contains(a, ":") {
			return st, fmt.Errorf("the action %q is not service:action (ssm-incidents:UpdateIncidentRecord, say) nor *", a)
		}
		st.Actions[i] = strings.ToLower(a)
	}
	if st.Resources, st.NotResource, err = either(m, "Resource", "NotResource"); err != nil {
		return st, err
	}
	if raw, ok := m["Condition"]; ok {
		if st.Conditions, err = conditions(raw); err != nil {
			return st, err
		}
	}
	return st, nil
}

// either reads the one of the members name and notName that a statement
// must have, a string or a non-empty list of strings.
func either(m map[string]json.RawMessage, name, notName string) ([]string, bool, error) {
	raw, has := m[name]
	notRaw, hasNot := m[notName]
	switch {
	case has && hasNot:
		return nil, false, fmt.Errorf("a statement has %s or %s, not both", name, notName)
	case hasNot:
		vs, err := strings1(notRaw, notName)
		return vs, true, err
	case has:
		vs, err := strings1(raw, name)
		return vs, false, err
	}
	return nil, false, fmt.Errorf("%s (or %s) is missing", name, notName)
}

// strings1 reads a string or a non-empty list of strings.
func strings1(raw json.RawMessage, name string) ([]string, error) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil || len(many) == 0 {
		return nil, fmt.Errorf("%s must be a string or a non-empty list of strings", name)
	}
	return many, nil
}

// principals reads Principal or NotPrincipal: "*", or an object whose AWS
// member lists accounts and ARNs (other members, such as Service, name no
// principal of incidentd's and are kept as nothing).
func principals(m map[string]json.RawMessage) ([]string, bool, bool, error) {
	raw, has := m["Principal"]
	notRaw, hasNot := m["NotPrincipal"]
	if has && hasNot {
		return nil, false, false, errors.New("a statement has Principal or NotPrincipal, not both")
	}
	if !has && !hasNot {
		return nil, false, false, nil
	}
	if hasNot {
		raw = notRaw
	}
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return nil, false, false, errors.New(`Principal is "*" or an object such as {"AWS": "arn:aws:iam::111122223333:root"}`)
		}
		return []string{"*"}, hasNot, true, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || len(obj) == 0 {
		return nil, false, false, errors.New(`Principal is "*" or an object such as {"AWS": "arn:aws:iam::111122223333:root"}`)
	}
	ps := []string{}
	for k, v := range obj {
		vs, err := strings1(v, "Principal "+k)
		if err != nil {
			return nil, false, false, err
		}
		if k == "AWS" {
			ps = append(ps, vs...)
		}
	}
	return ps, hasNot, true, nil
}

// conditions reads a Condition block.
func conditions(raw json.RawMessage) ([]Condition, error) {
	var block map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &block); err != nil {
		return nil, errors.New(`Condition must be an object of operators, each an object of keys, such as {"StringEquals": {"aws:PrincipalAccount": "111122223333"}}`)
	}
	var out []Condition
	for opName, keys := range block {
		name := opName
		c := Condition{Operator: opName}
		if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
			c.set, name = forAnyValue, rest
		} else if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
			c.set, name = forAllValues, rest
		}
		if rest, ok := strings.CutSuffix(name, "IfExists"); ok && name != "IfExists" {
			c.ifExists, name = true, rest
		}
		c.op = operators[name]
		if c.op == opNull && c.ifExists {
			c.op = opUnknown // NullIfExists is no operator
		}
		for key, rawValues := range keys {
			k := c
			k.Key = strings.ToLower(key)
			vs, err := conditionValues(rawValues)
			if err != nil {
				return nil, fmt.Errorf("Condition %s %s: %w", opName, key, err)
			}
			k.Values = vs
			if err := k.compile(); err != nil {
				return nil, fmt.Errorf("Condition %s %s: %w", opName, key, err)
			}
			out = append(out, k)
		}
	}
	// The order of a JSON object is not kept by the map: sort, so that a
	// document always parses the same.
	slices.SortFunc(out, func(a, b Condition) int {
		return strings.Compare(a.Operator+"\x00"+a.Key, b.Operator+"\x00"+b.Key)
	})
	return out, nil
}

// conditionValues reads a condition's value: a string, a number, a
// boolean, or a non-empty list of them, each kept as its text.
func conditionValues(raw json.RawMessage) ([]string, error) {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		list = []json.RawMessage{raw}
	}
	if len(list) == 0 {
		return nil, errors.New("the list of values is empty")
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out = append(out, s)
			continue
		}
		var b bool
		if json.Unmarshal(v, &b) == nil {
			out = append(out, strconv.FormatBool(b))
			continue
		}
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			out = append(out, n.String())
			continue
		}
		return nil, errors.New("a value must be a string, a number or a boolean")
	}
	return out, nil
}

// compile parses the values of the operators that compare parsed values.
func (c *Condition) compile() error {
	switch c.op {
	case opDateEquals, opDateNotEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		for _, v := range c.Values {
			t, ok := parseTime(v)
			if !ok {
				return fmt.Errorf("%q is not a date (2026-12-01T10:00:00Z, or seconds since 1970)", v)
			}
			c.times = append(c.times, t)
		}
	case opNumericEquals, opNumericNotEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		for _, v := range c.Values {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", v)
			}
			c.numbers = append(c.numbers, n)
		}
	case opIPAddress, opNotIPAddress:
		for _, v := range c.Values {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				a, aerr := netip.ParseAddr(v)
				if aerr != nil {
					return fmt.Errorf("%q is not an IP address or range (203.0.113.0/24)", v)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.prefixes = append(c.prefixes, p.Masked())
		}
	case opBool, opNull:
		for _, v := range c.Values {
			if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
				return fmt.Errorf("%q is not true or false", v)
			}
		}
	}
	return nil
}

// parseTime reads a date of a policy or of a request: ISO 8601 (with or
// without the time of day) or seconds since 1970.
func parseTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}
