package testserver

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
)

// The shapes the write-path benchmarks share, so that figures taken in one
// package compare with those of another.

// BenchPlan creates the response plan "bench", whose incident template has
// a title and a summary of 100 characters, and returns its ARN.
func BenchPlan(t testing.TB, c *ssmincidents.Client) string {
	t.Helper()
	summary := "The primary database of the checkout service stopped answering after deployment 4711 failed."
	summary += strings.Repeat(".", 100-len(summary))
	out, err := c.CreateResponsePlan(context.Background(), &ssmincidents.CreateResponsePlanInput{
		Name: aws.String("bench"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Checkout database unreachable"), Impact: aws.Int32(2),
			Summary: aws.String(summary)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Arn)
}

// BenchUpdate is the i-th update of the write-path benchmarks: of one of
// the records arns, a new title, a summary and an impact that changes.
func BenchUpdate(arns []string, i int) *ssmincidents.UpdateIncidentRecordInput {
	return &ssmincidents.UpdateIncidentRecordInput{
		Arn:     &arns[i%len(arns)],
		Title:   aws.String(fmt.Sprintf("title %d", i)),
		Summary: aws.String("The primary database stopped answering after a failed deployment."),
		Impact:  aws.Int32(int32(i%5 + 1)),
	}
}
