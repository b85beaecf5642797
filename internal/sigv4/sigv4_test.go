package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testService = "ssm-incidents"
	testRegion  = "us-east-1"
	testKeyID   = "AKIDEXAMPLE"
	testSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	otherKeyID  = "AKIDOTHER"
	otherSecret = "otherSecretKey/+=="
	planARN     = "arn:aws:ssm-incidents::111122223333:response-plan/myplan"
)

// testNow is the server's clock in these tests.
var testNow = time.Date(2025, 11, 20, 20, 23, 46, 0, time.UTC)

func testVerifier() *Verifier {
	return &Verifier{
		Service: testService,
		Lookup: func(_ context.Context, id string) (string, bool, error) {
			switch id {
			case testKeyID:
				return testSecret, true, nil
			case otherKeyID:
				return otherSecret, true, nil
			}
			return "", false, nil
		},
		Now: func() time.Time { return testNow },
	}
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// signing describes how a test signs a request with the AWS SDK's signer.
type signing struct {
	keyID, secret, token string
	service, region      string
	at                   time.Time
	payloadHash          string // "" means the hash of the body
}

func defaultSigning() signing {
	return signing{keyID: testKeyID, secret: testSecret, service: testService, region: testRegion, at: testNow}
}

func sign(t testing.TB, req *http.Request, body []byte, s signing) {
	t.Helper()
	ph := s.payloadHash
	if ph == "" {
		ph = hashHex(body)
	}
	creds := aws.Credentials{AccessKeyID: s.keyID, SecretAccessKey: s.secret, SessionToken: s.token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, ph, s.service, s.region, s.at); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
}

// verdict is what the test server reports about a request.
type verdict struct {
	KeyID   string
	Code    string
	Message string
	// What the server saw, for diagnosing failures.
	Host, EscapedPath, RawQuery string
}

// newServer starts a server that verifies every request with v and answers
// with its verdict.
func newServer(t *testing.T, v *Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out := verdict{Host: r.Host, EscapedPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery}
		cred, err := v.Verify(r, body)
		id := cred.AccessKeyID
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				http.Error(w, "Verify returned a non-*Error: "+err.Error(), http.StatusInternalServerError)
				return
			}
			out.Code, out.Message = e.Code, e.Message
		}
		out.KeyID = id
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// send sends req to the test server and returns its verdict.
func send(t *testing.T, req *http.Request) verdict {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("server: %s: %s", resp.Status, b)
	}
	var out verdict
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode verdict: %v", err)
	}
	return out
}

func newRequest(t testing.TB, method, url string, body []byte) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	return req
}

const createPlanBody = `{"clientToken":"6a7b3f1e-8f55-4d4c-9b0e-0c1f2d3e4f50","name":"myplan",` +
	`"displayName":"My  plan","incidentTemplate":{"title":"Database down","impact":1,` +
	`"summary":"Primary database is unreachable","notificationTargets":[{"snsTopicArn":` +
	`"arn:aws:sns:us-east-1:111122223333:oncall"}]},"tags":{"team":"db","env":"prod"}}`

// TestVerifySDKSignedOverWire signs requests with the AWS SDK's signer and
// sends them over HTTP, so the verifier sees them exactly as a server does.
func TestVerifySDKSignedOverWire(t *testing.T) {
	srv := newServer(t, testVerifier())
	escapedARN := "arn%3Aaws%3Assm-incidents%3A%3A111122223333%3Aresponse-plan%2Fmyplan"

	tests := []struct {
		name   string
		build  func() (*http.Request, []byte)
		s      signing
		before func(*http.Request) // after building, before signing
		after  func(*http.Request) // after signing, before sending
	}{
		{
			name: "POST JSON body",
			build: func() (*http.Request, []byte) {
				body := []byte(createPlanBody)
				req := newRequest(t, http.MethodPost, srv.URL+"/createResponsePlan", body)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Amz-Sdk-Invocation-Id", "c7a34f8e-2d8f-4a5c-b1d3-6e7f8a9b0c1d")
				req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
				req.Header.Set("X-Amz-User-Agent", "aws-sdk-go-v2/1.48.0  api/ssmincidents#1.40.1")
				return req, body
			},
			s: defaultSigning(),
		},
		{
			name: "POST with session token and X-Amz-Content-Sha256",
			build: func() (*http.Request, []byte) {
				body := []byte(`{"arn":"` + planARN + `"}`)
				req := newRequest(t, http.MethodPost, srv.URL+"/getResponsePlan", body)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Amz-Content-Sha256", hashHex(body))
				return req, body
			},
			s: func() signing { s := defaultSigning(); s.token = "FwoGZXIvYXdzEBYaDH"; return s }(),
		},
		{
			name: "POST empty JSON object",
			build: func() (*http.Request, []byte) {
				body := []byte(`{}`)
				req := newRequest(t, http.MethodPost, srv.URL+"/listResponsePlans", body)
				req.Header.Set("Content-Type", "application/json")
				return req, body
			},
			s: defaultSigning(),
		},
		{
			name: "GET query with colons and slashes",
			build: func() (*http.Request, []byte) {
				req := newRequest(t, http.MethodGet, srv.URL+"/getResponsePlan?arn="+escapedARN, nil)
				return req, nil
			},
			s: defaultSigning(),
		},
		{
			name: "GET query sent unescaped",
			build: func() (*http.Request, []byte) {
				return newRequest(t, http.MethodGet, srv.URL+"/getResponsePlan", nil), nil
			},
			s: defaultSigning(),
			before: func(r *http.Request) {
				r.URL.RawQuery = "arn=" + escapedARN + "&maxResults=10"
			},
			after: func(r *http.Request) {
				// Same parameters, other order and escaping.
				r.URL.RawQuery = "maxResults=10&arn=" + planARN
			},
		},
		{
			name: "DELETE tags with escaped ARN in path and repeated query keys",
			build: func() (*http.Request, []byte) {
				return newRequest(t, http.MethodDelete, srv.URL+"/tags/"+escapedARN+"?tagKeys=a&tagKeys=b%20c", nil), nil
			},
			s: defaultSigning(),
		},
		{
			name: "DELETE tags with query value containing plus for space",
			build: func() (*http.Request, []byte) {
				return newRequest(t, http.MethodDelete, srv.URL+"/tags/"+escapedARN+"?tagKeys=b%20c&tagKeys=a", nil), nil
			},
			s: defaultSigning(),
			after: func(r *http.Request) {
				r.URL.RawQuery = "tagKeys=a&tagKeys=b+c"
			},
		},
		{
			name: "path with characters the SDK escapes",
			build: func() (*http.Request, []byte) {
				return newRequest(t, http.MethodGet, srv.URL+"/timelineEvents/a%20b%2Bc%40d~e_f.g-h", nil), nil
			},
			s: defaultSigning(),
		},
		{
			name: "root path",
			build: func() (*http.Request, []byte) {
				return newRequest(t, http.MethodGet, srv.URL+"/", nil), nil
			},
			s: defaultSigning(),
		},
		{
			name: "another key, another region, repeated header",
			build: func() (*http.Request, []byte) {
				body := []byte(`{"incidentRecordArn":"x"}`)
				req := newRequest(t, http.MethodPost, srv.URL+"/updateIncidentRecord", body)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Add("X-Custom", "one")
				req.Header.Add("X-Custom", "  two   words ")
				return req, body
			},
			s: signing{keyID: otherKeyID, secret: otherSecret, service: testService, region: "eu-west-3", at: testNow.Add(-14 * time.Minute)},
		},
		{
			name: "unsigned header added after signing",
			build: func() (*http.Request, []byte) {
				body := []byte(`{}`)
				req := newRequest(t, http.MethodPost, srv.URL+"/listIncidentRecords", body)
				req.Header.Set("Content-Type", "application/json")
				return req, body
			},
			s: defaultSigning(),
			after: func(r *http.Request) {
				r.Header.Set("X-Forwarded-For", "10.0.0.1")
				r.Header.Set("User-Agent", "changed")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, body := tt.build()
			if tt.before != nil {
				tt.before(req)
			}
			sign(t, req, body, tt.s)
			if tt.after != nil {
				tt.after(req)
			}
			got := send(t, req)
			if got.Code != "" || got.KeyID != tt.s.keyID {
				t.Fatalf("Verify = %q, %s: %s; want %q, nil (server saw host %q path %q query %q)",
					got.KeyID, got.Code, got.Message, tt.s.keyID, got.Host, got.EscapedPath, got.RawQuery)
			}
		})
	}
}

// TestVerifyEscapedPathOnWire checks that the server sees the double-encoded
// path case as sent.
func TestVerifyEscapedPathOnWire(t *testing.T) {
	srv := newServer(t, testVerifier())
	const path = "/tags/arn%3Aaws%3Assm-incidents%3A%3A111122223333%3Aresponse-plan%2Fmyplan"
	req := newRequest(t, http.MethodGet, srv.URL+path, nil)
	sign(t, req, nil, defaultSigning())
	got := send(t, req)
	if got.EscapedPath != path {
		t.Fatalf("server saw path %q, want %q", got.EscapedPath, path)
	}
	if got.Code != "" {
		t.Fatalf("Verify: %s: %s", got.Code, got.Message)
	}
}

const (
	msgMismatchWant = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgRequiresAll = "Authorization header requires 'Credential' parameter. " +
		"Authorization header requires 'Signature' parameter. " +
		"Authorization header requires 'SignedHeaders' parameter. "
)

// TestVerifyFailures names each way verification fails, with AWS's code and
// message.
func TestVerifyFailures(t *testing.T) {
	srv := newServer(t, testVerifier())
	body := []byte(`{"name":"myplan"}`)
	post := func() *http.Request {
		req := newRequest(t, http.MethodPost, srv.URL+"/createResponsePlan", body)
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	withSigning := func(f func(*signing)) signing { s := defaultSigning(); f(&s); return s }
	setAuth := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", v) }
	}
	replaceAuth := func(old, new string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
		}
	}
	const scope = "/20251120/us-east-1/ssm-incidents/aws4_request"

	tests := []struct {
		name     string
		req      func() *http.Request
		unsigned bool
		s        signing
		before   func(*http.Request) // before signing
		after    func(*http.Request) // after signing
		code     string
		msg      string
	}{
		{
			name:     "missing Authorization header",
			unsigned: true,
			code:     CodeMissingAuthenticationToken,
			msg:      "Missing Authentication Token",
		},
		{
			name:     "incomplete presigned query",
			unsigned: true,
			before: func(r *http.Request) {
				r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20251120%2Fus-east-1%2Fssm-incidents%2Faws4_request"
			},
			code: CodeIncompleteSignature,
			msg: "AWS query-string parameters must include 'X-Amz-Signature'. " +
				"AWS query-string parameters must include 'X-Amz-SignedHeaders'. " +
				"AWS query-string parameters must include 'X-Amz-Date'. " +
				"Re-examine the query-string parameters.",
		},
		{
			name: "Authorization header and presigned query",
			after: func(r *http.Request) {
				r.URL.RawQuery = "X-Amz-Algorithm"
			},
			code: CodeInvalidSignature,
			msg:  "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
		},
		{
			name:  "garbage header",
			after: setAuth("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"),
			code:  CodeIncompleteSignature,
			msg:   msgRequiresAll + "Authorization=Bearer eyJhbGciOiJIUzI1NiJ9.e30.x",
		},
		{
			name:     "garbage header and no date",
			unsigned: true,
			before:   setAuth("AWS AKIDEXAMPLE:c2lnbmF0dXJl"),
			code:     CodeIncompleteSignature,
			msg: msgRequiresAll + "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
				"Authorization=AWS AKIDEXAMPLE:c2lnbmF0dXJl",
		},
		{
			name:  "algorithm only",
			after: setAuth("AWS4-HMAC-SHA256"),
			code:  CodeIncompleteSignature,
			msg:   msgRequiresAll + "Authorization=AWS4-HMAC-SHA256",
		},
		{
			name:  "missing Signature and SignedHeaders",
			after: setAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE" + scope),
			code:  CodeIncompleteSignature,
			msg: "Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. " +
				"Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE" + scope,
		},
		{
			name:  "unsupported algorithm",
			after: replaceAuth("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
			code:  CodeIncompleteSignature,
			msg:   "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'.",
		},
		{
			name:  "parameter without equal sign",
			after: setAuth("AWS4-HMAC-SHA256 Credential= AKIDEXAMPLE" + scope + ", SignedHeaders=host, Signature=00"),
			code:  CodeIncompleteSignature,
			msg: "'AKIDEXAMPLE" + scope + "' not a valid key=value pair (missing equal-sign) in Authorization header: " +
				"'AWS4-HMAC-SHA256 Credential= AKIDEXAMPLE" + scope + ", SignedHeaders=host, Signature=00'.",
		},
		{
			name:  "credential with too few elements",
			after: replaceAuth("/us-east-1/", "/"),
			code:  CodeIncompleteSignature,
			msg: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, " +
				"got 'AKIDEXAMPLE/20251120/ssm-incidents/aws4_request'",
		},
		{
			name:   "no date header",
			before: func(r *http.Request) {},
			after: func(r *http.Request) {
				r.Header.Del("X-Amz-Date")
			},
			code: CodeIncompleteSignature,
			msg:  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=",
		},
		{
			name:  "malformed X-Amz-Date",
			after: func(r *http.Request) { r.Header.Set("X-Amz-Date", "2025-11-20T20:23:46Z") },
			code:  CodeIncompleteSignature,
			msg:   "Date must be in ISO-8601 'basic format'. Got '2025-11-20T20:23:46Z'. See http://en.wikipedia.org/wiki/ISO_8601",
		},
		{
			name:  "host not signed",
			after: replaceAuth("SignedHeaders=content-length;content-type;host;x-amz-date", "SignedHeaders=content-length;content-type;x-amz-date"),
			code:  CodeInvalidSignature,
			msg:   "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name: "unknown access key",
			s:    withSigning(func(s *signing) { s.keyID = "AKIDUNKNOWN" }),
			code: CodeUnrecognizedClient,
			msg:  "The security token included in the request is invalid.",
		},
		{
			name: "unknown access key is reported before expiry",
			s:    withSigning(func(s *signing) { s.keyID = "AKIDUNKNOWN"; s.at = testNow.Add(-time.Hour) }),
			code: CodeUnrecognizedClient,
			msg:  "The security token included in the request is invalid.",
		},
		{
			name: "wrong secret",
			s:    withSigning(func(s *signing) { s.secret = "not-the-secret" }),
			code: CodeInvalidSignature,
			msg:  msgMismatchWant,
		},
		{
			name: "tampered body",
			after: func(r *http.Request) {
				tampered := []byte(`{"name":"yourplan"}`)
				r.Body = io.NopCloser(bytes.NewReader(tampered))
				r.ContentLength = int64(len(tampered))
			},
			code: CodeInvalidSignature,
			msg:  msgMismatchWant,
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
			name:  "tampered path",
			after: func(r *http.Request) { r.URL.Path = "/deleteResponsePlan" },
			code:  CodeInvalidSignature,
			msg:   msgMismatchWant,
		},
		{
			name:  "tampered query",
			after: func(r *http.Request) { r.URL.RawQuery = "force=true" },
			code:  CodeInvalidSignature,
			msg:   msgMismatchWant,
		},
		{
			name:  "tampered method",
			after: func(r *http.Request) { r.Method = http.MethodPut },
			code:  CodeInvalidSignature,
			msg:   msgMismatchWant,
		},
		{
			name:  "tampered signed header",
			after: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") },
			code:  CodeInvalidSignature,
			msg:   msgMismatchWant,
		},
		{
			name:  "tampered host",
			after: func(r *http.Request) { r.Host = "evil.example.com" },
			code:  CodeInvalidSignature,
			msg:   msgMismatchWant,
		},
		{
			name:  "signature not hex",
			after: func(r *http.Request) { replaceAuth("Signature=", "Signature=zz")(r) },
			code:  CodeInvalidSignature,
			msg:   msgMismatchWant,
		},
		{
			name: "signature of another request",
			after: func(r *http.Request) {
				other := newRequest(t, http.MethodPost, srv.URL+"/createResponsePlan", []byte(`{}`))
				other.Header.Set("Content-Type", "application/json")
				sign(t, other, []byte(`{}`), defaultSigning())
				r.Header.Set("Authorization", other.Header.Get("Authorization"))
			},
			code: CodeInvalidSignature,
			msg:  msgMismatchWant,
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
			name: "region of 60 KiB",
			s:    withSigning(func(s *signing) { s.region = "us-" + strings.Repeat("x", 60<<10) + "-1" }),
			code: CodeInvalidSignature,
			msg:  "Credential should be scoped to a valid region. ",
		},
		{
			name:  "wrong terminator",
			after: replaceAuth("/aws4_request", "/aws5_request"),
			code:  CodeInvalidSignature,
			msg:   "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
		},
		{
			name:  "scope date differs from X-Amz-Date",
			after: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20251121T000100Z") },
			code:  CodeInvalidSignature,
			msg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: " +
				"'20251120' != '20251121', from '20251121T000100Z'. ",
		},
		{
			name: "expired",
			s:    withSigning(func(s *signing) { s.at = testNow.Add(-20 * time.Minute) }),
			code: CodeInvalidSignature,
			msg:  "Signature expired: 20251120T200346Z is now earlier than 20251120T200846Z (20251120T202346Z - 15 min.)",
		},
		{
			name: "expired by one second",
			s:    withSigning(func(s *signing) { s.at = testNow.Add(-15*time.Minute - time.Second) }),
			code: CodeInvalidSignature,
			msg:  "Signature expired: 20251120T200845Z is now earlier than 20251120T200846Z (20251120T202346Z - 15 min.)",
		},
		{
			name: "not yet current",
			s:    withSigning(func(s *signing) { s.at = testNow.Add(20 * time.Minute) }),
			code: CodeInvalidSignature,
			msg:  "Signature not yet current: 20251120T204346Z is still later than 20251120T203846Z (20251120T202346Z + 15 min.)",
		},
		{
			name:   "X-Amz-Content-Sha256 of another body",
			before: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", hashHex([]byte(`{}`))) },
			code:   CodeInvalidSignature,
			msg:    msgMismatchWant,
		},
		{
			name: "X-Amz-Content-Sha256 and signature both over another body",
			before: func(r *http.Request) {
				r.Header.Set("X-Amz-Content-Sha256", hashHex([]byte(`{}`)))
			},
			s:    withSigning(func(s *signing) { s.payloadHash = hashHex([]byte(`{}`)) }),
			code: CodeInvalidSignature,
			msg:  msgMismatchWant,
		},
		{
			name:   "unsigned payload",
			before: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") },
			s:      withSigning(func(s *signing) { s.payloadHash = "UNSIGNED-PAYLOAD" }),
			code:   CodeInvalidSignature,
			msg:    msgMismatchWant,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := post()
			if tt.req != nil {
				req = tt.req()
			}
			if tt.before != nil {
				tt.before(req)
			}
			if !tt.unsigned {
				s := tt.s
				if s.keyID == "" {
					s = defaultSigning()
				}
				sign(t, req, body, s)
			}
			if tt.after != nil {
				tt.after(req)
			}
			got := send(t, req)
			wantMsg := tt.msg
			if strings.HasSuffix(wantMsg, "Authorization=") {
				wantMsg += req.Header.Get("Authorization")
			}
			if got.Code != tt.code || got.Message != wantMsg || got.KeyID != "" {
				t.Errorf("Verify = %q, %s: %q\nwant \"\", %s: %q", got.KeyID, got.Code, got.Message, tt.code, wantMsg)
			}
		})
	}
}

// TestVerifyDateHeader accepts a request dated by the HTTP Date header alone:
// the string to sign then carries that time in ISO 8601 basic format.
func TestVerifyDateHeader(t *testing.T) {
	v := testVerifier()
	req := httptest.NewRequest(http.MethodGet, "http://ssm-incidents.us-east-1.amazonaws.com/listResponsePlans", nil)
	req.Header.Set("Date", testNow.Format(http.TimeFormat))
	sign(t, req, nil, defaultSigning())
	// The SDK signs with X-Amz-Date; a client using Date signs the same
	// string to sign, so moving the time to Date keeps the signature valid
	// as long as X-Amz-Date is not a signed header.
	auth := req.Header.Get("Authorization")
	auth = strings.Replace(auth, "SignedHeaders=date;host;x-amz-date", "SignedHeaders=date;host", 1)
	req.Header.Del("X-Amz-Date")
	req.Header.Set("Authorization", auth)
	// Re-sign by hand: the signed header list changed.
	a, err := ParseAuthorization(auth)
	if err != nil {
		t.Fatal(err)
	}
	canonical := string(appendCanonicalRequest(nil, &state{}, req, strings.Join(a.SignedHeaders, ";"), []byte(hashHex(nil)), false))
	sts := "AWS4-HMAC-SHA256\n20251120T202346Z\n20251120/us-east-1/ssm-incidents/aws4_request\n" + hashHex([]byte(canonical))
	k := deriveKey(testSecret, "20251120", testRegion, testService)
	sig := hex.EncodeToString(hmacSHA256(k, sts))
	req.Header.Set("Authorization", strings.Replace(auth, a.Signature, sig, 1))

	cred, err := v.Verify(req, nil)
	if id := cred.AccessKeyID; err != nil || id != testKeyID {
		t.Fatalf("Verify = %q, %v; want %q, nil", id, err, testKeyID)
	}

	req.Header.Set("Date", "yesterday")
	if _, err := v.Verify(req, nil); err == nil || err.(*Error).Code != CodeIncompleteSignature {
		t.Fatalf("Verify with a malformed Date = %v, want %s", err, CodeIncompleteSignature)
	}
}

// TestVerifyKnownAnswer checks the example request of the AWS Signature
// Version 4 documentation (IAM ListUsers), whose signature AWS publishes.
func TestVerifyKnownAnswer(t *testing.T) {
	v := &Verifier{
		Service: "iam",
		Lookup: func(_ context.Context, id string) (string, bool, error) {
			return "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", id == "AKIDEXAMPLE", nil
		},
		Now: func() time.Time { return time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC) },
	}
	req := httptest.NewRequest(http.MethodGet, "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("X-Amz-Date", "20150830T123600Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "+
		"SignedHeaders=content-type;host;x-amz-date, "+
		"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
	if cred, err := v.Verify(req, nil); err != nil || cred.AccessKeyID != "AKIDEXAMPLE" {
		t.Fatalf("Verify = %q, %v; want AKIDEXAMPLE, nil", cred.AccessKeyID, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;  charset=utf-8")
	if _, err := v.Verify(req, nil); err != nil {
		t.Fatalf("Verify with extra inner spaces: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	if _, err := v.Verify(req, nil); err == nil {
		t.Fatal("Verify accepted a changed signed header")
	}
}

func TestNoLookupRejectsEveryKey(t *testing.T) {
	v := testVerifier()
	v.Lookup = nil
	req := httptest.NewRequest(http.MethodPost, "http://localhost/listResponsePlans", strings.NewReader("{}"))
	sign(t, req, []byte("{}"), defaultSigning())
	_, err := v.Verify(req, []byte("{}"))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUnrecognizedClient {
		t.Fatalf("Verify = %v, want %s", err, CodeUnrecognizedClient)
	}
}

func TestVerifyReturnsRegion(t *testing.T) {
	v := testVerifier()
	for _, region := range []string{"us-east-1", "eu-west-3"} {
		req := httptest.NewRequest(http.MethodPost, "http://localhost/listResponsePlans", strings.NewReader("{}"))
		sign(t, req, []byte("{}"), signing{keyID: otherKeyID, secret: otherSecret, service: testService, region: region, at: testNow})
		c, err := v.Verify(req, []byte("{}"))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if c != (Credential{AccessKeyID: otherKeyID, Region: region}) {
			t.Fatalf("Verify = %+v, want key %s and region %s", c, otherKeyID, region)
		}
	}
}

// TestForgedRequestsAreNotCached sends requests of a known key signed with
// the wrong secret for many regions: none may leave a signing key behind.
// Only a verified signature caches its key.
func TestForgedRequestsAreNotCached(t *testing.T) {
	v := testVerifier()
	for i := range 200 {
		req := httptest.NewRequest(http.MethodPost, "http://localhost/listResponsePlans", strings.NewReader("{}"))
		region := fmt.Sprintf("us-forged-%d", i%100)
		sign(t, req, []byte("{}"), signing{keyID: testKeyID, secret: "not-the-secret", service: testService, region: region, at: testNow})
		if _, err := v.Verify(req, []byte("{}")); err == nil {
			t.Fatal("a forged signature verified")
		}
	}
	if n := len(v.keys.m); n != 0 {
		t.Fatalf("forged requests left %d signing keys in the cache", n)
	}
	req := httptest.NewRequest(http.MethodPost, "http://localhost/listResponsePlans", strings.NewReader("{}"))
	sign(t, req, []byte("{}"), defaultSigning())
	if _, err := v.Verify(req, []byte("{}")); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if n := len(v.keys.m); n != 1 {
		t.Fatalf("a verified request left %d signing keys in the cache, want 1", n)
	}
}

func TestMaxSkew(t *testing.T) {
	v := testVerifier()
	v.MaxSkew = 5 * time.Minute
	req := httptest.NewRequest(http.MethodPost, "http://localhost/listResponsePlans", strings.NewReader("{}"))
	sign(t, req, []byte("{}"), signing{keyID: testKeyID, secret: testSecret, service: testService, region: testRegion, at: testNow.Add(-6 * time.Minute)})
	_, err := v.Verify(req, []byte("{}"))
	want := "Signature expired: 20251120T201746Z is now earlier than 20251120T201846Z (20251120T202346Z - 5 min.)"
	if e, ok := err.(*Error); !ok || e.Message != want {
		t.Fatalf("Verify = %v, want message %q", err, want)
	}
	v.MaxSkew = 10 * time.Minute
	if _, err := v.Verify(req, []byte("{}")); err != nil {
		t.Fatalf("Verify within a 10 minute skew: %v", err)
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{CodeUnrecognizedClient, "The security token included in the request is invalid."}
	if got, want := e.Error(), "UnrecognizedClientException: The security token included in the request is invalid."; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

// TestMessagesDoNotRepeatHugeHeaders sends Authorization headers of tens of
// kilobytes that fail in each way that quotes them: no message repeats
// more than a few hundred bytes of them.
func TestMessagesDoNotRepeatHugeHeaders(t *testing.T) {
	v := testVerifier()
	huge := strings.Repeat("z", 40<<10)
	for name, header := range map[string]string{
		"missing parameters": "AWS4-HMAC-SHA256 " + huge + "=x",
		"algorithm":          "AWS4-" + huge + " Credential=x",
		"no equal sign":      "AWS4-HMAC-SHA256 " + huge,
		"credential":         "AWS4-HMAC-SHA256 Credential=" + huge + ", SignedHeaders=host, Signature=00",
		"terminator":         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251120/us-east-1/ssm-incidents/" + huge + ", SignedHeaders=host, Signature=00",
	} {
		req := httptest.NewRequest(http.MethodPost, "http://localhost/listResponsePlans", strings.NewReader("{}"))
		req.Header.Set("Authorization", header)
		req.Header.Set("X-Amz-Date", testNow.Format("20060102T150405Z"))
		_, err := v.Verify(req, []byte("{}"))
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: Verify = %v", name, err)
		}
		if len(e.Message) > 1024 {
			t.Errorf("%s: a message of %d bytes repeats the header", name, len(e.Message))
		}
	}
}
