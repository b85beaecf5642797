package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/domain"
)

// notificationOptions are the flags of incidentd notifications.
type notificationOptions struct {
	state, incident, topic string
	limit                  int
}

func notificationsFlags(fs *flag.FlagSet, o *options) {
	dataFlags(fs, o)
	databaseFlag(fs, o)
	fs.StringVar(&o.notifications.state, "state", "", "list only deliveries in `STATE`: pending, delivered or parked")
	fs.StringVar(&o.notifications.incident, "incident", "", "list only the deliveries of the incident record `ARN`")
	fs.StringVar(&o.notifications.topic, "topic", "", "show, list or retry only the deliveries to the SNS topic `ARN` (or the event bus event-bus/NAME, or its ARN)")
	fs.IntVar(&o.notifications.limit, "limit", 100, "list at most this many deliveries, newest first")
}

// checkNotifications checks the arguments of incidentd notifications.
func checkNotifications(o *options) error {
	n := o.notifications
	switch action := o.args[0]; action {
	case "list":
		if len(o.args) != 1 {
			return errors.New("notifications list takes no ID")
		}
		switch n.state {
		case "", domain.DeliveryPending, domain.DeliveryDelivered, domain.DeliveryParked:
		default:
			return fmt.Errorf("--state is pending, delivered or parked, not %q", n.state)
		}
		if n.limit < 1 {
			return fmt.Errorf("--limit must be at least 1, not %d", n.limit)
		}
	case "show", "retry":
		if len(o.args) != 2 {
			return errors.New("notifications " + action + " takes the ID of a notification")
		}
	default:
		return fmt.Errorf("notifications does list, show or retry, not %q", action)
	}
	return nil
}

// runNotifications carries out incidentd notifications list|show|retry.
func runNotifications(o *options, stdout, _ io.Writer) error {
	action, n := o.args[0], o.notifications
	ctx, stop := interruptible()
	defer stop()
	store, err := app.OpenStore(ctx, o.Config)
	if err != nil {
		return err
	}
	defer store.Close()
	switch action {
	case "list":
		ds, err := store.ListDeliveries(ctx, domain.DeliveryFilter{State: n.state, IncidentARN: n.incident, Topic: n.topic}, n.limit)
		if err != nil {
			return err
		}
		for _, d := range ds {
			fmt.Fprintf(stdout, "%s  %s  %-9s  attempts %d  seq %d  %s  %s  %s\n", d.CreatedTime.Format(time.RFC3339), d.ID, d.State,
				d.Attempts, d.Seq, d.DetailType, d.Topic, d.IncidentARN)
			if d.LastError != "" {
				fmt.Fprintf(stdout, "    last error: %s\n", d.LastError)
			}
		}
		return nil
	case "show":
		ds, err := deliveriesOf(o, store, o.args[1])
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		for _, d := range ds {
			if err := enc.Encode(shown(d)); err != nil {
				return err
			}
		}
		return nil
	default: // retry
		ds, err := deliveriesOf(o, store, o.args[1])
		if err != nil {
			return err
		}
		retried := 0
		for _, d := range ds {
			if d.State != domain.DeliveryParked {
				continue
			}
			if err := store.RetryDelivery(ctx, d.ID, d.Topic, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "incidentd: notification %s to %s is pending again\n", d.ID, d.Topic)
			retried++
		}
		if retried == 0 {
			return fmt.Errorf("notification %s has no parked delivery%s", o.args[1], topicOf(n.topic))
		}
		return nil
	}
}

// deliveriesOf returns the deliveries of the notification id (to --topic
// only, when given), or an error when there are none.
func deliveriesOf(o *options, store domain.Store, id string) ([]*domain.Delivery, error) {
	ctx, stop := interruptible()
	defer stop()
	ds, err := store.ListDeliveries(ctx, domain.DeliveryFilter{ID: id, Topic: o.notifications.topic}, 1000)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("no notification %s%s", id, topicOf(o.notifications.topic))
	}
	return ds, nil
}

func topicOf(topic string) string {
	if topic == "" {
		return ""
	}
	return " to " + topic
}

// shown is a delivery as notifications show prints it.
func shown(d *domain.Delivery) any {
	return struct {
		ID          string            `json:"id"`
		Topic       string            `json:"topic"`
		Incident    string            `json:"incidentRecordArn"`
		Sequence    int64             `json:"sequence"`
		DetailType  string            `json:"detailType"`
		State       string            `json:"state"`
		Attempts    int               `json:"attempts"`
		NextAttempt *time.Time        `json:"nextAttempt,omitempty"`
		LastError   string            `json:"lastError,omitempty"`
		Created     time.Time         `json:"createdTime"`
		Delivered   *time.Time        `json:"deliveredTime,omitempty"`
		Attributes  map[string]string `json:"messageAttributes,omitempty"`
		Message     json.RawMessage   `json:"message"`
	}{d.ID, d.Topic, d.IncidentARN, d.Seq, d.DetailType, d.State, d.Attempts, nextAttempt(d), d.LastError, d.CreatedTime,
		d.DeliveredTime, d.Attributes, d.Message}
}

func nextAttempt(d *domain.Delivery) *time.Time {
	if d.State != domain.DeliveryPending {
		return nil
	}
	return &d.NextAttempt
}
