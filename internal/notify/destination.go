package notify

import (
	"context"
	"strings"
)

// The kinds of destination a delivery names (its Topic).
const (
	KindSNS         = "sns"         // an SNS topic's ARN
	KindEventBridge = "eventbridge" // an event bus: its ARN, or event-bus/NAME
)

// Kind is the kind of the destination dest.
func Kind(dest string) string {
	if strings.HasPrefix(dest, "arn:") && strings.Contains(dest, ":sns:") {
		return KindSNS
	}
	return KindEventBridge
}

// Router publishes each delivery to the publisher of its destination's
// kind.
type Router struct {
	SNS, EventBridge Publisher
}

// Publish implements Publisher.
func (r Router) Publish(ctx context.Context, destination string, messages []Message) []error {
	if Kind(destination) == KindSNS {
		return r.SNS.Publish(ctx, destination, messages)
	}
	return r.EventBridge.Publish(ctx, destination, messages)
}

// all is err for each of n messages.
func all(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}
