package service

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// Every successful call of an operation that changes state is announced
// on the EventBridge event bus of Config.EventBus, when there is one, as
// AWS announces the calls CloudTrail records: an "AWS API Call via
// CloudTrail" event whose detail is the CloudTrail record of the call.
// Rules written against AWS (eventName UpdateIncidentRecord with
// requestParameters.status RESOLVED, say) match it unchanged. The event
// is a delivery written in the transaction of the call; the dispatcher
// (package notify) puts it on the bus, in order per resource.

// APICallDetailType is the detail type of API-call events.
const APICallDetailType = "AWS API Call via CloudTrail"

// APICallEventSource is the eventSource of an API-call event's detail.
const APICallEventSource = "ssm-incidents.amazonaws.com"

// EventBusDestination is the destination of the deliveries to an event
// bus named as Config.EventBus names it: an event bus's ARN as it is, a
// name as event-bus/NAME (the end of the ARN of a bus of that name).
func EventBusDestination(bus string) string {
	if strings.HasPrefix(bus, "arn:") {
		return bus
	}
	return "event-bus/" + bus
}

// CloudTrailRecord is the detail of an API-call event: the record
// CloudTrail keeps of a call.
type CloudTrailRecord struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       UserIdentity    `json:"userIdentity"`
	EventTime          string          `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	ReadOnly           bool            `json:"readOnly"`
	EventType          string          `json:"eventType"`
	ManagementEvent    bool            `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId"`
	EventCategory      string          `json:"eventCategory"`
}

// UserIdentity is who made a call, as CloudTrail records it.
type UserIdentity struct {
	Type        string `json:"type"` // Root, IAMUser
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	AccessKeyID string `json:"accessKeyId"`
	UserName    string `json:"userName,omitempty"`
}

// userIdentity is the identity of c.
func userIdentity(c domain.Caller) UserIdentity {
	u := UserIdentity{Type: "Root", PrincipalID: c.Account, ARN: c.Principal, AccountID: c.Account, AccessKeyID: c.AccessKeyID}
	if _, name, ok := strings.Cut(c.Principal, ":user/"); ok {
		u.Type, u.PrincipalID, u.UserName = "IAMUser", c.AccessKeyID, name
	}
	return u
}

// announceCall queues the API-call event of a successful call of op with
// input in and output out, when an event bus is configured.
func (s *Service) announceCall(ctx context.Context, op string, in, out any) error {
	if s.cfg.EventBus == "" {
		return nil
	}
	c := caller(ctx)
	members, err := requestMembers(in)
	if err != nil {
		return err
	}
	params := json.RawMessage("null")
	if len(members) > 0 {
		if params, err = json.Marshal(members); err != nil {
			return err
		}
	}
	response, err := compactJSON(out)
	if err != nil {
		return err
	}
	resource := callResource(response, members)
	// Events of one resource are put in the order of its calls.
	seq, err := s.store.NextSeq(ctx, c.Account, "api-calls "+resource)
	if err != nil {
		return err
	}
	now := s.clock()
	id := uuid.Must(uuid.NewV7()).String()
	detail := CloudTrailRecord{
		EventVersion: "1.08", UserIdentity: userIdentity(c), EventTime: now.Format(time.RFC3339),
		EventSource: APICallEventSource, EventName: op, AWSRegion: c.Region, SourceIPAddress: c.SourceIP, UserAgent: c.UserAgent,
		RequestParameters: params, ResponseElements: response, RequestID: c.RequestID, EventID: id,
		EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: c.Account, EventCategory: "Management",
	}
	msg, err := json.Marshal(struct {
		Event
		Detail CloudTrailRecord `json:"detail"`
	}{Event: Event{Version: "0", ID: id, DetailType: APICallDetailType, Source: NotificationSource, Account: c.Account,
		Time: now.Format(time.RFC3339), Region: s.region(), Resources: []string{}}, Detail: detail})
	if err != nil {
		return err
	}
	return s.addDeliveries(ctx, []*domain.Delivery{{ID: id, Topic: EventBusDestination(s.cfg.EventBus), Account: c.Account,
		IncidentARN: resource, Seq: seq, DetailType: APICallDetailType, Message: msg,
		Attributes: map[string]string{"eventName": op}, CreatedTime: now}})
}

// requestMembers are the members of a request, those of its body and
// those of its URI and query string alike, each as JSON: the request's
// parameters (null when there are none, as CloudTrail records a request
// without parameters).
func requestMembers(in any) (map[string]json.RawMessage, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	members := map[string]json.RawMessage{}
	if err := json.Unmarshal(body, &members); err != nil {
		return nil, err
	}
	if bound, ok := in.(model.Input); ok {
		for k, v := range bound.BoundParameters() {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			members[k] = b
		}
	}
	return members, nil
}

// compactJSON is v as JSON; null for an empty object, as CloudTrail
// records an answer without members.
func compactJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(b, []byte("{}")) {
		return json.RawMessage("null"), nil
	}
	return b, nil
}

// callResource is the ARN of the resource a call acted on: the incident
// or resource its answer names (StartIncident, the Create operations),
// else the one its request's members name; empty for none.
func callResource(response json.RawMessage, request map[string]json.RawMessage) string {
	var answer map[string]json.RawMessage
	json.Unmarshal(response, &answer) // null, for an answer without members: none
	for _, m := range []struct {
		members map[string]json.RawMessage
		keys    []string
	}{{answer, []string{"incidentRecordArn", "arn"}}, {request, []string{"arn", "incidentRecordArn", "resourceArn", "responsePlanArn"}}} {
		for _, k := range m.keys {
			var v string
			if json.Unmarshal(m.members[k], &v) == nil && v != "" {
				return v
			}
		}
	}
	return ""
}
