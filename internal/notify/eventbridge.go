package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// EventBridge puts events on EventBridge event buses through the AWS SDK:
// a bus named by its ARN in the ARN's region, one named by its name in the
// configuration's region.
type EventBridge struct {
	client *eventbridge.Client
}

// NewEventBridge returns an EventBridge publisher configured by cfg
// (LoadAWSConfig: its endpoint is AWS_ENDPOINT_URL_EVENTBRIDGE or
// AWS_ENDPOINT_URL, or AWS's own), in region when cfg names none.
func NewEventBridge(cfg aws.Config, region string) *EventBridge {
	if cfg.Region == "" {
		cfg.Region = region
	}
	return &EventBridge{client: eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		o.RetryMaxAttempts = 1 // the dispatcher retries
	})}
}

// Publish implements Publisher, with one PutEvents: each message is an
// event (the envelope EventBridge gives its events), of which the source,
// detail type, time, resources and detail are put; the bus gives the event
// its own id, account and region.
func (p *EventBridge) Publish(ctx context.Context, bus string, messages []Message) []error {
	errs := make([]error, len(messages))
	var entries []types.PutEventsRequestEntry
	var index []int // the message of each entry
	for i, m := range messages {
		var ev struct {
			Source     string          `json:"source"`
			DetailType string          `json:"detail-type"`
			Time       time.Time       `json:"time"`
			Resources  []string        `json:"resources"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(m.Body, &ev); err != nil {
			errs[i] = fmt.Errorf("the stored event is not an event: %w", err)
			continue
		}
		entry := types.PutEventsRequestEntry{Source: aws.String(ev.Source), DetailType: aws.String(ev.DetailType),
			Detail: aws.String(string(ev.Detail)), Resources: ev.Resources, EventBusName: aws.String(strings.TrimPrefix(bus, "event-bus/"))}
		if !ev.Time.IsZero() {
			entry.Time = aws.Time(ev.Time)
		}
		entries, index = append(entries, entry), append(index, i)
	}
	if len(entries) == 0 {
		return errs
	}
	var opts []func(*eventbridge.Options)
	if region, ok := arnRegion(bus, "events"); ok {
		opts = append(opts, func(o *eventbridge.Options) { o.Region = region })
	}
	out, err := p.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries}, opts...)
	for j, i := range index {
		switch {
		case err != nil:
			errs[i] = err
		case j >= len(out.Entries):
			errs[i] = errors.New("the event bus's answer to PutEvents does not name the event")
		case out.Entries[j].ErrorCode != nil:
			errs[i] = fmt.Errorf("the event bus refused the event: %s: %s", aws.ToString(out.Entries[j].ErrorCode), aws.ToString(out.Entries[j].ErrorMessage))
		}
	}
	return errs
}
