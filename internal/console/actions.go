package console

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/incidentd/incidentd/internal/model"
)

// The actions on incidents: each reads its form, validates the input of
// the service method it calls as the API would, calls it as the signed-in
// user and goes back to the incident's page (POST, redirect, GET); a
// refusal or an invalid form shows that page with the message instead.

// updateIncident changes an incident's title, impact, summary, status,
// notification targets or chat channel, as UpdateIncidentRecord does. A
// member is changed only when its field is in the form and, when the form
// says what the field held (NAME_was), differs from it: saving a form
// changes what the user changed, and leaves what someone else changed
// meanwhile in the other fields.
func (c *Console) updateIncident(w http.ResponseWriter, r *http.Request, s *session) {
	arn := r.PostFormValue("arn")
	in := &model.UpdateIncidentRecordInput{Arn: &arn, ClientToken: clientToken(r)}
	field := func(name string, norm func(string) string) (string, bool) { return formChange(r, name, norm) }
	if v, ok := field("title", formText); ok {
		in.Title = ptr(strings.TrimSpace(v))
	}
	if v, ok := field("summary", formText); ok {
		in.Summary = &v
	}
	var bad string
	if v, ok := field("impact", formText); ok {
		in.Impact, bad = formImpact(v)
	}
	if v := r.PostFormValue("status"); v != "" {
		in.Status = &v
	}
	if v, ok := field("targets", topicText); ok {
		topics := topicList(v)
		in.NotificationTargets = targetItems(topics)
		bad = joinMessages(bad, checkTopics("notification targets", topics))
	}
	if v, ok := field("chat", topicText); ok {
		in.ChatChannel = chatChannel(v)
		bad = joinMessages(bad, checkTopics("chat channel's topics", in.ChatChannel.ChatbotSns))
	}
	if bad == "" && in.Title == nil && in.Summary == nil && in.Impact == nil && in.Status == nil && in.NotificationTargets == nil && in.ChatChannel == nil {
		// Nothing changed: no call, so no update event either.
		c.onIncident(w, r, s, arn, "", in.Validate, func() (string, error) { return arn, nil }, "Nothing to change.")
		return
	}
	c.onIncident(w, r, s, arn, bad, in.Validate, func() (string, error) {
		_, err := c.svc.UpdateIncidentRecord(r.Context(), in)
		return arn, err
	}, "Incident updated.")
}

// formChange is the value of the field name of r's form, its lines ended
// by LF, when the user changed it: when the form has the field and, if it
// says what the field held (NAME_was), the two differ once norm has made
// them comparable. Saving a form then changes what the user changed, and
// leaves what someone else changed meanwhile in the other fields.
func formChange(r *http.Request, name string, norm func(string) string) (string, bool) {
	v, ok := r.PostForm[name]
	if !ok {
		return "", false
	}
	if was, ok := r.PostForm[name+"_was"]; ok && norm(was[0]) == norm(v[0]) {
		return "", false
	}
	return strings.ReplaceAll(v[0], "\r\n", "\n"), true
}

// edited reports whether a field sent as sent was changed from was, what
// it held when its form was rendered, as formChange tells text fields.
func edited(sent, was string) bool { return formText(sent) != formText(was) }

// clientToken is the clientToken of an action: the form's, made when the
// page was rendered, so that a form sent twice (a double click, a resend
// after a lost answer) acts once, as the API's idempotency has it; a new
// one when the form has none.
func clientToken(r *http.Request) *string {
	if t := r.PostFormValue("token"); t != "" && len(t) <= 64 {
		return &t
	}
	return ptr(uuid.NewString())
}

// chatChannel is the chat channel of a form's text: its SNS topics, one a
// line, or the empty channel when there is none.
func chatChannel(text string) *model.ChatChannel {
	topics := topicList(text)
	if len(topics) == 0 {
		return &model.ChatChannel{Empty: &model.EmptyChatChannel{}}
	}
	return &model.ChatChannel{ChatbotSns: topics}
}

// topicList is the topics of a text area, one a line; the word "none"
// alone stands for none.
func topicList(text string) []string {
	topics := splitLines(text)
	if len(topics) == 1 && strings.EqualFold(topics[0], "none") {
		return nil
	}
	return topics
}

// topicsOf is the SNS topics of notification targets.
func topicsOf(ts []model.NotificationTargetItem) []string {
	var out []string
	for _, t := range ts {
		if t.SnsTopicArn != nil {
			out = append(out, *t.SnsTopicArn)
		}
	}
	return out
}

// targetItems is the notification targets of topics.
func targetItems(topics []string) []model.NotificationTargetItem {
	out := []model.NotificationTargetItem{}
	for _, t := range topics {
		out = append(out, model.NotificationTargetItem{SnsTopicArn: ptr(t)})
	}
	return out
}

// topicRE is an SNS topic's ARN.
var topicRE = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$`)

// checkTopics says which of topics is no SNS topic's ARN, or "". The model
// takes any ARN as a notification target and any string as a chat
// channel's topic; the form's users mean SNS topics, and a typo would
// otherwise be found only when a notification fails.
func checkTopics(what string, topics []string) string {
	for _, t := range topics {
		if !topicRE.MatchString(t) {
			return "The " + what + " are SNS topic ARNs (arn:aws:sns:REGION:ACCOUNT:TOPIC), one a line: " + strconv.Quote(t) + " is not one."
		}
	}
	return ""
}

// topicText is a text area of topics as compared with what it held: its
// topics, one a line.
func topicText(text string) string { return strings.Join(topicList(text), "\n") }

// formText is the text of a text area, its lines ended as the API's
// clients end them (browsers send CR LF), trimmed.
func formText(v string) string {
	return strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
}

// splitLines is the non-blank lines of a text area, trimmed.
func splitLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// addNote adds an incident note: a timeline event of type Note.
func (c *Console) addNote(w http.ResponseWriter, r *http.Request, s *session) {
	arn := r.PostFormValue("arn")
	text := formText(r.PostFormValue("note"))
	in := &model.CreateTimelineEventInput{IncidentRecordArn: &arn, EventType: ptr("Note"), EventData: &text,
		EventTime: model.NewTimestamp(c.now()), ClientToken: clientToken(r)}
	c.onIncident(w, r, s, arn, "", in.Validate, func() (string, error) {
		_, err := c.svc.CreateTimelineEvent(r.Context(), in)
		return arn, err
	}, "Note added.")
}

// updateEvent changes the text of a custom event or note.
func (c *Console) updateEvent(w http.ResponseWriter, r *http.Request, s *session) {
	arn := r.PostFormValue("arn")
	text := formText(r.PostFormValue("data"))
	in := &model.UpdateTimelineEventInput{IncidentRecordArn: &arn, EventId: ptr(r.PostFormValue("event")), EventData: &text,
		ClientToken: clientToken(r)}
	c.onIncident(w, r, s, arn, "", in.Validate, func() (string, error) {
		_, err := c.svc.UpdateTimelineEvent(r.Context(), in)
		return arn, err
	}, "Event changed.")
}

// deleteEvent deletes a custom event or note.
func (c *Console) deleteEvent(w http.ResponseWriter, r *http.Request, s *session) {
	arn := r.PostFormValue("arn")
	in := &model.DeleteTimelineEventInput{IncidentRecordArn: &arn, EventId: ptr(r.PostFormValue("event"))}
	c.onIncident(w, r, s, arn, "", in.Validate, func() (string, error) {
		_, err := c.svc.DeleteTimelineEvent(r.Context(), in)
		return arn, err
	}, "Event deleted.")
}

// itemIdentifier is the related item's identifier of a form: its type, and
// its value as the member kind names (url, arn or metricDefinition).
func itemIdentifier(r *http.Request) (*model.ItemIdentifier, string) {
	value := strings.TrimSpace(r.PostFormValue("value"))
	id := &model.ItemIdentifier{Type: ptr(r.PostFormValue("type")), Value: &model.ItemValue{}}
	switch r.PostFormValue("kind") {
	case "url":
		id.Value.Url = &value
	case "arn":
		id.Value.Arn = &value
	case "metricDefinition":
		id.Value.MetricDefinition = &value
	case "pagerDutyIncidentDetail":
		id.Value.PagerDutyIncidentDetail = &model.PagerDutyIncidentDetail{Id: &value}
	default:
		return nil, "The value of a related item is a URL, an ARN or a metric definition."
	}
	return id, ""
}

// addItem adds a related item, as UpdateRelatedItems does.
func (c *Console) addItem(w http.ResponseWriter, r *http.Request, s *session) {
	c.updateItems(w, r, s, true)
}

// removeItem removes a related item, as UpdateRelatedItems does.
func (c *Console) removeItem(w http.ResponseWriter, r *http.Request, s *session) {
	c.updateItems(w, r, s, false)
}

func (c *Console) updateItems(w http.ResponseWriter, r *http.Request, s *session, add bool) {
	arn := r.PostFormValue("arn")
	id, bad := itemIdentifier(r)
	in := &model.UpdateRelatedItemsInput{IncidentRecordArn: &arn, ClientToken: clientToken(r), RelatedItemsUpdate: &model.RelatedItemsUpdate{}}
	done := "Related item removed."
	if add {
		item := &model.RelatedItem{Identifier: id}
		if t := strings.TrimSpace(r.PostFormValue("title")); t != "" {
			item.Title = &t
		}
		in.RelatedItemsUpdate.ItemToAdd, done = item, "Related item added."
	} else {
		in.RelatedItemsUpdate.ItemToRemove = id
	}
	c.onIncident(w, r, s, arn, bad, in.Validate, func() (string, error) {
		_, err := c.svc.UpdateRelatedItems(r.Context(), in)
		return arn, err
	}, done)
}

// startIncident starts an incident from a response plan, with the title
// and impact of the form when given.
func (c *Console) startIncident(w http.ResponseWriter, r *http.Request, s *session) {
	in := &model.StartIncidentInput{ResponsePlanArn: ptr(r.PostFormValue("plan")), ClientToken: clientToken(r)}
	if v := strings.TrimSpace(r.PostFormValue("title")); v != "" {
		in.Title = &v
	}
	impact, bad := formImpact(r.PostFormValue("impact"))
	in.Impact = impact
	show := func(status int, msg string) { c.showIncidents(w, r, s, status, msg) }
	c.attempt(w, r, show, bad, in.Validate, func() (string, error) {
		out, err := c.svc.StartIncident(r.Context(), in)
		if err != nil {
			return "", err
		}
		return deref(out.IncidentRecordArn), nil
	}, "Incident started.")
}

// onIncident is act for an action on the incident arn: a refusal shows the
// incident's page with its message.
func (c *Console) onIncident(w http.ResponseWriter, r *http.Request, s *session, arn, bad string, validate func() error, run func() (string, error), done string) {
	show := func(status int, msg string) { c.showIncident(w, r, s, arn, status, msg) }
	c.attempt(w, r, show, bad, validate, run, done)
}

// attempt runs an action on an incident, which run returns, and shows the
// incident's page (POST, redirect, GET). When bad says what of the form is
// wrong, the input does not validate, or the service refuses, it changes
// nothing and show renders the page the action was tried from with the
// message.
func (c *Console) attempt(w http.ResponseWriter, r *http.Request, show func(status int, msg string), bad string, validate func() error, run func() (arn string, err error), done string) {
	if bad != "" {
		show(http.StatusBadRequest, bad)
		return
	}
	if err := validate(); err != nil {
		show(http.StatusBadRequest, err.Error())
		return
	}
	arn, err := run()
	if err != nil {
		show(c.errorMessage(err))
		return
	}
	redirect(w, r, "incident", arn, done)
}

// redirect sends the browser to the console's page of the resource arn
// (POST, redirect, GET), to show the notice done.
func redirect(w http.ResponseWriter, r *http.Request, page, arn, done string) {
	http.Redirect(w, r, Path+page+"?"+url.Values{"arn": {arn}, "done": {done}}.Encode(), http.StatusSeeOther)
}

// formImpact reads an impact of a form, nil for none, or says why it is
// no impact.
func formImpact(v string) (*int32, string) {
	if v == "" {
		return nil, ""
	}
	var n int32
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil || fmt.Sprint(n) != v {
		return nil, "The impact is a number from 1 to 5."
	}
	return &n, ""
}
