package domain

import (
	"encoding/json"
	"time"
)

// ResourcePolicy is an IAM policy attached to a response plan. It shares the
// plan, and the incidents started from it, with the principals it names.
type ResourcePolicy struct {
	ID       string `json:"policyId"` // 32 lower-case hex digits
	Account  string `json:"account"`  // the plan owner's account
	PlanName string `json:"planName"`
	// Document is the policy as the caller sent it, byte for byte.
	Document string `json:"policyDocument"`
	// Policy is Document parsed and checked, for whoever enforces it.
	Policy Policy `json:"policy"`
	// Region is the ramResourceShareRegion GetResourcePolicies reports.
	Region      string    `json:"ramResourceShareRegion"`
	CreatedTime time.Time `json:"createdTime"`
	// Seq orders a plan's policies as they were added; the store sets it.
	Seq int64 `json:"-"`
}

// Policy is a parsed resource policy document.
type Policy struct {
	Version    string      `json:"version"`
	ID         string      `json:"id,omitempty"`
	Statements []Statement `json:"statements"`
}

// Statement is one statement of a resource policy. Every list holds at least
// one element, each as the document wrote it.
type Statement struct {
	Sid    string `json:"sid,omitempty"`
	Effect string `json:"effect"` // always "Allow": deny statements are not supported
	// Principals are "*" (anyone), 12-digit account ids, or IAM ARNs
	// (arn:aws:iam::ACCOUNT:root, …:user/NAME, …:role/NAME).
	Principals []string `json:"principals"`
	// Actions are ssm-incidents:NAME, NAME an operation or a pattern with
	// the wildcards * and ?.
	Actions []string `json:"actions"`
	// Resources are the plan's ARN or ARNs of its incident records
	// (arn:aws:ssm-incidents::ACCOUNT:incident-record/PLAN/ID, ID possibly *).
	Resources []string `json:"resources"`
	// Condition is the statement's Condition block, kept as written.
	Condition json.RawMessage `json:"condition,omitempty"`
}
