package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"sync/atomic"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// IdempotencyWindow is how long a clientToken is remembered.
const IdempotencyWindow = 24 * time.Hour

// mutate runs op, an operation that changes state, in one transaction,
// and queues its API-call event (see announceCall) in the same
// transaction when it succeeds.
//
// An operation that takes a clientToken passes it as token. The first
// request with a token runs and its output is stored, in the same
// transaction as the operation's effects. A repeat within
// IdempotencyWindow from the same account for the same operation returns
// that output without running again; a repeat with other parameters is
// refused. Requests without a token run as they are. Errors are not
// remembered: a failed request may be retried.
func mutate[I any, O any](s *Service, ctx context.Context, op string, token *string, in *I, run func(ctx context.Context) (*O, error)) (*O, error) {
	if s.cfg.Queued == nil {
		return mutateTx(s, ctx, op, token, in, run)
	}
	q := &queued{}
	out, err := mutateTx(s, context.WithValue(ctx, queuedKey{}, q), op, token, in, run)
	if err == nil && q.any.Load() {
		s.cfg.Queued()
	}
	return out, err
}

// queued records whether a call's transaction queued deliveries.
type queued struct{ any atomic.Bool }

type queuedKey struct{}

// addDeliveries queues ds in the call's transaction, and notes that the
// call queued deliveries (see Config.Queued).
func (s *Service) addDeliveries(ctx context.Context, ds []*domain.Delivery) error {
	if err := s.store.AddDeliveries(ctx, ds); err != nil {
		return err
	}
	if q, ok := ctx.Value(queuedKey{}).(*queued); ok {
		q.any.Store(true)
	}
	return nil
}

func mutateTx[I any, O any](s *Service, ctx context.Context, op string, token *string, in *I, run func(ctx context.Context) (*O, error)) (*O, error) {
	var out *O
	if token == nil || *token == "" {
		err := s.store.Tx(ctx, func(ctx context.Context) error {
			var err error
			if out, err = run(ctx); err != nil {
				return err
			}
			return s.announceCall(ctx, op, in, out)
		})
		return out, err
	}
	account := caller(ctx).Account
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte(op+"\n"), body...))
	now := s.clock()
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		// The token is claimed first: of two requests with one token, on
		// one node or two, only the one that claims it runs.
		rec := &domain.IdempotencyRecord{Account: account, Operation: op, Token: *token, RequestHash: sum[:], CreatedTime: now}
		held, err := s.store.ClaimIdempotencyRecord(ctx, rec, now.Add(-IdempotencyWindow).Add(time.Millisecond))
		if err != nil {
			return err
		}
		if held != nil {
			if !bytes.Equal(held.RequestHash, sum[:]) {
				return tokenReused(op, *token)
			}
			out = new(O)
			if err := json.Unmarshal(held.Result, out); err != nil {
				return err
			}
			// A repeat is a call too, as CloudTrail records every one.
			return s.announceCall(ctx, op, in, out)
		}
		if out, err = run(ctx); err != nil {
			return err
		}
		if rec.Result, err = json.Marshal(out); err != nil {
			return err
		}
		if err := s.store.PutIdempotencyRecord(ctx, rec); err != nil {
			return err
		}
		return s.announceCall(ctx, op, in, out)
	})
	return out, err
}

// tokenReused is the answer to a clientToken repeated with other
// parameters: ConflictException where the operation models it, else
// ValidationException.
func tokenReused(op, token string) error {
	msg := "The clientToken " + token + " was already used for a " + op + " request with different parameters; use a new clientToken for a new request."
	if o, ok := model.OperationByName(op); ok && slices.Contains(o.Errors, "ConflictException") {
		return &domain.ConflictError{Message: msg}
	}
	return &domain.ValidationError{Message: msg}
}

// PurgeIdempotencyRecords forgets clientTokens older than IdempotencyWindow.
func (s *Service) PurgeIdempotencyRecords(ctx context.Context) (int64, error) {
	return s.store.PurgeIdempotencyRecords(ctx, s.clock().Add(-IdempotencyWindow))
}
