package sigv4

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// benchRequest returns a server-side POST of about 600 bytes of JSON with
// eight signed headers, as the AWS SDK for Go v2 sends to ssm-incidents.
func benchRequest(tb testing.TB) (*http.Request, []byte) {
	body := []byte(`{"clientToken":"6a7b3f1e-8f55-4d4c-9b0e-0c1f2d3e4f50","name":"database-outage",` +
		`"displayName":"Database outage","incidentTemplate":{"title":"Primary database unreachable",` +
		`"impact":1,"summary":"The primary database of the orders service does not accept connections.",` +
		`"dedupeString":"orders-db-primary","notificationTargets":[{"snsTopicArn":` +
		`"arn:aws:sns:us-east-1:111122223333:oncall-orders"}],"incidentTags":{"service":"orders"}},` +
		`"chatChannel":{"chatbotSns":["arn:aws:sns:us-east-1:111122223333:chat-orders"]},` +
		`"engagements":["arn:aws:ssm-contacts:us-east-1:111122223333:contact/oncall-orders"],` +
		`"tags":{"team":"orders","env":"prod"}}`)
	req := httptest.NewRequest(http.MethodPost, "https://ssm-incidents.us-east-1.amazonaws.com/createResponsePlan",
		strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Amz-Sdk-Invocation-Id", "c7a34f8e-2d8f-4a5c-b1d3-6e7f8a9b0c1d")
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	req.Header.Set("X-Amz-User-Agent", "aws-sdk-go-v2/1.48.0")
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 md/GOOS#linux api/ssmincidents#1.40.1")
	s := defaultSigning()
	s.token = "FwoGZXIvYXdzEBYaDHVzLWVhc3QtMSJHMEUCIQD6example"
	sign(tb, req, body, s)
	// A server sees the length as a header too.
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return req, body
}

// benchPresignedRequest returns the request of benchRequest presigned
// instead, valid for 15 minutes: the authentication parameters, the session
// token and X-Amz-User-Agent in the query (the Go SDK's presigner moves
// X-Amz-* headers there), five signed headers.
func benchPresignedRequest(tb testing.TB) (*http.Request, []byte) {
	req, body := benchRequest(tb)
	req.Header.Del("Authorization")
	req.Header.Del("X-Amz-Date")
	req.Header.Del("X-Amz-Security-Token")
	s := defaultSigning()
	s.token = "FwoGZXIvYXdzEBYaDHVzLWVhc3QtMSJHMEUCIQD6example"
	preq := presign(tb, req, body, s, 900)
	preq.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return preq, body
}

func TestBenchRequestShape(t *testing.T) {
	req, body := benchRequest(t)
	a, err := ParseAuthorization(req.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.SignedHeaders) != 8 || len(body) < 550 || len(body) > 650 {
		t.Fatalf("bench request has %d signed headers (%v) and a %d-byte body", len(a.SignedHeaders), a.SignedHeaders, len(body))
	}
	if _, err := testVerifier().Verify(req, body); err != nil {
		t.Fatal(err)
	}

	preq, _ := benchPresignedRequest(t)
	p, err := ParseQuery(preq.URL.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.SignedHeaders) != 5 || preq.URL.Query().Get("X-Amz-User-Agent") == "" || preq.Header.Get("Authorization") != "" {
		t.Fatalf("presigned bench request signs %v and has query %q, want 5 headers, X-Amz-User-Agent in the query and no Authorization",
			p.SignedHeaders, preq.URL.RawQuery)
	}
	if _, err := testVerifier().Verify(preq, body); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkVerify(b *testing.B) {
	req, body := benchRequest(b)
	v := testVerifier()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := v.Verify(req, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	req, body := benchRequest(b)
	v := testVerifier()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(req, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkVerifyPresigned(b *testing.B) {
	req, body := benchPresignedRequest(b)
	v := testVerifier()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := v.Verify(req, body); err != nil {
			b.Fatal(err)
		}
	}
}
