package service

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/policy"
)

// identities are fixed identity-based policies, for the benchmark.
type identities []*policy.Policy

func (p identities) Policies(context.Context, string, string) ([]*policy.Policy, error) {
	return p, nil
}
func (p identities) OrgID(context.Context, string) (string, error) { return "", nil }

// BenchmarkAuthorize20Statements: one request of a user decided whole, as
// every request is (the caller's 20 attached statements from the cache of
// Config.Identities, the condition keys they use, the evaluation and the
// audit record), some statements of other actions and resources, some with
// conditions on the address and the time, the allow matching last.
func BenchmarkAuthorize20Statements(b *testing.B) {
	const account = "111122223333"
	doc, err := os.ReadFile("testdata/twenty-statements.json")
	if err != nil {
		b.Fatal(err)
	}
	p, err := policy.Parse(doc)
	if err != nil || len(p.Statements) != 20 {
		b.Fatalf("%v, %d statements", err, len(p.Statements))
	}
	var decided int
	s := &Service{cfg: Config{Identities: identities{p}, Decided: func(context.Context, Decision) { decided++ }}, now: time.Now}
	c := domain.Caller{Account: account, Principal: "arn:aws:iam::" + account + ":user/alice", Region: "us-east-1", SourceIP: "127.0.0.1"}
	ctx := domain.WithCaller(context.Background(), c)
	a := &access{op: "UpdateIncidentRecord", resource: "arn:aws:ssm-incidents::" + account + ":incident-record/bench/01a232f9-c258-78e3-b61f-8db1d180b7ea"}
	if _, err := s.authorizeAccess(ctx, a); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := s.authorizeAccess(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	if decided != b.N+1 {
		b.Fatalf("%d decisions audited, want %d", decided, b.N+1)
	}
}
