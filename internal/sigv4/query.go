package sigv4

import (
	"strconv"
	"strings"
)

// Query-string authentication (a presigned URL) carries what the
// Authorization header would in query parameters. A request uses it when its
// query has an X-Amz-Algorithm parameter, even an empty one; it may not also
// have an Authorization header.

// Indexes of queryAuth.values, one per query parameter of query-string
// authentication.
const (
	qAlgorithm = iota
	qCredential
	qSignature
	qSignedHeaders
	qDate
	qExpires
	qContentSHA256
	numQueryParams
)

// queryParamNames are the parameters' names, by index. They are matched
// exactly, as the AWS SDKs write them.
var queryParamNames = [numQueryParams]string{
	qAlgorithm:     "X-Amz-Algorithm",
	qCredential:    "X-Amz-Credential",
	qSignature:     "X-Amz-Signature",
	qSignedHeaders: "X-Amz-SignedHeaders",
	qDate:          "X-Amz-Date",
	qExpires:       "X-Amz-Expires",
	qContentSHA256: "X-Amz-Content-Sha256",
}

// requiredQueryParams are the parameters query-string authentication needs,
// in the order AWS's message names the missing ones. X-Amz-Expires is
// optional, as it is for every AWS service but S3.
var requiredQueryParams = [...]int{qAlgorithm, qCredential, qSignature, qSignedHeaders, qDate}

// maxExpires is the longest validity X-Amz-Expires may give, in seconds:
// seven days, the most AWS documents for a presigned URL.
const maxExpires = 7 * 24 * 60 * 60

const msgBothAuth = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."

// queryAuth holds the authentication parameters of a query string, decoded.
type queryAuth struct {
	values  [numQueryParams]string
	present uint // bit i set: the parameter of index i is in the query
}

func (q *queryAuth) has(i int) bool { return q.present&(1<<i) != 0 }

// parseQuery finds the authentication parameters of a raw query string. It
// reads the query as appendCanonicalQuery and url.ParseQuery do: a pair
// holding a semicolon or an invalid escape is dropped, and of a parameter
// given more than once the first value counts. The values are decoded only
// when the query has X-Amz-Algorithm; those without an escape are substrings
// of raw, and those with one share a single allocation.
func parseQuery(raw string) queryAuth {
	var q queryAuth
	var escaped uint // bit i set: values[i] is still escaped
	escapedLen := 0
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if seg == "" || strings.IndexByte(seg, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(seg, "=")
		i := queryParamIndex(k)
		if i < 0 || q.has(i) || !validEscapes(v) {
			continue
		}
		q.present |= 1 << i
		q.values[i] = v
		if strings.ContainsAny(v, "%+") {
			escaped |= 1 << i
			escapedLen += len(v)
		}
	}
	if escaped == 0 || !q.has(qAlgorithm) {
		return q
	}
	var b strings.Builder
	b.Grow(escapedLen)
	var ends [numQueryParams]int
	for i := range q.values {
		if escaped&(1<<i) != 0 {
			unescapeTo(&b, q.values[i])
			ends[i] = b.Len()
		}
	}
	s, start := b.String(), 0
	for i := range q.values {
		if escaped&(1<<i) != 0 {
			q.values[i] = s[start:ends[i]]
			start = ends[i]
		}
	}
	return q
}

// queryParamIndex returns the index of the authentication parameter whose
// name the raw query key k spells, escaped or not, or -1.
func queryParamIndex(k string) int {
	if !strings.ContainsAny(k, "%+") {
		for i, name := range queryParamNames {
			if k == name {
				return i
			}
		}
		return -1
	}
	// An escaped name decodes to at most a third of its length; the longest
	// name has 20 bytes.
	var buf [64]byte
	if len(k) > len(buf) {
		return -1
	}
	d, ok := appendQueryUnescaped(buf[:0], k)
	if !ok {
		return -1
	}
	for i, name := range queryParamNames {
		if string(d) == name {
			return i
		}
	}
	return -1
}

// validEscapes reports whether every % of s starts a valid escape.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) {
			return false
		}
		if _, ok := unhex(s[i+1]); !ok {
			return false
		}
		if _, ok := unhex(s[i+2]); !ok {
			return false
		}
		i += 2
	}
	return true
}

// unescapeTo writes s, whose escapes are valid, to b decoded as
// url.QueryUnescape decodes it.
func unescapeTo(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b.WriteByte(' ')
		case '%':
			hi, _ := unhex(s[i+1])
			lo, _ := unhex(s[i+2])
			b.WriteByte(hi<<4 | lo)
			i += 2
		default:
			b.WriteByte(c)
		}
	}
}

// incompleteQuery returns AWS's IncompleteSignature error for a query that
// lacks a required parameter, or has it empty, and nil for one that has them
// all.
func incompleteQuery(q *queryAuth) *Error {
	var msg string
	for _, i := range requiredQueryParams {
		if q.values[i] == "" {
			msg += "AWS query-string parameters must include '" + queryParamNames[i] + "'. "
		}
	}
	if msg == "" {
		return nil
	}
	return &Error{CodeIncompleteSignature, msg + "Re-examine the query-string parameters."}
}

// auth returns the parameters of q that the Authorization header would
// carry, checked as the header's are: all there, a supported algorithm, a
// credential of five elements.
func (q *queryAuth) auth() (auth, *Error) {
	if e := incompleteQuery(q); e != nil {
		return auth{}, e
	}
	if alg := q.values[qAlgorithm]; alg != algorithm {
		return auth{}, &Error{CodeIncompleteSignature, "Unsupported AWS 'algorithm': '" + echo(alg) + "'."}
	}
	a := auth{credential: q.values[qCredential], signedHeaders: q.values[qSignedHeaders], signature: q.values[qSignature]}
	if e := a.checkCredential(); e != nil {
		return auth{}, e
	}
	return a, nil
}

// expires returns the validity X-Amz-Expires gives, in seconds, or 0 when
// the query has none. It must be a whole number of seconds from 1 to
// maxExpires; the messages are S3's where S3 has one.
func (q *queryAuth) expires() (int64, *Error) {
	if !q.has(qExpires) {
		return 0, nil
	}
	s := q.values[qExpires]
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, &Error{CodeIncompleteSignature, "X-Amz-Expires should be a number"}
	}
	if len(digits) < len(s) {
		return 0, &Error{CodeIncompleteSignature, "X-Amz-Expires must be non-negative"}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > maxExpires {
		return 0, &Error{CodeIncompleteSignature, "X-Amz-Expires must be less than a week (in seconds); " +
			"that is, the given X-Amz-Expires must be less than " + strconv.Itoa(maxExpires) + " seconds"}
	}
	if n == 0 {
		return 0, &Error{CodeIncompleteSignature, "X-Amz-Expires must be at least 1 second"}
	}
	return n, nil
}

// ParseQuery parses the query-string authentication parameters of a raw
// query string, a presigned URL's: X-Amz-Algorithm AWS4-HMAC-SHA256,
// X-Amz-Credential, X-Amz-SignedHeaders and X-Amz-Signature, decoded. It
// checks what ParseAuthorization checks of a header, and fails with
// CodeMissingAuthenticationToken for a query without X-Amz-Algorithm. The
// error is always an *Error.
func ParseQuery(rawQuery string) (Authorization, error) {
	q := parseQuery(rawQuery)
	if !q.has(qAlgorithm) {
		return Authorization{}, &Error{CodeMissingAuthenticationToken, msgMissingToken}
	}
	a, e := q.auth()
	if e != nil {
		return Authorization{}, e
	}
	if a.terminator != terminator {
		return Authorization{}, &Error{CodeInvalidSignature, msgTerminator(a.terminator)}
	}
	return a.public(), nil
}
