// Package notify delivers the notifications of incident changes: a
// dispatcher claims the deliveries the service wrote in the transaction of
// each change and publishes them to SNS, retrying with backoff, in order
// per incident and topic, parking a delivery after too many attempts.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// Publisher publishes messages to a destination.
type Publisher interface {
	// Publish sends messages (at most MaxBatch) to destination (their
	// deliveries' Topic), in one call where the destination takes several,
	// and returns one error for each message: nil when it was accepted.
	Publish(ctx context.Context, destination string, messages []Message) []error
}

// Message is what a delivery publishes: its message and its message
// attributes.
type Message struct {
	Body       []byte
	Attributes map[string]string
}

// MaxBatch is how many messages one publish sends at most: SNS's
// PublishBatch and EventBridge's PutEvents take 10.
const MaxBatch = 10

// Config tunes a Dispatcher; zero values take the defaults.
type Config struct {
	// MaxAttempts is how many attempts a delivery gets before it is parked
	// (DefaultMaxAttempts).
	MaxAttempts int
	// Concurrency bounds the deliveries in flight (DefaultConcurrency):
	// those claimed and being published, up to MaxBatch to a destination
	// in one call.
	Concurrency int
	// Poll is how often the store is asked for due deliveries when the
	// last ask found none (DefaultPoll).
	Poll time.Duration
	// Backoff is the wait after a first failed attempt; it doubles with
	// each attempt up to MaxBackoff, with jitter (DefaultBackoff,
	// DefaultMaxBackoff).
	Backoff, MaxBackoff time.Duration
	// Retention is how long delivered deliveries are kept (DefaultRetention).
	Retention time.Duration
	// Timeout bounds one publish (DefaultTimeout).
	Timeout time.Duration
}

// The defaults of Config.
const (
	DefaultMaxAttempts = 10
	DefaultConcurrency = 32
	DefaultPoll        = 50 * time.Millisecond
	DefaultBackoff     = time.Second
	DefaultMaxBackoff  = 5 * time.Minute
	DefaultRetention   = 7 * 24 * time.Hour
	DefaultTimeout     = 10 * time.Second
)

// Dispatcher publishes due deliveries until its context ends.
type Dispatcher struct {
	Store     domain.Store
	Publisher Publisher
	// Holder names this process among those on one database (claims are
	// taken in its name).
	Holder string
	Log    *slog.Logger
	Config Config
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Observer is told what happens to deliveries (may be nil).
	Observer Observer
	// Wake, when set, tells of deliveries just committed: the dispatcher
	// claims at once instead of at its next poll.
	Wake <-chan struct{}
}

// Observer is told of each delivery attempt, for metrics.
type Observer interface {
	// Attempted reports an attempt to publish to a destination of a kind
	// (Kind: "sns", "eventbridge"): its outcome ("sent", "retried" or
	// "parked") and how long the publish took.
	Attempted(destination, outcome string, took time.Duration)
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dispatcher) config() Config {
	c := d.Config
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// claimMargin is how long past its publish's timeout a claim lasts, for
// the outcome to be recorded.
const claimMargin = 10 * time.Second

// purgeInterval is how often delivered deliveries past their retention
// are deleted.
const purgeInterval = time.Hour

// Run claims and publishes due deliveries until ctx ends. A store error
// is logged and the dispatcher tries again after a poll interval.
//
// Up to Concurrency publishes are in flight at once; as they finish, their
// outcomes are recorded together, in one transaction, and as many new
// deliveries are claimed: a slow publish holds up no other. Each claim
// takes a holder name of its own (Holder and a number), so that a claim
// never returns what an earlier one of this process holds.
func (d *Dispatcher) Run(ctx context.Context) {
	c := d.config()
	done := make(chan []outcome, c.Concurrency)
	inFlight, claims := 0, 0
	var lastPurge time.Time
	for ctx.Err() == nil {
		now := d.now()
		if now.Sub(lastPurge) >= purgeInterval {
			if n, err := d.Store.PurgeDeliveries(ctx, now.Add(-c.Retention)); err != nil {
				d.Log.Warn("purging delivered notifications", "err", err)
			} else {
				lastPurge = now
				if n > 0 {
					d.Log.Info("purged delivered notifications", "deliveries", n)
				}
			}
		}
		var batch []*domain.Delivery
		if free := c.Concurrency - inFlight; free > 0 {
			claims++
			holder := fmt.Sprintf("%s#%d", d.Holder, claims)
			// A claim lasts as long as its publish may take, and the time to
			// record its outcome: a process that dies holding claims (kill
			// -9) holds back their queues for no longer than that.
			// The clock is read again: the purge above may have taken a while.
			now := d.now()
			var err error
			batch, err = d.Store.ClaimDeliveries(ctx, holder, now, now.Add(c.Timeout+claimMargin), free)
			if err != nil && ctx.Err() == nil {
				d.Log.Warn("claiming notifications to deliver", "err", err)
			}
		}
		for _, calls := range batches(batch) {
			inFlight += len(calls)
			go func() { done <- d.publish(ctx, c, calls) }()
		}
		if len(batch) > 0 && inFlight < c.Concurrency {
			continue // more may be due
		}
		// Wait for a publish to finish, or for the next poll, or, with none
		// in flight, for new deliveries. (While publishes are in flight,
		// new deliveries wait for one of them to finish, and go out
		// together: an SNS that is slow to answer gets fewer, larger
		// batches.)
		var finished []outcome
		t := time.NewTimer(c.Poll)
		wake := d.Wake
		if inFlight > 0 {
			wake = nil
		}
		select {
		case os := <-done:
			finished = append(finished, os...)
		case <-t.C:
		case <-wake:
		case <-ctx.Done():
		}
		t.Stop()
		for more := true; more; {
			select {
			case os := <-done:
				finished = append(finished, os...)
			default:
				more = false
			}
		}
		inFlight -= len(finished)
		d.record(ctx, c, finished)
	}
	// Shutting down: what was published is recorded, not sent again.
	var finished []outcome
	for inFlight > 0 {
		os := <-done
		finished = append(finished, os...)
		inFlight -= len(os)
	}
	d.record(ctx, c, finished)
}

// outcome is the result of one attempt at a delivery.
type outcome struct {
	d    *domain.Delivery
	err  error
	took time.Duration
}

// batches groups claimed deliveries into publishes: those to one
// destination, in the order claimed, at most MaxBatch in each and at most
// MaxBatchBytes of messages and attributes. (A claim holds one delivery of
// each queue: no publish sends two deliveries of one queue, whose order it
// would not keep.)
func batches(ds []*domain.Delivery) [][]*domain.Delivery {
	var out [][]*domain.Delivery
	type open struct{ batch, bytes int }
	last := map[string]open{} // destination: its last batch in out
	for _, del := range ds {
		size := len(del.Message)
		for k, v := range del.Attributes {
			size += len(k) + len(v)
		}
		o, ok := last[del.Topic]
		if !ok || len(out[o.batch]) == MaxBatch || o.bytes+size > MaxBatchBytes {
			o = open{batch: len(out)}
			out = append(out, nil)
		}
		out[o.batch] = append(out[o.batch], del)
		o.bytes += size
		last[del.Topic] = o
	}
	return out
}

// MaxBatchBytes bounds the messages of one publish of several: SNS's
// PublishBatch and EventBridge's PutEvents take 256 KiB in all, which
// leaves room for the rest of the request. (A message alone may be larger;
// it goes out alone.)
const MaxBatchBytes = 200 << 10

// publish makes one attempt at the deliveries ds, all to one destination.
func (d *Dispatcher) publish(ctx context.Context, c Config, ds []*domain.Delivery) []outcome {
	pctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	msgs := make([]Message, len(ds))
	for i, del := range ds {
		msgs[i] = Message{Body: del.Message, Attributes: del.Attributes}
	}
	start := time.Now()
	errs := d.Publisher.Publish(pctx, ds[0].Topic, msgs)
	took := time.Since(start)
	os := make([]outcome, len(ds))
	for i, del := range ds {
		os[i] = outcome{d: del, took: took}
		if i < len(errs) {
			os[i].err = errs[i]
		} else {
			os[i].err = errors.New("the publisher gave no outcome")
		}
	}
	return os
}

// record stores the outcomes of attempts, in one transaction.
func (d *Dispatcher) record(ctx context.Context, c Config, os []outcome) {
	if len(os) == 0 {
		return
	}
	// The outcomes are recorded even when ctx ended meanwhile: a publish
	// that SNS accepted is not to be sent again.
	rctx := context.WithoutCancel(ctx)
	// A publish cut short by the shutdown is no failure: its claim
	// expires and another attempt follows.
	stopping := ctx.Err() != nil
	now := d.now()
	type failure struct {
		next    time.Time
		attempt int
		park    bool
	}
	failures := make([]failure, len(os))
	err := d.Store.Tx(rctx, func(ctx context.Context) error {
		for i, o := range os {
			del := o.d
			if o.err == nil {
				// Gone (deleted by hand meanwhile) is nothing to record.
				if err := d.Store.DeliveryDelivered(ctx, del.ID, del.Topic, now); err != nil && !errors.Is(err, domain.ErrNotFound) {
					return err
				}
				continue
			}
			if stopping && errors.Is(o.err, context.Canceled) {
				continue
			}
			f := failure{attempt: del.Attempts + 1}
			f.park = f.attempt >= c.MaxAttempts
			f.next = now.Add(backoff(c, f.attempt))
			failures[i] = f
			if err := d.Store.DeliveryFailed(ctx, del.ID, del.Topic, o.err.Error(), f.next, f.park); err != nil && !errors.Is(err, domain.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		d.Log.Warn("recording the outcomes of notification attempts; their claims expire and they are tried again", "deliveries", len(os), "err", err)
		return
	}
	for i, o := range os {
		del, f := o.d, failures[i]
		switch {
		case o.err == nil:
			d.observe(del, "sent", o.took)
		case f.park:
			d.Log.Warn("notification parked after its last attempt; incidentd notifications retry re-drives it", "id", del.ID, "topic", del.Topic,
				"incident", del.IncidentARN, "attempts", f.attempt, "err", o.err)
			d.observe(del, "parked", o.took)
		case f.attempt > 0:
			d.Log.Warn("notification not delivered; will retry", "id", del.ID, "topic", del.Topic, "incident", del.IncidentARN,
				"attempt", f.attempt, "next", f.next, "err", o.err)
			d.observe(del, "retried", o.took)
		}
	}
}

func (d *Dispatcher) observe(del *domain.Delivery, outcome string, took time.Duration) {
	if d.Observer != nil {
		d.Observer.Attempted(Kind(del.Topic), outcome, took)
	}
}

// backoff is the wait after the attempt-th failed attempt: Backoff
// doubled for each attempt before, at most MaxBackoff, and a random part
// of up to half of it, so that retries of many deliveries spread out.
func backoff(c Config, attempt int) time.Duration {
	b := c.Backoff
	for i := 1; i < attempt && b < c.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, c.MaxBackoff)
	return b/2 + rand.N(b/2+1)
}
