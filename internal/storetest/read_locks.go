package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

// readLockCases are the guarantees of reads made inside a Tx that keep
// what they read from being deleted or raced until the transaction ends
// (GetReplicationSet, GetResponsePlan, ListRelatedItems): each case names
// the service code that relies on it. An engine whose plain reads take no
// lock (read-committed isolation) must lock there.
func readLockCases() []testCase {
	return []testCase{
		// service.RecordFinding ("checked in the transaction, so that a
		// DeleteReplicationSet cannot come between the check and the
		// write"), CreateResponsePlan and StartIncident check the account's
		// replication set with a plain GetReplicationSet in their
		// transaction, then write. A DeleteAccountData racing them must
		// not leave their writes behind.
		{"AccountDeleteRacesChecks", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			for round := range rounds {
				must(t, s.CreateReplicationSet(ctx, newReplicationSet(acctA), nil), "CreateReplicationSet")
				errs := race(n, func(i int) error {
					if i == 0 {
						return s.DeleteAccountData(ctx, acctA, func(*domain.ReplicationSet) error { return nil })
					}
					return s.Tx(ctx, func(ctx context.Context) error {
						if _, err := s.GetReplicationSet(ctx, acctA); err != nil {
							return err
						}
						pause()
						id := fmt.Sprintf("r%d-%02d", round, i)
						switch i % 3 {
						case 0:
							return s.PutFinding(ctx, newCodeDeployFinding(acctA, findingID(round*100+i), at(i), nil))
						case 1:
							return s.CreateResponsePlan(ctx, newPlan(acctA, id), nil)
						default:
							return s.CreateIncidentRecord(ctx, newIncident(acctA, id, at(i)), nil, nil)
						}
					})
				})
				must(t, errs[0], "DeleteAccountData")
				for _, err := range errs[1:] {
					if err != nil && !errors.Is(err, domain.ErrNotFound) {
						t.Fatalf("a write racing DeleteAccountData: %v", err)
					}
				}
				if ps, err := s.ListResponsePlans(ctx, acctA, "", 100); err != nil || len(ps) != 0 {
					t.Fatalf("round %d: plans left after DeleteAccountData: %v %v", round, planNames(ps), err)
				}
				if rs, err := s.ListIncidentRecords(ctx, acctA, nil, nil, 100); err != nil || len(rs) != 0 {
					t.Fatalf("round %d: incident records left after DeleteAccountData: %v %v", round, incidentARNs(rs), err)
				}
				if fs, err := s.ListFindings(ctx, acctA, at(-1000), at(1000), at(1000), nil, 100); err != nil || len(fs) != 0 {
					t.Fatalf("round %d: findings left after DeleteAccountData: %v %v", round, findingIDs(fs), err)
				}
			}
		}},
		// service.PutResourcePolicy reads the plan (GetResponsePlan) in its
		// transaction, then counts and puts; PutResourcePolicy's own
		// documentation says to call it "in a Tx that does" check the plan.
		// A DeleteResponsePlan racing it must not leave a policy that a
		// plan created later under the name would inherit.
		{"PlanDeleteRacesPolicyPut", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			for round := range rounds {
				name := fmt.Sprintf("plan-%d", round)
				must(t, s.CreateResponsePlan(ctx, newPlan(acctA, name), nil), "CreateResponsePlan")
				errs := race(n, func(i int) error {
					if i == 0 {
						return s.DeleteResponsePlan(ctx, acctA, name)
					}
					return s.Tx(ctx, func(ctx context.Context) error {
						if _, err := s.GetResponsePlan(ctx, acctA, name); err != nil {
							return err
						}
						if _, err := s.CountResourcePolicies(ctx, acctA, name); err != nil {
							return err
						}
						pause()
						return s.PutResourcePolicy(ctx, newPolicy(acctA, name, fmt.Sprintf("id-%02d", i), i))
					})
				})
				must(t, errs[0], "DeleteResponsePlan")
				for _, err := range errs[1:] {
					if err != nil && !errors.Is(err, domain.ErrNotFound) {
						t.Fatalf("a put racing DeleteResponsePlan: %v", err)
					}
				}
				c, err := s.CountResourcePolicies(ctx, acctA, name)
				must(t, err, "CountResourcePolicies")
				check(t, c, 0, "round %d: policies left of a deleted plan", round)
			}
		}},
		// service.UpdateRelatedItems lists the incident's items, refuses an
		// item that one of them already identifies (ConflictError), and
		// adds it under a new random generated id. Two such transactions
		// adding one value at once must not both add it.
		{"RelatedItemAddedOnce", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			for round := range rounds {
				r := createIncident(t, s, newIncident(acctA, fmt.Sprintf("r%d", round), at(round)))
				value := "https://example.com/once"
				errs := race(n, func(i int) error {
					return s.Tx(ctx, func(ctx context.Context) error {
						items, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
						if err != nil {
							return err
						}
						for _, it := range items {
							if it.Identifies("OTHER", domain.ItemValue{URL: &value}) {
								return domain.ErrConflict
							}
						}
						pause()
						return s.AddRelatedItem(ctx, acctA, r.ARN, urlItem(fmt.Sprintf("gen-%02d", i), value))
					})
				})
				added := 0
				for i, err := range errs {
					if err == nil {
						added++
					} else if !errors.Is(err, domain.ErrConflict) {
						t.Fatalf("transaction %d: %v", i, err)
					}
				}
				items, err := s.ListRelatedItems(ctx, acctA, r.ARN, nil, 0)
				must(t, err, "ListRelatedItems")
				if added != 1 || len(items) != 1 {
					t.Fatalf("round %d: %d transactions added the one value, %d items stored", round, added, len(items))
				}
			}
		}},
	}
}
