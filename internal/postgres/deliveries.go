package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/incidentd/incidentd/internal/domain"
)

// NextChangeSeq implements domain.Store: one UPDATE of the record's
// counter, which locks the record's row until the transaction ends, so
// that transactions numbering changes of one record take their numbers,
// and commit, one after another.
func (s *Store) NextChangeSeq(ctx context.Context, account, arn string) (int64, error) {
	var seq int64
	err := s.write(ctx, func(q querier) error {
		err := q.QueryRow(ctx, `UPDATE incident_records SET next_change_seq = next_change_seq + 1
			WHERE account = $1 AND arn = $2 RETURNING next_change_seq`, account, arn).Scan(&seq)
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.ErrNotFound
		}
		return err
	})
	return seq, err
}

// NextSeq implements domain.Store: one upsert, which locks the counter's
// row until the transaction ends.
func (s *Store) NextSeq(ctx context.Context, account, name string) (int64, error) {
	var seq int64
	err := s.write(ctx, func(q querier) error {
		return q.QueryRow(ctx, `INSERT INTO sequences (account, name, value) VALUES ($1, $2, 1)
			ON CONFLICT (account, name) DO UPDATE SET value = sequences.value + 1 RETURNING value`, account, name).Scan(&seq)
	})
	return seq, err
}

// AddDeliveries implements domain.Store: one INSERT of them all, pending
// and due at their CreatedTime, whatever their state members hold.
// Deferred inside a transaction (txn.go): its keys, (id, topic), are
// generated, and a duplicate (ErrConflict) fails the transaction.
func (s *Store) AddDeliveries(ctx context.Context, ds []*domain.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	n := len(ds)
	var (
		ids, topics, accounts, arns, types, attrs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		seqs, created                             = make([]int64, n), make([]int64, n)
		messages                                  = make([][]byte, n)
	)
	for i, d := range ds {
		a, err := encodeAttributes(d.Attributes)
		if err != nil {
			return err
		}
		ids[i], topics[i], accounts[i], arns[i], types[i], attrs[i] = d.ID, d.Topic, d.Account, d.IncidentARN, d.DetailType, a
		seqs[i], created[i] = d.Seq, ms(d.CreatedTime)
		// A deferred write's arguments are its own (txn.go): later copies
		// byte slices, not slices of them.
		messages[i] = bytes.Clone(nonNil(d.Message))
	}
	return s.write(ctx, func(q querier) error {
		return later(ctx, q, mapError, `INSERT INTO deliveries (id, topic, account, incident_arn, seq, detail_type, message, attributes,
				created_at, state, attempts, next_attempt)
			SELECT d.id, d.topic, d.account, d.incident_arn, d.seq, d.detail_type, d.message, d.attributes, d.created_at, 'pending', 0, d.created_at
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bytea[], $8::text[], $9::bigint[])
				AS d (id, topic, account, incident_arn, seq, detail_type, message, attributes, created_at)`,
			ids, topics, accounts, arns, seqs, types, messages, attrs, created)
	})
}

// encodeAttributes returns the JSON of a delivery's attributes: an object,
// {} for none.
func encodeAttributes(a map[string]string) (string, error) {
	if len(a) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(a)
	return string(b), err
}

// deliveryColumns are the columns a delivery is read from, in scanDelivery's
// order.
const deliveryColumns = `id, topic, account, incident_arn, seq, detail_type, message, attributes, created_at,
	state, attempts, next_attempt, last_error, delivered_at`

// scanDelivery reads a delivery from a row of deliveryColumns.
func scanDelivery(row pgx.CollectableRow) (*domain.Delivery, error) {
	var (
		d             domain.Delivery
		attrs         string
		created, next int64
		delivered     *int64
	)
	if err := row.Scan(&d.ID, &d.Topic, &d.Account, &d.IncidentARN, &d.Seq, &d.DetailType, &d.Message, &attrs, &created,
		&d.State, &d.Attempts, &next, &d.LastError, &delivered); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(attrs), &d.Attributes); err != nil {
		return nil, fmt.Errorf("decode the stored attributes of delivery %s to %s: %w", d.ID, d.Topic, err)
	}
	if len(d.Attributes) == 0 {
		d.Attributes = nil
	}
	d.CreatedTime, d.NextAttempt = time.UnixMilli(created).UTC(), time.UnixMilli(next).UTC()
	if delivered != nil {
		t := time.UnixMilli(*delivered).UTC()
		d.DeliveredTime = &t
	}
	return &d, nil
}

// claimDeliveries is ClaimDeliveries' statement ($1 now, $2 the holder, $3
// until, $4 the limit). It walks the queues (incident and topic) that have
// pending deliveries through deliveries_queue, one index probe for each
// queue whatever its length, and takes the head of each: its pending
// delivery of the lowest seq. A topic down for hours, with a long queue
// waiting behind its head, costs a claim no more than a queue of one. The
// candidates are the heads due at now, oldest due first, whose claim (if
// any) is the holder's or has ended by now. FOR UPDATE SKIP LOCKED locks
// them: a head another claim (of another node, say) has locked and not yet
// committed is passed over, not waited for, and one whose row changed
// since the statement's snapshot (a claim, a delivery committed meanwhile)
// is checked again, as it is now, once locked. The UPDATE then claims the
// rows locked, and the result comes in Seq order.
//
// The head-of-queue rule holds across claimers: the heads are those of
// the statement's snapshot, so a head another claim has locked is passed
// over and nothing else of its queue is taken; a head delivered or parked
// since the snapshot fails the check once locked, and its queue gives
// nothing until a later claim sees the next delivery as its head.
const claimDeliveries = `WITH RECURSIVE
	queues AS (
		(SELECT account, incident_arn, topic FROM deliveries WHERE state = 'pending' ORDER BY account, incident_arn, topic LIMIT 1)
		UNION ALL
		SELECT n.account, n.incident_arn, n.topic FROM queues AS q, LATERAL (
			SELECT account, incident_arn, topic FROM deliveries
			WHERE state = 'pending' AND (account, incident_arn, topic) > (q.account, q.incident_arn, q.topic)
			ORDER BY account, incident_arn, topic LIMIT 1) AS n
	), heads AS (
		SELECT h.* FROM queues AS q, LATERAL (
			SELECT id, topic, seq, next_attempt, claimed_until, claimed_by FROM deliveries
			WHERE state = 'pending' AND account = q.account AND incident_arn = q.incident_arn AND topic = q.topic
			ORDER BY seq LIMIT 1) AS h
	), due AS (
		SELECT id, topic FROM heads
		WHERE next_attempt <= $1 AND (claimed_until IS NULL OR claimed_until <= $1 OR claimed_by = $2)
		ORDER BY next_attempt, seq, id, topic
		LIMIT $4
	), candidates AS (
		SELECT l.id, l.topic FROM due, LATERAL (
			SELECT d.id, d.topic FROM deliveries AS d
			WHERE d.id = due.id AND d.topic = due.topic AND d.state = 'pending' AND d.next_attempt <= $1
				AND (d.claimed_until IS NULL OR d.claimed_until <= $1 OR d.claimed_by = $2)
			FOR UPDATE SKIP LOCKED) AS l
	), claimed AS (
		UPDATE deliveries AS d SET claimed_by = $2, claimed_until = $3
		FROM candidates AS c WHERE d.id = c.id AND d.topic = c.topic
		RETURNING d.*
	)
	SELECT ` + deliveryColumns + ` FROM claimed ORDER BY seq, created_at, id, topic`

// ClaimDeliveries implements domain.Store: one statement (claimDeliveries),
// an autocommit one outside a transaction, whose claims other nodes see
// once it has committed. Inside a transaction, the rows it claims stay
// locked until the transaction ends.
func (s *Store) ClaimDeliveries(ctx context.Context, holder string, now, until time.Time, limit int) ([]*domain.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var ds []*domain.Delivery
	err := s.write(ctx, func(q querier) error {
		rows, err := q.Query(ctx, claimDeliveries, ms(now), holder, ms(until), limit)
		if err != nil {
			return err
		}
		ds, err = pgx.CollectRows(rows, scanDelivery)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// DeliveryDelivered implements domain.Store; ErrNotFound when there is no
// such delivery.
func (s *Store) DeliveryDelivered(ctx context.Context, id, topic string, t time.Time) error {
	return s.execOne(ctx, `UPDATE deliveries SET state = 'delivered', delivered_at = $1, claimed_by = '', claimed_until = NULL
		WHERE id = $2 AND topic = $3 AND state = 'pending'`, ms(t), id, topic)
}

// DeliveryFailed implements domain.Store; ErrNotFound when there is no such
// delivery.
func (s *Store) DeliveryFailed(ctx context.Context, id, topic, lastError string, next time.Time, park bool) error {
	state := domain.DeliveryPending
	if park {
		state = domain.DeliveryParked
	}
	return s.execOne(ctx, `UPDATE deliveries SET attempts = attempts + 1, last_error = $1, next_attempt = $2, state = $3,
		claimed_by = '', claimed_until = NULL WHERE id = $4 AND topic = $5 AND state = 'pending'`, lastError, ms(next), state, id, topic)
}

// RetryDelivery implements domain.Store.
func (s *Store) RetryDelivery(ctx context.Context, id, topic string, now time.Time) error {
	return s.execOne(ctx, `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt = $1, claimed_by = '', claimed_until = NULL
		WHERE id = $2 AND topic = $3 AND state = 'parked'`, ms(now), id, topic)
}

// ListDeliveries implements domain.Store.
func (s *Store) ListDeliveries(ctx context.Context, f domain.DeliveryFilter, limit int) ([]*domain.Delivery, error) {
	defer s.startRead(ctx).stop()
	var p params
	where := []string{"true"}
	if f.State != "" {
		where = append(where, "state = "+p.add(f.State))
	}
	if f.IncidentARN != "" {
		where = append(where, "incident_arn = "+p.add(f.IncidentARN))
	}
	if f.ID != "" {
		where = append(where, "id = "+p.add(f.ID))
	}
	if f.Topic != "" {
		where = append(where, "topic = "+p.add(f.Topic))
	}
	rows, err := s.q(ctx).Query(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC, topic DESC LIMIT `+p.add(max(limit, 0)), p...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanDelivery)
}

// PurgeDeliveries implements domain.Store.
func (s *Store) PurgeDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM deliveries WHERE state = 'delivered' AND delivered_at < $1`, ms(before))
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// DeliveryBacklog implements domain.Store.
func (s *Store) DeliveryBacklog(ctx context.Context) (int64, time.Time, error) {
	defer s.startRead(ctx).stop()
	var (
		n      int64
		oldest *int64
	)
	if err := s.q(ctx).QueryRow(ctx, `SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE state = 'pending'`).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, err
	}
	if oldest == nil {
		return n, time.Time{}, nil
	}
	return n, time.UnixMilli(*oldest).UTC(), nil
}
