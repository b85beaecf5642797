// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests.
//
// A Verifier recomputes the signature of a request the way the AWS SDKs and
// the AWS CLI compute it for non-S3 services (payload hash over the whole
// body, path URI-encoded a second time) and reports failures with the error
// codes and messages AWS services return, so that clients surface the same
// errors they would against AWS. The package knows no particular service:
// the credential scope must name the Verifier's Service and a region of the
// form of an AWS Region name (us-east-1).
//
// The signature may come in the Authorization header or, for a presigned
// URL, in the query string (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-SignedHeaders, X-Amz-Signature and optionally X-Amz-Expires), but
// not both. The payload hash of a presigned request is the hash of its body
// too: this is not S3, and UNSIGNED-PAYLOAD is not accepted.
package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AWS error codes a verification failure carries in Error.Code.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	CodeUnrecognizedClient         = "UnrecognizedClientException"
	CodeInvalidSignature           = "InvalidSignatureException"
	CodeIncompleteSignature        = "IncompleteSignatureException"
)

// Error is a typed verification failure. Code is the AWS error code the
// transport writes (one of the Code* constants) and Message the AWS wording.
type Error struct {
	Code    string
	Message string
}

// Error returns the code and the message, separated by a colon.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

const (
	algorithm  = "AWS4-HMAC-SHA256"
	terminator = "aws4_request"
	// amzDateLayout is the ISO 8601 basic format of X-Amz-Date.
	amzDateLayout = "20060102T150405Z"
	// defaultMaxSkew is how far X-Amz-Date may be from the server's clock.
	defaultMaxSkew = 15 * time.Minute

	msgMissingToken = "Missing Authentication Token"
	msgUnrecognized = "The security token included in the request is invalid."
	msgMismatch     = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgHostNotSigned = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
)

// Verifier checks requests signed for Service. Lookup returns the secret
// access key for an access key id, and false when the id is unknown (or
// the key inactive); its error, when the keys cannot be read, is returned
// as it is. It is called with the request's context.
//
// A Verifier is safe for concurrent use. It must not be copied after first
// use: it holds a cache of derived signing keys.
type Verifier struct {
	Service string                                                                            // e.g. "ssm-incidents"
	Lookup  func(ctx context.Context, accessKeyID string) (secret string, ok bool, err error) // nil rejects every key
	Now     func() time.Time                                                                  // nil means time.Now
	MaxSkew time.Duration                                                                     // 0 or less means 15 minutes

	keys keyCache
}

// Credential is what a verified request's credential scope says about its
// signer: the access key id and the region the request was signed for.
type Credential struct {
	AccessKeyID string
	Region      string
}

// Verify checks r's signature, in its Authorization header or its query
// string, against body, which must be the complete request body, already
// read; r.Body is not read. The request is accepted only if its signature
// was computed with the secret of a known access key, over exactly this
// method, path, query, signed headers and body, for v.Service, at a time
// within MaxSkew of the server's clock; a presigned request with
// X-Amz-Expires is accepted from up to MaxSkew before its X-Amz-Date until
// X-Amz-Expires seconds after it.
//
// On success Verify returns the credential that signed the request: the
// access key id and the region of its scope. On failure the error is always
// an *Error.
func (v *Verifier) Verify(r *http.Request, body []byte) (Credential, error) {
	h, err := v.CheckHeaders(r)
	if err != nil {
		return Credential{}, err
	}
	return v.VerifyBody(r, h, body)
}

// Headers is what CheckHeaders found in a request's headers (or its
// query string), for VerifyBody to finish the verification with.
type Headers struct {
	a       auth
	amzDate string // the request time, in X-Amz-Date's form
	secret  string

	presigned bool // the signature is in the query string
	// The query's X-Amz-Content-Sha256, if it has one (hasContentSHA256).
	contentSHA256    string
	hasContentSHA256 bool
}

// CheckHeaders runs the checks of Verify that need no body: the form of the
// Authorization header or of the query-string parameters, the credential
// scope, the access key and the request time. A server calls it before it
// reads a body, so that a request that cannot verify holds no buffer, then
// VerifyBody with what it returned. The error is always an *Error.
func (v *Verifier) CheckHeaders(r *http.Request) (Headers, error) {
	header := r.Header.Get("Authorization")
	if q := parseQuery(r.URL.RawQuery); q.has(qAlgorithm) {
		if header != "" {
			return Headers{}, &Error{CodeInvalidSignature, msgBothAuth}
		}
		return v.checkQuery(r.Context(), &q)
	}
	if header == "" {
		return Headers{}, &Error{CodeMissingAuthenticationToken, msgMissingToken}
	}

	// The request time: X-Amz-Date, or failing that the HTTP Date header.
	amzDate := r.Header.Get("X-Amz-Date")
	dateHeader := ""
	if amzDate == "" {
		dateHeader = r.Header.Get("Date")
	}
	hasDate := amzDate != "" || dateHeader != ""

	a, e := parse(header)
	if e != nil {
		return Headers{}, e
	}
	if a.missing != 0 || !hasDate {
		return Headers{}, incomplete(header, a.missing, !hasDate)
	}
	if e := a.checkCredential(); e != nil {
		return Headers{}, e
	}
	if !signsHost(a.signedHeaders) {
		return Headers{}, &Error{CodeInvalidSignature, msgHostNotSigned}
	}

	var reqTime time.Time
	if amzDate != "" {
		t, err := time.Parse(amzDateLayout, amzDate)
		if err != nil {
			return Headers{}, &Error{CodeIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '" + echo(amzDate) +
				"'. See http://en.wikipedia.org/wiki/ISO_8601"}
		}
		reqTime = t
	} else {
		t, err := http.ParseTime(dateHeader)
		if err != nil {
			return Headers{}, &Error{CodeIncompleteSignature, "Date must be in RFC 1123 format. Got '" + echo(dateHeader) + "'."}
		}
		reqTime = t.UTC()
		amzDate = reqTime.Format(amzDateLayout)
	}

	return v.checkSigner(r.Context(), a, amzDate, reqTime, 0)
}

// checkQuery runs the checks of CheckHeaders on a request authenticated by
// its query string, whose parameters are q.
func (v *Verifier) checkQuery(ctx context.Context, q *queryAuth) (Headers, error) {
	a, e := q.auth()
	if e != nil {
		return Headers{}, e
	}
	if !signsHost(a.signedHeaders) {
		return Headers{}, &Error{CodeInvalidSignature, msgHostNotSigned}
	}
	amzDate := q.values[qDate]
	reqTime, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return Headers{}, &Error{CodeIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '" + echo(amzDate) +
			"'. See http://en.wikipedia.org/wiki/ISO_8601"}
	}
	expires, e := q.expires()
	if e != nil {
		return Headers{}, e
	}
	h, err := v.checkSigner(ctx, a, amzDate, reqTime, expires)
	if err != nil {
		return Headers{}, err
	}
	h.presigned = true
	h.contentSHA256, h.hasContentSHA256 = q.values[qContentSHA256], q.has(qContentSHA256)
	return h, nil
}

// checkSigner runs the checks both forms share once a is well formed and the
// request is dated amzDate (reqTime): the credential scope first, then the
// access key, then the time, whose bound on the past is expires seconds
// (0 for none: MaxSkew).
func (v *Verifier) checkSigner(ctx context.Context, a auth, amzDate string, reqTime time.Time, expires int64) (Headers, error) {
	if msg := scopeErrors(a, v.Service, amzDate); msg != "" {
		return Headers{}, &Error{CodeInvalidSignature, msg}
	}

	var (
		secret string
		ok     bool
	)
	if v.Lookup != nil {
		var err error
		if secret, ok, err = v.Lookup(ctx, a.accessKeyID); err != nil {
			return Headers{}, err
		}
	}
	if !ok {
		return Headers{}, &Error{CodeUnrecognizedClient, msgUnrecognized}
	}

	if e := v.checkTime(reqTime, expires); e != nil {
		return Headers{}, e
	}
	return Headers{a: a, amzDate: amzDate, secret: secret}, nil
}

// VerifyBody finishes the verification of r, whose headers CheckHeaders
// accepted as h, against its complete body; it returns what Verify
// returns.
func (v *Verifier) VerifyBody(r *http.Request, h Headers, body []byte) (Credential, error) {
	a := h.a
	payloadHash := sha256.Sum256(body)
	var payloadHex [2 * sha256.Size]byte
	hex.Encode(payloadHex[:], payloadHash[:])
	if claimed, present := r.Header["X-Amz-Content-Sha256"]; present {
		if len(claimed) != 1 || strings.TrimSpace(claimed[0]) != string(payloadHex[:]) {
			return Credential{}, &Error{CodeInvalidSignature, msgMismatch}
		}
	}
	if h.hasContentSHA256 && strings.TrimSpace(h.contentSHA256) != string(payloadHex[:]) {
		return Credential{}, &Error{CodeInvalidSignature, msgMismatch}
	}

	provided, ok := decodeSignature(a.signature)
	if !ok {
		return Credential{}, &Error{CodeInvalidSignature, msgMismatch}
	}

	key := v.keys.lookup(a.accessKeyID, h.secret, a.date, a.region, a.service)
	cached := key != nil
	if !cached {
		key = newSigningKey(deriveKey(h.secret, a.date, a.region, a.service))
	}

	st := getState()
	defer putState(st)
	st.buf = appendCanonicalRequest(st.buf[:0], st, r, a.signedHeaders, payloadHex[:], h.presigned)
	crHash := sha256.Sum256(st.buf)

	// The string to sign is hashed after the key's inner pad; see signingKey.
	b := append(st.buf[:0], key.ipad[:]...)
	b = append(b, algorithm+"\n"...)
	b = append(b, h.amzDate...)
	b = append(b, '\n')
	b = append(b, a.scope...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, crHash[:])
	st.buf = b
	want := key.sum(b)

	if !hmac.Equal(provided[:], want[:]) {
		return Credential{}, &Error{CodeInvalidSignature, msgMismatch}
	}
	if !cached {
		v.keys.put(key, a.accessKeyID, h.secret, a.date, a.region, a.service)
	}
	return Credential{AccessKeyID: a.accessKeyID, Region: a.region}, nil
}

// checkTime reports whether t lies within MaxSkew of the server's clock,
// with AWS's wording when it does not. With expires (seconds) above 0, the
// bound on the past is expires instead: a presigned request is valid until
// expires seconds after t.
func (v *Verifier) checkTime(t time.Time, expires int64) *Error {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	now = now.UTC().Truncate(time.Second)
	skew := v.MaxSkew
	if skew <= 0 {
		skew = defaultMaxSkew
	}
	if expires > 0 {
		if earliest := now.Add(-time.Duration(expires) * time.Second); t.Before(earliest) {
			return &Error{CodeInvalidSignature, "Signature expired: " + t.Format(amzDateLayout) +
				" is now earlier than " + earliest.Format(amzDateLayout) +
				" (" + now.Format(amzDateLayout) + " - " + strconv.FormatInt(expires, 10) + " sec.)"}
		}
	} else if earliest := now.Add(-skew); t.Before(earliest) {
		return &Error{CodeInvalidSignature, "Signature expired: " + t.Format(amzDateLayout) +
			" is now earlier than " + earliest.Format(amzDateLayout) +
			" (" + now.Format(amzDateLayout) + " - " + minutes(skew) + " min.)"}
	}
	if latest := now.Add(skew); t.After(latest) {
		return &Error{CodeInvalidSignature, "Signature not yet current: " + t.Format(amzDateLayout) +
			" is still later than " + latest.Format(amzDateLayout) +
			" (" + now.Format(amzDateLayout) + " + " + minutes(skew) + " min.)"}
	}
	return nil
}

// decodeSignature decodes a hex signature of exactly sha256.Size bytes.
func decodeSignature(s string) (sig [sha256.Size]byte, ok bool) {
	if len(s) != 2*len(sig) {
		return sig, false
	}
	for i := range sig {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return sig, false
		}
		sig[i] = hi<<4 | lo
	}
	return sig, true
}

// minutes formats d as a number of minutes, without a fraction when whole.
func minutes(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10)
	}
	return strconv.FormatFloat(d.Minutes(), 'f', -1, 64)
}

// scopeErrors returns AWS's messages for every way the credential scope of
// a fails to match service and the request date amzDate, or "" if it
// matches.
func scopeErrors(a auth, service, amzDate string) string {
	var msg string
	if !isRegionName(a.region) {
		// The region is not quoted: it may be as long as the header.
		msg += "Credential should be scoped to a valid region. "
	}
	if a.service != service {
		msg += "Credential should be scoped to correct service: '" + service + "'. "
	}
	if a.terminator != terminator {
		msg += msgTerminator(a.terminator)
	}
	if day := amzDate[:8]; a.date != day {
		msg += "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			echo(a.date) + "' != '" + day + "', from '" + amzDate + "'. "
	}
	return msg
}

// maxRegionLen bounds a region name; AWS's longest are about 15 characters.
const maxRegionLen = 32

// isRegionName reports whether s has the form of an AWS Region name: two to
// four lower-case letters, one or more lower-case words and a number, joined
// by hyphens (us-east-1, ap-southeast-2, us-gov-west-1, eusc-de-east-1).
func isRegionName(s string) bool {
	if len(s) < len("xx-x-1") || len(s) > maxRegionLen {
		return false
	}
	first := strings.IndexByte(s, '-')
	if first < 2 || first > 4 {
		return false
	}
	for j := 0; j < first; j++ {
		if !isLower(s[j]) {
			return false
		}
	}
	rest := s[first+1:]
	words := 0
	for {
		i := strings.IndexByte(rest, '-')
		if i < 0 {
			break
		}
		word := rest[:i]
		if word == "" {
			return false
		}
		for j := 0; j < len(word); j++ {
			if !isLower(word[j]) {
				return false
			}
		}
		words++
		rest = rest[i+1:]
	}
	if words == 0 || len(rest) == 0 || len(rest) > 2 {
		return false
	}
	for j := 0; j < len(rest); j++ {
		if rest[j] < '0' || rest[j] > '9' {
			return false
		}
	}
	return true
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// signsHost reports whether the ;-separated header list names host.
func signsHost(signedHeaders string) bool {
	for rest := signedHeaders; ; {
		name, more, found := strings.Cut(rest, ";")
		if strings.EqualFold(name, "host") {
			return true
		}
		if !found {
			return false
		}
		rest = more
	}
}

// state is the scratch space of one verification, pooled so that a
// verification in steady state allocates nothing.
type state struct {
	buf   []byte      // canonical request, then inner HMAC input
	query []byte      // canonical query components, encoded
	tmp   []byte      // one query component, decoded
	pairs []queryPair // canonical query parameters, as offsets into query
}

// maxPooledBuffer bounds the buffers kept for reuse, so that one huge request
// does not pin its memory.
const maxPooledBuffer = 64 << 10

var statePool = sync.Pool{New: func() any {
	return &state{buf: make([]byte, 0, 1024), query: make([]byte, 0, 256), tmp: make([]byte, 0, 128)}
}}

func getState() *state { return statePool.Get().(*state) }

func putState(st *state) {
	if cap(st.buf) > maxPooledBuffer || cap(st.query) > maxPooledBuffer ||
		cap(st.tmp) > maxPooledBuffer || cap(st.pairs) > maxPooledBuffer/16 {
		return
	}
	statePool.Put(st)
}
