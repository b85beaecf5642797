package restjson_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/smithy-go"
	"github.com/incidentd/incidentd/internal/testserver"
)

// TestAuthenticationErrors drives the server with wrongly signed requests and
// checks AWS's codes and messages, through the SDK where it can send them.
func TestAuthenticationErrors(t *testing.T) {
	srv := testserver.Start(t)
	ctx := context.Background()

	sdkCases := []struct {
		name, key, secret, code, message string
	}{
		{"unknown key", "AKIDUNKNOWN", "whatever", "UnrecognizedClientException", "The security token included in the request is invalid."},
		{"wrong secret", testserver.KeyA, "not-the-secret", "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
	}
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			c := srv.Client(tc.key, tc.secret, func(o *ssmincidents.Options) { o.RetryMaxAttempts = 1 })
			_, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{})
			var api smithy.APIError
			if !errors.As(err, &api) {
				t.Fatalf("want an API error, got %v", err)
			}
			if api.ErrorCode() != tc.code || api.ErrorMessage() != tc.message {
				t.Fatalf("got %s %q", api.ErrorCode(), api.ErrorMessage())
			}
		})
	}

	rawCases := []struct {
		name   string
		do     func() testserver.Response
		code   string
		prefix string
	}{
		{"missing signature", func() testserver.Response {
			req, _ := http.NewRequest("POST", srv.Endpoint+"/listResponsePlans", strings.NewReader("{}"))
			return srv.Send(req)
		}, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"expired", func() testserver.Response {
			return srv.DoSigned("POST", "/listResponsePlans", []byte("{}"), testserver.KeyA, testserver.SecretA, time.Now().Add(-20*time.Minute))
		}, "InvalidSignatureException", "Signature expired: "},
		{"not yet current", func() testserver.Response {
			return srv.DoSigned("POST", "/listResponsePlans", []byte("{}"), testserver.KeyA, testserver.SecretA, time.Now().Add(20*time.Minute))
		}, "InvalidSignatureException", "Signature not yet current: "},
		{"tampered body", func() testserver.Response {
			req, _ := http.NewRequest("POST", srv.Endpoint+"/listResponsePlans", strings.NewReader(`{"maxResults":5}`))
			srv.Sign(req, []byte(`{"maxResults":5}`), testserver.KeyA, testserver.SecretA, time.Now())
			req.Body = io.NopCloser(strings.NewReader(`{"maxResults":6}`))
			return srv.Send(req)
		}, "InvalidSignatureException", "The request signature we calculated does not match"},
		{"unsigned healthz is fine, unsigned API is not", func() testserver.Response {
			req, _ := http.NewRequest("GET", srv.Endpoint+"/getResponsePlan?arn=x", nil)
			return srv.Send(req)
		}, "MissingAuthenticationTokenException", "Missing Authentication Token"},
	}
	for _, tc := range rawCases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.do()
			if r.Status != http.StatusForbidden || r.ErrorType != tc.code {
				t.Fatalf("got %d %s: %s", r.Status, r.ErrorType, r.Body)
			}
			var body struct{ Message string }
			if err := json.Unmarshal(r.Body, &body); err != nil || !strings.HasPrefix(body.Message, tc.prefix) {
				t.Fatalf("message %q (%v)", body.Message, err)
			}
			if r.Header.Get("x-amzn-RequestId") == "" {
				t.Fatal("no x-amzn-RequestId")
			}
		})
	}

	resp, err := http.Get(srv.Endpoint + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}
