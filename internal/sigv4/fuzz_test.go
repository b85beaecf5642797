package sigv4

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const validAuth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251120/us-east-1/ssm-incidents/aws4_request, " +
	"SignedHeaders=content-length;content-type;host;x-amz-date, " +
	"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		validAuth,
		strings.ReplaceAll(validAuth, ", ", ","),
		"AWS4-HMAC-SHA256 Signature=ab SignedHeaders=host Credential=A/B/C/D/aws4_request",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251120/us-east-1/ssm-incidents/aws5_request, SignedHeaders=host, Signature=00",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE//us-east-1/ssm-incidents/aws4_request, SignedHeaders=host, Signature=00",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE, Signature=00",
		"AWS4-HMAC-SHA256 Credential= AKID/20251120/r/s/aws4_request",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA512 Credential=x",
		"AWS AKIDEXAMPLE:c2ln",
		"Bearer x.y.z",
		"",
		"AWS4-HMAC-SHA256 ,,, =, Credential==/=/=/=/=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		a, err := ParseAuthorization(header)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if e.Code != CodeIncompleteSignature && e.Code != CodeInvalidSignature {
				t.Fatalf("error code %q", e.Code)
			}
			if e.Message == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if !strings.HasPrefix(header, algorithm+" ") {
			t.Fatalf("parsed a header without the %s prefix: %q", algorithm, header)
		}
		if a.AccessKeyID == "" || a.Date == "" || a.Region == "" || a.Service == "" || a.Signature == "" || len(a.SignedHeaders) == 0 {
			t.Fatalf("incomplete result %+v from %q", a, header)
		}
		for _, s := range []string{a.AccessKeyID, a.Date, a.Region, a.Service} {
			if strings.ContainsAny(s, "/ ,") {
				t.Fatalf("credential element %q holds a separator (header %q)", s, header)
			}
		}
		credential := "Credential=" + a.AccessKeyID + "/" + a.Date + "/" + a.Region + "/" + a.Service + "/" + terminator
		for _, part := range []string{credential, "SignedHeaders=" + strings.Join(a.SignedHeaders, ";"), "Signature=" + a.Signature} {
			if !strings.Contains(header, part) {
				t.Fatalf("result %+v: %q is not in header %q", a, part, header)
			}
		}
	})
}

// presignedQuery is a presigned query of the form the AWS SDKs send, with a
// signature that verifies nothing.
const presignedQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20251120%2Fus-east-1%2Fssm-incidents%2Faws4_request" +
	"&X-Amz-Date=20251120T202346Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&" +
	"X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

// FuzzVerify feeds arbitrary requests to Verify. Unsigned ones must be
// refused with an *Error. Requests signed by the AWS SDK's signer and read
// back from their wire form must verify, and must not once their body
// changes. With presigned, the signature is in the query string: an
// unsigned request puts auth at the head of its query (and amzDate in
// X-Amz-Date, and still auth in the Authorization header when it does not
// start with X-Amz-), a signed one is presigned with the SDK's presigner.
func FuzzVerify(f *testing.F) {
	f.Add(validAuth, "20251120T202346Z", "/createResponsePlan", "", []byte(`{"name":"p"}`), "", false, false)
	f.Add("", "", "/", "", []byte(nil), "", false, false)
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251120/us-east-1/ssm-incidents/aws4_request, SignedHeaders=host, Signature=00",
		"20251120T202346Z", "/", "a=1", []byte(nil), "", false, false)
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251120/us-east-1/ssm-incidents/aws4_request, SignedHeaders=host;x-fuzz, "+
		"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
		"20251120T202346Z", "/tags/arn:aws:x", "tagKeys=a&tagKeys=b%20c", []byte("{}"), " a  b ", false, false)
	f.Add("", "", "/createResponsePlan", "", []byte(`{"name":"p"}`), "", true, false)
	f.Add("", "", "/tags/arn:aws:ssm-incidents::111122223333:response-plan/myplan", "tagKeys=a&tagKeys=b c", []byte(nil), "x  y", true, false)
	f.Add("", "", "/a b/%zz/ü", "x=a/b&x=a-b&;=1&%zz=2&k", []byte("body"), "\t v \t", true, false)
	f.Add("", "", "", "", []byte(nil), "", true, false)
	f.Add("", "", "/tags/arn%3Aaws%3Assm-incidents%3A%3A111122223333%3Aresponse-plan%2Fmyplan", "tagKeys=a", []byte(nil), "", true, false)
	// The query form.
	f.Add(presignedQuery, "", "/listReplicationSets", "", []byte(nil), "", false, true)
	f.Add(presignedQuery, "", "/getResponsePlan", "arn=arn%3Aaws%3Ax&X-Amz-Signature=00", []byte(nil), "", false, true)
	f.Add("X-Amz-Algorithm", "", "/", "X-Amz-Credential=a%2Fb&X-Amz-Expires=-1&X%2DAmz-Date=x", []byte("{}"), "", false, true)
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE/20251120/us-east-1/ssm-incidents/aws4_request"+
		"&X-Amz-SignedHeaders=host%3Bx-fuzz&X-Amz-Signature=zz&X-Amz-Expires=604801", "20251120T202346Z", "/", "a=1", []byte(nil), " x ", false, true)
	f.Add(validAuth, "", "/", presignedQuery, []byte(nil), "", false, true) // both mechanisms
	f.Add("", "", "/createResponsePlan", "", []byte(`{"name":"p"}`), "", true, true)
	f.Add("", "", "/tags/arn:aws:ssm-incidents::111122223333:response-plan/myplan", "tagKeys=a&tagKeys=b c", []byte(nil), "x  y", true, true)
	f.Add("", "", "/a b/%zz/ü", "x=a/b&x=a-b&;=1&%zz=2&k", []byte("body"), "\t v \t", true, true)

	f.Fuzz(func(t *testing.T, auth, amzDate, path, query string, body []byte, headerValue string, signed, presigned bool) {
		v := testVerifier()
		if signed && !strings.HasPrefix(path, "/") {
			path = "/" + path // the origin form of a request target
		}
		u := &url.URL{Path: path, RawQuery: query}
		if p, err := url.PathUnescape(path); err == nil && p != path {
			// Treat path as escaped, as a client that escapes path
			// segments itself (the AWS SDKs do) sends it.
			u.Path, u.RawPath = p, path
		}
		req := &http.Request{
			Method:        http.MethodPost,
			URL:           u,
			Host:          "ssm-incidents.us-east-1.amazonaws.com",
			Header:        http.Header{},
			ContentLength: int64(len(body)),
		}
		if headerValue != "" {
			req.Header.Set("X-Fuzz", headerValue)
		}
		if !signed {
			switch {
			case presigned:
				q := auth
				if amzDate != "" {
					q += "&X-Amz-Date=" + amzDate
				}
				if query != "" {
					q += "&" + query
				}
				req.URL.RawQuery = q
				if !strings.HasPrefix(auth, "X-Amz-") {
					req.Header.Set("Authorization", auth)
				}
			default:
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				if amzDate != "" {
					req.Header.Set("X-Amz-Date", amzDate)
				}
			}
			cred, err := v.Verify(req, body)
			id := cred.AccessKeyID
			var e *Error
			if err == nil || !errors.As(err, &e) || e.Code == "" || e.Message == "" || id != "" {
				t.Fatalf("Verify of an unsigned request = %q, %v", id, err)
			}
			return
		}

		if strings.ContainsFunc(headerValue, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return // not representable on the wire
		}
		// both: the query names the query form beside the Authorization
		// header, which is refused as AWS refuses both at once.
		both := false
		// ParseQuery returns what it could parse also with its error (a
		// ";" in the query, say).
		if values, _ := url.ParseQuery(query); values != nil {
			for k := range values {
				switch {
				case presigned && strings.HasPrefix(strings.ToLower(k), "x-amz-"):
					return // the presigner would sign it and then set it again
				case !presigned && k == "X-Amz-Algorithm":
					both = true
				}
			}
		}
		if presigned {
			if strings.HasPrefix(u.EscapedPath(), "//") {
				return // the presigned URL would read as one with a host: not a request target
			}
			preq := presign(t, req, body, defaultSigning(), 900)
			req.URL.RawQuery = preq.URL.RawQuery
		} else {
			sign(t, req, body, defaultSigning())
		}
		if len(body) > 0 {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		var wire bytes.Buffer
		if err := req.Write(&wire); err != nil {
			return
		}
		sreq, err := http.ReadRequest(bufio.NewReader(&wire))
		if err != nil {
			return // not a request a server would accept
		}
		sbody, err := io.ReadAll(sreq.Body)
		if err != nil || !bytes.Equal(sbody, body) {
			t.Fatalf("body did not survive the wire: %q, %v", sbody, err)
		}
		if both {
			var e *Error
			if _, err := v.Verify(sreq, sbody); !errors.As(err, &e) || e.Code != "InvalidSignatureException" || !strings.HasPrefix(e.Message, "Found both") {
				t.Fatalf("Verify of a request signed both ways = %v", err)
			}
			return
		}
		if cred, err := v.Verify(sreq, sbody); err != nil || cred.AccessKeyID != testKeyID {
			t.Fatalf("Verify of a signed request (presigned %v) = %q, %v\nwire path %q query %q\nAuthorization: %s", presigned,
				cred.AccessKeyID, err, sreq.URL.EscapedPath(), sreq.URL.RawQuery, sreq.Header.Get("Authorization"))
		}
		tampered := append(append([]byte(nil), sbody...), ' ')
		if _, err := v.Verify(sreq, tampered); err == nil {
			t.Fatal("Verify accepted a tampered body")
		}
	})
}
