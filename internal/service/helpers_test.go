package service_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/aws/smithy-go"
	"github.com/incidentd/incidentd/internal/testserver"
)

var ctx = context.Background()

// setUp creates an ACTIVE replication set for the client's account and
// returns its ARN.
func setUp(t testing.TB, c *ssmincidents.Client) string {
	t.Helper()
	out, err := c.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{
		Regions: map[string]types.RegionMapInputValue{"us-east-1": {}},
	})
	if err != nil {
		t.Fatalf("CreateReplicationSet: %v", err)
	}
	return aws.ToString(out.Arn)
}

// createPlan creates a minimal response plan and returns its ARN.
func createPlan(t testing.TB, c *ssmincidents.Client, name string) string {
	t.Helper()
	out, err := c.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name:             aws.String(name),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Title of " + name), Impact: aws.Int32(3)},
	})
	if err != nil {
		t.Fatalf("CreateResponsePlan %s: %v", name, err)
	}
	return aws.ToString(out.Arn)
}

// wantAPIError asserts err is the AWS error code and returns it typed as T.
func wantAPIError[T error](t *testing.T, err error, code string) T {
	t.Helper()
	var typed T
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("want %s, got non-API error %v", code, err)
	}
	if api.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %s", code, api.ErrorCode(), api.ErrorMessage())
	}
	if !errors.As(err, &typed) {
		t.Fatalf("the SDK did not surface %s as %T: %v", code, typed, err)
	}
	return typed
}

func start(t *testing.T) *testserver.Server { return testserver.Start(t) }

// listAll pages through a list operation maxResults at a time: page returns
// the items and nextToken of the page after token. It checks that no page
// holds more than maxResults, that a page with a nextToken is not empty, and
// that the listing ends.
func listAll[T any](t *testing.T, op string, maxResults int32, page func(token *string) ([]T, *string, error)) []T {
	t.Helper()
	var out []T
	var token *string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("%s does not end", op)
		}
		items, next, err := page(token)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if len(items) > int(maxResults) {
			t.Fatalf("%s: page of %d with maxResults %d", op, len(items), maxResults)
		}
		out = append(out, items...)
		if next == nil {
			return out
		}
		if len(items) == 0 {
			t.Fatalf("%s: an empty page with a nextToken", op)
		}
		token = next
	}
}
