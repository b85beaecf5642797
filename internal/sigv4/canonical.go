package sigv4

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// appendCanonicalRequest appends the SigV4 canonical request of r to dst:
// method, canonical URI, canonical query, canonical headers (each line
// "name:value\n"), the signed header list and the payload hash, separated by
// newlines. st provides scratch space for the query. The canonical query of
// a presigned request (presigned true) leaves out X-Amz-Signature.
func appendCanonicalRequest(dst []byte, st *state, r *http.Request, signedHeaders string, payloadHex []byte, presigned bool) []byte {
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')
	dst = appendCanonicalURI(dst, r.URL.EscapedPath())
	dst = append(dst, '\n')
	dst = appendCanonicalQuery(dst, st, r.URL.RawQuery, presigned)
	dst = append(dst, '\n')
	for rest := signedHeaders; ; {
		name, more, found := strings.Cut(rest, ";")
		dst = appendCanonicalHeader(dst, r, name)
		if !found {
			break
		}
		rest = more
	}
	dst = append(dst, '\n')
	dst = append(dst, signedHeaders...)
	dst = append(dst, '\n')
	return append(dst, payloadHex...)
}

// appendCanonicalURI appends the canonical URI of a path as sent on the
// wire: the path is URI-encoded once more, slashes excepted, as the AWS SDKs
// do for every service but S3. An empty path is "/".
func appendCanonicalURI(dst []byte, escapedPath string) []byte {
	if escapedPath == "" {
		return append(dst, '/')
	}
	for i := 0; i < len(escapedPath); i++ {
		if c := escapedPath[i]; c == '/' {
			dst = append(dst, c)
		} else {
			dst = appendEncodedByte(dst, c)
		}
	}
	return dst
}

// queryPair is one canonical query parameter: its encoded key and value as
// offsets into state.query.
type queryPair struct{ k0, k1, v0, v1 int }

// appendCanonicalQuery appends the canonical form of a raw query string:
// every parameter decoded, then re-encoded with the AWS URI encoding, sorted
// by key and then by value, and joined as k=v with &. Parameters that
// url.ParseQuery drops (those containing a semicolon or an invalid escape)
// are left out, so the signature covers exactly the parameters a handler
// sees through r.URL.Query. With dropSignature, the parameter
// X-Amz-Signature (named exactly so once decoded) is left out too, as
// query-string authentication requires.
func appendCanonicalQuery(dst []byte, st *state, raw string, dropSignature bool) []byte {
	if raw == "" {
		return dst
	}
	enc := st.query[:0]
	pairs := st.pairs[:0]
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if seg == "" || strings.IndexByte(seg, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(seg, "=")
		var ok bool
		var p queryPair
		if st.tmp, ok = appendQueryUnescaped(st.tmp[:0], k); !ok {
			continue
		}
		if dropSignature && string(st.tmp) == queryParamNames[qSignature] {
			continue
		}
		p.k0 = len(enc)
		enc = appendEncoded(enc, st.tmp)
		p.k1 = len(enc)
		if st.tmp, ok = appendQueryUnescaped(st.tmp[:0], v); !ok {
			enc = enc[:p.k0]
			continue
		}
		p.v0 = len(enc)
		enc = appendEncoded(enc, st.tmp)
		p.v1 = len(enc)
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(a, b queryPair) int {
		if c := bytes.Compare(enc[a.k0:a.k1], enc[b.k0:b.k1]); c != 0 {
			return c
		}
		return bytes.Compare(enc[a.v0:a.v1], enc[b.v0:b.v1])
	})
	for i, p := range pairs {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, enc[p.k0:p.k1]...)
		dst = append(dst, '=')
		dst = append(dst, enc[p.v0:p.v1]...)
	}
	st.query, st.pairs = enc, pairs
	return dst
}

// appendQueryUnescaped appends s decoded as url.QueryUnescape decodes it
// ('+' is a space) and reports false if s holds an invalid escape.
func appendQueryUnescaped(dst []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			dst = append(dst, ' ')
		case '%':
			if i+2 >= len(s) {
				return dst, false
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return dst, false
			}
			dst = append(dst, hi<<4|lo)
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst, true
}

// appendEncoded appends src with the AWS URI encoding: unreserved characters
// (A-Z a-z 0-9 - _ . ~) as they are, every other byte as %XX.
func appendEncoded(dst, src []byte) []byte {
	for _, c := range src {
		dst = appendEncodedByte(dst, c)
	}
	return dst
}

const upperHex = "0123456789ABCDEF"

// appendEncodedByte appends c, percent-encoded unless it is unreserved.
func appendEncodedByte(dst []byte, c byte) []byte {
	if unreserved(c) {
		return append(dst, c)
	}
	return append(dst, '%', upperHex[c>>4], upperHex[c&15])
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendCanonicalHeader appends the canonical line "name:value\n" of the
// signed header name. host is r.Host (or the URL's host); content-length,
// when the request has no such header, is r.ContentLength; any other header
// has each of its values trimmed, with runs of spaces collapsed, and joined
// with commas. An absent header has an empty value.
func appendCanonicalHeader(dst []byte, r *http.Request, name string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':')
	switch {
	case strings.EqualFold(name, "host"):
		host := r.Host
		if host == "" {
			host = r.URL.Host
		}
		dst = appendTrimmed(dst, host)
	default:
		values := headerValues(r.Header, name)
		if values == nil && strings.EqualFold(name, "content-length") {
			dst = strconv.AppendInt(dst, r.ContentLength, 10)
			break
		}
		for i, v := range values {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendTrimmed(dst, v)
		}
	}
	return append(dst, '\n')
}

// appendTrimmed appends v without leading or trailing white space and with
// every run of spaces inside it collapsed to one space.
func appendTrimmed(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && v[i-1] == ' ' {
			continue // v[0] is not a space after trimming
		}
		dst = append(dst, v[i])
	}
	return dst
}

// headerValues returns the values of the header name, found as
// http.Header.Get finds it: under the canonical form of the name.
func headerValues(h http.Header, name string) []string {
	// Build the canonical form on the stack, so the lookup does not
	// allocate, when it is simply the name with each word capitalised.
	var buf [64]byte
	if len(name) > len(buf) {
		return h[http.CanonicalHeaderKey(name)]
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case 'A' <= c && c <= 'Z':
			if !upper {
				c += 'a' - 'A'
			}
		case '0' <= c && c <= '9', c == '-':
		default:
			return h[http.CanonicalHeaderKey(name)]
		}
		buf[i] = c
		upper = c == '-'
	}
	return h[string(buf[:len(name)])]
}
