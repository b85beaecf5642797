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
// A new token, the common case, is one statement: the insert.
func (s *Store) ClaimIdempotencyRecord(ctx context.Context, r *domain.IdempotencyRecord, notBefore time.Time) (*domain.IdempotencyRecord, error) {
	var held *domain.IdempotencyRecord
	result := r.Result
	if result == nil {
		result = []byte{} // pending: the same transaction puts the result
	}
	err := s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_records (account, operation, token, request_hash, result, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, operation, token) DO NOTHING`,
			r.Account, r.Operation, r.Token, r.RequestHash, result, ms(r.CreatedTime))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		rec, err := s.GetIdempotencyRecord(ctx, r.Account, r.Operation, r.Token)
		if err != nil {
			return err
		}
		if !rec.CreatedTime.Before(notBefore) {
			held = rec
			return nil
		}
		// Expired: the claim replaces it.
		_, err = tx.ExecContext(ctx, `UPDATE idempotency_records SET request_hash = ?, result = ?, created_at = ?
			WHERE account = ? AND operation = ? AND token = ?`,
			r.RequestHash, result, ms(r.CreatedTime), r.Account, r.Operation, r.Token)
		return err
	})
	return held, err
}

// PutIdempotencyRecord implements domain.Store. After a claim it changes
// the claimed row; otherwise it inserts one.
func (s *Store) PutIdempotencyRecord(ctx context.Context, r *domain.IdempotencyRecord) error {
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_records SET request_hash = ?, result = ?, created_at = ?
			WHERE account = ? AND operation = ? AND token = ?`,
			r.RequestHash, r.Result, ms(r.CreatedTime), r.Account, r.Operation, r.Token)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_records (account, operation, token, request_hash, result, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, r.Account, r.Operation, r.Token, r.RequestHash, r.Result, ms(r.CreatedTime))
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
