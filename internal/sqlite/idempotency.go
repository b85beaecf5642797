package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// GetIdempotencyRecord implements domain.Store.
func (s *Store) GetIdempotencyRecord(ctx context.Context, account, operation, token string) (*domain.IdempotencyRecord, error) {
	defer startRead(ctx).stop()
	r := &domain.IdempotencyRecord{Account: account, Operation: operation, Token: token}
	var created int64
	err := s.q(ctx).QueryRowContext(ctx, `SELECT request_hash, result, created_at FROM idempotency_records
		WHERE account = ? AND operation = ? AND token = ?`, account, operation, token).Scan(&r.RequestHash, &r.Result, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.CreatedTime = time.UnixMilli(created).UTC()
	return r, nil
}

// ClaimIdempotencyRecord implements domain.Store. The writer runs one
// transaction at a time: the record read is still the one when r is stored.
func (s *Store) ClaimIdempotencyRecord(ctx context.Context, r *domain.IdempotencyRecord, notBefore time.Time) (*domain.IdempotencyRecord, error) {
	var held *domain.IdempotencyRecord
	err := s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		rec, err := s.GetIdempotencyRecord(ctx, r.Account, r.Operation, r.Token)
		switch {
		case err == nil && !rec.CreatedTime.Before(notBefore):
			held = rec
			return nil
		case err != nil && !errors.Is(err, domain.ErrNotFound):
			return err
		}
		claim := *r
		if claim.Result == nil {
			claim.Result = []byte{} // pending: the same transaction puts the result
		}
		return s.PutIdempotencyRecord(ctx, &claim)
	})
	return held, err
}

// PutIdempotencyRecord implements domain.Store.
func (s *Store) PutIdempotencyRecord(ctx context.Context, r *domain.IdempotencyRecord) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_records (account, operation, token, request_hash, result, created_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (account, operation, token) DO UPDATE SET request_hash = excluded.request_hash, result = excluded.result, created_at = excluded.created_at`,
			r.Account, r.Operation, r.Token, r.RequestHash, r.Result, ms(r.CreatedTime))
		return err
	})
}

// PurgeIdempotencyRecords implements domain.Store.
func (s *Store) PurgeIdempotencyRecords(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_records WHERE created_at < ?`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
