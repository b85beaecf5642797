package sigv4

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/aws/smithy-go"
)

// TestVerifySSMIncidentsClient sends requests with the AWS SDK's
// ssm-incidents client, middleware and all, to a server that verifies them
// and answers a failure as an AWS JSON error.
func TestVerifySSMIncidentsClient(t *testing.T) {
	v := testVerifier()
	v.Now = nil // the client signs with the real clock

	var mu sync.Mutex
	var seen []string // "METHOD escaped-path?query" of verified requests
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if _, err := v.Verify(r, body); err != nil {
			e := err.(*Error)
			w.Header().Set("X-Amzn-ErrorType", e.Code)
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
			return
		}
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		mu.Unlock()
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()

	client := func(id, secret string) *ssmincidents.Client {
		return ssmincidents.New(ssmincidents.Options{
			Region:       testRegion,
			BaseEndpoint: aws.String(srv.URL),
			HTTPClient:   srv.Client(),
			Retryer:      aws.NopRetryer{},
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, nil
			}),
		})
	}
	ctx := context.Background()
	c := client(testKeyID, testSecret)

	if _, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String("myplan"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Database  down"), Impact: aws.Int32(1)},
		Tags:             map[string]string{"team": "db"},
	}); err != nil {
		t.Errorf("CreateResponsePlan: %v", err)
	}
	if _, err := c.GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: aws.String(planARN)}); err != nil {
		t.Errorf("GetResponsePlan: %v", err)
	}
	if _, err := c.TagResource(ctx, &ssmincidents.TagResourceInput{
		ResourceArn: aws.String(planARN), Tags: map[string]string{"env": "prod"},
	}); err != nil {
		t.Errorf("TagResource: %v", err)
	}
	if _, err := c.UntagResource(ctx, &ssmincidents.UntagResourceInput{
		ResourceArn: aws.String(planARN), TagKeys: []string{"a", "b c", "d/e"},
	}); err != nil {
		t.Errorf("UntagResource: %v", err)
	}
	if _, err := c.ListResponsePlans(ctx, &ssmincidents.ListResponsePlansInput{}); err != nil {
		t.Errorf("ListResponsePlans: %v", err)
	}

	want := []string{
		"POST /createResponsePlan?",
		"GET /getResponsePlan?arn=arn%3Aaws%3Assm-incidents%3A%3A111122223333%3Aresponse-plan%2Fmyplan",
		"POST /tags/arn%3Aaws%3Assm-incidents%3A%3A111122223333%3Aresponse-plan%2Fmyplan?",
		"DELETE /tags/arn%3Aaws%3Assm-incidents%3A%3A111122223333%3Aresponse-plan%2Fmyplan?tagKeys=a&tagKeys=b%20c&tagKeys=d%2Fe",
		"POST /listResponsePlans?",
	}
	mu.Lock()
	got := seen
	mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("verified requests:\n%q\nwant\n%q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d = %q, want %q", i, got[i], want[i])
		}
	}

	// Failures reach the client as AWS errors.
	for _, tc := range []struct {
		id, secret, code, msg string
	}{
		{"AKIDUNKNOWN", testSecret, CodeUnrecognizedClient, "The security token included in the request is invalid."},
		{testKeyID, "wrong", CodeInvalidSignature, msgMismatchWant},
	} {
		_, err := client(tc.id, tc.secret).GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: aws.String(planARN)})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code || apiErr.ErrorMessage() != tc.msg {
			t.Errorf("GetResponsePlan as %s = %v, want %s: %s", tc.id, err, tc.code, tc.msg)
		}
	}
}
