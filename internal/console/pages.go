package console

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/incidentd/incidentd/internal/model"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"time": func(t *model.Timestamp) string {
		if t == nil {
			return ""
		}
		return t.Time().UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"iso": func(t *model.Timestamp) string {
		if t == nil {
			return ""
		}
		return t.Time().UTC().Format(time.RFC3339)
	},
	"str": func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	},
	"int": func(p *int32) int32 {
		if p == nil {
			return 0
		}
		return *p
	},
	// list is the impacts, 1 (critical) to 5 (no impact).
	"list": func() []int32 { return []int32{1, 2, 3, 4, 5} },
	"since": func(from, to *model.Timestamp) string {
		if from == nil {
			return ""
		}
		end := time.Now()
		if to != nil {
			end = to.Time()
		}
		return end.Sub(from.Time()).Round(time.Minute).String()
	},
}

// incidentsView is the incidents list: the open ones, then the resolved.
type incidentsView struct {
	Open, Resolved []model.IncidentRecordSummary
	Status, Impact string
	Next           string // the page token of the next page, if any
	Plans          []model.ResponsePlanSummary
}

// incidentsPage lists the account's incidents, open ones first as tiles,
// filtered as ListIncidentRecords filters (status, impact), a page at a time.
func (c *Console) incidentsPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	in := &model.ListIncidentRecordsInput{MaxResults: ptr(int32(50))}
	v := incidentsView{Status: q.Get("status"), Impact: q.Get("impact")}
	if v.Status != "" {
		in.Filters = append(in.Filters, model.Filter{Key: ptr("status"), Condition: &model.Condition{Equals: &model.AttributeValueList{StringValues: []string{v.Status}}}})
	}
	impact, ok := c.impact(w, r, s, v.Impact)
	if !ok {
		return
	}
	if impact != nil {
		in.Filters = append(in.Filters, model.Filter{Key: ptr("impact"), Condition: &model.Condition{Equals: &model.AttributeValueList{IntegerValues: []int32{*impact}}}})
	}
	if t := q.Get("next"); t != "" {
		in.NextToken = &t
	}
	page := &view{Title: "Incidents", Session: s}
	if err := in.Validate(); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, err.Error())
		return
	}
	out, err := c.svc.ListIncidentRecords(r.Context(), in)
	if err != nil {
		status, msg := c.errorMessage(err)
		page.Error, page.Data = msg, v
		c.render(w, status, "incidents.html", page)
		return
	}
	for _, rec := range out.IncidentRecordSummaries {
		if deref(rec.Status) == "OPEN" {
			v.Open = append(v.Open, rec)
		} else {
			v.Resolved = append(v.Resolved, rec)
		}
	}
	v.Next = deref(out.NextToken)
	// The plans to start an incident from; a user who may not list them
	// sees the list of incidents all the same.
	if plans, err := c.svc.ListResponsePlans(r.Context(), &model.ListResponsePlansInput{}); err == nil {
		v.Plans = plans.ResponsePlanSummaries
	}
	page.Data = v
	c.render(w, http.StatusOK, "incidents.html", page)
}

// incidentView is an incident's page.
type incidentView struct {
	Record   *model.IncidentRecord
	Events   []model.TimelineEvent
	Items    []model.RelatedItem
	Tags     map[string]string
	NextPage string
}

// incidentPage shows an incident: its banner, summary, a page of its
// timeline (newest first), its notes, related items and properties.
func (c *Console) incidentPage(w http.ResponseWriter, r *http.Request, s *session) {
	arn := r.URL.Query().Get("arn")
	page := &view{Title: "Incident", Session: s, Notice: r.URL.Query().Get("done")}
	rec, err := c.svc.GetIncidentRecord(r.Context(), &model.GetIncidentRecordInput{Arn: &arn})
	if err != nil {
		c.failWith(w, r, s, err)
		return
	}
	v := incidentView{Record: rec.IncidentRecord}
	page.Title = deref(rec.IncidentRecord.Title)
	// What the user may not read is left out, and said so.
	var refused []string
	refuse := func(err error) {
		_, msg := c.errorMessage(err)
		refused = append(refused, msg)
	}
	in := &model.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: ptr("DESCENDING"), MaxResults: ptr(int32(20))}
	if t := r.URL.Query().Get("events"); t != "" {
		in.NextToken = &t
	}
	if events, err := c.svc.ListTimelineEvents(r.Context(), in); err == nil {
		v.NextPage = deref(events.NextToken)
		for _, e := range events.EventSummaries {
			got, err := c.svc.GetTimelineEvent(r.Context(), &model.GetTimelineEventInput{IncidentRecordArn: &arn, EventId: e.EventId})
			if err != nil {
				refuse(err)
				break
			}
			v.Events = append(v.Events, *got.Event)
		}
	} else {
		refuse(err)
	}
	if items, err := c.svc.ListRelatedItems(r.Context(), &model.ListRelatedItemsInput{IncidentRecordArn: &arn}); err == nil {
		v.Items = items.RelatedItems
	} else {
		refuse(err)
	}
	if tags, err := c.svc.ListTagsForResource(r.Context(), &model.ListTagsForResourceRequest{ResourceArn: &arn}); err == nil {
		v.Tags = tags.Tags
	} else {
		refuse(err)
	}
	page.Error = strings.Join(refused, "\n")
	page.Data = v
	c.render(w, http.StatusOK, "incident.html", page)
}

// updateIncident changes an incident's title, impact, summary or status,
// as UpdateIncidentRecord does, and goes back to its page.
func (c *Console) updateIncident(w http.ResponseWriter, r *http.Request, s *session) {
	arn := r.PostFormValue("arn")
	in := &model.UpdateIncidentRecordInput{Arn: &arn, ClientToken: ptr(uuid.NewString())}
	if v := r.PostFormValue("title"); v != "" {
		in.Title = &v
	}
	if v, ok := r.PostForm["summary"]; ok {
		in.Summary = &v[0]
	}
	var ok bool
	if in.Impact, ok = c.impact(w, r, s, r.PostFormValue("impact")); !ok {
		return
	}
	if v := r.PostFormValue("status"); v != "" {
		in.Status = &v
	}
	c.act(w, r, s, in.Validate, func() (string, error) {
		_, err := c.svc.UpdateIncidentRecord(r.Context(), in)
		return arn, err
	}, "Incident updated.")
}

// addNote adds an incident note: a timeline event of type Note.
func (c *Console) addNote(w http.ResponseWriter, r *http.Request, s *session) {
	arn := r.PostFormValue("arn")
	text := strings.TrimSpace(r.PostFormValue("note"))
	in := &model.CreateTimelineEventInput{IncidentRecordArn: &arn, EventType: ptr("Note"), EventData: &text,
		EventTime: model.NewTimestamp(c.now()), ClientToken: ptr(uuid.NewString())}
	c.act(w, r, s, in.Validate, func() (string, error) {
		_, err := c.svc.CreateTimelineEvent(r.Context(), in)
		return arn, err
	}, "Note added.")
}

// startIncident starts an incident from a response plan, with the title
// and impact of the form when given.
func (c *Console) startIncident(w http.ResponseWriter, r *http.Request, s *session) {
	in := &model.StartIncidentInput{ResponsePlanArn: ptr(r.PostFormValue("plan")), ClientToken: ptr(uuid.NewString())}
	if v := strings.TrimSpace(r.PostFormValue("title")); v != "" {
		in.Title = &v
	}
	var ok bool
	if in.Impact, ok = c.impact(w, r, s, r.PostFormValue("impact")); !ok {
		return
	}
	c.act(w, r, s, in.Validate, func() (string, error) {
		out, err := c.svc.StartIncident(r.Context(), in)
		if err != nil {
			return "", err
		}
		return deref(out.IncidentRecordArn), nil
	}, "Incident started.")
}

// act validates and runs an action on an incident, which run returns,
// then shows the incident's page (POST, redirect, GET), or the refusal.
func (c *Console) act(w http.ResponseWriter, r *http.Request, s *session, validate func() error, run func() (arn string, err error), done string) {
	if err := validate(); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, err.Error())
		return
	}
	arn, err := run()
	if err != nil {
		c.failWith(w, r, s, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("%sincident?arn=%s&done=%s", Path, url.QueryEscape(arn), url.QueryEscape(done)), http.StatusSeeOther)
}

// impact reads an impact of a form or query, "" for none; it answers the
// request itself, and returns false, when v is no number.
func (c *Console) impact(w http.ResponseWriter, r *http.Request, s *session, v string) (*int32, bool) {
	if v == "" {
		return nil, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "The impact is a number from 1 to 5.")
		return nil, false
	}
	return ptr(int32(n)), true
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
