package service

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/incidentd/incidentd/internal/domain"
)

// A change of an incident is announced to each SNS topic the incident
// names at the time of the change (its notificationTargets and its chat
// channel's chatbotSns topics), as an SNS message whose body is an
// EventBridge-style event: consumers written for AWS Incident Manager
// parse it unchanged. The deliveries are written in the transaction of the
// change; a dispatcher (package notify) publishes them.

// NotificationSource is the source of every event.
const NotificationSource = "aws.ssm-incidents"

// Event is the body of a notification: the envelope EventBridge gives its
// events, with incidentd's own members inside Detail.
type Event struct {
	Version    string      `json:"version"`
	ID         string      `json:"id"`
	DetailType string      `json:"detail-type"`
	Source     string      `json:"source"`
	Account    string      `json:"account"`
	Time       string      `json:"time"`
	Region     string      `json:"region"`
	Resources  []string    `json:"resources"`
	Detail     EventDetail `json:"detail"`
}

// EventDetail is the detail of an Event. IncidentTitle and
// ModifiedAttributes are what consumers written for AWS read; the rest is
// incidentd's.
type EventDetail struct {
	IncidentTitle string `json:"incidentTitle"`
	// ModifiedAttributes are the members a change changed, status first
	// when it changed; empty for a start.
	ModifiedAttributes []attributeChange `json:"modifiedAttributes"`
	// Sequence numbers the incident's notified changes from 1: per topic,
	// messages are published in its order.
	Sequence int64  `json:"sequence"`
	Status   string `json:"status"`
	Impact   int32  `json:"impact"`
	// ModifiedBy is who made the change.
	ModifiedBy string `json:"modifiedBy"`
	// Source and CreatedBy tell how the incident was started.
	Source    string `json:"incidentSource"`
	CreatedBy string `json:"createdBy"`
}

// topics are the SNS topics of notification targets and a chat channel,
// each once: those a change of an incident is announced to.
func topics(targets []string, chat *domain.ChatChannel) []string {
	var ts []string
	all := targets
	if chat != nil {
		all = append(slices.Clone(targets), chat.ChatbotSNS...)
	}
	for _, t := range all {
		if !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// notify queues the announcement of a change of r (detailType; the
// members it changed, none for a start) to each topic r names. With no
// topic there is no one to notify and nothing is queued.
func (s *Service) notify(ctx context.Context, r *domain.IncidentRecord, detailType string, changes []attributeChange, now time.Time) error {
	ts := topics(r.NotificationTargets, r.ChatChannel)
	if len(ts) == 0 {
		return nil
	}
	seq, err := s.store.NextChangeSeq(ctx, r.Account, r.ARN)
	if err != nil {
		return err
	}
	// Time-ordered, so that the store's index of ids grows at its end; it
	// is stored, so every attempt sends the same.
	id := uuid.Must(uuid.NewV7()).String()
	// Status first: consumers written for AWS read only the first.
	changes = slices.Clone(changes)
	slices.SortStableFunc(changes, func(a, b attributeChange) int {
		switch {
		case a.AttributeName == "status" && b.AttributeName != "status":
			return -1
		case b.AttributeName == "status" && a.AttributeName != "status":
			return 1
		}
		return 0
	})
	if changes == nil {
		changes = []attributeChange{}
	}
	modifiedBy := r.LastModifiedBy
	if detailType == domain.EventIncidentStart {
		modifiedBy = r.Source.CreatedBy
	}
	msg, err := json.Marshal(Event{
		Version: "0", ID: id, DetailType: detailType, Source: NotificationSource, Account: r.Account,
		Time: now.UTC().Format(time.RFC3339), Region: s.region(), Resources: []string{r.ARN},
		Detail: EventDetail{IncidentTitle: r.Title, ModifiedAttributes: changes, Sequence: seq, Status: r.Status, Impact: r.Impact,
			ModifiedBy: modifiedBy, Source: r.Source.Source, CreatedBy: r.Source.CreatedBy},
	})
	if err != nil {
		return err
	}
	attrs := map[string]string{"eventType": detailType, "impact": strconv.Itoa(int(r.Impact)), "status": r.Status}
	ds := make([]*domain.Delivery, len(ts))
	for i, t := range ts {
		ds[i] = &domain.Delivery{ID: id, Topic: t, Account: r.Account, IncidentARN: r.ARN, Seq: seq, DetailType: detailType,
			Message: msg, Attributes: attrs, CreatedTime: now}
	}
	return s.addDeliveries(ctx, ds)
}

// region is the region events name (Config.EventRegion).
func (s *Service) region() string { return s.cfg.EventRegion() }

// EventRegion is the region the service's events name: Region, or
// DefaultRegion when it is empty.
func (c Config) EventRegion() string {
	if c.Region != "" {
		return c.Region
	}
	return DefaultRegion
}

// DefaultRegion is the region of a service configured without one.
const DefaultRegion = "us-east-1"

// TestMessageType is the detail type of the message a topic receives when
// a response plan comes to name it.
const TestMessageType = "SSM Incident Manager Test Message"

// PlanTestDetail is the detail of a test message.
type PlanTestDetail struct {
	ResponsePlanArn string `json:"responsePlanArn"`
	Message         string `json:"message"`
}

// planTopics are the SNS topics a plan's incidents will notify: its
// template's notification targets and its chat channel's topics.
func planTopics(p *domain.ResponsePlan) []string {
	return topics(p.Template.NotificationTargets, p.ChatChannel)
}

// notifyPlanTopics queues a test message to each topic plan names that
// it did not name before (before is nil for a new plan), as AWS
// Incident Manager publishes one to verify that it may publish there. Its
// delivery is that of the plan (IncidentARN is the plan's ARN, Seq 0).
func (s *Service) notifyPlanTopics(ctx context.Context, plan, before *domain.ResponsePlan, now time.Time) error {
	var had []string
	if before != nil {
		had = planTopics(before)
	}
	var ds []*domain.Delivery
	for _, t := range planTopics(plan) {
		if slices.Contains(had, t) {
			continue
		}
		id := uuid.Must(uuid.NewV7()).String()
		msg, err := json.Marshal(struct {
			Event
			Detail PlanTestDetail `json:"detail"`
		}{Event: Event{Version: "0", ID: id, DetailType: TestMessageType, Source: NotificationSource, Account: plan.Account,
			Time: now.UTC().Format(time.RFC3339), Region: s.region(), Resources: []string{plan.ARN}},
			Detail: PlanTestDetail{ResponsePlanArn: plan.ARN, Message: "A test message from incidentd: this topic receives the notifications of the incidents of response plan " + plan.Name + "."}})
		if err != nil {
			return err
		}
		ds = append(ds, &domain.Delivery{ID: id, Topic: t, Account: plan.Account, IncidentARN: plan.ARN, Seq: 0, DetailType: TestMessageType,
			Message: msg, Attributes: map[string]string{"eventType": TestMessageType}, CreatedTime: now})
	}
	if len(ds) == 0 {
		return nil
	}
	return s.addDeliveries(ctx, ds)
}
