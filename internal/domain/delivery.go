package domain

import "time"

// Delivery states.
const (
	DeliveryPending   = "pending"   // to be published, when due
	DeliveryDelivered = "delivered" // accepted by its destination
	DeliveryParked    = "parked"    // given up after too many attempts, until retried by hand
)

// Delivery is the notification of one change of an incident record to one
// SNS topic, written in the same transaction as the change. The
// deliveries of one change share its ID and Seq, one for each topic. (The
// test message a topic receives when a response plan comes to name it is
// a delivery of the plan: IncidentARN is the plan's ARN, Seq 0.)
type Delivery struct {
	ID          string // the message's id, stable across attempts: consumers drop repeats by it
	Topic       string // the SNS topic's ARN
	Account     string
	IncidentARN string
	Seq         int64  // the change's number among the incident's notified changes, from 1
	DetailType  string // SSM Incident Start, SSM Incident Record Update
	Message     []byte // the SNS Message: the event envelope, JSON
	// Attributes are the SNS message attributes (strings), for
	// subscription filter policies.
	Attributes  map[string]string
	CreatedTime time.Time

	// The state of its delivery, kept by the store.
	State         string
	Attempts      int
	NextAttempt   time.Time // when a pending delivery is due
	LastError     string
	DeliveredTime *time.Time
}

// DeliveryFilter selects deliveries to list; each member left empty
// selects all.
type DeliveryFilter struct {
	State       string
	IncidentARN string
	ID          string // the deliveries of one notification
	Topic       string
}
