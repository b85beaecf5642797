package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/incidentd/incidentd/internal/domain"
)

func idemRecord(account, op, token string, hash byte, created int) *domain.IdempotencyRecord {
	return &domain.IdempotencyRecord{Account: account, Operation: op, Token: token, RequestHash: []byte{hash, 0xfe, 0x00, 0x01}, Result: fmt.Appendf(nil, `{"n":%d}`, hash), CreatedTime: at(created)}
}

func idempotencyCases() []testCase {
	return []testCase{
		{"PutAndGet", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			_, err := s.GetIdempotencyRecord(ctx, acctA, "StartIncident", "tok")
			wantErr(t, err, domain.ErrNotFound, "GetIdempotencyRecord of an unknown token")
			r := idemRecord(acctA, "StartIncident", "tok", 1, 0)
			must(t, s.PutIdempotencyRecord(ctx, r), "PutIdempotencyRecord")
			got, err := s.GetIdempotencyRecord(ctx, acctA, "StartIncident", "tok")
			must(t, err, "GetIdempotencyRecord")
			check(t, got, r, "GetIdempotencyRecord")
			// A token is the account's and the operation's own.
			for _, key := range [][3]string{{acctB, "StartIncident", "tok"}, {acctA, "CreateTimelineEvent", "tok"}, {acctA, "StartIncident", "tok2"}} {
				_, err := s.GetIdempotencyRecord(ctx, key[0], key[1], key[2])
				wantErr(t, err, domain.ErrNotFound, "GetIdempotencyRecord %v", key)
			}
			other := idemRecord(acctB, "StartIncident", "tok", 2, 1)
			must(t, s.PutIdempotencyRecord(ctx, other), "PutIdempotencyRecord of another account")
			// Put replaces the record of the token.
			newer := idemRecord(acctA, "StartIncident", "tok", 3, 5)
			must(t, s.PutIdempotencyRecord(ctx, newer), "PutIdempotencyRecord replacing")
			got, err = s.GetIdempotencyRecord(ctx, acctA, "StartIncident", "tok")
			must(t, err, "GetIdempotencyRecord")
			check(t, got, newer, "the replaced record")
			got, err = s.GetIdempotencyRecord(ctx, acctB, "StartIncident", "tok")
			must(t, err, "GetIdempotencyRecord of another account")
			check(t, got, other, "another account's record")
		}},
		{"Claim", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			claim := idemRecord(acctA, "StartIncident", "tok", 1, 100)
			claim.Result = nil
			held, err := s.ClaimIdempotencyRecord(ctx, claim, at(100-3600))
			must(t, err, "ClaimIdempotencyRecord of a new token")
			if held != nil {
				t.Fatalf("the first claim of a token got %s", show(held))
			}
			got, err := s.GetIdempotencyRecord(ctx, acctA, "StartIncident", "tok")
			must(t, err, "GetIdempotencyRecord of a claimed token")
			check(t, got, claim, "the claimed record")

			// A second claim within the window gets the stored record and
			// writes nothing.
			second := idemRecord(acctA, "StartIncident", "tok", 2, 200)
			held, err = s.ClaimIdempotencyRecord(ctx, second, at(200-3600))
			must(t, err, "second ClaimIdempotencyRecord")
			check(t, held, claim, "what a second claim gets")
			got, err = s.GetIdempotencyRecord(ctx, acctA, "StartIncident", "tok")
			must(t, err, "GetIdempotencyRecord")
			check(t, got, claim, "the record after a second claim")

			// The claimant stores the full record in its place.
			full := idemRecord(acctA, "StartIncident", "tok", 1, 100)
			must(t, s.PutIdempotencyRecord(ctx, full), "PutIdempotencyRecord of the claimed token")
			held, err = s.ClaimIdempotencyRecord(ctx, second, at(200-3600))
			must(t, err, "ClaimIdempotencyRecord after the put")
			check(t, held, full, "what a claim gets after the put")

			// notBefore is inclusive: a record created at notBefore holds.
			held, err = s.ClaimIdempotencyRecord(ctx, second, at(100))
			must(t, err, "ClaimIdempotencyRecord with notBefore at the record's creation")
			check(t, held, full, "a claim with notBefore equal to the record's creation")

			// A record created before notBefore has expired: the claim
			// replaces it.
			held, err = s.ClaimIdempotencyRecord(ctx, second, at(100).Add(1e6))
			must(t, err, "ClaimIdempotencyRecord of an expired token")
			if held != nil {
				t.Fatalf("a claim of an expired token got %s", show(held))
			}
			got, err = s.GetIdempotencyRecord(ctx, acctA, "StartIncident", "tok")
			must(t, err, "GetIdempotencyRecord")
			check(t, got, second, "the record after an expired one was claimed")

			// The token is the account's and the operation's own.
			for _, r := range []*domain.IdempotencyRecord{idemRecord(acctB, "StartIncident", "tok", 7, 300), idemRecord(acctA, "CreateTimelineEvent", "tok", 8, 300)} {
				held, err := s.ClaimIdempotencyRecord(ctx, r, at(0))
				must(t, err, "ClaimIdempotencyRecord %s %s", r.Account, r.Operation)
				if held != nil {
					t.Fatalf("a claim of %s %s got another's record %s", r.Account, r.Operation, show(held))
				}
			}
		}},
		{"ClaimRolledBack", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := idemRecord(acctA, "StartIncident", "tok", 1, 10)
			err := s.Tx(ctx, func(ctx context.Context) error {
				held, err := s.ClaimIdempotencyRecord(ctx, r, at(0))
				if err != nil {
					return err
				}
				if held != nil {
					return errUnexpected
				}
				return errBoom
			})
			wantErr(t, err, errBoom, "Tx claiming then failing")
			_, err = s.GetIdempotencyRecord(ctx, acctA, "StartIncident", "tok")
			wantErr(t, err, domain.ErrNotFound, "GetIdempotencyRecord after a claim rolled back")
			held, err := s.ClaimIdempotencyRecord(ctx, r, at(0))
			must(t, err, "ClaimIdempotencyRecord after a claim rolled back")
			if held != nil {
				t.Fatalf("a claim after a rolled-back claim got %s", show(held))
			}
		}},
		{"PurgeByTime", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			recs := []*domain.IdempotencyRecord{
				idemRecord(acctA, "StartIncident", "old", 1, -7200),
				idemRecord(acctB, "StartIncident", "old", 2, -7200),
				idemRecord(acctA, "StartIncident", "edge", 3, -3600),
				idemRecord(acctA, "CreateTimelineEvent", "new", 4, 0),
			}
			for _, r := range recs {
				must(t, s.PutIdempotencyRecord(ctx, r), "PutIdempotencyRecord %s", r.Token)
			}
			n, err := s.PurgeIdempotencyRecords(ctx, at(-3600))
			must(t, err, "PurgeIdempotencyRecords")
			check(t, n, int64(2), "records purged (those created before the time, of every account)")
			for _, r := range recs[:2] {
				_, err := s.GetIdempotencyRecord(ctx, r.Account, r.Operation, r.Token)
				wantErr(t, err, domain.ErrNotFound, "purged record %s of %s", r.Token, r.Account)
			}
			for _, r := range recs[2:] {
				got, err := s.GetIdempotencyRecord(ctx, r.Account, r.Operation, r.Token)
				must(t, err, "kept record %s", r.Token)
				check(t, got, r, "kept record %s", r.Token)
			}
			n, err = s.PurgeIdempotencyRecords(ctx, at(-3600))
			must(t, err, "second PurgeIdempotencyRecords")
			check(t, n, int64(0), "records purged a second time")
			n, err = s.PurgeIdempotencyRecords(ctx, at(1))
			must(t, err, "PurgeIdempotencyRecords of the rest")
			check(t, n, int64(2), "records purged at last")
		}},
	}
}
