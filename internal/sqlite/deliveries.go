package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// queueOf names the queue a delivery waits in: a hash of its account and
// incident in the high 48 bits and of its topic in the low 16, so that the
// queues of one incident sit side by side in the index (a change to two
// topics writes one of its pages, not two).
func queueOf(d *domain.Delivery) int64 {
	hash := func(parts ...string) uint64 {
		h := fnv.New64a()
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
		return h.Sum64()
	}
	return int64(hash(d.Account, d.IncidentARN)&^0xffff | hash(d.Topic)&0xffff)
}

// NextChangeSeq implements domain.Store.
func (s *Store) NextChangeSeq(ctx context.Context, account, arn string) (int64, error) {
	var seq int64
	err := s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		err := tx.QueryRowContext(ctx, `UPDATE incident_records SET next_change_seq = next_change_seq + 1
			WHERE account = ? AND arn = ? RETURNING next_change_seq`, account, arn).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.ErrNotFound
		}
		return err
	})
	return seq, err
}

// NextSeq implements domain.Store: one upsert, by the one writer.
func (s *Store) NextSeq(ctx context.Context, account, name string) (int64, error) {
	var seq int64
	err := s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO sequences (account, name, value) VALUES (?, ?, 1)
			ON CONFLICT (account, name) DO UPDATE SET value = value + 1 RETURNING value`, account, name).Scan(&seq)
	})
	return seq, err
}

// AddDeliveries implements domain.Store: one INSERT of them all, so that
// a duplicate undoes the statement alone and needs no savepoint.
func (s *Store) AddDeliveries(ctx context.Context, ds []*domain.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	args := make([]any, 0, 11*len(ds))
	for _, d := range ds {
		attrs := []byte("{}")
		if d.Attributes != nil {
			var err error
			if attrs, err = json.Marshal(d.Attributes); err != nil {
				return err
			}
		}
		args = append(args, d.ID, d.Topic, d.Account, d.IncidentARN, d.Seq, d.DetailType, d.Message, string(attrs),
			ms(d.CreatedTime), ms(d.CreatedTime), queueOf(d))
	}
	query := insertDeliveries
	if len(ds) > 1 {
		query += strings.Repeat(", "+deliveryValues, len(ds)-1)
	}
	return s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		if isUniqueViolation(err) {
			return domain.ErrConflict
		}
		return err
	})
}

// insertDeliveries inserts one delivery; each further one adds
// deliveryValues.
const (
	deliveryValues   = `(?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`
	insertDeliveries = `INSERT INTO deliveries (id, topic, account, incident_arn, seq, detail_type, message, attributes,
		created_at, state, next_attempt, queue) VALUES ` + deliveryValues
)

// deliveryColumns are the columns a delivery is read from, in scanDelivery's order.
const deliveryColumns = `id, topic, account, incident_arn, seq, detail_type, message, attributes, created_at,
	state, attempts, next_attempt, last_error, delivered_at`

func scanDelivery(scan func(dest ...any) error) (*domain.Delivery, error) {
	var (
		d             domain.Delivery
		attrs         string
		created, next int64
		delivered     sql.NullInt64
	)
	if err := scan(&d.ID, &d.Topic, &d.Account, &d.IncidentARN, &d.Seq, &d.DetailType, &d.Message, &attrs, &created,
		&d.State, &d.Attempts, &next, &d.LastError, &delivered); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(attrs), &d.Attributes); err != nil {
		return nil, fmt.Errorf("decode stored attributes: %w", err)
	}
	if len(d.Attributes) == 0 {
		d.Attributes = nil
	}
	d.CreatedTime, d.NextAttempt = time.UnixMilli(created).UTC(), time.UnixMilli(next).UTC()
	if delivered.Valid {
		t := time.UnixMilli(delivered.Int64).UTC()
		d.DeliveredTime = &t
	}
	return &d, nil
}

// claimDeliveries claims the deliveries it returns (claimed_by ?,
// claimed_until ?): the head of each queue (its pending delivery of the
// lowest seq), when it is due (?) and free (? the holder), up to a limit
// (?). It walks the queues through the index of pending deliveries, two
// seeks for each queue that has any, whatever their length: a topic that
// is down for hours, with a long queue of deliveries waiting behind its
// head, costs a claim no more than one that holds a single delivery.
const claimDeliveries = `WITH RECURSIVE
	queues(queue) AS (
		SELECT (SELECT queue FROM deliveries WHERE state = 'pending' ORDER BY queue LIMIT 1)
		UNION ALL
		SELECT (SELECT queue FROM deliveries WHERE state = 'pending' AND queue > queues.queue ORDER BY queue LIMIT 1)
		FROM queues WHERE queues.queue IS NOT NULL),
	heads(head) AS (
		SELECT (SELECT rowid FROM deliveries WHERE state = 'pending' AND queue = queues.queue ORDER BY seq, rowid LIMIT 1)
		FROM queues WHERE queues.queue IS NOT NULL),
	chosen(head) AS (
		SELECT heads.head FROM heads JOIN deliveries ON deliveries.rowid = heads.head
		WHERE next_attempt <= ? AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?)
		ORDER BY seq, created_at, id, topic LIMIT ?)
	UPDATE deliveries SET claimed_by = ?, claimed_until = ? WHERE rowid IN (SELECT head FROM chosen)
	RETURNING ` + deliveryColumns

// ClaimDeliveries implements domain.Store: one statement
// (claimDeliveries). It is a write transaction, run by the writer and
// answered after its group's fsync, like every write: what it returns was
// committed durably, its own claims and the deliveries it read alike (a
// delivery committed in the same group is durable with it).
func (s *Store) ClaimDeliveries(ctx context.Context, holder string, now, until time.Time, limit int) ([]*domain.Delivery, error) {
	var out []*domain.Delivery
	err := s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		rows, err := tx.QueryContext(ctx, claimDeliveries, ms(now), ms(now), holder, limit, holder, ms(until))
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanDelivery)
		return err
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives the rows in no order.
	slices.SortFunc(out, func(a, b *domain.Delivery) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), a.CreatedTime.Compare(b.CreatedTime), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Topic, b.Topic))
	})
	return out, nil
}

// DeliveryDelivered implements domain.Store.
func (s *Store) DeliveryDelivered(ctx context.Context, id, topic string, t time.Time) error {
	return s.execOne(ctx, `UPDATE deliveries SET state = 'delivered', delivered_at = ?, claimed_by = '', claimed_until = NULL
		WHERE id = ? AND topic = ? AND state = 'pending'`, ms(t), id, topic)
}

// DeliveryFailed implements domain.Store.
func (s *Store) DeliveryFailed(ctx context.Context, id, topic, lastError string, next time.Time, park bool) error {
	state := domain.DeliveryPending
	if park {
		state = domain.DeliveryParked
	}
	return s.execOne(ctx, `UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt = ?, state = ?,
		claimed_by = '', claimed_until = NULL WHERE id = ? AND topic = ? AND state = 'pending'`, lastError, ms(next), state, id, topic)
}

// RetryDelivery implements domain.Store.
func (s *Store) RetryDelivery(ctx context.Context, id, topic string, now time.Time) error {
	return s.execOne(ctx, `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt = ?, claimed_by = '', claimed_until = NULL
		WHERE id = ? AND topic = ? AND state = 'parked'`, ms(now), id, topic)
}

// ListDeliveries implements domain.Store.
func (s *Store) ListDeliveries(ctx context.Context, f domain.DeliveryFilter, limit int) ([]*domain.Delivery, error) {
	defer startRead(ctx).stop()
	where, args := []string{"1 = 1"}, []any{}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	if f.IncidentARN != "" {
		where, args = append(where, "incident_arn = ?"), append(args, f.IncidentARN)
	}
	if f.ID != "" {
		where, args = append(where, "id = ?"), append(args, f.ID)
	}
	if f.Topic != "" {
		where, args = append(where, "topic = ?"), append(args, f.Topic)
	}
	rows, err := s.q(ctx).QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC, topic DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanDelivery)
}

// PurgeDeliveries implements domain.Store.
func (s *Store) PurgeDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.tx1(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE state = 'delivered' AND delivered_at < ?`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// DeliveryBacklog implements domain.Store.
func (s *Store) DeliveryBacklog(ctx context.Context) (int64, time.Time, error) {
	defer startRead(ctx).stop()
	var (
		n      int64
		oldest sql.NullInt64
	)
	if err := s.q(ctx).QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE state = 'pending'`).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, err
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, time.UnixMilli(oldest.Int64).UTC(), nil
}
