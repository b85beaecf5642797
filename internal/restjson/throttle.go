package restjson

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"

	"github.com/incidentd/incidentd/internal/domain"
)

// Quota codes of the ThrottlingException answers: stable names of the limit
// a request ran into.
const (
	QuotaReadRate  = "read-requests-per-second"
	QuotaWriteRate = "write-requests-per-second"
	QuotaInFlight  = "requests-in-flight"
	// QuotaConnectionsPerClient is the bound of connections open at once
	// from one client address (ServerLimits.MaxConnectionsPerClient).
	QuotaConnectionsPerClient = "connections-per-client"
)

// Limits bound the requests a Handler serves. Zero fields impose no limit.
type Limits struct {
	// ReadRate and WriteRate are each account's sustained rates, in requests
	// per second, of reads (Get*, List*, BatchGet*) and of every other
	// operation. An account may burst to burstSeconds' worth at once.
	ReadRate, WriteRate float64
	// MaxInFlight bounds the requests being served at once, over all
	// accounts; a request beyond it is refused at once, not queued.
	MaxInFlight int
	// MaxBodyBytesInFlight bounds the bytes of the request bodies being
	// read and served at once, each charged its Content-Length (the body
	// limit when it has none); a request beyond it is refused at once.
	MaxBodyBytesInFlight int64
}

// burstSeconds is how many seconds' worth of requests a bucket holds.
const burstSeconds = 2

// throttle applies Limits: a token bucket per account and kind of request,
// and a counting semaphore of requests in flight.
type throttle struct {
	limits   Limits
	inFlight chan struct{}       // nil: no bound
	bodies   *semaphore.Weighted // nil: no bound
	mu       sync.RWMutex
	buckets  map[bucketKey]*bucket
}

// bucket is an account's token bucket for one kind of request, and the
// schedule on which its throttled callers are told to come back: one per
// refill interval, so that their retries find tokens instead of meeting
// each other.
type bucket struct {
	tokens, retries *rate.Limiter
}

// maxRetryAfter bounds the wait a throttled caller is told of. The AWS SDKs
// wait at most 5 s beyond their own jittered backoff, whatever they are
// told, so longer hints still spread their retries over that backoff.
const maxRetryAfter = 10 * time.Second

// retryAfter is when a throttled caller should come back.
func (b *bucket) retryAfter() time.Duration {
	r := b.retries.Reserve()
	d := r.Delay()
	if d > maxRetryAfter {
		r.Cancel()
		d = maxRetryAfter
	}
	return max(d, time.Millisecond)
}

type bucketKey struct {
	account string
	write   bool
}

func newThrottle(l Limits) *throttle {
	t := &throttle{limits: l, buckets: map[bucketKey]*bucket{}}
	if l.MaxInFlight > 0 {
		t.inFlight = make(chan struct{}, l.MaxInFlight)
	}
	if l.MaxBodyBytesInFlight > 0 {
		t.bodies = semaphore.NewWeighted(l.MaxBodyBytesInFlight)
	}
	return t
}

// reserveBody takes n bytes of the bound of bodies in flight; the caller
// calls releaseBody(n) once it has answered. It returns errOverloaded when
// they are not free.
func (t *throttle) reserveBody(n int64) error {
	if t.bodies == nil || n <= 0 {
		return nil
	}
	if !t.bodies.TryAcquire(n) {
		return errOverloaded
	}
	return nil
}

// releaseBody gives back what a successful reserveBody(n) took.
func (t *throttle) releaseBody(n int64) {
	if t.bodies != nil && n > 0 {
		t.bodies.Release(n)
	}
}

var (
	errOverloaded = &domain.ThrottlingError{
		Message:   "The service is serving too many requests at once. Retry the request.",
		QuotaCode: QuotaInFlight,
	}
)

// enter takes a place among the requests in flight; the caller calls leave
// when it has answered. It returns errOverloaded when every place is taken.
func (t *throttle) enter() error {
	if t.inFlight == nil {
		return nil
	}
	select {
	case t.inFlight <- struct{}{}:
		return nil
	default:
		return errOverloaded
	}
}

// leave gives back the place taken by a successful enter.
func (t *throttle) leave() {
	if t.inFlight != nil {
		<-t.inFlight
	}
}

// allow takes a token of the account's bucket for the operation, or returns
// the ThrottlingError to answer.
func (t *throttle) allow(account, operation string) error {
	write := !isRead(operation)
	r := t.limits.ReadRate
	if write {
		r = t.limits.WriteRate
	}
	if r <= 0 {
		return nil
	}
	key := bucketKey{account, write}
	t.mu.RLock()
	b := t.buckets[key]
	t.mu.RUnlock()
	if b == nil {
		t.mu.Lock()
		if b = t.buckets[key]; b == nil {
			// Accounts are those of the configured keys: the map is bounded.
			b = &bucket{
				tokens:  rate.NewLimiter(rate.Limit(r), burstSeconds*max(1, int(r))),
				retries: rate.NewLimiter(rate.Limit(r), 1),
			}
			t.buckets[key] = b
		}
		t.mu.Unlock()
	}
	if b.tokens.Allow() {
		return nil
	}
	quota := QuotaReadRate
	if write {
		quota = QuotaWriteRate
	}
	return &domain.ThrottlingError{Message: "Rate exceeded", QuotaCode: quota, RetryAfter: b.retryAfter()}
}

// isRead reports whether an operation only reads: Get*, List* and BatchGet*.
func isRead(operation string) bool {
	return strings.HasPrefix(operation, "Get") || strings.HasPrefix(operation, "List") || strings.HasPrefix(operation, "BatchGet")
}
