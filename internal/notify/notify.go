// Package notify delivers the notifications of incident changes: a
// dispatcher claims the deliveries the service wrote in the transaction of
// each change and publishes them to SNS, retrying with backoff, in order
// per incident and topic, parking a delivery after too many attempts.
package notify

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
)

// Publisher publishes one message to one topic.
type Publisher interface {
	// Publish sends message, with its SNS message attributes, to the SNS
	// topic topic; an error says it was not accepted.
	Publish(ctx context.Context, topic string, message []byte, attributes map[string]string) error
}

// Config tunes a Dispatcher; zero values take the defaults.
type Config struct {
	// MaxAttempts is how many attempts a delivery gets before it is parked
	// (DefaultMaxAttempts).
	MaxAttempts int
	// Concurrency bounds the publishes in flight (DefaultConcurrency).
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
	DefaultConcurrency = 16
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
}

// Observer is told of each delivery attempt, for metrics.
type Observer interface {
	// Attempted reports an attempt to publish to a topic: its outcome
	// ("sent", "retried" or "parked") and how long the publish took.
	Attempted(outcome string, took time.Duration)
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

// purgeInterval is how often delivered deliveries past their retention
// are deleted.
const purgeInterval = time.Hour

// Run claims and publishes due deliveries until ctx ends. A store error
// is logged and the dispatcher tries again after a poll interval.
func (d *Dispatcher) Run(ctx context.Context) {
	c := d.config()
	lastPurge := time.Time{}
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
		// A claim lasts as long as its publishes may take, and then some.
		batch, err := d.Store.ClaimDeliveries(ctx, d.Holder, now, now.Add(2*c.Timeout+time.Minute), c.Concurrency)
		if err != nil {
			if ctx.Err() == nil {
				d.Log.Warn("claiming notifications to deliver", "err", err)
			}
			sleep(ctx, c.Poll)
			continue
		}
		if len(batch) == 0 {
			sleep(ctx, c.Poll)
			continue
		}
		var wg sync.WaitGroup
		for _, del := range batch {
			wg.Go(func() { d.deliver(ctx, c, del) })
		}
		wg.Wait()
	}
}

// deliver makes one attempt at del and records its outcome.
func (d *Dispatcher) deliver(ctx context.Context, c Config, del *domain.Delivery) {
	pctx, cancel := context.WithTimeout(ctx, c.Timeout)
	start := time.Now()
	err := d.Publisher.Publish(pctx, del.Topic, del.Message, del.Attributes)
	cancel()
	took := time.Since(start)
	// The outcome is recorded even when ctx ended meanwhile: a publish
	// that SNS accepted is not to be sent again.
	rctx := context.WithoutCancel(ctx)
	if err == nil {
		if err := d.Store.DeliveryDelivered(rctx, del.ID, del.Topic, d.now()); err != nil {
			d.Log.Warn("recording a delivered notification", "id", del.ID, "topic", del.Topic, "err", err)
		}
		d.observe("sent", took)
		return
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return // shutting down: the claim expires and another attempt follows
	}
	attempt := del.Attempts + 1
	park := attempt >= c.MaxAttempts
	next := d.now().Add(backoff(c, attempt))
	if err := d.Store.DeliveryFailed(rctx, del.ID, del.Topic, err.Error(), next, park); err != nil {
		d.Log.Warn("recording a failed notification", "id", del.ID, "topic", del.Topic, "err", err)
	}
	if park {
		d.Log.Warn("notification parked after its last attempt; incidentd notifications retry re-drives it", "id", del.ID, "topic", del.Topic, "incident", del.IncidentARN,
			"attempts", attempt, "err", err)
		d.observe("parked", took)
		return
	}
	d.Log.Warn("notification not delivered; will retry", "id", del.ID, "topic", del.Topic, "incident", del.IncidentARN,
		"attempt", attempt, "next", next, "err", err)
	d.observe("retried", took)
}

func (d *Dispatcher) observe(outcome string, took time.Duration) {
	if d.Observer != nil {
		d.Observer.Attempted(outcome, took)
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

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
