package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/incidentd/incidentd/internal/policy"
)

const (
	acctA = "111122223333"
	acctB = "444455556666"
	alice = "arn:aws:iam::" + acctA + ":user/alice"
	rootA = "arn:aws:iam::" + acctA + ":root"
	bob   = "arn:aws:iam::" + acctB + ":user/bob"
	rootB = "arn:aws:iam::" + acctB + ":root"
	plan  = "arn:aws:ssm-incidents::" + acctA + ":response-plan/checkout"
	inc   = "arn:aws:ssm-incidents::" + acctA + ":incident-record/checkout/6a1f"
)

func mustParse(t testing.TB, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse %s: %v", doc, err)
	}
	return p
}

// identity is a policy of one statement with the given members.
func identity(members string) string {
	return `{"Version": "2012-10-17", "Statement": {` + members + `}}`
}

// req is a request of principal (of its account) for action on resource
// (of account A), with condition keys.
func req(principal, action, resource string, keys ...string) *policy.Request {
	r := &policy.Request{Principal: principal, Action: action, Resource: resource, ResourceAccount: acctA, Context: map[string][]string{}}
	r.PrincipalAccount = strings.Split(principal, ":")[4]
	if resource == "*" {
		r.ResourceAccount = r.PrincipalAccount
	}
	for _, kv := range keys {
		k, v, _ := strings.Cut(kv, "=")
		k = strings.ToLower(k)
		if v == "" {
			r.Context[k] = nil
			continue
		}
		r.Context[k] = append(r.Context[k], strings.Split(v, ",")...)
	}
	return r
}

func TestEvaluate(t *testing.T) {
	allowAll := identity(`"Effect": "Allow", "Action": "ssm-incidents:*", "Resource": "*"`)
	shareWithB := `{"Version": "2012-10-17", "Statement": [{"Sid": "ShareWithB", "Effect": "Allow", "Principal": {"AWS": "` + rootB + `"},
		"Action": ["ssm-incidents:StartIncident", "ssm-incidents:GetIncidentRecord", "ssm-incidents:UpdateIncidentRecord"],
		"Resource": ["` + plan + `", "arn:aws:ssm-incidents::` + acctA + `:incident-record/checkout/*"]}]}`
	for _, tc := range []struct {
		name     string
		identity []string
		resource []string
		req      *policy.Request
		want     policy.Reason
		sid      string
	}{
		// Root and the implicit deny.
		{"root in its account needs no policy", nil, nil, req(rootA, "ssm-incidents:UpdateIncidentRecord", inc), policy.AllowedAsRoot, ""},
		{"a user without policies", nil, nil, req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
		{"an allow of everything", []string{allowAll}, nil, req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		// Actions.
		{"action named exactly", []string{identity(`"Sid": "One", "Effect": "Allow", "Action": "ssm-incidents:UpdateIncidentRecord", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.AllowedByIdentityPolicy, "One"},
		{"action names are not case-sensitive", []string{identity(`"Effect": "Allow", "Action": "SSM-Incidents:updateincidentrecord", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		{"action wildcard *", []string{identity(`"Effect": "Allow", "Action": "ssm-incidents:Update*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		{"action wildcard * that does not match", []string{identity(`"Effect": "Allow", "Action": "ssm-incidents:Get*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
		{"action wildcard ?", []string{identity(`"Effect": "Allow", "Action": "ssm-incidents:?etIncidentRecord", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		{"another service's action", []string{identity(`"Effect": "Allow", "Action": "ssm:*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
		{"NotAction allows what it does not name", []string{identity(`"Effect": "Allow", "NotAction": "ssm-incidents:Delete*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		{"NotAction allows nothing it names", []string{identity(`"Effect": "Allow", "NotAction": "ssm-incidents:Delete*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:DeleteIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
		{"a Deny with NotAction denies the rest", []string{allowAll, identity(`"Effect": "Deny", "NotAction": "ssm-incidents:Get*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.DeniedByIdentityPolicy, ""},
		{"a Deny with NotAction leaves what it names", []string{allowAll, identity(`"Effect": "Deny", "NotAction": "ssm-incidents:Get*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		// Resources.
		{"resource wildcard", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "arn:aws:ssm-incidents::` + acctA + `:incident-record/checkout/*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		{"resource of another plan", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "arn:aws:ssm-incidents::` + acctA + `:incident-record/payments/*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
		{"resources are case-sensitive", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "arn:aws:ssm-incidents::` + acctA + `:incident-record/Checkout/*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
		{"an action on no resource needs Resource *", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "arn:aws:ssm-incidents::*:response-plan/*"`)}, nil,
			req(alice, "ssm-incidents:ListResponsePlans", "*"), policy.NoIdentityPolicyAllows, ""},
		{"NotResource", []string{identity(`"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:ssm-incidents::*:replication-set/*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		{"NotResource leaves what it names", []string{identity(`"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:ssm-incidents::*:incident-record/*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
		// Explicit deny wins.
		{"explicit deny over allow", []string{allowAll, identity(`"Sid": "NoDeletes", "Effect": "Deny", "Action": "ssm-incidents:Delete*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:DeleteIncidentRecord", inc), policy.DeniedByIdentityPolicy, "NoDeletes"},
		{"explicit deny first, allow after", []string{identity(`"Effect": "Deny", "Action": "*", "Resource": "*"`), allowAll}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.DeniedByIdentityPolicy, ""},
		{"a deny of another action", []string{allowAll, identity(`"Effect": "Deny", "Action": "ssm-incidents:Delete*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		{"a deny that names only a deny", []string{identity(`"Effect": "Deny", "Action": "ssm-incidents:Delete*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:UpdateIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
		{"a resource policy's deny reaches even root", nil, []string{`{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}}`},
			req(rootA, "ssm-incidents:GetResponsePlan", plan), policy.DeniedByResourcePolicy, ""},
		// Across accounts.
		{"another account's user, no policy of its own", nil, []string{shareWithB}, req(bob, "ssm-incidents:StartIncident", plan), policy.NoIdentityPolicyAllows, ""},
		{"another account's user, no resource policy", []string{allowAll}, nil, req(bob, "ssm-incidents:StartIncident", plan), policy.NoResourcePolicyAllows, ""},
		{"another account's user, both policies", []string{allowAll}, []string{shareWithB}, req(bob, "ssm-incidents:StartIncident", plan), policy.AllowedAcrossAccounts, ""},
		{"the shared plan's incidents", []string{allowAll}, []string{shareWithB}, req(bob, "ssm-incidents:UpdateIncidentRecord", inc), policy.AllowedAcrossAccounts, ""},
		{"an action the share does not name", []string{allowAll}, []string{shareWithB}, req(bob, "ssm-incidents:DeleteIncidentRecord", inc), policy.NoResourcePolicyAllows, ""},
		{"another account's root needs only the resource policy", nil, []string{shareWithB}, req(rootB, "ssm-incidents:StartIncident", plan), policy.AllowedByResourcePolicy, "ShareWithB"},
		{"a resource policy for a third account", []string{allowAll}, []string{strings.ReplaceAll(shareWithB, acctB, "777788889999")},
			req(bob, "ssm-incidents:StartIncident", plan), policy.NoResourcePolicyAllows, ""},
		{"a resource policy naming the account by id", []string{allowAll}, []string{strings.ReplaceAll(shareWithB, rootB, acctB)},
			req(bob, "ssm-incidents:StartIncident", plan), policy.AllowedAcrossAccounts, ""},
		{"a resource policy naming the user", []string{allowAll}, []string{strings.ReplaceAll(shareWithB, rootB, bob)},
			req(bob, "ssm-incidents:StartIncident", plan), policy.AllowedAcrossAccounts, ""},
		{"a resource policy naming another user", []string{allowAll}, []string{strings.ReplaceAll(shareWithB, rootB, "arn:aws:iam::"+acctB+":user/carol")},
			req(bob, "ssm-incidents:StartIncident", plan), policy.NoResourcePolicyAllows, ""},
		{"the identity deny across accounts", []string{allowAll, identity(`"Effect": "Deny", "Action": "ssm-incidents:StartIncident", "Resource": "*"`)}, []string{shareWithB},
			req(bob, "ssm-incidents:StartIncident", plan), policy.DeniedByIdentityPolicy, ""},
		{"NotPrincipal leaves out a user its account and it name", []string{allowAll}, []string{`{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "NotPrincipal": {"AWS": ["` + rootB + `", "` + bob + `"]}, "Action": "*", "Resource": "*"}}`},
			req(bob, "ssm-incidents:StartIncident", plan), policy.NoResourcePolicyAllows, ""},
		{"NotPrincipal of the account alone does not leave out its users", []string{allowAll}, []string{`{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "NotPrincipal": {"AWS": "` + rootB + `"}, "Action": "*", "Resource": "*"}}`},
			req(bob, "ssm-incidents:StartIncident", plan), policy.AllowedAcrossAccounts, ""},
		{"NotPrincipal of the user alone does not leave it out", []string{allowAll},
			[]string{`{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": "` + bob + `"}, "Action": "*", "Resource": "*"}}`, shareWithB},
			req(bob, "ssm-incidents:StartIncident", plan), policy.DeniedByResourcePolicy, ""},
		{"NotPrincipal leaves out a root its account names", nil, []string{`{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": "` + acctB + `"}, "Action": "*", "Resource": "*"}}`, shareWithB},
			req(rootB, "ssm-incidents:StartIncident", plan), policy.AllowedByResourcePolicy, "ShareWithB"},
		// Misplaced principals deny rather than allow.
		{"an identity-based Deny naming a Principal still denies", []string{allowAll, identity(`"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.DeniedByIdentityPolicy, ""},
		{"an identity-based Allow naming a Principal allows nothing", []string{identity(`"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
		{"a resource-based Deny without a Principal denies everyone", []string{allowAll}, []string{`{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}`, shareWithB},
			req(bob, "ssm-incidents:StartIncident", plan), policy.DeniedByResourcePolicy, ""},
		{"a resource-based Allow without a Principal allows no one", []string{allowAll}, []string{`{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}`},
			req(bob, "ssm-incidents:StartIncident", plan), policy.NoResourcePolicyAllows, ""},
		{"an unknown operator decides a Deny before the other conditions", []string{allowAll, identity(`"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalArn": "nobody"}, "StringEqualsX": {"aws:PrincipalArn": "bob"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:PrincipalArn="+alice), policy.DeniedByIdentityPolicy, ""},
		{"an action on no resource, ResourceAccount empty", []string{identity(`"Effect": "Allow", "Action": "ssm-incidents:List*", "Resource": "*"`)}, nil,
			&policy.Request{Principal: alice, PrincipalAccount: acctA, Action: "ssm-incidents:ListResponsePlans", Resource: "*"}, policy.AllowedByIdentityPolicy, ""},
		// In one account, a resource policy naming the user itself allows;
		// one naming the account delegates to identity policies.
		{"same account, resource policy names the user", nil, []string{strings.ReplaceAll(shareWithB, rootB, alice)},
			req(alice, "ssm-incidents:StartIncident", plan), policy.AllowedByResourcePolicy, "ShareWithB"},
		{"same account, resource policy names the account", nil, []string{strings.ReplaceAll(shareWithB, rootB, rootA)},
			req(alice, "ssm-incidents:StartIncident", plan), policy.NoIdentityPolicyAllows, ""},
		// Conditions: operators.
		{"StringEquals", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalAccount": "` + acctA + `"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:PrincipalAccount="+acctA), policy.AllowedByIdentityPolicy, ""},
		{"StringEquals is case-sensitive on values", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "Payments"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:ResourceTag/team=payments"), policy.NoIdentityPolicyAllows, ""},
		{"condition keys are not case-sensitive", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"AWS:RESOURCETAG/team": "payments"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:ResourceTag/team=payments"), policy.AllowedByIdentityPolicy, ""},
		{"StringEqualsIgnoreCase", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEqualsIgnoreCase": {"aws:ResourceTag/team": "PAYMENTS"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:ResourceTag/team=payments"), policy.AllowedByIdentityPolicy, ""},
		{"values of a key are alternatives", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": ["ops", "payments"]}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:ResourceTag/team=payments"), policy.AllowedByIdentityPolicy, ""},
		{"keys of an operator all hold", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "payments", "aws:ResourceTag/env": "prod"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:ResourceTag/team=payments", "aws:ResourceTag/env=staging"), policy.NoIdentityPolicyAllows, ""},
		{"operators of a block all hold", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "payments"}, "Bool": {"aws:SecureTransport": "true"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:ResourceTag/team=payments", "aws:SecureTransport=false"), policy.NoIdentityPolicyAllows, ""},
		{"StringNotEquals", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:ResourceTag/env": "prod"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:ResourceTag/env=staging"), policy.AllowedByIdentityPolicy, ""},
		{"StringNotEquals of the value", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:ResourceTag/env": "prod"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:ResourceTag/env=prod"), policy.NoIdentityPolicyAllows, ""},
		{"StringLike", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/al*"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:PrincipalArn="+alice), policy.AllowedByIdentityPolicy, ""},
		{"StringNotLike", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/al*"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:PrincipalArn="+alice), policy.NoIdentityPolicyAllows, ""},
		{"ArnEquals", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ArnEquals": {"aws:PrincipalArn": "` + alice + `"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:PrincipalArn="+alice), policy.AllowedByIdentityPolicy, ""},
		{"ArnLike part by part", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:PrincipalArn="+alice), policy.AllowedByIdentityPolicy, ""},
		{"ArnLike: a wildcard does not cross a colon", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam:*:user/alice"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:PrincipalArn="+alice), policy.NoIdentityPolicyAllows, ""},
		{"ArnNotLike", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::` + acctB + `:*"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:PrincipalArn="+alice), policy.AllowedByIdentityPolicy, ""},
		{"Bool", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": true}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:SecureTransport=true"), policy.AllowedByIdentityPolicy, ""},
		{"DateGreaterThan", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:CurrentTime=2026-12-01T10:00:00Z"), policy.AllowedByIdentityPolicy, ""},
		{"DateLessThan", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-01-01"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:CurrentTime=2026-12-01T10:00:00Z"), policy.NoIdentityPolicyAllows, ""},
		{"a date in seconds since 1970", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": 1893456000}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:CurrentTime=2026-12-01T10:00:00Z"), policy.AllowedByIdentityPolicy, ""},
		{"NumericLessThan", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NumericLessThan": {"ssm-incidents:impact": 3}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "ssm-incidents:impact=2"), policy.AllowedByIdentityPolicy, ""},
		{"IpAddress in a range", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:SourceIp=203.0.113.7"), policy.AllowedByIdentityPolicy, ""},
		{"IpAddress of IPv6", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:SourceIp=2001:db8::1"), policy.AllowedByIdentityPolicy, ""},
		{"IpAddress out of range", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:SourceIp=198.51.100.1"), policy.NoIdentityPolicyAllows, ""},
		{"a deny outside an address range", []string{allowAll, identity(`"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:SourceIp=198.51.100.1"), policy.DeniedByIdentityPolicy, ""},
		{"IpAddress of a single address", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.1"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:SourceIp=127.0.0.1"), policy.AllowedByIdentityPolicy, ""},
		// Missing keys.
		{"a missing key fails a positive operator", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "payments"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
		{"a missing key holds for a negated operator", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:ResourceTag/env": "prod"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		{"IfExists with the key missing", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/team": "payments"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		{"IfExists with the key present", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/team": "payments"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:ResourceTag/team=ops"), policy.NoIdentityPolicyAllows, ""},
		{"Null true: the key is missing", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Null": {"aws:ResourceTag/team": "true"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.AllowedByIdentityPolicy, ""},
		{"Null false: the key is present", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Null": {"aws:ResourceTag/team": "false"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
		// Multi-valued keys.
		{"ForAllValues: every tag key allowed", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}`)}, nil,
			req(alice, "ssm-incidents:TagResource", inc, "aws:TagKeys=team,env"), policy.AllowedByIdentityPolicy, ""},
		{"ForAllValues: a tag key not allowed", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}`)}, nil,
			req(alice, "ssm-incidents:TagResource", inc, "aws:TagKeys=team,owner"), policy.NoIdentityPolicyAllows, ""},
		{"ForAllValues holds for no values", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}`)}, nil,
			req(alice, "ssm-incidents:TagResource", inc), policy.AllowedByIdentityPolicy, ""},
		{"ForAnyValue: one matches", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}`)}, nil,
			req(alice, "ssm-incidents:TagResource", inc, "aws:TagKeys=owner,team"), policy.AllowedByIdentityPolicy, ""},
		{"ForAnyValue: none matches", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}`)}, nil,
			req(alice, "ssm-incidents:TagResource", inc, "aws:TagKeys=owner"), policy.NoIdentityPolicyAllows, ""},
		{"ForAnyValue fails for no values", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}`)}, nil,
			req(alice, "ssm-incidents:TagResource", inc), policy.NoIdentityPolicyAllows, ""},
		{"a deny of any key but some", []string{allowAll, identity(`"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["team", "env"]}}`)}, nil,
			req(alice, "ssm-incidents:TagResource", inc, "aws:TagKeys=team,owner"), policy.DeniedByIdentityPolicy, ""},
		{"ForAllValues:StringLike", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForAllValues:StringLike": {"aws:TagKeys": ["team*"]}}`)}, nil,
			req(alice, "ssm-incidents:TagResource", inc, "aws:TagKeys=team,teamlead"), policy.AllowedByIdentityPolicy, ""},
		// Unknown operators deny.
		{"an Allow with an unknown operator allows nothing", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringSounds": {"aws:PrincipalArn": "alice"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:PrincipalArn="+alice), policy.NoIdentityPolicyAllows, ""},
		{"a Deny with an unknown operator denies", []string{allowAll, identity(`"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringSounds": {"aws:PrincipalArn": "bob"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc, "aws:PrincipalArn="+alice), policy.DeniedByIdentityPolicy, ""},
		{"NullIfExists is no operator", []string{identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NullIfExists": {"aws:ResourceTag/team": "true"}}`)}, nil,
			req(alice, "ssm-incidents:GetIncidentRecord", inc), policy.NoIdentityPolicyAllows, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parse := func(docs []string) []*policy.Policy {
				var ps []*policy.Policy
				for i, d := range docs {
					p := mustParse(t, d)
					p.Name = fmt.Sprint("policy ", i)
					ps = append(ps, p)
				}
				return ps
			}
			d := policy.Evaluate(tc.req, parse(tc.identity), parse(tc.resource))
			allowed := tc.want <= policy.AllowedAcrossAccounts
			if d.Reason != tc.want || d.Allowed != allowed {
				t.Fatalf("decision %+v, want reason %d (allowed %v)", d, tc.want, allowed)
			}
			if tc.sid != "" && (d.Statement == nil || d.Statement.Sid != tc.sid) {
				t.Errorf("decided by %+v, want the statement %s", d.Statement, tc.sid)
			}
			if (d.Reason == policy.DeniedByIdentityPolicy || d.Reason == policy.DeniedByResourcePolicy) && d.Statement == nil {
				t.Errorf("an explicit deny without its statement")
			}
		})
	}
}

// TestMessages: AWS's wording of AccessDeniedException.
func TestMessages(t *testing.T) {
	r := req(alice, "ssm-incidents:UpdateIncidentRecord", inc)
	for reason, want := range map[policy.Reason]string{
		policy.NoIdentityPolicyAllows: "User: " + alice + " is not authorized to perform: ssm-incidents:UpdateIncidentRecord on resource: " + inc +
			" because no identity-based policy allows the ssm-incidents:UpdateIncidentRecord action",
		policy.DeniedByIdentityPolicy: "User: " + alice + " is not authorized to perform: ssm-incidents:UpdateIncidentRecord on resource: " + inc +
			" with an explicit deny in an identity-based policy",
		policy.DeniedByResourcePolicy: "User: " + alice + " is not authorized to perform: ssm-incidents:UpdateIncidentRecord on resource: " + inc +
			" with an explicit deny in a resource-based policy",
		policy.NoResourcePolicyAllows: "User: " + alice + " is not authorized to perform: ssm-incidents:UpdateIncidentRecord on resource: " + inc +
			" because no resource-based policy allows the ssm-incidents:UpdateIncidentRecord action",
	} {
		if got := (policy.Decision{Reason: reason}).Message(r); got != want {
			t.Errorf("reason %d:\n got %s\nwant %s", reason, got, want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`[]`, "JSON object"},
		{`{"Version": "2012-10-17"}`, "Statement is missing"},
		{`{"Version": "2010-01-01", "Statement": []}`, "Version"},
		{`{"Statement": []}`, "non-empty"},
		{`{"Statement": {"Effect": "Allow", "Action": "*"}}`, "Resource (or NotResource) is missing"},
		{`{"Statement": {"Effect": "Maybe", "Action": "*", "Resource": "*"}}`, `"Allow" or "Deny"`},
		{`{"Statement": {"Action": "*", "Resource": "*"}}`, "Effect is missing"},
		{`{"Statement": {"Effect": "Allow", "Action": "*", "NotAction": "*", "Resource": "*"}}`, "not both"},
		{`{"Statement": {"Effect": "Allow", "Action": "UpdateIncidentRecord", "Resource": "*"}}`, "not service:action"},
		{`{"Statement": {"Effect": "Allow", "Action": [], "Resource": "*"}}`, "non-empty list"},
		{`{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Actions": "*"}}`, `unknown member "Actions"`},
		{`{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "soon"}}}}`, "not a date"},
		{`{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "local"}}}}`, "not an IP address"},
		{`{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "yes"}}}}`, "not true or false"},
		{`{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:x": []}}}}`, "empty"},
		{`{"Statement": {"Effect": "Allow", "Principal": "everyone", "Action": "*", "Resource": "*"}}`, "Principal"},
		{`{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}, "Extra": 1}`, `unknown member "Extra"`},
	} {
		_, err := policy.Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse %s: %v, want an error with %q", tc.doc, err, tc.want)
		}
	}
	p := mustParse(t, identity(`"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringSounds": {"a": "b"}, "ForAnyValue:Fuzzy": {"c": "d"}, "StringEquals": {"e": "f"}}`))
	if got := p.UnknownOperators(); len(got) != 2 || got[0] != "ForAnyValue:Fuzzy" || got[1] != "StringSounds" {
		t.Errorf("UnknownOperators: %q", got)
	}
	if err := p.CheckIdentity(); err == nil || !strings.Contains(err.Error(), "StringSounds") {
		t.Errorf("CheckIdentity of unknown operators: %v", err)
	}
	withPrincipal := mustParse(t, identity(`"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"`))
	without := mustParse(t, identity(`"Effect": "Allow", "Action": "*", "Resource": "*"`))
	for _, tc := range []struct {
		name string
		err  error
		ok   bool
	}{
		{"CheckIdentity of a Principal", withPrincipal.CheckIdentity(), false},
		{"CheckIdentity without one", without.CheckIdentity(), true},
		{"CheckResource of a Principal", withPrincipal.CheckResource(), true},
		{"CheckResource without one", without.CheckResource(), false},
	} {
		if (tc.err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
	}
}

// FuzzParse: no document makes Parse or Evaluate panic, and a document
// parses the same every time.
func FuzzParse(f *testing.F) {
	for _, doc := range []string{
		identity(`"Effect": "Allow", "Action": "ssm-incidents:*", "Resource": "*"`),
		identity(`"Effect": "Deny", "NotAction": ["ssm-incidents:Get*"], "NotResource": "arn:aws:*", "Condition": {"ForAllValues:StringLikeIfExists": {"aws:TagKeys": ["a*", "?b"]}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}`),
		`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["` + rootB + `", "` + acctA + `"]}, "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": 0}, "Null": {"x": true}}}]}`,
	} {
		f.Add([]byte(doc))
	}
	r := req(bob, "ssm-incidents:UpdateIncidentRecord", inc, "aws:TagKeys=ab,b", "aws:SourceIp=10.1.2.3", "aws:CurrentTime=2026-12-01T10:00:00Z")
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := policy.Parse(doc)
		again, err2 := policy.Parse(doc)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Parse is not deterministic: %v, then %v", err, err2)
		}
		if err != nil {
			return
		}
		d1 := policy.Evaluate(r, []*policy.Policy{p}, []*policy.Policy{p})
		d2 := policy.Evaluate(r, []*policy.Policy{again}, []*policy.Policy{again})
		if d1.Allowed != d2.Allowed || d1.Reason != d2.Reason {
			t.Fatalf("two parses of one document decide differently: %+v, %+v", d1, d2)
		}
		_ = d1.Message(r)
	})
}

// BenchmarkEvaluate20Statements: one request decided with 20 attached
// statements: some of other actions, of other resources, with conditions,
// and the allow that matches last.
func BenchmarkEvaluate20Statements(b *testing.B) {
	var stmts []string
	for i := range 6 {
		stmts = append(stmts, fmt.Sprintf(`{"Effect": "Allow", "Action": "ssm-incidents:Get%d*", "Resource": "*"}`, i))
		stmts = append(stmts, fmt.Sprintf(`{"Effect": "Allow", "Action": "ssm-incidents:*", "Resource": "arn:aws:ssm-incidents::%s:incident-record/plan%d/*"}`, acctA, i))
		stmts = append(stmts, fmt.Sprintf(`{"Effect": "Deny", "Action": "ssm-incidents:Delete*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod%d"}}}`, i))
	}
	stmts = append(stmts, `{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]}}}`)
	stmts = append(stmts, `{"Effect": "Allow", "Action": "ssm-incidents:Update*", "Resource": "arn:aws:ssm-incidents::`+acctA+`:incident-record/checkout/*",
		"Condition": {"StringEquals": {"aws:ResourceTag/team": ["ops", "payments"]}, "Bool": {"aws:SecureTransport": "true"}}}`)
	p := mustParse(b, `{"Version": "2012-10-17", "Statement": [`+strings.Join(stmts, ",")+`]}`)
	if len(p.Statements) != 20 {
		b.Fatalf("%d statements", len(p.Statements))
	}
	ps := []*policy.Policy{p}
	r := req(alice, "ssm-incidents:UpdateIncidentRecord", inc, "aws:ResourceTag/team=payments", "aws:SecureTransport=true", "aws:SourceIp=127.0.0.1")
	if d := policy.Evaluate(r, ps, nil); !d.Allowed {
		b.Fatalf("not allowed: %+v", d)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		policy.Evaluate(r, ps, nil)
	}
}
