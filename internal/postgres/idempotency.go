package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/incidentd/incidentd/internal/domain"
)

// GetIdempotencyRecord implements domain.Store.
func (s *Store) GetIdempotencyRecord(ctx context.Context, account, operation, token string) (*domain.IdempotencyRecord, error) {
	defer s.startRead(ctx).stop()
	return getIdempotencyRecord(ctx, s.q(ctx), account, operation, token)
}

func getIdempotencyRecord(ctx context.Context, q querier, account, operation, token string) (*domain.IdempotencyRecord, error) {
	r := &domain.IdempotencyRecord{Account: account, Operation: operation, Token: token}
	var created int64
	err := q.QueryRow(ctx, `SELECT request_hash, result, created_at FROM idempotency_records
		WHERE account = $1 AND operation = $2 AND token = $3`, account, operation, token).Scan(&r.RequestHash, &r.Result, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.CreatedTime = time.UnixMilli(created).UTC()
	return r, nil
}

// ClaimIdempotencyRecord implements domain.Store. One statement claims the
// token: it inserts r, or replaces a record created before notBefore. When
// another transaction has inserted or changed the token's row and not yet
// ended, the statement waits for it. Either way the row stays locked until
// the transaction ends, so a claim that stored nothing reads the record it
// lost to (committed, since it waited) in the next statement.
func (s *Store) ClaimIdempotencyRecord(ctx context.Context, r *domain.IdempotencyRecord, notBefore time.Time) (*domain.IdempotencyRecord, error) {
	// An empty result is pending: the same transaction puts the result.
	hash, result := nonNil(r.RequestHash), nonNil(r.Result)
	var held *domain.IdempotencyRecord
	err := s.tx1(ctx, func(ctx context.Context, q querier) error {
		held = nil
		// The row the claim lost to may be purged before it is read: then
		// the claim is tried again.
		for range 3 {
			var claimed bool
			err := q.QueryRow(ctx, `INSERT INTO idempotency_records (account, operation, token, request_hash, result, created_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (account, operation, token) DO UPDATE
					SET request_hash = excluded.request_hash, result = excluded.result, created_at = excluded.created_at
					WHERE idempotency_records.created_at < $7
				RETURNING true`, r.Account, r.Operation, r.Token, hash, result, ms(r.CreatedTime), ms(notBefore)).Scan(&claimed)
			if err == nil {
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			rec, err := getIdempotencyRecord(ctx, q, r.Account, r.Operation, r.Token)
			if err == nil {
				held = rec
				return nil
			}
			if !errors.Is(err, domain.ErrNotFound) {
				return err
			}
		}
		return fmt.Errorf("postgres: could not claim clientToken %q", r.Token)
	})
	return held, err
}

// PutIdempotencyRecord implements domain.Store: an upsert, deferred inside
// a transaction (txn.go).
func (s *Store) PutIdempotencyRecord(ctx context.Context, r *domain.IdempotencyRecord) error {
	hash, result := nonNil(r.RequestHash), nonNil(r.Result)
	return s.write(ctx, func(q querier) error {
		return later(ctx, q, nil, `INSERT INTO idempotency_records (account, operation, token, request_hash, result, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (account, operation, token) DO UPDATE SET request_hash = excluded.request_hash, result = excluded.result, created_at = excluded.created_at`,
			r.Account, r.Operation, r.Token, hash, result, ms(r.CreatedTime))
	})
}

// PurgeIdempotencyRecords implements domain.Store.
func (s *Store) PurgeIdempotencyRecords(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM idempotency_records WHERE created_at < $1`, ms(before))
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// nonNil returns b, or an empty slice for nil: pgx sends nil as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
