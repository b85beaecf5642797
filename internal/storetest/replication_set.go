package storetest

import (
	"fmt"
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

func replicationSetCases() []testCase {
	return []testCase{
		{"CreateAndGet", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			rs := newReplicationSet(acctA)
			rs.DeletionProtected = true
			rs.Regions["eu-west-1"] = &domain.Region{SSEKMSKeyID: "arn:aws:kms:eu-west-1:" + acctA + ":key/k", AddedTime: at(1), StatusUpdateTime: at(2), DeletingSince: ptr(at(3))}
			must(t, s.CreateReplicationSet(ctx, rs, map[string]string{"team": "a", "env": "prod"}), "CreateReplicationSet")
			got, err := s.GetReplicationSet(ctx, acctA)
			must(t, err, "GetReplicationSet")
			check(t, got, rs, "GetReplicationSet")
			tags, err := s.Tags(ctx, rsRef(rs))
			must(t, err, "Tags")
			check(t, tags, map[string]string{"team": "a", "env": "prod"}, "Tags of the new set")
			_, err = s.GetReplicationSet(ctx, acctB)
			wantErr(t, err, domain.ErrNotFound, "GetReplicationSet of another account")
		}},
		{"GetMissing", func(t *testing.T, s domain.Store) {
			_, err := s.GetReplicationSet(t.Context(), acctA)
			wantErr(t, err, domain.ErrNotFound, "GetReplicationSet of an empty store")
		}},
		{"SecondCreateConflicts", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			rs := newReplicationSet(acctA)
			must(t, s.CreateReplicationSet(ctx, rs, map[string]string{"k": "first"}), "first CreateReplicationSet")
			other := newReplicationSet(acctA)
			other.ARN = arn(acctA, "replication-set", "another")
			wantErr(t, s.CreateReplicationSet(ctx, other, map[string]string{"k": "second", "x": "y"}), domain.ErrConflict, "second CreateReplicationSet of the account")
			got, err := s.GetReplicationSet(ctx, acctA)
			must(t, err, "GetReplicationSet")
			check(t, got, rs, "the set after a refused second create")
			tags, err := s.Tags(ctx, rsRef(rs))
			must(t, err, "Tags")
			check(t, tags, map[string]string{"k": "first"}, "tags after a refused second create")
			// Another account has a set of its own.
			must(t, s.CreateReplicationSet(ctx, newReplicationSet(acctB), nil), "CreateReplicationSet of another account")
		}},
		{"Update", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			rs := newReplicationSet(acctA)
			must(t, s.CreateReplicationSet(ctx, rs, nil), "CreateReplicationSet")
			var g given
			must(t, s.UpdateReplicationSet(ctx, acctA, func(got *domain.ReplicationSet) error {
				g.see(got, rs)
				got.DeletionProtected = true
				got.Regions["eu-west-1"] = &domain.Region{SSEKMSKeyID: domain.DefaultKMSKey, AddedTime: at(5), StatusUpdateTime: at(5)}
				got.Regions["us-east-1"].DeletingSince = ptr(at(6))
				got.LastModifiedTime = at(6)
				return nil
			}), "UpdateReplicationSet")
			g.check(t, rs, "the set fn is given")
			rs.DeletionProtected = true
			rs.Regions["eu-west-1"] = &domain.Region{SSEKMSKeyID: domain.DefaultKMSKey, AddedTime: at(5), StatusUpdateTime: at(5)}
			rs.Regions["us-east-1"].DeletingSince = ptr(at(6))
			rs.LastModifiedTime = at(6)
			got, err := s.GetReplicationSet(ctx, acctA)
			must(t, err, "GetReplicationSet")
			check(t, got, rs, "the set after UpdateReplicationSet")
			// A region fn deletes is gone.
			must(t, s.UpdateReplicationSet(ctx, acctA, func(got *domain.ReplicationSet) error {
				delete(got.Regions, "us-east-1")
				return nil
			}), "UpdateReplicationSet removing a region")
			delete(rs.Regions, "us-east-1")
			got, err = s.GetReplicationSet(ctx, acctA)
			must(t, err, "GetReplicationSet")
			check(t, got, rs, "the set after a region was removed")
		}},
		{"UpdateFnErrorWritesNothing", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			rs := newReplicationSet(acctA)
			must(t, s.CreateReplicationSet(ctx, rs, nil), "CreateReplicationSet")
			err := s.UpdateReplicationSet(ctx, acctA, func(got *domain.ReplicationSet) error {
				got.DeletionProtected = true
				got.Regions["eu-west-1"] = &domain.Region{AddedTime: at(1)}
				return errBoom
			})
			wantErr(t, err, errBoom, "UpdateReplicationSet whose fn fails")
			got, err := s.GetReplicationSet(ctx, acctA)
			must(t, err, "GetReplicationSet")
			check(t, got, rs, "the set after a failed update")
		}},
		{"UpdateMissing", func(t *testing.T, s domain.Store) {
			called := false
			err := s.UpdateReplicationSet(t.Context(), acctA, func(*domain.ReplicationSet) error { called = true; return nil })
			wantErr(t, err, domain.ErrNotFound, "UpdateReplicationSet of a missing set")
			if called {
				t.Fatal("UpdateReplicationSet called fn without a set")
			}
		}},
		{"DeleteAccountData", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			a, b := populateAccount(t, s, acctA), populateAccount(t, s, acctB)
			var g given
			must(t, s.DeleteAccountData(ctx, acctA, func(rs *domain.ReplicationSet) error { g.see(rs, a.rs); return nil }), "DeleteAccountData")
			g.check(t, a.rs, "the set check is given")
			a.checkGone(t, s)
			// Deliveries outlive their account's data, and still go out.
			checkStored(t, s, a.delivery, "after DeleteAccountData")
			check(t, byKey(claim(t, s, "A", at(100), at(200), 10)), byKey([]*domain.Delivery{a.delivery, b.delivery}), "ClaimDeliveries after DeleteAccountData")
			markDelivered(t, s, a.delivery, at(101))
			markDelivered(t, s, b.delivery, at(101))
			b.checkPresent(t, s)
			// The account starts over: nothing of its former data is left
			// to clash with.
			a2 := populateAccount(t, s, acctA)
			a2.checkPresent(t, s)
			checkStored(t, s, a.delivery, "after the account started over")
		}},
		{"DeleteAccountDataRefused", func(t *testing.T, s domain.Store) {
			a := populateAccount(t, s, acctA)
			err := s.DeleteAccountData(t.Context(), acctA, func(*domain.ReplicationSet) error { return errBoom })
			wantErr(t, err, errBoom, "DeleteAccountData whose check refuses")
			a.checkPresent(t, s)
		}},
		{"DeleteAccountDataMissing", func(t *testing.T, s domain.Store) {
			b := populateAccount(t, s, acctB)
			called := false
			err := s.DeleteAccountData(t.Context(), acctA, func(*domain.ReplicationSet) error { called = true; return nil })
			wantErr(t, err, domain.ErrNotFound, "DeleteAccountData of an account without a set")
			if called {
				t.Fatal("DeleteAccountData ran check without a set")
			}
			b.checkPresent(t, s)
		}},
	}
}

// accountData is one of everything an account can store.
type accountData struct {
	rs       *domain.ReplicationSet
	plan     *domain.ResponsePlan
	policy   *domain.ResourcePolicy
	incident *domain.IncidentRecord
	event    *domain.TimelineEvent
	item     domain.RelatedItem
	idem     *domain.IdempotencyRecord
	finding  *domain.Finding
	delivery *domain.Delivery
}

func populateAccount(t *testing.T, s domain.Store, account string) *accountData {
	t.Helper()
	ctx := t.Context()
	d := &accountData{
		rs:       newReplicationSet(account),
		plan:     newPlan(account, "plan"),
		incident: newIncident(account, "acct", at(10)),
		item:     urlItem("item-1", "https://example.com/1"),
		idem:     &domain.IdempotencyRecord{Account: account, Operation: "StartIncident", Token: "tok", RequestHash: []byte{1, 2}, Result: []byte(`{}`), CreatedTime: at(1)},
		finding:  newCodeDeployFinding(account, "0123abcd-0000-0000-0000-000000000001", at(5), ptr(at(20))),
	}
	d.policy = newPolicy(account, d.plan.Name, "0123456789abcdef0123456789abcdef", 1)
	d.event = newEvent(d.incident, account+"-ev", at(11), "Custom Event")
	must(t, s.CreateReplicationSet(ctx, d.rs, map[string]string{"rs": account}), "CreateReplicationSet %s", account)
	must(t, s.CreateResponsePlan(ctx, d.plan, map[string]string{"plan": account}), "CreateResponsePlan %s", account)
	must(t, s.PutResourcePolicy(ctx, d.policy), "PutResourcePolicy %s", account)
	must(t, s.CreateIncidentRecord(ctx, d.incident, map[string]string{"incident": account}, []domain.RelatedItem{d.item}), "CreateIncidentRecord %s", account)
	must(t, s.AddTimelineEvent(ctx, d.event), "AddTimelineEvent %s", account)
	must(t, s.PutIdempotencyRecord(ctx, d.idem), "PutIdempotencyRecord %s", account)
	must(t, s.PutFinding(ctx, d.finding), "PutFinding %s", account)
	// The delivery of a change of the incident. Deliveries outlive their
	// account's data: its id is one a former one of the account has not.
	seq, err := s.NextChangeSeq(ctx, account, d.incident.ARN)
	must(t, err, "NextChangeSeq %s", account)
	former, err := s.ListDeliveries(ctx, domain.DeliveryFilter{IncidentARN: d.incident.ARN}, 1000)
	must(t, err, "ListDeliveries %s", account)
	d.delivery = newDelivery(d.incident, seq, "arn:aws:sns:us-east-1:"+account+":topic", at(11))
	d.delivery.ID = fmt.Sprintf("%s-delivery-%d", account, len(former)+1)
	must(t, s.AddDeliveries(ctx, []*domain.Delivery{d.delivery}), "AddDeliveries %s", account)
	return d
}

func (d *accountData) checkGone(t *testing.T, s domain.Store) {
	t.Helper()
	ctx := t.Context()
	acct := d.rs.Account
	_, err := s.GetReplicationSet(ctx, acct)
	wantErr(t, err, domain.ErrNotFound, "replication set of %s after DeleteAccountData", acct)
	_, err = s.GetResponsePlan(ctx, acct, d.plan.Name)
	wantErr(t, err, domain.ErrNotFound, "plan of %s after DeleteAccountData", acct)
	for _, ref := range []domain.ResourceRef{rsRef(d.rs), planRef(d.plan), incidentRef(d.incident)} {
		_, err = s.Tags(ctx, ref)
		wantErr(t, err, domain.ErrNotFound, "tags of %s after DeleteAccountData", ref.ARN)
	}
	if plans, err := s.ListResponsePlans(ctx, acct, "", 100); err != nil || len(plans) != 0 {
		t.Fatalf("ListResponsePlans of %s after DeleteAccountData: %d plans, %v", acct, len(plans), err)
	}
	if n, err := s.CountResourcePolicies(ctx, acct, d.plan.Name); err != nil || n != 0 {
		t.Fatalf("CountResourcePolicies of %s after DeleteAccountData: %d, %v", acct, n, err)
	}
	if ps, err := s.ListResourcePolicies(ctx, acct, d.plan.Name, 0, 100); err != nil || len(ps) != 0 {
		t.Fatalf("ListResourcePolicies of %s after DeleteAccountData: %d, %v", acct, len(ps), err)
	}
	_, err = s.GetIncidentRecord(ctx, acct, d.incident.ARN)
	wantErr(t, err, domain.ErrNotFound, "incident of %s after DeleteAccountData", acct)
	if rs, err := s.ListIncidentRecords(ctx, acct, nil, nil, 100); err != nil || len(rs) != 0 {
		t.Fatalf("ListIncidentRecords of %s after DeleteAccountData: %d, %v", acct, len(rs), err)
	}
	_, err = s.FindOpenIncident(ctx, acct, d.incident.DedupeString)
	wantErr(t, err, domain.ErrNotFound, "FindOpenIncident of %s after DeleteAccountData", acct)
	_, err = s.GetTimelineEvent(ctx, acct, d.incident.ARN, d.event.EventID)
	wantErr(t, err, domain.ErrNotFound, "timeline event of %s after DeleteAccountData", acct)
	if es, err := s.ListTimelineEvents(ctx, acct, d.incident.ARN, domain.TimelineFilter{}, nil, 100); err != nil || len(es) != 0 {
		t.Fatalf("ListTimelineEvents of %s after DeleteAccountData: %d, %v", acct, len(es), err)
	}
	if its, err := s.ListRelatedItems(ctx, acct, d.incident.ARN, nil, 0); err != nil || len(its) != 0 {
		t.Fatalf("ListRelatedItems of %s after DeleteAccountData: %d, %v", acct, len(its), err)
	}
	_, err = s.GetIdempotencyRecord(ctx, acct, d.idem.Operation, d.idem.Token)
	wantErr(t, err, domain.ErrNotFound, "idempotency record of %s after DeleteAccountData", acct)
	if fs, err := s.GetFindings(ctx, acct, []string{d.finding.ID}); err != nil || len(fs) != 0 {
		t.Fatalf("GetFindings of %s after DeleteAccountData: %d, %v", acct, len(fs), err)
	}
	if fs, err := s.ListFindings(ctx, acct, at(-1000), at(1000), at(1000), nil, 100); err != nil || len(fs) != 0 {
		t.Fatalf("ListFindings of %s after DeleteAccountData: %d, %v", acct, len(fs), err)
	}
}

func (d *accountData) checkPresent(t *testing.T, s domain.Store) {
	t.Helper()
	ctx := t.Context()
	acct := d.rs.Account
	rs, err := s.GetReplicationSet(ctx, acct)
	must(t, err, "GetReplicationSet %s", acct)
	check(t, rs, d.rs, "replication set of %s", acct)
	p, err := s.GetResponsePlan(ctx, acct, d.plan.Name)
	must(t, err, "GetResponsePlan %s", acct)
	check(t, p, d.plan, "plan of %s", acct)
	for ref, want := range map[domain.ResourceRef]map[string]string{
		rsRef(d.rs): {"rs": acct}, planRef(d.plan): {"plan": acct}, incidentRef(d.incident): {"incident": acct},
	} {
		tags, err := s.Tags(ctx, ref)
		must(t, err, "Tags of %s", ref.ARN)
		check(t, tags, want, "tags of %s", ref.ARN)
	}
	ps, err := s.ListResourcePolicies(ctx, acct, d.plan.Name, 0, 100)
	must(t, err, "ListResourcePolicies %s", acct)
	check(t, ps, []*domain.ResourcePolicy{d.policy}, "policies of %s", acct)
	r, err := s.GetIncidentRecord(ctx, acct, d.incident.ARN)
	must(t, err, "GetIncidentRecord %s", acct)
	check(t, r, d.incident, "incident of %s", acct)
	e, err := s.GetTimelineEvent(ctx, acct, d.incident.ARN, d.event.EventID)
	must(t, err, "GetTimelineEvent %s", acct)
	check(t, e, d.event, "timeline event of %s", acct)
	its, err := s.ListRelatedItems(ctx, acct, d.incident.ARN, nil, 0)
	must(t, err, "ListRelatedItems %s", acct)
	check(t, its, []domain.RelatedItem{d.item}, "related items of %s", acct)
	idem, err := s.GetIdempotencyRecord(ctx, acct, d.idem.Operation, d.idem.Token)
	must(t, err, "GetIdempotencyRecord %s", acct)
	check(t, idem, d.idem, "idempotency record of %s", acct)
	fs, err := s.GetFindings(ctx, acct, []string{d.finding.ID})
	must(t, err, "GetFindings %s", acct)
	check(t, fs, []*domain.Finding{d.finding}, "findings of %s", acct)
	checkStored(t, s, d.delivery, "delivery of "+acct)
}
