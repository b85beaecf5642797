package service_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/incidentd/incidentd/internal/testserver"
)

func TestTagsOnResponsePlansAndReplicationSets(t *testing.T) {
	srv := start(t)
	c := srv.A()
	rs := setUp(t, c)
	plan := createPlan(t, c, "tagged")
	for _, arn := range []string{rs, plan} {
		if _, err := c.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"a": "1", "b": "2"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"b": "3", "c": ""}}); err != nil {
			t.Fatal(err)
		}
		got, err := c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"a": "1", "b": "3", "c": ""}; !reflect.DeepEqual(got.Tags, want) {
			t.Fatalf("%s tags %v want %v", arn, got.Tags, want)
		}
		if _, err := c.UntagResource(ctx, &ssmincidents.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"a", "c", "absent"}}); err != nil {
			t.Fatal(err)
		}
		got, _ = c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if want := map[string]string{"b": "3"}; !reflect.DeepEqual(got.Tags, want) {
			t.Fatalf("%s tags after untag %v", arn, got.Tags)
		}
	}
}

func TestTagErrors(t *testing.T) {
	srv := start(t)
	c := srv.A()
	setUp(t, c)
	plan := createPlan(t, c, "tagged")

	// aws: keys are refused and change nothing.
	_, err := c.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &plan, Tags: map[string]string{"aws:owner": "x", "ok": "y"}})
	ve := wantAPIError[*types.ValidationException](t, err, "ValidationException")
	if want := "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: ^(?!aws:)[A-Za-z0-9 _=@:.+-/]+$]"; !strings.Contains(aws.ToString(ve.Message), want) {
		t.Fatalf("message %q", aws.ToString(ve.Message))
	}
	got, _ := c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &plan})
	if len(got.Tags) != 0 {
		t.Fatalf("a refused TagResource wrote %v", got.Tags)
	}
	_, err = c.UntagResource(ctx, &ssmincidents.UntagResourceInput{ResourceArn: &plan, TagKeys: []string{"aws:x"}})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")

	// More than 50 tags in all.
	many := map[string]string{}
	for i := range 40 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	if _, err := c.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &plan, Tags: many}); err != nil {
		t.Fatal(err)
	}
	more := map[string]string{}
	for i := range 11 {
		more[fmt.Sprintf("m%02d", i)] = "v"
	}
	_, err = c.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: &plan, Tags: more})
	qe := wantAPIError[*types.ServiceQuotaExceededException](t, err, "ServiceQuotaExceededException")
	if qe.ServiceCode != types.ServiceCodeSsmIncidents || aws.ToString(qe.QuotaCode) == "" || qe.ResourceType != types.ResourceTypeResponsePlan {
		t.Fatalf("quota error %+v", qe)
	}
	got, _ = c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: &plan})
	if len(got.Tags) != 40 {
		t.Fatalf("a refused TagResource changed the tags: %d", len(got.Tags))
	}

	// Missing resources.
	for _, arn := range []string{
		"arn:aws:ssm-incidents::" + testserver.AccountA + ":response-plan/absent",
		"arn:aws:ssm-incidents::" + testserver.AccountA + ":replication-set/absent",
		"arn:aws:ssm-incidents::" + testserver.AccountA + ":incident-record/absent/1",
	} {
		_, err := c.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"k": "v"}})
		nf := wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
		if aws.ToString(nf.ResourceIdentifier) != arn {
			t.Fatalf("resourceIdentifier %q", aws.ToString(nf.ResourceIdentifier))
		}
		_, err = c.ListTagsForResource(ctx, &ssmincidents.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
		_, err = c.UntagResource(ctx, &ssmincidents.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"k"}})
		wantAPIError[*types.ResourceNotFoundException](t, err, "ResourceNotFoundException")
	}
	_, err = c.TagResource(ctx, &ssmincidents.TagResourceInput{ResourceArn: aws.String("not-an-arn"), Tags: map[string]string{"k": "v"}})
	wantAPIError[*types.ValidationException](t, err, "ValidationException")
}
