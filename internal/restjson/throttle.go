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
// and bounds of the requests and of the body bytes in flight.
type throttle struct {
	limits   Limits
	inFlight bound // requests
	bodies   bound // bytes of their bodies
	mu       sync.RWMutex
	buckets  map[bucketKey]*bucket
}

// bound is a count of what is in flight that may not pass a limit; the zero
// value bounds nothing.
type bound struct{ s *semaphore.Weighted }

func newBound(limit int64) bound {
	if limit <= 0 {
		return bound{}
	}
	return bound{semaphore.NewWeighted(limit)}
}

// take takes n of the bound; the caller gives them back once it has
// answered. When n are not free it returns errOverloaded at once.
func (b bound) take(n int64) error {
	if b.s == nil || n <= 0 || b.s.TryAcquire(n) {
		return nil
	}
	return errOverloaded
}

// give gives back what a successful take(n) took.
func (b bound) give(n int64) {
	if b.s != nil && n > 0 {
		b.s.Release(n)
	}
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
	return &throttle{
		limits:   l,
		inFlight: newBound(int64(l.MaxInFlight)),
		bodies:   newBound(l.MaxBodyBytesInFlight),
		buckets:  map[bucketKey]*bucket{},
	}
}

var errOverloaded = &domain.ThrottlingError{
	Message:   "The service is serving too many requests at once. Retry the request.",
	QuotaCode: QuotaInFlight,
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
