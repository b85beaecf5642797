package service

import (
	"testing"

	"github.com/incidentd/incidentd/internal/policy"
)

func TestWildcardMatch(t *testing.T) {
	const plan = "arn:aws:ssm-incidents::111122223333:response-plan/p"
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{plan, true},
		{"*", true},
		{"arn:aws:ssm-incidents:*:111122223333:response-plan/p", true},
		{"arn:aws:ssm-incidents:?:111122223333:response-plan/p", false},
		{"arn:aws:ssm-incidents:*:*:*", true},
		{"arn:aws:ssm-incidents::111122223333:response-plan/?", true},
		{"arn:aws:ssm-incidents::111122223333:response-plan/??", false},
		{"arn:aws:ssm-incidents::111122223333:response-plan/p*", true},
		{"arn:aws:ssm-incidents::111122223333:response-plan/pp", false},
		{"arn:aws:ssm-incidents::111122223333:response-plan/", false},
		{"*response-plan/p", true},
		{"*response-plan/p*x", false},
		{"**", true},
		{"", false},
	} {
		if got := policy.Match(tc.pattern, plan); got != tc.want {
			t.Errorf("policy.Match(%q) = %v, want %v", tc.pattern, got, tc.want)
		}
	}
}

func TestWildcardMatchesSomeID(t *testing.T) {
	const prefix = "arn:aws:ssm-incidents::111122223333:incident-record/p/"
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{prefix + "*", true},
		{prefix + "1abd9b35-ff4c-eb47-f20f-712a6c4c88cc", true},
		{prefix, false},         // an id has at least one character
		{prefix + "?", true},    // one character
		{prefix + "a?", true},   // two
		{prefix + "_", false},   // not a character of an id
		{prefix + "*_", false},  // ends in one
		{prefix + "x/y", false}, // an id has no slash
		{"arn:aws:ssm-incidents::111122223333:incident-record/p*/x", true}, // the slash is the prefix's
		{"arn:aws:ssm-incidents::111122223333:incident-record/p*", true},
		{"arn:aws:ssm-incidents::111122223333:incident-record/pp*", false},
		{"arn:aws:ssm-incidents::111122223333:incident-record/p", false},
		{"arn:aws:ssm-incidents:*:111122223333:incident-record/p/*", true},
		{"arn:aws:ssm-incidents:us-east-1:111122223333:incident-record/p/*", false},
		{"*", true},
		{"*?", true},
		{"*/*/*", true},
		{"*/*/*/*", false}, // incident-record/p/ID has two slashes after the colons
		{"arn:aws:ssm-incidents::111122223333:response-plan/p", false},
	} {
		if got := wildcardMatchesSomeID(tc.pattern, prefix); got != tc.want {
			t.Errorf("wildcardMatchesSomeID(%q) = %v, want %v", tc.pattern, got, tc.want)
		}
	}
}
