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

// Publish implements Publisher: message is an event (the envelope
// EventBridge gives its events), of which the source, detail type, time,
// resources and detail are put; the bus gives the event its own id,
// account and region.
func (p *EventBridge) Publish(ctx context.Context, bus string, message []byte, _ map[string]string) error {
	var ev struct {
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Time       time.Time       `json:"time"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(message, &ev); err != nil {
		return fmt.Errorf("the stored event is not an event: %w", err)
	}
	entry := types.PutEventsRequestEntry{Source: aws.String(ev.Source), DetailType: aws.String(ev.DetailType),
		Detail: aws.String(string(ev.Detail)), Resources: ev.Resources, EventBusName: aws.String(strings.TrimPrefix(bus, "event-bus/"))}
	if !ev.Time.IsZero() {
		entry.Time = aws.Time(ev.Time)
	}
	var opts []func(*eventbridge.Options)
	if parts := strings.SplitN(bus, ":", 6); len(parts) == 6 && parts[0] == "arn" && parts[3] != "" {
		opts = append(opts, func(o *eventbridge.Options) { o.Region = parts[3] })
	}
	out, err := p.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry}}, opts...)
	if err != nil {
		return err
	}
	if out.FailedEntryCount > 0 {
		for _, e := range out.Entries {
			if e.ErrorCode != nil {
				return fmt.Errorf("the event bus refused the event: %s: %s", aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
			}
		}
		return errors.New("the event bus refused the event")
	}
	return nil
}
