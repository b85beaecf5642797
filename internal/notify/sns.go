package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go/logging"
)

// LoadAWSConfig loads the configuration AWS clients take: the standard
// credential chain (AWS_ACCESS_KEY_ID and the rest, shared files, roles),
// AWS_REGION, and the endpoints of AWS_ENDPOINT_URL_SNS,
// AWS_ENDPOINT_URL_EVENTBRIDGE or AWS_ENDPOINT_URL.
func LoadAWSConfig(ctx context.Context) (aws.Config, error) {
	// The SDK's own log lines (such as its falling back from IMDSv2 while
	// it looks for an instance role) are not the server's to print.
	return config.LoadDefaultConfig(ctx, config.WithLogger(logging.Nop{}))
}

// SNS publishes to SNS topics through the AWS SDK, to the region of each
// topic's ARN.
type SNS struct {
	client *sns.Client
}

// NewSNS returns an SNS publisher configured by cfg (LoadAWSConfig), with
// endpoint as the SNS endpoint, or else the SDK's (AWS_ENDPOINT_URL_SNS,
// AWS_ENDPOINT_URL, or AWS's own).
func NewSNS(cfg aws.Config, endpoint string) *SNS {
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // each publish names its topic's region
	}
	client := sns.NewFromConfig(cfg, func(o *sns.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		// The dispatcher retries with its own backoff; the SDK's retries
		// would only hold a publish slot longer.
		o.RetryMaxAttempts = 1
	})
	return &SNS{client: client}
}

// Publish implements Publisher: one message with Publish, several with
// PublishBatch.
func (p *SNS) Publish(ctx context.Context, topic string, messages []Message) []error {
	region, err := topicRegion(topic)
	if err != nil {
		return all(len(messages), err)
	}
	inRegion := func(o *sns.Options) { o.Region = region }
	if len(messages) == 1 {
		_, err := p.client.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(string(messages[0].Body)),
			MessageAttributes: snsAttributes(messages[0].Attributes)}, inRegion)
		return []error{err}
	}
	entries := make([]types.PublishBatchRequestEntry, len(messages))
	for i, m := range messages {
		entries[i] = types.PublishBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), Message: aws.String(string(m.Body)),
			MessageAttributes: snsAttributes(m.Attributes)}
	}
	out, err := p.client.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: entries}, inRegion)
	if err != nil {
		return all(len(messages), err)
	}
	// An entry SNS names neither accepted nor failed was not accepted.
	errs := all(len(messages), errors.New("SNS's answer to PublishBatch does not name the message"))
	for _, ok := range out.Successful {
		if i, err := strconv.Atoi(aws.ToString(ok.Id)); err == nil && i >= 0 && i < len(errs) {
			errs[i] = nil
		}
	}
	for _, f := range out.Failed {
		if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < len(errs) {
			errs[i] = fmt.Errorf("SNS refused the message: %s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return errs
}

// snsAttributes are message attributes of strings as SNS takes them.
func snsAttributes(attributes map[string]string) map[string]types.MessageAttributeValue {
	attrs := make(map[string]types.MessageAttributeValue, len(attributes))
	for k, v := range attributes {
		attrs[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return attrs
}

// topicRegion is the region of an SNS topic's ARN, arn:PARTITION:sns:REGION:ACCOUNT:NAME.
func topicRegion(topic string) (string, error) {
	region, ok := arnRegion(topic, "sns")
	if !ok {
		return "", fmt.Errorf("%q is not the ARN of an SNS topic", topic)
	}
	return region, nil
}

// arnRegion is the region of arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
// for the service; ok is false for anything else.
func arnRegion(arn, service string) (region string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != service || parts[3] == "" {
		return "", false
	}
	return parts[3], true
}
