package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// Fixtures of deliveries.

// topic returns the ARN of an SNS topic of account A.
func topic(name string) string { return "arn:aws:sns:us-east-1:" + acctA + ":" + name }

// newDelivery returns the delivery of r's change seq to topic, created at
// created, as the store holds a new one: pending, due at its CreatedTime.
// The deliveries of one change share their ID.
func newDelivery(r *domain.IncidentRecord, seq int64, topic string, created time.Time) *domain.Delivery {
	return &domain.Delivery{
		ID:          fmt.Sprintf("%s/change-%03d", r.ARN, seq),
		Topic:       topic,
		Account:     r.Account,
		IncidentARN: r.ARN,
		Seq:         seq,
		DetailType:  domain.EventRecordUpdate,
		Message:     fmt.Appendf(nil, `{"incidentArn":%q,"seq":%d}`, r.ARN, seq),
		Attributes:  map[string]string{"incidentArn": r.ARN, "detailType": domain.EventRecordUpdate},
		CreatedTime: created,
		State:       domain.DeliveryPending,
		NextAttempt: created,
	}
}

// deliveryKey names a delivery in messages and sets.
func deliveryKey(d *domain.Delivery) string { return d.ID + " to " + d.Topic }

func deliveryKeys(ds []*domain.Delivery) []string {
	keys := make([]string, len(ds))
	for i, d := range ds {
		keys[i] = deliveryKey(d)
	}
	return keys
}

// byKey sorts deliveries by ID and topic, for comparing sets of them.
func byKey(ds []*domain.Delivery) []*domain.Delivery {
	return slices.SortedFunc(slices.Values(ds), func(a, b *domain.Delivery) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), strings.Compare(a.Topic, b.Topic))
	})
}

// newestFirst sorts deliveries as ListDeliveries lists them: by CreatedTime,
// then ID, then Topic, each descending.
func newestFirst(ds []*domain.Delivery) []*domain.Delivery {
	return slices.SortedFunc(slices.Values(ds), func(a, b *domain.Delivery) int {
		return -cmp.Or(a.CreatedTime.Compare(b.CreatedTime), strings.Compare(a.ID, b.ID), strings.Compare(a.Topic, b.Topic))
	})
}

// clone returns a copy of d, to hold what the store is expected to keep.
func clone(d *domain.Delivery) *domain.Delivery {
	c := *d
	return &c
}

func addDeliveries(t testing.TB, s domain.Store, ds ...*domain.Delivery) {
	t.Helper()
	must(t, s.AddDeliveries(t.Context(), ds), "AddDeliveries %v", deliveryKeys(ds))
}

// claim claims for holder and fails the test on error.
func claim(t testing.TB, s domain.Store, holder string, now, until time.Time, limit int) []*domain.Delivery {
	t.Helper()
	ds, err := s.ClaimDeliveries(t.Context(), holder, now, until, limit)
	must(t, err, "ClaimDeliveries by %s at %v", holder, now)
	return ds
}

// checkClaim fails the test unless holder's claim at now returns want, in
// that order.
func checkClaim(t testing.TB, s domain.Store, holder string, now, until time.Time, limit int, want ...*domain.Delivery) {
	t.Helper()
	got := claim(t, s, holder, now, until, limit)
	check(t, got, want, "ClaimDeliveries by %s at %v (deliveries %v)", holder, now.Format(time.TimeOnly), deliveryKeys(got))
}

// checkSeqOrder fails the test unless ds come in Seq order.
func checkSeqOrder(t testing.TB, ds []*domain.Delivery, what string) {
	t.Helper()
	if !slices.IsSortedFunc(ds, func(a, b *domain.Delivery) int { return cmp.Compare(a.Seq, b.Seq) }) {
		seqs := make([]int64, len(ds))
		for i, d := range ds {
			seqs[i] = d.Seq
		}
		t.Fatalf("%s: deliveries not in Seq order: %v", what, seqs)
	}
}

func listDeliveries(t testing.TB, s domain.Store, f domain.DeliveryFilter, limit int) []*domain.Delivery {
	t.Helper()
	ds, err := s.ListDeliveries(t.Context(), f, limit)
	must(t, err, "ListDeliveries %+v", f)
	return ds
}

// checkStored fails the test unless the store holds d as want, found by
// its incident, ID and topic.
func checkStored(t testing.TB, s domain.Store, want *domain.Delivery, what string) {
	t.Helper()
	for _, d := range listDeliveries(t, s, domain.DeliveryFilter{IncidentARN: want.IncidentARN}, 1000) {
		if d.ID == want.ID && d.Topic == want.Topic {
			check(t, d, want, "%s: delivery %s", what, deliveryKey(want))
			return
		}
	}
	t.Fatalf("%s: delivery %s is not stored", what, deliveryKey(want))
}

func nextChangeSeq(t testing.TB, s domain.Store, r *domain.IncidentRecord) int64 {
	t.Helper()
	seq, err := s.NextChangeSeq(t.Context(), r.Account, r.ARN)
	must(t, err, "NextChangeSeq %s", r.ARN)
	return seq
}

// The state changes the store is expected to make.

func delivered(d *domain.Delivery, when time.Time) {
	d.State, d.DeliveredTime = domain.DeliveryDelivered, ptr(when)
}

func failed(d *domain.Delivery, lastError string, next time.Time) {
	d.Attempts++
	d.LastError, d.NextAttempt = lastError, next
}

func markDelivered(t testing.TB, s domain.Store, d *domain.Delivery, when time.Time) {
	t.Helper()
	must(t, s.DeliveryDelivered(t.Context(), d.ID, d.Topic, when), "DeliveryDelivered %s", deliveryKey(d))
	delivered(d, when)
}

func markFailed(t testing.TB, s domain.Store, d *domain.Delivery, lastError string, next time.Time) {
	t.Helper()
	must(t, s.DeliveryFailed(t.Context(), d.ID, d.Topic, lastError, next, false), "DeliveryFailed %s", deliveryKey(d))
	failed(d, lastError, next)
}

// markParked parks d. What NextAttempt a parked delivery holds is the
// engine's: the test takes it from the store.
func markParked(t testing.TB, s domain.Store, d *domain.Delivery, lastError string, next time.Time) {
	t.Helper()
	must(t, s.DeliveryFailed(t.Context(), d.ID, d.Topic, lastError, next, true), "DeliveryFailed %s parking it", deliveryKey(d))
	d.Attempts++
	d.LastError, d.State = lastError, domain.DeliveryParked
	for _, got := range listDeliveries(t, s, domain.DeliveryFilter{IncidentARN: d.IncidentARN, State: domain.DeliveryParked}, 1000) {
		if got.ID == d.ID && got.Topic == d.Topic {
			d.NextAttempt = got.NextAttempt
			return
		}
	}
	t.Fatalf("delivery %s is not parked after DeliveryFailed with park", deliveryKey(d))
}

func deliveryCases() []testCase {
	return []testCase{
		{"NextChangeSeq", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r1 := createIncident(t, s, newIncident(acctA, "one", at(0)))
			r2 := createIncident(t, s, newIncident(acctA, "two", at(0)))
			for want := int64(1); want <= 3; want++ {
				check(t, nextChangeSeq(t, s, r1), want, "NextChangeSeq of the first record")
			}
			check(t, nextChangeSeq(t, s, r2), int64(1), "NextChangeSeq of another record")
			check(t, nextChangeSeq(t, s, r1), int64(4), "NextChangeSeq of the first record after the other's")

			// The record is left as it was, and an update of it keeps the count.
			got, err := s.GetIncidentRecord(ctx, acctA, r1.ARN)
			must(t, err, "GetIncidentRecord")
			check(t, got, r1, "the record after NextChangeSeq")
			must(t, s.UpdateIncidentRecord(ctx, acctA, r1.ARN, func(r *domain.IncidentRecord) error { r.Title = "changed"; return nil }), "UpdateIncidentRecord")
			check(t, nextChangeSeq(t, s, r1), int64(5), "NextChangeSeq after an update")

			// Inside a Tx, with the update of the change it numbers, after or before it.
			var seq int64
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				seq = 0
				if err := s.UpdateIncidentRecord(ctx, acctA, r1.ARN, func(r *domain.IncidentRecord) error { r.Title = "again"; return nil }); err != nil {
					return err
				}
				n, err := s.NextChangeSeq(ctx, acctA, r1.ARN)
				seq = n
				return err
			}), "Tx updating, then numbering")
			check(t, seq, int64(6), "NextChangeSeq after an update in a Tx")
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				seq = 0
				n, err := s.NextChangeSeq(ctx, acctA, r1.ARN)
				if err != nil {
					return err
				}
				seq = n
				return s.UpdateIncidentRecord(ctx, acctA, r1.ARN, func(r *domain.IncidentRecord) error { r.Title = "and again"; return nil })
			}), "Tx numbering, then updating")
			check(t, seq, int64(7), "NextChangeSeq before an update in a Tx")
			got, err = s.GetIncidentRecord(ctx, acctA, r1.ARN)
			must(t, err, "GetIncidentRecord")
			check(t, got.Title, "and again", "the title after the transactions")

			// A missing record, another account's ARN.
			_, err = s.NextChangeSeq(ctx, acctA, arn(acctA, "incident-record", "plan/never"))
			wantErr(t, err, domain.ErrNotFound, "NextChangeSeq of a missing record")
			_, err = s.NextChangeSeq(ctx, acctB, r1.ARN)
			wantErr(t, err, domain.ErrNotFound, "NextChangeSeq of another account's ARN")
			// Inside a Tx ErrNotFound is an answer: the transaction goes on.
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				seq = 0
				if _, err := s.NextChangeSeq(ctx, acctA, arn(acctA, "incident-record", "plan/never")); !errors.Is(err, domain.ErrNotFound) {
					return fmt.Errorf("%w: NextChangeSeq of a missing record: %v", errUnexpected, err)
				}
				n, err := s.NextChangeSeq(ctx, acctA, r2.ARN)
				seq = n
				return err
			}), "Tx going on after ErrNotFound")
			check(t, seq, int64(2), "NextChangeSeq in a Tx after ErrNotFound")
			check(t, nextChangeSeq(t, s, r2), int64(3), "NextChangeSeq after that Tx committed")

			// A deleted record.
			must(t, s.DeleteIncidentRecord(ctx, acctA, r2.ARN), "DeleteIncidentRecord")
			_, err = s.NextChangeSeq(ctx, acctA, r2.ARN)
			wantErr(t, err, domain.ErrNotFound, "NextChangeSeq of a deleted record")
		}},
		{"NextChangeSeqConcurrent", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			other := createIncident(t, s, newIncident(acctA, "other", at(0)))
			// Each transaction numbers a change, then records its number in
			// the record: the numbers are distinct and consecutive, and
			// taken in the order the transactions change the record.
			seqs := make([]int64, n)
			errs := race(n, func(i int) error {
				return s.Tx(ctx, func(ctx context.Context) error {
					seqs[i] = 0
					seq, err := s.NextChangeSeq(ctx, acctA, r.ARN)
					if err != nil {
						return err
					}
					pause()
					if err := s.UpdateIncidentRecord(ctx, acctA, r.ARN, func(r *domain.IncidentRecord) error {
						r.AutomationExecutions = append(r.AutomationExecutions, fmt.Sprint(seq))
						return nil
					}); err != nil {
						return err
					}
					seqs[i] = seq
					return nil
				})
			})
			want := make([]int64, n)
			var execs []string
			for i, err := range errs {
				must(t, err, "transaction %d", i)
				want[i] = int64(i + 1)
				execs = append(execs, fmt.Sprint(i+1))
			}
			check(t, slices.Sorted(slices.Values(seqs)), want, "the numbers concurrent transactions took")
			got, err := s.GetIncidentRecord(ctx, acctA, r.ARN)
			must(t, err, "GetIncidentRecord")
			check(t, got.AutomationExecutions, execs, "the numbers in the order the transactions changed the record")
			check(t, nextChangeSeq(t, s, r), int64(n+1), "NextChangeSeq after the race")
			check(t, nextChangeSeq(t, s, other), int64(1), "NextChangeSeq of another record after the race")
		}},
		{"NextSeq", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			next := func(account, name string) int64 {
				t.Helper()
				seq, err := s.NextSeq(ctx, account, name)
				must(t, err, "NextSeq %s %q", account, name)
				return seq
			}
			for want := int64(1); want <= 3; want++ {
				check(t, next(acctA, "one"), want, "NextSeq of a counter")
			}
			check(t, next(acctA, "two"), int64(1), "NextSeq of another counter")
			check(t, next(acctB, "one"), int64(1), "NextSeq of another account's counter of the same name")
			check(t, next(acctA, ""), int64(1), "NextSeq of the counter of the empty name")
			check(t, next(acctA, "one"), int64(4), "NextSeq of the first counter after the others")

			// A transaction that fails takes no number.
			err := s.Tx(ctx, func(ctx context.Context) error {
				if _, err := s.NextSeq(ctx, acctA, "one"); err != nil {
					return err
				}
				return errBoom
			})
			wantErr(t, err, errBoom, "Tx failing after NextSeq")
			check(t, next(acctA, "one"), int64(5), "NextSeq after a failed transaction")

			// Deleting the account's data resets nothing.
			must(t, s.CreateReplicationSet(ctx, newReplicationSet(acctA), nil), "CreateReplicationSet")
			must(t, s.DeleteAccountData(ctx, acctA, func(*domain.ReplicationSet) error { return nil }), "DeleteAccountData")
			check(t, next(acctA, "one"), int64(6), "NextSeq after DeleteAccountData")
		}},
		{"NextSeqWaitsForTheTransactionHoldingTheCounter", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			// A transaction takes 1 and stays open; another that takes the
			// counter meanwhile gets its number only once the first has
			// ended, and then the number after the first's if it
			// committed: numbers follow the order of the commits.
			for _, commit := range []bool{true, false} {
				name := fmt.Sprint("commit ", commit)
				end := errBoom
				if commit {
					end = nil
				}
				release, done := openTxEnding(t, s, end, func(ctx context.Context) error {
					_, err := s.NextSeq(ctx, acctA, name)
					return err
				})
				got := make(chan int64, 1)
				go func() {
					seq, err := s.NextSeq(ctx, acctA, name)
					if err != nil {
						t.Errorf("NextSeq while another transaction holds the counter: %v", err)
					}
					got <- seq
				}()
				select {
				case seq := <-got:
					t.Fatalf("NextSeq answered %d while another transaction held the counter", seq)
				case <-time.After(200 * time.Millisecond):
				}
				close(release)
				want := int64(1)
				if commit {
					must(t, <-done, "the open transaction, committing")
					want = 2
				} else {
					wantErr(t, <-done, errBoom, "the open transaction, failing")
				}
				check(t, <-got, want, "NextSeq after the transaction holding the counter ended (committed: %v)", commit)
			}
		}},
		{"AddRoundTrip", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			full := newDelivery(r, 1, topic("a"), at(1).Add(7*time.Millisecond))
			full.DetailType = domain.EventIncidentStart
			// Bytes that are not text, an escaped NUL, quotes: kept as they are.
			full.Message = []byte("{\"title\":\"\\u0000 \\\"q\\\" é\"}\x00\xff\xfe\n ")
			full.Attributes = map[string]string{
				"incidentArn": r.ARN, "empty": "", "unicode": "é ü 日本 😀", "quotes": `"q" \ / <b>&amp;</b>`,
				"key with spaces": "tab\tnew\nline",
			}
			bare := newDelivery(r, 1, topic("b"), full.CreatedTime)
			bare.Attributes, bare.Message = nil, []byte(`{}`)
			// The state members of what is added are not the store's: a new
			// delivery is pending, due at once.
			stale := clone(bare)
			stale.Topic = topic("c")
			stale.State, stale.Attempts, stale.LastError, stale.NextAttempt, stale.DeliveredTime = domain.DeliveryDelivered, 4, "old", at(1000), ptr(at(2))
			addDeliveries(t, s, clone(full), clone(bare), clone(stale))
			stale.State, stale.Attempts, stale.LastError, stale.NextAttempt, stale.DeliveredTime = domain.DeliveryPending, 0, "", stale.CreatedTime, nil

			check(t, listDeliveries(t, s, domain.DeliveryFilter{}, 10), []*domain.Delivery{stale, bare, full}, "ListDeliveries")
			got := claim(t, s, "A", at(2), at(60), 10)
			check(t, byKey(got), byKey([]*domain.Delivery{full, bare, stale}), "ClaimDeliveries")

			// A duplicate (ID, topic) is a conflict, and nothing of the call is stored.
			fresh := newDelivery(r, 2, topic("a"), at(3))
			err := s.AddDeliveries(ctx, []*domain.Delivery{fresh, newDelivery(r, 1, topic("b"), at(3))})
			wantErr(t, err, domain.ErrConflict, "AddDeliveries of a taken (ID, topic)")
			check(t, listDeliveries(t, s, domain.DeliveryFilter{}, 10), []*domain.Delivery{stale, bare, full}, "ListDeliveries after a conflict")
			// None is nothing.
			must(t, s.AddDeliveries(ctx, nil), "AddDeliveries of none")
		}},
		{"AddRolledBackWithTx", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			err := s.Tx(ctx, func(ctx context.Context) error {
				seq, err := s.NextChangeSeq(ctx, acctA, r.ARN)
				if err != nil {
					return err
				}
				if err := s.AddDeliveries(ctx, []*domain.Delivery{newDelivery(r, seq, topic("a"), at(1)), newDelivery(r, seq, topic("b"), at(1))}); err != nil {
					return err
				}
				// The transaction sees its own deliveries.
				ds, err := s.ListDeliveries(ctx, domain.DeliveryFilter{IncidentARN: r.ARN}, 10)
				if err != nil {
					return err
				}
				if len(ds) != 2 {
					return fmt.Errorf("%w: the transaction lists %d of its 2 deliveries", errUnexpected, len(ds))
				}
				return errBoom
			})
			wantErr(t, err, errBoom, "Tx with AddDeliveries")
			check(t, listDeliveries(t, s, domain.DeliveryFilter{}, 10), []*domain.Delivery(nil), "ListDeliveries after the rollback")
			checkClaim(t, s, "A", at(10), at(60), 10)

			// A nested Tx that fails drops its deliveries; the rest commits.
			keep, dropped := newDelivery(r, 1, topic("a"), at(2)), newDelivery(r, 2, topic("a"), at(3))
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				if err := s.AddDeliveries(ctx, []*domain.Delivery{keep}); err != nil {
					return err
				}
				if err := s.Tx(ctx, func(ctx context.Context) error {
					if err := s.AddDeliveries(ctx, []*domain.Delivery{dropped}); err != nil {
						return err
					}
					return errBoom
				}); !errors.Is(err, errBoom) {
					return fmt.Errorf("%w: the nested Tx: %v", errUnexpected, err)
				}
				return nil
			}), "Tx with a failed nested Tx")
			check(t, listDeliveries(t, s, domain.DeliveryFilter{}, 10), []*domain.Delivery{keep}, "ListDeliveries after the nested Tx failed")
		}},
		{"ClaimOnlyCommitted", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			release, done := openTx(t, s, func(ctx context.Context) error {
				if err := s.AddDeliveries(ctx, []*domain.Delivery{newDelivery(r, 1, topic("a"), at(1))}); err != nil {
					return err
				}
				// A read sends what the transaction deferred.
				_, err := s.ListDeliveries(ctx, domain.DeliveryFilter{}, 10)
				return err
			})
			// An engine may answer the claim at once, or once the
			// transaction has ended: either way not with its delivery.
			type answer struct {
				ds  []*domain.Delivery
				err error
			}
			claimed := make(chan answer, 1)
			go func() {
				ds, err := s.ClaimDeliveries(ctx, "A", at(10), at(60), 10)
				claimed <- answer{ds, err}
			}()
			var got answer
			select {
			case got = <-claimed:
				close(release)
			case <-time.After(200 * time.Millisecond):
				close(release)
				got = <-claimed
			}
			wantErr(t, <-done, errBoom, "the transaction")
			must(t, got.err, "ClaimDeliveries while a transaction adds deliveries")
			check(t, got.ds, []*domain.Delivery(nil), "ClaimDeliveries while a transaction adds deliveries")
			checkClaim(t, s, "A", at(10), at(60), 10)
		}},
		{"ClaimHeadOfQueue", func(t *testing.T, s domain.Store) {
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			d1, d2, d3 := newDelivery(r, 1, topic("a"), at(1)), newDelivery(r, 2, topic("a"), at(2)), newDelivery(r, 3, topic("a"), at(3))
			addDeliveries(t, s, d3, d1) // added in any order, claimed in Seq's
			addDeliveries(t, s, d2)
			checkClaim(t, s, "A", at(10), at(100), 10, d1)
			// While the head is claimed, nothing of its queue is claimed.
			checkClaim(t, s, "B", at(11), at(100), 10)
			markDelivered(t, s, d1, at(12))
			checkClaim(t, s, "B", at(13), at(100), 10, d2)
			checkClaim(t, s, "C", at(14), at(100), 10)
			// A parked delivery holds nothing up.
			markParked(t, s, d2, "boom", at(20))
			checkClaim(t, s, "C", at(15), at(100), 10, d3)
			markDelivered(t, s, d3, at(16))
			// Delivered and parked ones are not claimed again.
			checkClaim(t, s, "D", at(500), at(600), 10)
			check(t, listDeliveries(t, s, domain.DeliveryFilter{}, 10), []*domain.Delivery{d3, d2, d1}, "the deliveries")
		}},
		{"ClaimDue", func(t *testing.T, s domain.Store) {
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			d1, d2 := newDelivery(r, 1, topic("a"), at(10)), newDelivery(r, 2, topic("a"), at(11))
			addDeliveries(t, s, d1, d2)
			// A new delivery is due at its CreatedTime.
			checkClaim(t, s, "A", at(10).Add(-time.Millisecond), at(1000), 10)
			checkClaim(t, s, "A", at(10), at(1000), 10, d1)
			// A failure ends the claim; the delivery is due again at next,
			// and until then holds the next one of its queue back.
			markFailed(t, s, d1, "503", at(50))
			checkClaim(t, s, "B", at(49), at(1000), 10)
			checkClaim(t, s, "B", at(50).Add(-time.Millisecond), at(1000), 10)
			checkClaim(t, s, "B", at(50), at(1000), 10, d1)
			markFailed(t, s, d1, "timeout", at(60))
			checkClaim(t, s, "A", at(60), at(1000), 10, d1)
			markDelivered(t, s, d1, at(61))
			checkClaim(t, s, "A", at(62), at(1000), 10, d2)
		}},
		{"ClaimSeqOrder", func(t *testing.T, s domain.Store) {
			// The heads of three queues, at Seq 3, 1 and 2, created in
			// another order.
			r1 := createIncident(t, s, newIncident(acctA, "one", at(0)))
			r2 := createIncident(t, s, newIncident(acctA, "two", at(0)))
			r3 := createIncident(t, s, newIncident(acctB, "three", at(0)))
			var r1s []*domain.Delivery
			for seq := range int64(3) {
				r1s = append(r1s, newDelivery(r1, seq+1, topic("a"), at(int(seq+1))))
			}
			r2s := []*domain.Delivery{newDelivery(r2, 1, topic("a"), at(30))}
			r3s := []*domain.Delivery{newDelivery(r3, 1, topic("a"), at(4)), newDelivery(r3, 2, topic("a"), at(20))}
			addDeliveries(t, s, append(append(slices.Clone(r1s), r2s...), r3s...)...)
			markDelivered(t, s, r1s[0], at(40))
			markDelivered(t, s, r1s[1], at(40))
			markDelivered(t, s, r3s[0], at(40))
			got := claim(t, s, "A", at(50), at(100), 10)
			checkSeqOrder(t, got, "ClaimDeliveries")
			check(t, got, []*domain.Delivery{r2s[0], r3s[1], r1s[2]}, "ClaimDeliveries of the heads")
		}},
		{"ClaimTopicsIndependent", func(t *testing.T, s domain.Store) {
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			a1, b1 := newDelivery(r, 1, topic("a"), at(1)), newDelivery(r, 1, topic("b"), at(1))
			a2, b2 := newDelivery(r, 2, topic("a"), at(2)), newDelivery(r, 2, topic("b"), at(2))
			addDeliveries(t, s, a1, b1)
			addDeliveries(t, s, a2, b2)
			got := claim(t, s, "A", at(10), at(100), 10)
			check(t, byKey(got), []*domain.Delivery{a1, b1}, "ClaimDeliveries of both topics of the first change")
			// Topic a fails and waits; topic b goes on.
			markFailed(t, s, a1, "topic a is down", at(500))
			markDelivered(t, s, b1, at(11))
			checkClaim(t, s, "B", at(12), at(100), 10, b2)
			markDelivered(t, s, b2, at(13))
			checkClaim(t, s, "B", at(14), at(100), 10)
			markParked(t, s, a1, "topic a is gone", at(600))
			checkClaim(t, s, "B", at(15), at(100), 10, a2)
		}},
		{"ClaimHidesFromOtherHolders", func(t *testing.T, s domain.Store) {
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			d := newDelivery(r, 1, topic("a"), at(1))
			addDeliveries(t, s, d)
			checkClaim(t, s, "A", at(10), at(40), 10, d)
			checkClaim(t, s, "B", at(20), at(80), 10)
			checkClaim(t, s, "B", at(40).Add(-time.Millisecond), at(80), 10)
			// A's claim has expired.
			checkClaim(t, s, "B", at(41), at(80), 10, d)
			checkClaim(t, s, "A", at(42), at(100), 10)
			// B's attempt fails: its claim ends before its time.
			markFailed(t, s, d, "refused", at(43))
			checkClaim(t, s, "A", at(43), at(100), 10, d)
			checkClaim(t, s, "B", at(44), at(100), 10)
			// A delivers it: no one claims it again.
			markDelivered(t, s, d, at(45))
			checkClaim(t, s, "B", at(200), at(300), 10)
			checkClaim(t, s, "A", at(200), at(300), 10)
		}},
		{"ClaimLimit", func(t *testing.T, s domain.Store) {
			var all []*domain.Delivery
			for i := range 3 {
				r := createIncident(t, s, newIncident(acctA, fmt.Sprint("r", i), at(0)))
				all = append(all, newDelivery(r, 1, topic("a"), at(i)), newDelivery(r, 1, topic("b"), at(i)))
			}
			addDeliveries(t, s, all...)
			// 6 deliveries, claimed by holders each asking for up to limit.
			var claimed []*domain.Delivery
			for i, c := range []struct{ limit, want int }{{4, 4}, {1, 1}, {2, 1}, {2, 0}} {
				got := claim(t, s, fmt.Sprint("holder", i), at(10), at(100), c.limit)
				if len(got) != c.want {
					t.Fatalf("claim %d of up to %d: %d deliveries %v, want %d", i, c.limit, len(got), deliveryKeys(got), c.want)
				}
				checkSeqOrder(t, got, "ClaimDeliveries")
				claimed = append(claimed, got...)
			}
			check(t, byKey(claimed), byKey(all), "the deliveries claimed with limits")
		}},
		{"ClaimConcurrentDistinct", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			for round := range rounds {
				// 8 incidents, 2 topics, 2 changes: 16 heads.
				var heads []*domain.Delivery
				for i := range 8 {
					r := createIncident(t, s, newIncident(acctA, fmt.Sprintf("round%d-%d", round, i), at(0)))
					for _, tp := range []string{topic("a"), topic("b")} {
						d1, d2 := newDelivery(r, 1, tp, at(1)), newDelivery(r, 2, tp, at(2))
						addDeliveries(t, s, d1, d2)
						heads = append(heads, d1)
					}
				}
				got := make([][]*domain.Delivery, n)
				errs := race(n, func(i int) error {
					return inTx(ctx, s, i, func(ctx context.Context) error {
						got[i] = nil
						ds, err := s.ClaimDeliveries(ctx, fmt.Sprintf("round%d-holder%d", round, i), at(10), at(1000), 3)
						got[i] = ds
						return err
					})
				})
				var claimed []*domain.Delivery
				for i, err := range errs {
					must(t, err, "round %d: claim %d", round, i)
					checkSeqOrder(t, got[i], "ClaimDeliveries")
					claimed = append(claimed, got[i]...)
				}
				// The rest, once the racing claims have ended: claimed
				// together, every head is claimed once.
				claimed = append(claimed, claim(t, s, fmt.Sprintf("round%d-late", round), at(10), at(1000), 100)...)
				check(t, deliveryKeys(byKey(claimed)), deliveryKeys(byKey(heads)), "round %d: the deliveries claimed by concurrent claimers", round)
			}
		}},
		{"ClaimConcurrentInOrder", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			// 4 incidents, 2 topics, 4 changes: 32 deliveries, delivered
			// by concurrent claimers, each of a queue after the one before.
			const incidents, changes = 4, 4
			total := 0
			for i := range incidents {
				r := createIncident(t, s, newIncident(acctA, fmt.Sprint("r", i), at(0)))
				for seq := range int64(changes) {
					addDeliveries(t, s, newDelivery(r, seq+1, topic("a"), at(1)), newDelivery(r, seq+1, topic("b"), at(1)))
					total += 2
				}
			}
			type queue struct{ incident, topic string }
			var (
				mu      sync.Mutex
				claimed = map[string]string{} // by whom
				sent    = map[queue]int64{}   // the last Seq of each queue handed to DeliveryDelivered
				done    int
				stop    bool
			)
			errs := race(n, func(i int) error {
				holder := fmt.Sprint("holder", i)
				for range 5000 {
					mu.Lock()
					over := stop || done == total
					mu.Unlock()
					if over {
						return nil
					}
					var ds []*domain.Delivery
					if err := inTx(ctx, s, i, func(ctx context.Context) error {
						var err error
						ds, err = s.ClaimDeliveries(ctx, holder, at(10), at(1000), 2)
						return err
					}); err != nil {
						return err
					}
					if len(ds) == 0 {
						pause()
						continue
					}
					mu.Lock()
					for _, d := range ds {
						k, q := deliveryKey(d), queue{d.IncidentARN, d.Topic}
						var err error
						if by, ok := claimed[k]; ok {
							err = fmt.Errorf("%s claimed %s, which %s had claimed", holder, k, by)
						} else if sent[q] != d.Seq-1 {
							err = fmt.Errorf("%s claimed %s while Seq %d was the last of its queue delivered", holder, k, sent[q])
						}
						if err != nil {
							stop = true
							mu.Unlock()
							return err
						}
						claimed[k] = holder
					}
					for _, d := range ds {
						sent[queue{d.IncidentARN, d.Topic}] = d.Seq
					}
					mu.Unlock()
					for _, d := range ds {
						if err := s.DeliveryDelivered(ctx, d.ID, d.Topic, at(11)); err != nil {
							return err
						}
						mu.Lock()
						done++
						mu.Unlock()
					}
				}
				return errors.New("gave up")
			})
			for i, err := range errs {
				must(t, err, "claimer %d", i)
			}
			check(t, len(claimed), total, "how many deliveries were claimed")
			check(t, listDeliveries(t, s, domain.DeliveryFilter{State: domain.DeliveryPending}, 100), []*domain.Delivery(nil), "the pending deliveries after")
			check(t, len(listDeliveries(t, s, domain.DeliveryFilter{State: domain.DeliveryDelivered}, 100)), total, "how many deliveries were delivered")
		}},
		{"DeliveryFailed", func(t *testing.T, s domain.Store) {
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			d := newDelivery(r, 1, topic("a"), at(1))
			addDeliveries(t, s, d)
			checkClaim(t, s, "A", at(10), at(1000), 10, d)
			markFailed(t, s, d, "first", at(20))
			checkStored(t, s, d, "after a failure")
			// Also without a claim; the last error is kept.
			markFailed(t, s, d, "second", at(30))
			checkStored(t, s, d, "after a second failure")
			check(t, []any{d.Attempts, d.LastError}, []any{2, "second"}, "what the test expects")
			checkClaim(t, s, "B", at(30), at(1000), 10, d)
			markParked(t, s, d, "third", at(40))
			checkStored(t, s, d, "after it was parked")
			check(t, d.Attempts, 3, "the attempts of the parked delivery")
			checkClaim(t, s, "B", at(2000), at(3000), 10)
			check(t, listDeliveries(t, s, domain.DeliveryFilter{State: domain.DeliveryParked}, 10), []*domain.Delivery{d}, "the parked deliveries")
			check(t, listDeliveries(t, s, domain.DeliveryFilter{State: domain.DeliveryPending}, 10), []*domain.Delivery(nil), "the pending deliveries")
		}},
		{"RetryDelivery", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			d1, d2, d3 := newDelivery(r, 1, topic("a"), at(1)), newDelivery(r, 2, topic("a"), at(2)), newDelivery(r, 3, topic("a"), at(3))
			addDeliveries(t, s, d1, d2, d3)
			checkClaim(t, s, "A", at(10), at(100), 10, d1)
			markFailed(t, s, d1, "one", at(11))
			markParked(t, s, d1, "two", at(12))
			checkClaim(t, s, "A", at(13), at(100), 10, d2)
			markDelivered(t, s, d2, at(14))
			// Retried, the parked delivery is pending again, due at now,
			// attempts from zero, and the head of its queue: d3 waits.
			must(t, s.RetryDelivery(ctx, d1.ID, d1.Topic, at(50)), "RetryDelivery")
			d1.State, d1.Attempts, d1.NextAttempt = domain.DeliveryPending, 0, at(50)
			checkStored(t, s, d1, "after RetryDelivery")
			checkClaim(t, s, "B", at(50).Add(-time.Millisecond), at(100), 10)
			checkClaim(t, s, "B", at(50), at(100), 10, d1)
			wantErr(t, s.RetryDelivery(ctx, d1.ID, d1.Topic, at(51)), domain.ErrNotFound, "RetryDelivery of a pending delivery")
			checkStored(t, s, d1, "after RetryDelivery of a pending delivery")
			markDelivered(t, s, d1, at(52))
			wantErr(t, s.RetryDelivery(ctx, d1.ID, d1.Topic, at(53)), domain.ErrNotFound, "RetryDelivery of a delivered delivery")
			checkStored(t, s, d1, "after RetryDelivery of a delivered delivery")
			wantErr(t, s.RetryDelivery(ctx, d1.ID, topic("b"), at(53)), domain.ErrNotFound, "RetryDelivery of another topic")
			wantErr(t, s.RetryDelivery(ctx, "no-such-id", d1.Topic, at(53)), domain.ErrNotFound, "RetryDelivery of a missing delivery")
			checkClaim(t, s, "B", at(54), at(100), 10, d3)
		}},
		{"LateOutcomeOfALostClaim", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			d := newDelivery(r, 1, topic("a"), at(1))
			addDeliveries(t, s, d)
			// A's claim ends at 20 with its publish still unrecorded; B
			// claims, publishes and records it delivered; A's outcome comes
			// late and changes nothing: no second attempt, no parking.
			checkClaim(t, s, "A", at(10), at(20), 10, d)
			checkClaim(t, s, "B", at(30), at(100), 10, d)
			markDelivered(t, s, d, at(31))
			wantErr(t, s.DeliveryFailed(ctx, d.ID, d.Topic, "timeout", at(40), false), domain.ErrNotFound, "DeliveryFailed of a delivered delivery")
			wantErr(t, s.DeliveryFailed(ctx, d.ID, d.Topic, "timeout", at(40), true), domain.ErrNotFound, "DeliveryFailed parking a delivered delivery")
			wantErr(t, s.DeliveryDelivered(ctx, d.ID, d.Topic, at(41)), domain.ErrNotFound, "DeliveryDelivered of a delivered delivery")
			checkStored(t, s, d, "after the late outcomes")
			// A parked delivery is left parked, too.
			p := newDelivery(r, 2, topic("b"), at(2))
			addDeliveries(t, s, p)
			checkClaim(t, s, "A", at(50), at(60), 10, p)
			markParked(t, s, p, "gone", at(55))
			wantErr(t, s.DeliveryDelivered(ctx, p.ID, p.Topic, at(56)), domain.ErrNotFound, "DeliveryDelivered of a parked delivery")
			wantErr(t, s.DeliveryFailed(ctx, p.ID, p.Topic, "again", at(57), false), domain.ErrNotFound, "DeliveryFailed of a parked delivery")
			checkStored(t, s, p, "the parked delivery after the late outcomes")
		}},
		{"DeliveryDelivered", func(t *testing.T, s domain.Store) {
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			d := newDelivery(r, 1, topic("a"), at(1))
			other := newDelivery(r, 1, topic("b"), at(1))
			addDeliveries(t, s, d, other)
			check(t, byKey(claim(t, s, "A", at(10), at(100), 10)), []*domain.Delivery{d, other}, "ClaimDeliveries")
			// The failure ends A's claim of d alone: B claims d, not other.
			markFailed(t, s, d, "first", at(20))
			checkClaim(t, s, "B", at(20), at(100), 10, d)
			markDelivered(t, s, d, at(21).Add(3*time.Millisecond))
			checkStored(t, s, d, "after DeliveryDelivered")
			checkStored(t, s, other, "the other topic's delivery")
			// Delivered: not claimed again, however late.
			checkClaim(t, s, "C", at(5000), at(6000), 10, other)
		}},
		{"List", func(t *testing.T, s domain.Store) {
			r1 := createIncident(t, s, newIncident(acctA, "one", at(0)))
			r2 := createIncident(t, s, newIncident(acctA, "two", at(0)))
			r3 := createIncident(t, s, newIncident(acctB, "three", at(0)))
			// Created at once: ordered by ID, then topic.
			all := []*domain.Delivery{
				newDelivery(r1, 1, topic("a"), at(1)), newDelivery(r1, 1, topic("b"), at(1)),
				newDelivery(r1, 2, topic("a"), at(3)), newDelivery(r2, 1, topic("a"), at(2)),
				newDelivery(r2, 2, topic("a"), at(3)), newDelivery(r2, 2, topic("b"), at(3)),
				newDelivery(r3, 1, topic("a"), at(4)),
			}
			addDeliveries(t, s, all[:4]...)
			addDeliveries(t, s, all[4:]...)
			markDelivered(t, s, all[0], at(10))
			markParked(t, s, all[3], "gone", at(10))
			markFailed(t, s, all[1], "down", at(20))
			want := newestFirst(all)
			check(t, listDeliveries(t, s, domain.DeliveryFilter{}, 100), want, "ListDeliveries of all")
			check(t, listDeliveries(t, s, domain.DeliveryFilter{}, 3), want[:3], "ListDeliveries of 3")
			check(t, listDeliveries(t, s, domain.DeliveryFilter{}, 1), want[:1], "ListDeliveries of 1")
			match := func(state, incident string) []*domain.Delivery {
				var ds []*domain.Delivery
				for _, d := range want {
					if (state == "" || d.State == state) && (incident == "" || d.IncidentARN == incident) {
						ds = append(ds, d)
					}
				}
				return ds
			}
			for _, f := range []domain.DeliveryFilter{
				{State: domain.DeliveryPending}, {State: domain.DeliveryDelivered}, {State: domain.DeliveryParked},
				{IncidentARN: r1.ARN}, {IncidentARN: r2.ARN}, {IncidentARN: r3.ARN},
				{State: domain.DeliveryPending, IncidentARN: r1.ARN}, {State: domain.DeliveryParked, IncidentARN: r1.ARN},
				{IncidentARN: arn(acctA, "incident-record", "plan/never")},
			} {
				check(t, listDeliveries(t, s, f, 100), match(f.State, f.IncidentARN), "ListDeliveries %+v", f)
			}
			check(t, listDeliveries(t, s, domain.DeliveryFilter{State: domain.DeliveryPending}, 2), match(domain.DeliveryPending, "")[:2], "ListDeliveries of 2 pending")
			check(t, listDeliveries(t, s, domain.DeliveryFilter{IncidentARN: r2.ARN}, 1), match("", r2.ARN)[:1], "ListDeliveries of 1 of an incident")
		}},
		{"Backlog", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			backlog := func(wantN int64, wantOldest time.Time) {
				t.Helper()
				n, oldest, err := s.DeliveryBacklog(ctx)
				must(t, err, "DeliveryBacklog")
				check(t, n, wantN, "pending deliveries")
				if !oldest.Equal(wantOldest) {
					t.Errorf("oldest pending delivery created %v, want %v", oldest, wantOldest)
				}
			}
			backlog(0, time.Time{})
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			d1, d2, d3 := newDelivery(r, 1, topic("a"), at(1)), newDelivery(r, 2, topic("a"), at(2)), newDelivery(r, 1, topic("b"), at(3))
			addDeliveries(t, s, d1, d2, d3)
			backlog(3, at(1))
			markDelivered(t, s, d1, at(5))
			backlog(2, at(2))
			markParked(t, s, d2, "gone", at(6))
			backlog(1, at(3))
			markFailed(t, s, d3, "503", at(50)) // still pending
			backlog(1, at(3))
		}},
		{"Purge", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			var ds []*domain.Delivery
			for i := range 5 {
				ds = append(ds, newDelivery(r, int64(i+1), topic("a"), at(i)))
			}
			addDeliveries(t, s, ds...)
			markDelivered(t, s, ds[0], at(10))
			markDelivered(t, s, ds[1], at(20))
			markDelivered(t, s, ds[2], at(30))
			markParked(t, s, ds[3], "gone", at(40)) // older than every time below
			purge := func(before time.Time, want int64, left []*domain.Delivery) {
				t.Helper()
				n, err := s.PurgeDeliveries(ctx, before)
				must(t, err, "PurgeDeliveries before %v", before)
				check(t, n, want, "deliveries purged before %v", before.Format(time.TimeOnly))
				check(t, listDeliveries(t, s, domain.DeliveryFilter{}, 100), newestFirst(left), "deliveries left after the purge before %v", before.Format(time.TimeOnly))
			}
			purge(at(10), 0, ds)
			purge(at(20), 1, ds[1:])
			purge(at(1000), 2, ds[3:])
			purge(at(1000), 0, ds[3:])
		}},
		{"SurviveIncidentDelete", func(t *testing.T, s domain.Store) {
			ctx := t.Context()
			r := createIncident(t, s, newIncident(acctA, "one", at(0)))
			seq := nextChangeSeq(t, s, r)
			a, b := newDelivery(r, seq, topic("a"), at(1)), newDelivery(r, seq, topic("b"), at(1))
			next := newDelivery(r, seq+1, topic("a"), at(2))
			// Announced in the transaction that deletes the record.
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				if err := s.AddDeliveries(ctx, []*domain.Delivery{a, b, next}); err != nil {
					return err
				}
				return s.DeleteIncidentRecord(ctx, acctA, r.ARN)
			}), "Tx with AddDeliveries and DeleteIncidentRecord")
			_, err := s.GetIncidentRecord(ctx, acctA, r.ARN)
			wantErr(t, err, domain.ErrNotFound, "GetIncidentRecord after DeleteIncidentRecord")
			check(t, listDeliveries(t, s, domain.DeliveryFilter{IncidentARN: r.ARN}, 10), newestFirst([]*domain.Delivery{a, b, next}), "the deliveries of the deleted record")
			// They go out as before.
			check(t, byKey(claim(t, s, "A", at(10), at(100), 10)), []*domain.Delivery{a, b}, "ClaimDeliveries after DeleteIncidentRecord")
			markDelivered(t, s, a, at(11))
			checkClaim(t, s, "B", at(12), at(100), 10, next)
			markDelivered(t, s, next, at(13))
			markDelivered(t, s, b, at(13))
			checkStored(t, s, a, "a delivery of the deleted record")
			_, err = s.NextChangeSeq(ctx, acctA, r.ARN)
			wantErr(t, err, domain.ErrNotFound, "NextChangeSeq of the deleted record")
		}},
	}
}
