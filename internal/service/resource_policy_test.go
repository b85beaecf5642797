package service_test

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/testserver"
)

// sharePolicy is the typical policy that shares plan (of account A) with
// account B, written with the layout a person would give it.
func sharePolicy(plan string) string {
	name := strings.TrimPrefix(plan, "arn:aws:ssm-incidents::"+testserver.AccountA+":response-plan/")
	return `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ShareWithB",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::` + testserver.AccountB + `:root"},
      "Action": ["ssm-incidents:GetResponsePlan", "ssm-incidents:StartIncident", "ssm-incidents:UpdateIncidentRecord",
                 "ssm-incidents:GetIncidentRecord", "ssm-incidents:CreateTimelineEvent", "ssm-incidents:UpdateTimelineEvent",
                 "ssm-incidents:GetTimelineEvent", "ssm-incidents:ListTimelineEvents", "ssm-incidents:UpdateRelatedItems",
                 "ssm-incidents:ListRelatedItems"],
      "Resource": ["` + plan + `", "arn:aws:ssm-incidents::` + testserver.AccountA + `:incident-record/` + name + `/*"]
    }
  ]
}`
}

var policyIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func putPolicy(t *testing.T, c *ssmincidents.Client, plan, doc string) string {
	t.Helper()
	out, err := c.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: &plan, Policy: &doc})
	if err != nil {
		t.Fatalf("PutResourcePolicy: %v", err)
	}
	id := aws.ToString(out.PolicyId)
	if !policyIDRE.MatchString(id) {
		t.Fatalf("policyId %q is not 32 lower-case hex digits", id)
	}
	return id
}

func getPolicies(t *testing.T, c *ssmincidents.Client, plan string) []types.ResourcePolicy {
	t.Helper()
	out, err := c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &plan})
	if err != nil {
		t.Fatalf("GetResourcePolicies: %v", err)
	}
	if out.NextToken != nil {
		t.Fatalf("one page expected, got nextToken %q", aws.ToString(out.NextToken))
	}
	return out.ResourcePolicies
}

func TestResourcePolicyRoundTrip(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	plan := createPlan(t, c, "shared")
	if got := getPolicies(t, c, plan); len(got) != 0 {
		t.Fatalf("a new plan has policies: %+v", got)
	}

	// Each call adds a policy with a new id; the document comes back byte
	// for byte, and the region is the one the Put was signed for.
	doc1 := sharePolicy(plan)
	id1 := putPolicy(t, c, plan, doc1)
	doc2 := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"ssm-incidents:Get*",` +
		`"Resource":"` + plan + `","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}}`
	eu := srv.A(func(o *ssmincidents.Options) { o.Region = "eu-west-1" })
	id2 := putPolicy(t, eu, plan, doc2)
	if id1 == id2 {
		t.Fatalf("two policies share the id %s", id1)
	}
	want := []types.ResourcePolicy{
		{PolicyId: &id1, PolicyDocument: &doc1, RamResourceShareRegion: aws.String(testserver.Region)},
		{PolicyId: &id2, PolicyDocument: &doc2, RamResourceShareRegion: aws.String("eu-west-1")},
	}
	if got := getPolicies(t, c, plan); !reflect.DeepEqual(got, want) {
		t.Fatalf("policies:\n got %s\nwant %s", policiesString(got), policiesString(want))
	}

	if _, err := c.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &plan, PolicyId: &id1}); err != nil {
		t.Fatalf("DeleteResourcePolicy: %v", err)
	}
	if got := getPolicies(t, c, plan); !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("after delete: %s", policiesString(got))
	}
	// Deleting it again: the plan no longer has that policy.
	_, err := c.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &plan, PolicyId: &id1})
	irWantNotFound(t, err, id1, types.ResourceTypeResourcePolicy)

	// On the wire, as the API reference says: "the service sends back an
	// HTTP 200 response with an empty HTTP body".
	resp := srv.Do("POST", "/deleteResourcePolicy", []byte(`{"resourceArn":"`+plan+`","policyId":"`+id2+`"}`))
	if resp.Status != 200 || len(resp.Body) != 0 || resp.Header.Get("Content-Length") != "0" {
		t.Fatalf("raw DeleteResourcePolicy: %d, Content-Length %q, body %q", resp.Status, resp.Header.Get("Content-Length"), resp.Body)
	}
}

func policiesString(ps []types.ResourcePolicy) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "[%s %s %q] ", aws.ToString(p.PolicyId), aws.ToString(p.RamResourceShareRegion), aws.ToString(p.PolicyDocument))
	}
	return b.String()
}

func TestResourcePolicyErrors(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	plan := createPlan(t, c, "p")
	id := putPolicy(t, c, plan, sharePolicy(plan))

	// A plan that does not exist in the caller's account.
	missing := "arn:aws:ssm-incidents::" + testserver.AccountA + ":response-plan/nope"
	t.Run("missing plan "+missing, func(t *testing.T) {
		doc := sharePolicy(plan)
		_, err := c.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: &missing, Policy: &doc})
		irWantNotFound(t, err, missing, types.ResourceTypeResponsePlan)
		_, err = c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &missing})
		irWantNotFound(t, err, missing, types.ResourceTypeResponsePlan)
		_, err = c.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &missing, PolicyId: &id})
		irWantNotFound(t, err, missing, types.ResourceTypeResponsePlan)
	})
	// A plan of another account (B has none): whether it exists or not,
	// no resource policy lets A act on it.
	foreign := "arn:aws:ssm-incidents::" + testserver.AccountB + ":response-plan/p"
	t.Run("another account's plan "+foreign, func(t *testing.T) {
		doc := sharePolicy(plan)
		_, err := c.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: &foreign, Policy: &doc})
		wantCrossAccountDenied(t, err, testserver.AccountA, "PutResourcePolicy", foreign)
		_, err = c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &foreign})
		wantCrossAccountDenied(t, err, testserver.AccountA, "GetResourcePolicies", foreign)
		_, err = c.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &foreign, PolicyId: &id})
		wantCrossAccountDenied(t, err, testserver.AccountA, "DeleteResourcePolicy", foreign)
	})

	// ARNs that cannot name a response plan.
	for _, bad := range []string{
		"arn:aws:ssm-incidents::" + testserver.AccountA + ":incident-record/p/1abd9b35-ff4c-eb47-f20f-712a6c4c88cc",
		"arn:aws:ssm-incidents::" + testserver.AccountA + ":replication-set/x",
		"arn:aws:sns:us-east-1:" + testserver.AccountA + ":topic",
		"arn:aws-cn:ssm-incidents::" + testserver.AccountA + ":response-plan/p",
	} {
		t.Run("bad ARN "+bad, func(t *testing.T) {
			doc := sharePolicy(plan)
			_, err := c.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: &bad, Policy: &doc})
			wantPlanARNError(t, err)
			_, err = c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &bad})
			wantPlanARNError(t, err)
			_, err = c.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &bad, PolicyId: &id})
			wantPlanARNError(t, err)
		})
	}

	t.Run("unknown policy id", func(t *testing.T) {
		for _, unknown := range []string{"0123456789abcdef0123456789abcdef", strings.ToUpper(id), ""} {
			_, err := c.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &plan, PolicyId: &unknown})
			irWantNotFound(t, err, unknown, types.ResourceTypeResourcePolicy)
		}
	})

	// A policy id of one plan does not delete on another plan.
	t.Run("policy id of another plan", func(t *testing.T) {
		other := createPlan(t, c, "other")
		_, err := c.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &other, PolicyId: &id})
		irWantNotFound(t, err, id, types.ResourceTypeResourcePolicy)
	})

	// None of the failures above changed anything.
	if got := getPolicies(t, c, plan); len(got) != 1 || aws.ToString(got[0].PolicyId) != id {
		t.Fatalf("policies after failed calls: %s", policiesString(got))
	}
}

func wantPlanARNError(t *testing.T, err error) {
	t.Helper()
	v := wantAPIError[*types.ValidationException](t, err, "ValidationException")
	if !strings.Contains(aws.ToString(v.Message), "is not a response plan ARN") {
		t.Fatalf("message %q", aws.ToString(v.Message))
	}
}

func TestResourcePolicyDocumentIsChecked(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	plan := createPlan(t, c, "p")
	incidents := "arn:aws:ssm-incidents::" + testserver.AccountA + ":incident-record/p/"
	// stmt is a valid statement with members replaced or (value "") removed.
	stmt := func(change map[string]string) string {
		members := map[string]string{
			"Effect":    `"Allow"`,
			"Principal": `{"AWS":"` + testserver.AccountB + `"}`,
			"Action":    `"ssm-incidents:GetResponsePlan"`,
			"Resource":  `"` + plan + `"`,
		}
		for k, v := range change {
			members[k] = v
		}
		var parts []string
		for _, k := range []string{"Sid", "Effect", "Principal", "Action", "Resource", "Condition", "NotPrincipal", "NotAction", "NotResource", "Effects"} {
			if v := members[k]; v != "" {
				parts = append(parts, `"`+k+`":`+v)
			}
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	policy := func(statements ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
	}
	ok := stmt(nil)

	for _, tc := range []struct{ name, doc, want string }{
		{"bad JSON", `{"Version":"2012-10-17",`, "Invalid resource policy: the policy must be a JSON object: unexpected end of JSON input"},
		{"trailing data", policy(ok) + "x", "Invalid resource policy: the policy must be a JSON object: invalid character 'x' after top-level value"},
		{"not an object", `["2012-10-17"]`, "Invalid resource policy: the policy must be a JSON object: not an object"},
		{"empty document", ``, "Invalid resource policy: the policy must be a JSON object: unexpected end of JSON input"},
		{"unknown member", `{"Version":"2012-10-17","Statements":[` + ok + `]}`, `Invalid resource policy: the policy has an unknown member "Statements" (members: Version, Id, Statement).`},
		{"member twice", `{"Version":"2012-10-17","Statement":[` + strings.Replace(ok, `"Effect":"Allow"`, `"Effect":"Deny","Effect":"Allow"`, 1) + `]}`, `Invalid resource policy: the member "Effect" appears twice in one object.`},
		{"missing Version", `{"Statement":[` + ok + `]}`, `Invalid resource policy: Version is missing: use "2012-10-17".`},
		{"wrong Version", `{"Version":"2012-10-18","Statement":[` + ok + `]}`, `Invalid resource policy: Version "2012-10-18" is not supported: use "2012-10-17" (or "2008-10-17").`},
		{"Version a number", `{"Version":2012,"Statement":[` + ok + `]}`, `Invalid resource policy: Version 2012 is not supported`},
		{"Id a number", `{"Version":"2012-10-17","Id":1,"Statement":[` + ok + `]}`, `Invalid resource policy: Id must be a string.`},
		{"missing Statement", `{"Version":"2012-10-17"}`, `Invalid resource policy: Statement is missing.`},
		{"empty Statement", policy(), `Invalid resource policy: Statement must be a statement or a non-empty list of statements.`},
		{"Statement a string", `{"Version":"2012-10-17","Statement":"Allow"}`, `Invalid resource policy: Statement must be a statement or a non-empty list of statements.`},
		{"statement not an object", policy(ok, `"x"`), `Invalid resource policy: Statement 2: a statement must be a JSON object.`},
		{"Deny", policy(stmt(map[string]string{"Effect": `"Deny"`})), `Invalid resource policy: Statement 1: Effect "Deny" is not supported: deny statements are not supported in resource policies of Incident Manager; use "Allow".`},
		{"Deny in second statement", policy(ok, stmt(map[string]string{"Effect": `"Deny"`})), `Invalid resource policy: Statement 2: Effect "Deny" is not supported`},
		{"missing Effect", policy(stmt(map[string]string{"Effect": ""})), `Invalid resource policy: Statement 1: Effect is missing: use "Allow".`},
		{"Effect spelt allow", policy(stmt(map[string]string{"Effect": `"allow"`})), `Invalid resource policy: Statement 1: Effect "allow" is not valid: use "Allow".`},
		{"Effect a list", policy(stmt(map[string]string{"Effect": `["Allow"]`})), `Invalid resource policy: Statement 1: Effect must be "Allow".`},
		{"Sid a number", policy(stmt(map[string]string{"Sid": `7`})), `Invalid resource policy: Statement 1: Sid must be a string.`},
		{"NotAction", policy(stmt(map[string]string{"NotAction": `"ssm-incidents:DeleteResponsePlan"`})), `Invalid resource policy: Statement 1: NotAction is not supported: name what the statement allows with Action.`},
		{"NotPrincipal", policy(stmt(map[string]string{"NotPrincipal": `{"AWS":"` + testserver.AccountB + `"}`})), `Invalid resource policy: Statement 1: NotPrincipal is not supported: name what the statement allows with Principal.`},
		{"NotResource", policy(stmt(map[string]string{"NotResource": `"` + plan + `"`})), `Invalid resource policy: Statement 1: NotResource is not supported: name what the statement allows with Resource.`},
		{"unknown statement member", policy(stmt(map[string]string{"Effects": `"Allow"`})), `Invalid resource policy: Statement 1: a statement has an unknown member "Effects" (members: Sid, Effect, Principal, Action, Resource, Condition).`},
		{"missing Principal", policy(stmt(map[string]string{"Principal": ""})), `Invalid resource policy: Statement 1: Principal is missing`},
		{"Principal an account id string", policy(stmt(map[string]string{"Principal": `"` + testserver.AccountB + `"`})), `Invalid resource policy: Statement 1: Principal "444455556666" is not valid: use "*" or {"AWS": …}.`},
		{"Principal a number", policy(stmt(map[string]string{"Principal": `5`})), `Invalid resource policy: Statement 1: Principal must be "*" or an object with an AWS member.`},
		{"short account id", policy(stmt(map[string]string{"Principal": `{"AWS":"12345"}`})), `Invalid resource policy: Statement 1: Principal.AWS "12345" is not valid: use "*", a 12-digit account id, arn:aws:iam::ACCOUNT:root, or the ARN of an IAM user or role.`},
		{"principal of another service's ARN", policy(stmt(map[string]string{"Principal": `{"AWS":["` + testserver.AccountB + `","arn:aws:sns:us-east-1:444455556666:t"]}`})), `Invalid resource policy: Statement 1: Principal.AWS "arn:aws:sns:us-east-1:444455556666:t" is not valid`},
		{"service principal", policy(stmt(map[string]string{"Principal": `{"Service":"sns.amazonaws.com"}`})), `Invalid resource policy: Statement 1: Principal.Service is not supported: share the plan with AWS accounts and IAM principals through Principal.AWS.`},
		{"empty principal", policy(stmt(map[string]string{"Principal": `{}`})), `Invalid resource policy: Statement 1: Principal.AWS is missing.`},
		{"empty principal list", policy(stmt(map[string]string{"Principal": `{"AWS":[]}`})), `Invalid resource policy: Statement 1: Principal.AWS must be a string or a non-empty list of strings.`},
		{"missing Action", policy(stmt(map[string]string{"Action": ""})), `Invalid resource policy: Statement 1: Action is missing.`},
		{"empty Action list", policy(stmt(map[string]string{"Action": `[]`})), `Invalid resource policy: Statement 1: Action must be a string or a non-empty list of strings.`},
		{"Action with a number", policy(stmt(map[string]string{"Action": `["ssm-incidents:GetResponsePlan",5]`})), `Invalid resource policy: Statement 1: Action must be a string or a non-empty list of strings.`},
		{"foreign action", policy(stmt(map[string]string{"Action": `["ssm-incidents:GetResponsePlan","ec2:StartInstances"]`})), `Invalid resource policy: Statement 1: Action "ec2:StartInstances" is not an Incident Manager action: use ssm-incidents:OPERATION (for example ssm-incidents:GetResponsePlan).`},
		{"every action of every service", policy(stmt(map[string]string{"Action": `"*"`})), `Invalid resource policy: Statement 1: Action "*" is not an Incident Manager action`},
		{"unknown action", policy(stmt(map[string]string{"Action": `"ssm-incidents:FlyToTheMoon"`})), `Invalid resource policy: Statement 1: Action "ssm-incidents:FlyToTheMoon" names no Incident Manager operation.`},
		{"pattern matching nothing", policy(stmt(map[string]string{"Action": `"ssm-incidents:Zap*"`})), `Invalid resource policy: Statement 1: Action "ssm-incidents:Zap*" names no Incident Manager operation.`},
		{"empty action name", policy(stmt(map[string]string{"Action": `"ssm-incidents:"`})), `Invalid resource policy: Statement 1: Action "ssm-incidents:" names no Incident Manager operation.`},
		{"missing Resource", policy(stmt(map[string]string{"Resource": ""})), `Invalid resource policy: Statement 1: Resource is missing.`},
		{"another plan", policy(stmt(map[string]string{"Resource": `"arn:aws:ssm-incidents::111122223333:response-plan/other"`})), `Invalid resource policy: Statement 1: Resource "arn:aws:ssm-incidents::111122223333:response-plan/other" matches nothing of the response plan: use ` + plan + ` or ` + incidents + `*, or patterns that match them (as AWS's examples write arn:aws:ssm-incidents:*:` + testserver.AccountA + `:response-plan/p).`},
		{"another account's plan", policy(stmt(map[string]string{"Resource": `"arn:aws:ssm-incidents::444455556666:response-plan/p"`})), `Invalid resource policy: Statement 1: Resource "arn:aws:ssm-incidents::444455556666:response-plan/p" matches nothing of the response plan`},
		{"incidents of another plan", policy(stmt(map[string]string{"Resource": `["` + plan + `","arn:aws:ssm-incidents::111122223333:incident-record/other/*"]`})), `Invalid resource policy: Statement 1: Resource "arn:aws:ssm-incidents::111122223333:incident-record/other/*" matches nothing of the response plan`},
		{"Condition a string", policy(stmt(map[string]string{"Condition": `"x"`})), `Invalid resource policy: Statement 1: Condition must be a JSON object.`},
		{"the plan in a region", policy(stmt(map[string]string{"Resource": `"arn:aws:ssm-incidents:us-east-1:111122223333:response-plan/p"`})), `Invalid resource policy: Statement 1: Resource "arn:aws:ssm-incidents:us-east-1:111122223333:response-plan/p" matches nothing of the response plan`},
		{"another plan in any region", policy(stmt(map[string]string{"Resource": `"arn:aws:ssm-incidents:*:111122223333:response-plan/other"`})), `Invalid resource policy: Statement 1: Resource "arn:aws:ssm-incidents:*:111122223333:response-plan/other" matches nothing of the response plan`},
		{"incidents of plans named alike", policy(stmt(map[string]string{"Resource": `"arn:aws:ssm-incidents:*:111122223333:incident-record/pp*"`})), `Invalid resource policy: Statement 1: Resource "arn:aws:ssm-incidents:*:111122223333:incident-record/pp*" matches nothing of the response plan`},
		{"an incident without an id", policy(stmt(map[string]string{"Resource": `"` + incidents + `"`})), `Invalid resource policy: Statement 1: Resource "` + incidents + `" matches nothing of the response plan`},
		{"another service", policy(stmt(map[string]string{"Resource": `"arn:aws:ssm-contacts:*:111122223333:*"`})), `Invalid resource policy: Statement 1: Resource "arn:aws:ssm-contacts:*:111122223333:*" matches nothing of the response plan`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: &plan, Policy: aws.String(tc.doc)})
			v := wantAPIError[*types.ValidationException](t, err, "ValidationException")
			if msg := aws.ToString(v.Message); !strings.HasPrefix(msg, tc.want) {
				t.Fatalf("message\n got %q\nwant %q", msg, tc.want)
			}
		})
	}
	if got := getPolicies(t, c, plan); len(got) != 0 {
		t.Fatalf("refused policies were stored: %s", policiesString(got))
	}

	// Policies that are accepted.
	for _, tc := range []struct{ name, doc string }{
		{"one statement as an object", `{"Version":"2012-10-17","Statement":` + ok + `}`},
		{"version 2008-10-17 and an Id", `{"Version":"2008-10-17","Id":"share","Statement":[` + ok + `]}`},
		{"anyone in an organization", policy(stmt(map[string]string{"Principal": `"*"`, "Condition": `{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}`}))},
		{"AWS *", policy(stmt(map[string]string{"Principal": `{"AWS":"*"}`}))},
		{"accounts, users and roles", policy(stmt(map[string]string{"Sid": `"People"`, "Principal": `{"AWS":["` + testserver.AccountB + `","arn:aws:iam::444455556666:root","arn:aws:iam::444455556666:user/ops/alice","arn:aws:iam::444455556666:role/Responder"]}`}))},
		{"wildcard actions", policy(stmt(map[string]string{"Action": `["ssm-incidents:*","ssm-incidents:Get*","ssm-incidents:List?imelineEvents"]`}))},
		{"actions in any case", policy(stmt(map[string]string{"Action": `["SSM-Incidents:getresponseplan","ssm-incidents:STARTINCIDENT"]`}))},
		{"one incident", policy(stmt(map[string]string{"Resource": `"` + incidents + `1abd9b35-ff4c-eb47-f20f-712a6c4c88cc"`}))},
		{"several statements", policy(ok, stmt(map[string]string{"Principal": `"*"`, "Resource": `["` + plan + `","` + incidents + `*"]`}))},
		// The resources of AWS's own examples: the CLI reference's
		// put-resource-policy and the user guide's organisation policy.
		{"any region, as AWS's examples", policy(stmt(map[string]string{"Resource": `["arn:aws:ssm-incidents:*:111122223333:response-plan/p","arn:aws:ssm-incidents:*:111122223333:incident-record/p/*"]`}))},
		{"any account", policy(stmt(map[string]string{"Resource": `"arn:aws:ssm-incidents:*:*:response-plan/p"`}))},
		{"every plan", policy(stmt(map[string]string{"Resource": `"arn:aws:ssm-incidents::111122223333:response-plan/*"`}))},
		{"every resource", policy(stmt(map[string]string{"Resource": `"*"`}))},
		{"a pattern over the plan's incidents", policy(stmt(map[string]string{"Resource": `"arn:aws:ssm-incidents::111122223333:incident-record/p*"`}))},
		{"a pattern over the plan's name", policy(stmt(map[string]string{"Resource": `"arn:aws:ssm-incidents:*:111122223333:response-plan/?"`}))},
		{"every Incident Manager resource of the account", policy(stmt(map[string]string{"Resource": `"arn:*:ssm-incidents:*:111122223333:*"`}))},
	} {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			putPolicy(t, c, plan, tc.doc)
		})
	}
}

func TestGetResourcePoliciesPages(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	plan := createPlan(t, c, "paged")
	other := createPlan(t, c, "other")
	putPolicy(t, c, other, sharePolicy(other))
	var want []string
	for range 7 {
		want = append(want, putPolicy(t, c, plan, sharePolicy(plan)))
	}
	for maxResults := int32(1); maxResults <= 3; maxResults++ {
		t.Run(fmt.Sprint("maxResults ", maxResults), func(t *testing.T) {
			var got []string
			pages := 0
			p := ssmincidents.NewGetResourcePoliciesPaginator(c, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &plan, MaxResults: &maxResults})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page.ResourcePolicies) > int(maxResults) {
					t.Fatalf("page of %d", len(page.ResourcePolicies))
				}
				for _, rp := range page.ResourcePolicies {
					got = append(got, aws.ToString(rp.PolicyId))
				}
			}
			if wantPages := (len(want) + int(maxResults) - 1) / int(maxResults); pages != wantPages || !reflect.DeepEqual(got, want) {
				t.Fatalf("%d pages of %v, want %d pages of %v", pages, got, wantPages, want)
			}
		})
	}

	// A policy added while a client pages shows on a later page; pages do not shift.
	first, err := c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &plan, MaxResults: aws.Int32(6)})
	if err != nil || first.NextToken == nil || len(first.ResourcePolicies) != 6 {
		t.Fatalf("%+v %v", first, err)
	}
	added := putPolicy(t, c, plan, sharePolicy(plan))
	rest, err := c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &plan, NextToken: first.NextToken})
	if err != nil || rest.NextToken != nil || len(rest.ResourcePolicies) != 2 ||
		aws.ToString(rest.ResourcePolicies[0].PolicyId) != want[6] || aws.ToString(rest.ResourcePolicies[1].PolicyId) != added {
		t.Fatalf("second page %s, %v", policiesString(rest.ResourcePolicies), err)
	}

	// Tokens are verified: forged, altered, another list's, another plan's
	// and another account's tokens are refused.
	tok := aws.ToString(first.NextToken)
	for _, bad := range []string{"garbage", tok + "x", "x" + tok} {
		_, err := c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &plan, NextToken: aws.String(bad)})
		wantAPIError[*types.ValidationException](t, err, "ValidationException")
	}
	_, err = c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &other, NextToken: &tok})
	v := wantAPIError[*types.ValidationException](t, err, "ValidationException")
	if !strings.Contains(aws.ToString(v.Message), "same resourceArn") {
		t.Fatalf("message %q", aws.ToString(v.Message))
	}
	plans, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{MaxResults: aws.Int32(1)})
	if err != nil || plans.NextToken == nil {
		t.Fatalf("%+v %v", plans, err)
	}
	_, err = c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &plan, NextToken: plans.NextToken})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
	b := srv.B()
	setUp(t, b)
	planB := createPlan(t, b, "paged")
	_, err = b.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &planB, NextToken: &tok})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
}

func TestDeletingAPlanDeletesItsPolicies(t *testing.T) {
	srv := start(t)
	c := srv.A()
	rs := setUp(t, c)
	plan := createPlan(t, c, "short-lived")
	keep := createPlan(t, c, "kept")
	putPolicy(t, c, plan, sharePolicy(plan))
	kept := putPolicy(t, c, keep, sharePolicy(keep))
	if _, err := c.DeleteResponsePlan(ctx, &ssmincidents.DeleteResponsePlanInput{Arn: &plan}); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &plan})
	irWantNotFound(t, err, plan, types.ResourceTypeResponsePlan)
	// A new plan of the same name starts without policies.
	createPlan(t, c, "short-lived")
	if got := getPolicies(t, c, plan); len(got) != 0 {
		t.Fatalf("the deleted plan's policies came back: %s", policiesString(got))
	}
	if got := getPolicies(t, c, keep); len(got) != 1 || aws.ToString(got[0].PolicyId) != kept {
		t.Fatalf("another plan's policies: %s", policiesString(got))
	}

	// Deleting the replication set deletes every plan's policies.
	if _, err := c.DeleteReplicationSet(ctx, &ssmincidents.DeleteReplicationSetInput{Arn: &rs}); err != nil {
		t.Fatal(err)
	}
	setUp(t, c)
	createPlan(t, c, "kept")
	if got := getPolicies(t, c, keep); len(got) != 0 {
		t.Fatalf("policies outlived the replication set: %s", policiesString(got))
	}
}

func TestResourcePoliciesAreIsolated(t *testing.T) {
	srv := start(t)
	a, b := srv.A(), srv.B()
	setUp(t, a)
	setUp(t, b)
	planA := createPlan(t, a, "same-name")
	planB := createPlan(t, b, "same-name")
	idA := putPolicy(t, a, planA, sharePolicy(planA))

	// B can neither see, add to nor delete from A's plan, even the policy
	// that names B: it shares none of these actions.
	_, err := b.GetResourcePolicies(ctx, &ssmincidents.GetResourcePoliciesInput{ResourceArn: &planA})
	wantCrossAccountDenied(t, err, testserver.AccountB, "GetResourcePolicies", planA)
	doc := sharePolicy(planA)
	_, err = b.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: &planA, Policy: &doc})
	wantCrossAccountDenied(t, err, testserver.AccountB, "PutResourcePolicy", planA)
	_, err = b.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &planA, PolicyId: &idA})
	wantCrossAccountDenied(t, err, testserver.AccountB, "DeleteResourcePolicy", planA)
	// B's plan of the same name has its own policies.
	if got := getPolicies(t, b, planB); len(got) != 0 {
		t.Fatalf("B's plan shows A's policies: %s", policiesString(got))
	}
	_, err = b.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &planB, PolicyId: &idA})
	irWantNotFound(t, err, idA, types.ResourceTypeResourcePolicy)
	if got := getPolicies(t, a, planA); len(got) != 1 || aws.ToString(got[0].PolicyId) != idA {
		t.Fatalf("A's policies after B's attempts: %s", policiesString(got))
	}
}

func TestResourcePolicyQuota(t *testing.T) {
	srv := testserver.Start(t, func(c *app.Config) { c.Service.ResourcePoliciesPerPlan = 2 })
	c := srv.A()
	setUp(t, c)
	plan := createPlan(t, c, "p")
	first := putPolicy(t, c, plan, sharePolicy(plan))
	putPolicy(t, c, plan, sharePolicy(plan))
	doc := sharePolicy(plan)
	_, err := c.PutResourcePolicy(ctx, &ssmincidents.PutResourcePolicyInput{ResourceArn: &plan, Policy: &doc})
	v := wantAPIError[*types.ValidationException](t, err, "ValidationException")
	if want := "The response plan " + plan + " has 2 resource policies, the most it may have"; !strings.HasPrefix(aws.ToString(v.Message), want) {
		t.Fatalf("message %q, want %q…", aws.ToString(v.Message), want)
	}
	if got := getPolicies(t, c, plan); len(got) != 2 {
		t.Fatalf("%d policies, want 2", len(got))
	}
	// Deleting one makes room again.
	if _, err := c.DeleteResourcePolicy(ctx, &ssmincidents.DeleteResourcePolicyInput{ResourceArn: &plan, PolicyId: &first}); err != nil {
		t.Fatal(err)
	}
	putPolicy(t, c, plan, sharePolicy(plan))
}
