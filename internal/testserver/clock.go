package testserver

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
)

// Clock is a clock a test sets, for app.Config.Now.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Signs makes an SDK client sign its requests at the clock's time, so that
// a server whose SigV4 check reads the clock takes them: pass it as an
// option of the client.
func (c *Clock) Signs(o *ssmincidents.Options) {
	o.HTTPSignerV4 = clockSigner{clock: c, signer: v4.NewSigner()}
}

// clockSigner signs with the official SigV4 signer at the time of a clock
// instead of the SDK's.
type clockSigner struct {
	clock  *Clock
	signer *v4.Signer
}

func (s clockSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, opts ...func(*v4.SignerOptions)) error {
	return s.signer.SignHTTP(ctx, creds, r, payloadHash, service, region, s.clock.Now(), opts...)
}
