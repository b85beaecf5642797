package sigv4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// presign presigns req, whose body is body, with the AWS SDK's signer, valid
// for expires seconds (none when 0), and returns the request a client sends
// with the presigned URL: same method and body, the signed headers but no
// Authorization. s.payloadHash "" means the hash of the body.
func presign(t testing.TB, req *http.Request, body []byte, s signing, expires int) *http.Request {
	t.Helper()
	if expires != 0 {
		q := req.URL.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(expires))
		req.URL.RawQuery = q.Encode()
	}
	ph := s.payloadHash
	if ph == "" {
		ph = hashHex(body)
	}
	creds := aws.Credentials{AccessKeyID: s.keyID, SecretAccessKey: s.secret, SessionToken: s.token}
	signedURL, signed, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, ph, s.service, s.region, s.at)
	if err != nil {
		t.Fatalf("PresignHTTP: %v", err)
	}
	out := newRequest(t, req.Method, signedURL, body)
	for k, vs := range signed {
		if k != "Host" {
			out.Header[k] = vs
		}
	}
	if out.Header.Get("Authorization") != "" {
		t.Fatal("a presigned request carries an Authorization header")
	}
	return out
}

// TestVerifyPresignedKnownAnswer checks the presigned example of the AWS
// Signature Version 4 documentation (IAM ListUsers with the signature in
// the query string, General Reference, "Task 4: Add the signature to the
// HTTP request", docs.aws.amazon.com/general/latest/gr/sigv4-add-signature-to-request.html),
// whose signature AWS publishes. It is valid for X-Amz-Expires=60 seconds.
func TestVerifyPresignedKnownAnswer(t *testing.T) {
	signedAt := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	now := signedAt
	v := &Verifier{
		Service: "iam",
		Lookup: func(_ context.Context, id string) (string, bool, error) {
			return "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", id == "AKIDEXAMPLE", nil
		},
		Now: func() time.Time { return now },
	}
	const query = "Action=ListUsers&Version=2010-05-08&X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fiam%2Faws4_request&X-Amz-Date=20150830T123600Z" +
		"&X-Amz-Expires=60&X-Amz-SignedHeaders=content-type%3Bhost"
	const signature = "37ac2f4fde00b0ac9bd9eadeb459b1bbee224158d66e7ae5fcadb70b2d181d02"
	// As the documentation writes it: no slash before the query.
	req := httptest.NewRequest(http.MethodGet, "https://iam.amazonaws.com?"+query+"&X-Amz-Signature="+signature, nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")

	// The canonical request: every parameter but X-Amz-Signature, and the
	// hash of the empty body.
	h, err := v.CheckHeaders(req)
	if err != nil {
		t.Fatalf("CheckHeaders: %v", err)
	}
	canonical := string(appendCanonicalRequest(nil, &state{}, req, h.a.signedHeaders, []byte(hashHex(nil)), true))
	want := "GET\n/\n" + query + "\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n\n" +
		"content-type;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if canonical != want {
		t.Fatalf("canonical request:\n%s\nwant\n%s", canonical, want)
	}

	for _, at := range []time.Duration{0, 59 * time.Second, 60 * time.Second, -15 * time.Minute} {
		now = signedAt.Add(at)
		if cred, err := v.Verify(req, nil); err != nil || cred != (Credential{AccessKeyID: "AKIDEXAMPLE", Region: "us-east-1"}) {
			t.Fatalf("Verify at %v = %+v, %v; want AKIDEXAMPLE in us-east-1", now, cred, err)
		}
	}

	// The parameters in another order, the signature first.
	reordered := httptest.NewRequest(http.MethodGet, "https://iam.amazonaws.com/?X-Amz-Signature="+signature+
		"&X-Amz-SignedHeaders=content-type%3Bhost&Version=2010-05-08&X-Amz-Expires=60&Action=ListUsers"+
		"&X-Amz-Date=20150830T123600Z&X-Amz-Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request&X-Amz-Algorithm=AWS4-HMAC-SHA256", nil)
	reordered.Header = req.Header
	now = signedAt
	if _, err := v.Verify(reordered, nil); err != nil {
		t.Fatalf("Verify with the parameters reordered: %v", err)
	}

	now = signedAt.Add(61 * time.Second)
	_, err = v.Verify(req, nil)
	const expired = "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T123701Z - 60 sec.)"
	if e, ok := err.(*Error); !ok || e.Code != CodeInvalidSignature || e.Message != expired {
		t.Fatalf("Verify a second after expiry = %v, want %s: %s", err, CodeInvalidSignature, expired)
	}

	now = signedAt
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	if _, err := v.Verify(req, nil); err == nil || err.(*Error).Message != msgMismatchWant {
		t.Fatalf("Verify with a changed signed header = %v, want the mismatch", err)
	}
}

// TestVerifyPresignedOverWire presigns requests with the AWS SDK for Go v2
// (v4.Signer.PresignHTTP) and sends the URLs over HTTP as a client would.
func TestVerifyPresignedOverWire(t *testing.T) {
	srv := newServer(t, testVerifier())
	escapedARN := "arn%3Aaws%3Assm-incidents%3A%3A111122223333%3Aresponse-plan%2Fmyplan"
	post := func(path, body string) func() (*http.Request, []byte) {
		return func() (*http.Request, []byte) {
			req := newRequest(t, http.MethodPost, srv.URL+path, []byte(body))
			req.Header.Set("Content-Type", "application/json")
			return req, []byte(body)
		}
	}
	get := func(target string) func() (*http.Request, []byte) {
		return func() (*http.Request, []byte) { return newRequest(t, http.MethodGet, srv.URL+target, nil), nil }
	}
	withSigning := func(f func(*signing)) signing { s := defaultSigning(); f(&s); return s }

	tests := []struct {
		name    string
		build   func() (*http.Request, []byte)
		s       signing
		expires int
		after   func(*http.Request)
	}{
		{name: "GET with an ARN in the query", build: get("/getResponsePlan?arn=" + escapedARN), s: defaultSigning(), expires: 300},
		{name: "POST JSON body", build: post("/createResponsePlan", createPlanBody), s: defaultSigning(), expires: 60},
		{name: "POST empty JSON object", build: post("/listResponsePlans", `{}`), s: defaultSigning(), expires: 1},
		{name: "without X-Amz-Expires", build: get("/listReplicationSets"), s: defaultSigning()},
		{name: "valid for a week", build: get("/getResponsePlan?arn=" + escapedARN), s: defaultSigning(), expires: maxExpires},
		{
			name:    "signed an hour ago, valid for two",
			build:   post("/listIncidentRecords", `{"maxResults":5}`),
			s:       withSigning(func(s *signing) { s.at = testNow.Add(-time.Hour) }),
			expires: 7200,
		},
		{
			name:    "signed 14 minutes ahead",
			build:   get("/listReplicationSets"),
			s:       withSigning(func(s *signing) { s.at = testNow.Add(14 * time.Minute) }),
			expires: 60,
		},
		{
			name:    "with a session token",
			build:   post("/getResponsePlan", `{"arn":"`+planARN+`"}`),
			s:       withSigning(func(s *signing) { s.token = "FwoGZXIvYXdzEBYaDH+/=" }),
			expires: 900,
		},
		{
			name: "DELETE tags with an escaped ARN in the path and repeated keys",
			build: func() (*http.Request, []byte) {
				return newRequest(t, http.MethodDelete, srv.URL+"/tags/"+escapedARN+"?tagKeys=a&tagKeys=b%20c", nil), nil
			},
			s:       withSigning(func(s *signing) { s.keyID, s.secret, s.region = otherKeyID, otherSecret, "eu-west-3" }),
			expires: 120,
		},
		{
			name:    "parameters reordered and escaped otherwise",
			build:   get("/getResponsePlan?arn=" + escapedARN),
			s:       defaultSigning(),
			expires: 60,
			after: func(r *http.Request) {
				q := r.URL.Query()
				var parts []string
				for _, k := range []string{"X-Amz-Signature", "arn", "X-Amz-SignedHeaders", "X-Amz-Expires", "X-Amz-Date", "X-Amz-Credential", "X-Amz-Algorithm"} {
					parts = append(parts, k+"="+strings.ReplaceAll(q.Get(k), " ", "+"))
				}
				r.URL.RawQuery = strings.Join(parts, "&") // arn and the credential unescaped
			},
		},
		{
			name:    "unsigned header added",
			build:   post("/listResponsePlans", `{}`),
			s:       defaultSigning(),
			expires: 60,
			after:   func(r *http.Request) { r.Header.Set("X-Forwarded-For", "10.0.0.1") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, body := tt.build()
			preq := presign(t, req, body, tt.s, tt.expires)
			if tt.after != nil {
				tt.after(preq)
			}
			got := send(t, preq)
			if got.Code != "" || got.KeyID != tt.s.keyID {
				t.Fatalf("Verify = %q, %s: %s; want %q, nil (server saw path %q query %q)",
					got.KeyID, got.Code, got.Message, tt.s.keyID, got.EscapedPath, got.RawQuery)
			}
		})
	}
}

const msgQueryRequiresAll = "AWS query-string parameters must include 'X-Amz-Algorithm'. " +
	"AWS query-string parameters must include 'X-Amz-Credential'. " +
	"AWS query-string parameters must include 'X-Amz-Signature'. " +
	"AWS query-string parameters must include 'X-Amz-SignedHeaders'. " +
	"AWS query-string parameters must include 'X-Amz-Date'. " +
	"Re-examine the query-string parameters."

// TestVerifyPresignedFailures names each way verifying a presigned request
// fails, with AWS's code and message.
func TestVerifyPresignedFailures(t *testing.T) {
	srv := newServer(t, testVerifier())
	body := []byte(`{"name":"myplan"}`)
	withSigning := func(f func(*signing)) signing { s := defaultSigning(); f(&s); return s }
	// setParam sets (or, with value "\x00", deletes) a parameter of the
	// presigned query, keeping the others as they are.
	setParam := func(name, value string) func(*http.Request) {
		return func(r *http.Request) {
			var kept []string
			for _, p := range strings.Split(r.URL.RawQuery, "&") {
				if k, _, _ := strings.Cut(p, "="); k != name {
					kept = append(kept, p)
				}
			}
			if value != "\x00" {
				kept = append(kept, name+"="+value)
			}
			r.URL.RawQuery = strings.Join(kept, "&")
		}
	}
	replaceParam := func(name, old, new string) func(*http.Request) {
		return func(r *http.Request) {
			setParam(name, strings.Replace(r.URL.Query().Get(name), old, new, 1))(r)
		}
	}
	tests := []struct {
		name    string
		s       signing
		expires int
		after   func(*http.Request)
		code    string
		msg     string
	}{
		{
			name:  "X-Amz-Algorithm alone",
			after: func(r *http.Request) { r.URL.RawQuery = "X-Amz-Algorithm" },
			code:  CodeIncompleteSignature,
			msg:   msgQueryRequiresAll,
		},
		{
			name:  "empty X-Amz-Algorithm",
			after: setParam("X-Amz-Algorithm", ""),
			code:  CodeIncompleteSignature,
			msg:   "AWS query-string parameters must include 'X-Amz-Algorithm'. Re-examine the query-string parameters.",
		},
		{
			name:  "missing X-Amz-Signature",
			after: setParam("X-Amz-Signature", "\x00"),
			code:  CodeIncompleteSignature,
			msg:   "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.",
		},
		{
			name: "missing X-Amz-Credential and X-Amz-Date",
			after: func(r *http.Request) {
				setParam("X-Amz-Credential", "\x00")(r)
				setParam("X-Amz-Date", "\x00")(r)
			},
			code: CodeIncompleteSignature,
			msg: "AWS query-string parameters must include 'X-Amz-Credential'. " +
				"AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.",
		},
		{
			name:  "the other parameters without X-Amz-Algorithm",
			after: setParam("X-Amz-Algorithm", "\x00"),
			code:  CodeMissingAuthenticationToken,
			msg:   "Missing Authentication Token",
		},
		{
			name:  "X-Amz-Algorithm dropped for a semicolon, as a handler drops it",
			after: setParam("X-Amz-Algorithm", "AWS4-HMAC-SHA256;x"),
			code:  CodeMissingAuthenticationToken,
			msg:   "Missing Authentication Token",
		},
		{
			name:  "unsupported algorithm",
			after: setParam("X-Amz-Algorithm", "AWS4-HMAC-SHA512"),
			code:  CodeIncompleteSignature,
			msg:   "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'.",
		},
		{
			name:  "Authorization header too",
			after: func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x") },
			code:  CodeInvalidSignature,
			msg:   "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
		},
		{
			name:  "credential with too few elements",
			after: setParam("X-Amz-Credential", "AKIDEXAMPLE%2F20251120%2Fssm-incidents%2Faws4_request"),
			code:  CodeIncompleteSignature,
			msg: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, " +
				"got 'AKIDEXAMPLE/20251120/ssm-incidents/aws4_request'",
		},
		{
			name:  "host not signed",
			after: setParam("X-Amz-SignedHeaders", "content-length%3Bcontent-type"),
			code:  CodeInvalidSignature,
			msg:   "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name:  "malformed X-Amz-Date",
			after: setParam("X-Amz-Date", "2025-11-20T20%3A23%3A46Z"),
			code:  CodeIncompleteSignature,
			msg:   "Date must be in ISO-8601 'basic format'. Got '2025-11-20T20:23:46Z'. See http://en.wikipedia.org/wiki/ISO_8601",
		},
		{name: "X-Amz-Expires not a number", after: setParam("X-Amz-Expires", "1h"), code: CodeIncompleteSignature, msg: "X-Amz-Expires should be a number"},
		{name: "X-Amz-Expires empty", after: setParam("X-Amz-Expires", ""), code: CodeIncompleteSignature, msg: "X-Amz-Expires should be a number"},
		{name: "X-Amz-Expires negative", after: setParam("X-Amz-Expires", "-60"), code: CodeIncompleteSignature, msg: "X-Amz-Expires must be non-negative"},
		{name: "X-Amz-Expires zero", after: setParam("X-Amz-Expires", "0"), code: CodeIncompleteSignature, msg: "X-Amz-Expires must be at least 1 second"},
		{
			name: "X-Amz-Expires over a week", after: setParam("X-Amz-Expires", "604801"), code: CodeIncompleteSignature,
			msg: "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
		},
		{
			name: "X-Amz-Expires beyond int64", after: setParam("X-Amz-Expires", "99999999999999999999"), code: CodeIncompleteSignature,
			msg: "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
		},
		{
			name: "wrong service in scope",
			s:    withSigning(func(s *signing) { s.service = "ssm" }),
			code: CodeInvalidSignature,
			msg:  "Credential should be scoped to correct service: 'ssm-incidents'. ",
		},
		{
			name: "region not of AWS's form",
			s:    withSigning(func(s *signing) { s.region = "local" }),
			code: CodeInvalidSignature,
			msg:  "Credential should be scoped to a valid region. ",
		},
		{
			name:  "wrong terminator",
			after: replaceParam("X-Amz-Credential", "aws4_request", "aws5_request"),
			code:  CodeInvalidSignature,
			msg:   "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
		},
		{
			name:  "scope date differs from X-Amz-Date",
			after: setParam("X-Amz-Date", "20251121T000100Z"),
			code:  CodeInvalidSignature,
			msg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: " +
				"'20251120' != '20251121', from '20251121T000100Z'. ",
		},
		{
			name: "unknown access key",
			s:    withSigning(func(s *signing) { s.keyID = "AKIDUNKNOWN" }),
			code: CodeUnrecognizedClient,
			msg:  "The security token included in the request is invalid.",
		},
		{
			name:    "unknown access key is reported before expiry",
			s:       withSigning(func(s *signing) { s.keyID = "AKIDUNKNOWN"; s.at = testNow.Add(-time.Hour) }),
			expires: 60,
			code:    CodeUnrecognizedClient,
			msg:     "The security token included in the request is invalid.",
		},
		{
			name: "wrong secret",
			s:    withSigning(func(s *signing) { s.secret = "not-the-secret" }),
			code: CodeInvalidSignature,
			msg:  msgMismatchWant,
		},
		{
			name:    "expired",
			s:       withSigning(func(s *signing) { s.at = testNow.Add(-10 * time.Minute) }),
			expires: 300,
			code:    CodeInvalidSignature,
			msg:     "Signature expired: 20251120T201346Z is now earlier than 20251120T201846Z (20251120T202346Z - 300 sec.)",
		},
		{
			name:    "expired by one second",
			s:       withSigning(func(s *signing) { s.at = testNow.Add(-61 * time.Second) }),
			expires: 60,
			code:    CodeInvalidSignature,
			msg:     "Signature expired: 20251120T202245Z is now earlier than 20251120T202246Z (20251120T202346Z - 60 sec.)",
		},
		{
			name: "expired without X-Amz-Expires: 15 minutes, as a header",
			s:    withSigning(func(s *signing) { s.at = testNow.Add(-20 * time.Minute) }),
			code: CodeInvalidSignature,
			msg:  "Signature expired: 20251120T200346Z is now earlier than 20251120T200846Z (20251120T202346Z - 15 min.)",
		},
		{
			name:    "not yet current",
			s:       withSigning(func(s *signing) { s.at = testNow.Add(20 * time.Minute) }),
			expires: 3600,
			code:    CodeInvalidSignature,
			msg:     "Signature not yet current: 20251120T204346Z is still later than 20251120T203846Z (20251120T202346Z + 15 min.)",
		},
		{name: "X-Amz-Expires lengthened", expires: 60, after: setParam("X-Amz-Expires", "3600"), code: CodeInvalidSignature, msg: msgMismatchWant},
		{name: "X-Amz-Expires added", after: setParam("X-Amz-Expires", "3600"), code: CodeInvalidSignature, msg: msgMismatchWant},
		{name: "parameter added", after: setParam("force", "true"), code: CodeInvalidSignature, msg: msgMismatchWant},
		{name: "X-Amz-Date changed within the day", after: setParam("X-Amz-Date", "20251120T202347Z"), code: CodeInvalidSignature, msg: msgMismatchWant},
		{name: "signature of another key", after: replaceParam("X-Amz-Credential", "AKIDEXAMPLE", otherKeyID), code: CodeInvalidSignature, msg: msgMismatchWant},
		{name: "signature not hex", after: replaceParam("X-Amz-Signature", "", "zz"), code: CodeInvalidSignature, msg: msgMismatchWant},
		{name: "tampered path", after: func(r *http.Request) { r.URL.Path = "/deleteResponsePlan" }, code: CodeInvalidSignature, msg: msgMismatchWant},
		{name: "tampered method", after: func(r *http.Request) { r.Method = http.MethodPut }, code: CodeInvalidSignature, msg: msgMismatchWant},
		{
			name:  "tampered signed header",
			after: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") },
			code:  CodeInvalidSignature,
			msg:   msgMismatchWant,
		},
		{
			name:  "signed header left out",
			after: func(r *http.Request) { r.Header.Del("Content-Type") },
			code:  CodeInvalidSignature,
			msg:   msgMismatchWant,
		},
		{
			name: "tampered body of the same length",
			after: func(r *http.Request) {
				r.Body = io.NopCloser(bytes.NewReader([]byte(`{"name":"myPlan"}`)))
			},
			code: CodeInvalidSignature,
			msg:  msgMismatchWant,
		},
		{
			name: "UNSIGNED-PAYLOAD, which only S3 accepts",
			s:    withSigning(func(s *signing) { s.payloadHash = "UNSIGNED-PAYLOAD" }),
			code: CodeInvalidSignature,
			msg:  msgMismatchWant,
		},
		{
			name: "X-Amz-Content-Sha256 in the query, of another body",
			s:    defaultSigning(),
			after: func(r *http.Request) {
				// Signed, so that only the claim fails.
				req := newRequest(t, http.MethodPost, srv.URL+"/createResponsePlan?X-Amz-Content-Sha256="+hashHex([]byte(`{}`)), body)
				req.Header.Set("Content-Type", "application/json")
				*r = *presign(t, req, body, defaultSigning(), 60)
			},
			code: CodeInvalidSignature,
			msg:  msgMismatchWant,
		},
		{
			name: "X-Amz-Content-Sha256 UNSIGNED-PAYLOAD in the query, as S3 presigners send",
			after: func(r *http.Request) {
				req := newRequest(t, http.MethodPost, srv.URL+"/createResponsePlan?X-Amz-Content-Sha256=UNSIGNED-PAYLOAD", body)
				req.Header.Set("Content-Type", "application/json")
				*r = *presign(t, req, body, defaultSigning(), 60)
			},
			code: CodeInvalidSignature,
			msg:  msgMismatchWant,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, http.MethodPost, srv.URL+"/createResponsePlan", body)
			req.Header.Set("Content-Type", "application/json")
			s := tt.s
			if s.keyID == "" {
				s = defaultSigning()
			}
			preq := presign(t, req, body, s, tt.expires)
			if tt.after != nil {
				tt.after(preq)
			}
			if !strings.Contains(preq.URL.RawQuery, "X-Amz-") {
				t.Fatalf("not a presigned query: %q", preq.URL.RawQuery)
			}
			got := send(t, preq)
			if got.Code != tt.code || got.Message != tt.msg || got.KeyID != "" {
				t.Errorf("Verify = %q, %s: %q\nwant \"\", %s: %q\n(query %q)", got.KeyID, got.Code, got.Message, tt.code, tt.msg, got.RawQuery)
			}
		})
	}
}

// TestPresignedMessagesDoNotRepeatHugeValues sends query parameters of
// tens of kilobytes that fail in each way that quotes them.
func TestPresignedMessagesDoNotRepeatHugeValues(t *testing.T) {
	v := testVerifier()
	huge := strings.Repeat("z", 40<<10)
	valid := url.Values{
		"X-Amz-Algorithm":     {"AWS4-HMAC-SHA256"},
		"X-Amz-Credential":    {"AKIDEXAMPLE/20251120/us-east-1/ssm-incidents/aws4_request"},
		"X-Amz-Date":          {"20251120T202346Z"},
		"X-Amz-SignedHeaders": {"host"},
		"X-Amz-Signature":     {"00"},
	}
	for name, f := range map[string]func(url.Values){
		"algorithm":  func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-"+huge) },
		"credential": func(q url.Values) { q.Set("X-Amz-Credential", huge) },
		"terminator": func(q url.Values) { q.Set("X-Amz-Credential", "AKIDEXAMPLE/20251120/us-east-1/ssm-incidents/"+huge) },
		"date":       func(q url.Values) { q.Set("X-Amz-Date", huge) },
		"scope date": func(q url.Values) {
			q.Set("X-Amz-Credential", "AKIDEXAMPLE/"+huge+"/us-east-1/ssm-incidents/aws4_request")
		},
		"expires": func(q url.Values) { q.Set("X-Amz-Expires", huge) },
		"region": func(q url.Values) {
			q.Set("X-Amz-Credential", "AKIDEXAMPLE/20251120/us-"+huge+"-1/ssm-incidents/aws4_request")
		},
	} {
		q := url.Values{}
		for k, vs := range valid {
			q[k] = vs
		}
		f(q)
		req := httptest.NewRequest(http.MethodPost, "http://localhost/listResponsePlans?"+q.Encode(), strings.NewReader("{}"))
		_, err := v.Verify(req, []byte("{}"))
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: Verify = %v", name, err)
		}
		if len(e.Message) > 1024 {
			t.Errorf("%s: a message of %d bytes repeats the query", name, len(e.Message))
		}
	}
}

// TestForgedPresignedRequestsAreNotCached sends presigned requests of a
// known key signed with the wrong secret for many regions: none may leave a
// signing key behind.
func TestForgedPresignedRequestsAreNotCached(t *testing.T) {
	v := testVerifier()
	for i := range 200 {
		req := httptest.NewRequest(http.MethodGet, "http://localhost/listReplicationSets", nil)
		s := signing{keyID: testKeyID, secret: "not-the-secret", service: testService, region: "us-forged-" + strconv.Itoa(i%100), at: testNow}
		if _, err := v.Verify(presign(t, req, nil, s, 60), nil); err == nil {
			t.Fatal("a forged signature verified")
		}
	}
	if n := len(v.keys.m); n != 0 {
		t.Fatalf("forged presigned requests left %d signing keys in the cache", n)
	}
	req := httptest.NewRequest(http.MethodGet, "http://localhost/listReplicationSets", nil)
	if _, err := v.Verify(presign(t, req, nil, defaultSigning(), 60), nil); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if n := len(v.keys.m); n != 1 {
		t.Fatalf("a verified presigned request left %d signing keys in the cache, want 1", n)
	}
}

func TestParseQuery(t *testing.T) {
	const cred = "AKIDEXAMPLE%2F20251120%2Fus-east-1%2Fssm-incidents%2Faws4_request"
	const sig = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
	tests := []struct {
		raw     string
		want    Authorization
		code    string
		message string
	}{
		{
			raw: "arn=x&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + cred +
				"&X-Amz-Date=20251120T202346Z&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature=" + sig,
			want: Authorization{AccessKeyID: "AKIDEXAMPLE", Date: "20251120", Region: "us-east-1", Service: "ssm-incidents",
				SignedHeaders: []string{"content-type", "host"}, Signature: sig},
		},
		{
			// Escaped names, + for a space, and the first of repeated values.
			raw: "X%2DAmz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a+b/20251120/us-east-1/s/aws4_request" +
				"&X-Amz-Credential=other/20251120/us-east-1/s/aws4_request&X-Amz-Date=20251120T202346Z" +
				"&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Signature=11",
			want: Authorization{AccessKeyID: "a b", Date: "20251120", Region: "us-east-1", Service: "s",
				SignedHeaders: []string{"host"}, Signature: "00"},
		},
		{raw: "arn=x", code: CodeMissingAuthenticationToken, message: "Missing Authentication Token"},
		{raw: "X-Amz-Algorithm=%zz&X-Amz-Credential=" + cred, code: CodeMissingAuthenticationToken, message: "Missing Authentication Token"},
		{raw: "X-Amz-Algorithm=", code: CodeIncompleteSignature, message: msgQueryRequiresAll},
		{
			raw:  "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb%2Fc%2Fd%2Faws5_request&X-Amz-Date=x&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
			code: CodeInvalidSignature, message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
		},
	}
	for _, tt := range tests {
		got, err := ParseQuery(tt.raw)
		if tt.code != "" {
			e, ok := err.(*Error)
			if !ok || e.Code != tt.code || e.Message != tt.message {
				t.Errorf("ParseQuery(%q) = %v, want %s: %s", tt.raw, err, tt.code, tt.message)
			}
			continue
		}
		if err != nil || got.AccessKeyID != tt.want.AccessKeyID || got.Date != tt.want.Date || got.Region != tt.want.Region ||
			got.Service != tt.want.Service || got.Signature != tt.want.Signature || strings.Join(got.SignedHeaders, ";") != strings.Join(tt.want.SignedHeaders, ";") {
			t.Errorf("ParseQuery(%q) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
		}
	}
}

func TestCanonicalQueryDropsSignature(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{"b=2&X-Amz-Signature=00&a=1", "a=1&b=2"},
		{"X%2DAmz-Signature=00&X-Amz-Signature=11&x-amz-signature=22", "x-amz-signature=22"},
		{"X-Amz-SignedHeaders=host&X-Amz-Signature", "X-Amz-SignedHeaders=host"},
	} {
		if got := string(appendCanonicalQuery(nil, &state{}, tt.raw, true)); got != tt.want {
			t.Errorf("presigned canonical query of %q = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
