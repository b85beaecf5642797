package domain

import "context"

// Caller is the authenticated identity behind a request.
type Caller struct {
	Account   string // 12-digit account id
	Principal string // e.g. arn:aws:iam::111122223333:root
	Region    string // the region the request was signed for, e.g. us-east-1
	// ActsAsRoot is set for the keys given at start (the environment's
	// root key, --credentials-file): they are authorized as their
	// account's root, whatever principal they name.
	ActsAsRoot bool

	// Where the request came from, as an API-call event records it.
	AccessKeyID string // the key that signed it
	SourceIP    string // the client's address
	// SecureTransport: the request came over TLS (aws:SecureTransport).
	SecureTransport bool
	UserAgent       string // its User-Agent header
	RequestID       string // the x-amzn-RequestId of its answer

	// Refresh marks a request that repeats, unattended, reads made and
	// audited already: the web console's live pages reading their data
	// again every second. Its decisions are counted as any other, and
	// logged at debug level, not info.
	Refresh bool
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller carried by ctx; ok is false when there is none.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}
