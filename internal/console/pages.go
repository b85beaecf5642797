package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

// funcs are the templates' helpers, but for those of a Console's clock
// (Console.funcs).
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
	// lines joins a list one item a line, as the forms' text areas take it.
	"lines":  func(v []string) string { return strings.Join(v, "\n") },
	"custom": isCustom,
	// token is a new clientToken for a form (clientToken).
	"token":    uuid.NewString,
	"describe": describe,
	"plan":     planARN,
	// dict makes a map of its arguments, key, value, …, for a template
	// called with more than one value.
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	"itemkind": func(v *model.ItemValue) string {
		k, _ := itemKind(v)
		return k
	},
	"itemvalue": func(v *model.ItemValue) string {
		_, s := itemKind(v)
		return s
	},
	"targets": topicsOf,
	// chatText is a chat channel's topics, one a line.
	"chatText": func(c *model.ChatChannel) string {
		if c == nil {
			return ""
		}
		return strings.Join(c.ChatbotSns, "\n")
	},
}

// duration is d as a reader says it, to the minute: "less than a minute",
// or its two largest units as the insights write them ("25m", "3h 5m",
// "2d 4h").
func duration(d time.Duration) string {
	if d < time.Minute {
		return "less than a minute"
	}
	return humanSeconds(d.Truncate(time.Minute).Seconds())
}

// planARN is the ARN of the response plan an incident record's ARN names
// (arn:aws:ssm-incidents::ACCOUNT:incident-record/PLAN/ID), or "".
func planARN(record *string) string {
	name := planName(deref(record))
	if name == "" {
		return ""
	}
	prefix, _, _ := strings.Cut(deref(record), ":incident-record/")
	return prefix + ":response-plan/" + name
}

// funcs are the templates' helpers: funcs, and since, the time from a
// time to another or, when that is nil, to now.
func (c *Console) funcs() template.FuncMap {
	fm := maps.Clone(funcs)
	fm["since"] = func(from, to *model.Timestamp) string {
		if from == nil {
			return ""
		}
		end := c.now()
		if to != nil {
			end = to.Time()
		}
		return duration(end.Sub(from.Time()))
	}
	return fm
}

// isCustom reports whether an event of type t was added by a user (a
// Custom Event or a Note) and may be edited and deleted.
func isCustom(t *string) bool { return deref(t) == "Custom Event" || deref(t) == "Note" }

// itemKind is the member of an item's value that is set, and its text.
func itemKind(v *model.ItemValue) (string, string) {
	switch {
	case v == nil:
		return "", ""
	case v.Url != nil:
		return "url", *v.Url
	case v.Arn != nil:
		return "arn", *v.Arn
	case v.MetricDefinition != nil:
		return "metricDefinition", *v.MetricDefinition
	case v.PagerDutyIncidentDetail != nil:
		return "pagerDutyIncidentDetail", deref(v.PagerDutyIncidentDetail.Id)
	}
	return "", ""
}

// version names a state of what a page shows: the pages and their live
// stream compare it to tell a change.
func version(state any) string {
	b, _ := json.Marshal(state)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// liveURL is the address of the live stream of the page of kind with
// query q, as shown at version v.
func liveURL(kind string, q url.Values, v string) string {
	q = cloneValues(q)
	q.Del("done")
	q.Set("page", kind)
	q.Set("v", v)
	return Path + "live?" + q.Encode()
}

func cloneValues(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// incidentsQuery is what the incidents list is asked for: the filters of
// ListIncidentRecords the page offers, and the page of each of its two
// listings (the open incidents, the resolved ones).
type incidentsQuery struct {
	Status, Impact, CreatedAfter, CreatedBefore, CreatedBy string
	OpenNext, Next                                         string
}

func readIncidentsQuery(q url.Values) incidentsQuery {
	return incidentsQuery{Status: q.Get("status"), Impact: q.Get("impact"), CreatedAfter: q.Get("after"),
		CreatedBefore: q.Get("before"), CreatedBy: strings.TrimSpace(q.Get("by")), OpenNext: q.Get("opennext"), Next: q.Get("next")}
}

// values is the query of the list's page of q, the pages' tokens aside.
func (q incidentsQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"status": q.Status, "impact": q.Impact, "after": q.CreatedAfter, "before": q.CreatedBefore, "by": q.CreatedBy} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// formTime is the layout of the datetime-local inputs of the filters, read
// as UTC.
const formTime = "2006-01-02T15:04"

// listPage is how many incidents each listing of the list shows.
const listPage = 50

// inputs are the ListIncidentRecords inputs of q's two listings, the open
// incidents and the resolved ones (nil for one that q's status filter
// leaves out), or a message saying what of q is wrong.
func (q incidentsQuery) inputs() (open, resolved *model.ListIncidentRecordsInput, bad string) {
	var filters []model.Filter
	if q.Status != "" && q.Status != "OPEN" && q.Status != "RESOLVED" {
		return nil, nil, "The status is OPEN or RESOLVED."
	}
	if q.Impact != "" {
		n, err := strconv.Atoi(q.Impact)
		if err != nil {
			return nil, nil, "The impact is a number from 1 to 5."
		}
		filters = append(filters, model.Filter{Key: ptr("impact"), Condition: &model.Condition{Equals: &model.AttributeValueList{IntegerValues: []int32{int32(n)}}}})
	}
	for _, f := range []struct {
		value  string
		after  bool
		saying string
	}{{q.CreatedAfter, true, "created after"}, {q.CreatedBefore, false, "created before"}} {
		if f.value == "" {
			continue
		}
		t, err := time.Parse(formTime, f.value)
		if err != nil {
			return nil, nil, "The time of \"" + f.saying + "\" is a date and time as YYYY-MM-DDTHH:MM (UTC)."
		}
		c := &model.Condition{Before: model.NewTimestamp(t)}
		if f.after {
			c = &model.Condition{After: model.NewTimestamp(t)}
		}
		filters = append(filters, model.Filter{Key: ptr("creationTime"), Condition: c})
	}
	if q.CreatedBy != "" {
		filters = append(filters, model.Filter{Key: ptr("createdBy"), Condition: &model.Condition{Equals: &model.AttributeValueList{StringValues: []string{q.CreatedBy}}}})
	}
	listing := func(status, token string) (*model.ListIncidentRecordsInput, string) {
		if q.Status != "" && q.Status != status {
			return nil, ""
		}
		in := &model.ListIncidentRecordsInput{MaxResults: ptr(int32(listPage)),
			Filters: append(slices.Clone(filters), model.Filter{Key: ptr("status"), Condition: &model.Condition{Equals: &model.AttributeValueList{StringValues: []string{status}}}})}
		if token != "" {
			in.NextToken = &token
		}
		if err := in.Validate(); err != nil {
			return nil, err.Error()
		}
		return in, ""
	}
	if open, bad = listing("OPEN", q.OpenNext); bad != "" {
		return nil, nil, bad
	}
	if resolved, bad = listing("RESOLVED", q.Next); bad != "" {
		return nil, nil, bad
	}
	return open, resolved, ""
}

// incidentsState is what the incidents list shows of the store: a page of
// the open incidents, each with its chat channel, and a page of the
// resolved ones. Its version changes with any change the page would show.
type incidentsState struct {
	Open, Resolved   []model.IncidentRecordSummary
	OpenToken, Token string              // the next pages' tokens
	Chat             map[string][]string // by ARN, the chat channel's topics of the open incidents
	Refused          []string
	status           int
}

// incidentsState reads the list of q as the caller of ctx.
func (c *Console) incidentsState(ctx context.Context, open, resolved *model.ListIncidentRecordsInput) *incidentsState {
	st := &incidentsState{status: http.StatusOK}
	read := func(in *model.ListIncidentRecordsInput) ([]model.IncidentRecordSummary, string) {
		if in == nil {
			return nil, ""
		}
		out, err := c.svc.ListIncidentRecords(ctx, in)
		if err != nil {
			status, msg := c.errorMessage(err)
			st.status = status
			st.Refused = dedupe(append(st.Refused, msg))
			return nil, ""
		}
		return out.IncidentRecordSummaries, deref(out.NextToken)
	}
	st.Open, st.OpenToken = read(open)
	st.Resolved, st.Token = read(resolved)
	// The summaries have no chat channel: the tiles read it from the record.
	for _, rec := range st.Open {
		got, err := c.svc.GetIncidentRecord(ctx, &model.GetIncidentRecordInput{Arn: rec.Arn})
		if err != nil || got.IncidentRecord.ChatChannel == nil || len(got.IncidentRecord.ChatChannel.ChatbotSns) == 0 {
			continue
		}
		if st.Chat == nil {
			st.Chat = map[string][]string{}
		}
		st.Chat[deref(rec.Arn)] = got.IncidentRecord.ChatChannel.ChatbotSns
	}
	return st
}

// incidentsView is the incidents list: the open ones, then the resolved.
type incidentsView struct {
	incidentsQuery
	*incidentsState
	// Listed: which listings the status filter shows.
	ListsOpen, ListsResolved bool
	// The addresses of the next pages, if any.
	OpenNextPage, NextPage template.URL
	Plans                  []model.ResponsePlanSummary
}

// incidentsPage lists the account's incidents, open ones first as tiles,
// then the resolved ones, filtered as ListIncidentRecords filters (status,
// impact, creation time, created by), each a page at a time.
func (c *Console) incidentsPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showIncidents(w, r, s, http.StatusOK, "")
}

// showIncidents renders the incidents list of r's query, with msg, the
// refusal or failure of an action, above it when there is one.
func (c *Console) showIncidents(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	q := readIncidentsQuery(r.URL.Query())
	v := incidentsView{incidentsQuery: q, incidentsState: &incidentsState{}}
	page := &view{Title: "Incidents", Session: s, Notice: notice(r), Data: &v}
	open, resolved, bad := q.inputs()
	if bad != "" {
		page.Error = bad
		c.render(w, http.StatusBadRequest, "incidents.html", page)
		return
	}
	st := c.incidentsState(r.Context(), open, resolved)
	v.incidentsState, v.ListsOpen, v.ListsResolved = st, open != nil, resolved != nil
	page.Live = liveURL("incidents", r.URL.Query(), version(st))
	page.Page = Path + "?" + q.values().Encode()
	page.Error = joinMessages(append([]string{msg}, st.Refused...)...)
	if status == http.StatusOK {
		status = st.status
	}
	next := func(key, token string) template.URL {
		if token == "" {
			return ""
		}
		v := q.values()
		if key == "next" && q.OpenNext != "" {
			v.Set("opennext", q.OpenNext)
		}
		if key == "opennext" && q.Next != "" {
			v.Set("next", q.Next)
		}
		v.Set(key, token)
		return template.URL(Path + "?" + v.Encode())
	}
	v.OpenNextPage, v.NextPage = next("opennext", st.OpenToken), next("next", st.Token)
	// The plans to start an incident from; a user who may not list them
	// sees the list of incidents all the same.
	if plans, err := c.svc.ListResponsePlans(r.Context(), &model.ListResponsePlansInput{}); err == nil {
		v.Plans = plans.ResponsePlanSummaries
	}
	c.render(w, status, "incidents.html", page)
}

func joinMessages(msgs ...string) string {
	var out []string
	for _, m := range msgs {
		if m != "" {
			out = append(out, m)
		}
	}
	return strings.Join(out, "\n")
}

// timelinePage is how many events a page of the timeline shows.
const timelinePage = 20

// incidentState is what an incident's page shows of the store, as its
// summaries: the record, a page of the timeline (newest first), the newest
// notes, the related items, the findings and the tags. Its version changes
// with any change the page would show.
type incidentState struct {
	Record   *model.IncidentRecord
	Events   []model.EventSummary
	NextPage string
	Notes    []model.EventSummary
	Items    []model.RelatedItem
	Findings []model.FindingSummary
	Tags     map[string]string
	// Refused is what the caller may not read, in the service's words.
	Refused []string
}

// incidentState reads the incident arn as the caller of ctx, its timeline
// from the page token events ("" for the newest). It returns the service's
// error when the record itself cannot be read.
func (c *Console) incidentState(ctx context.Context, arn, events string) (*incidentState, error) {
	rec, err := c.svc.GetIncidentRecord(ctx, &model.GetIncidentRecordInput{Arn: &arn})
	if err != nil {
		return nil, err
	}
	st := &incidentState{Record: rec.IncidentRecord}
	refuse := func(err error) {
		_, msg := c.errorMessage(err)
		st.Refused = append(st.Refused, msg)
	}
	in := &model.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: ptr("DESCENDING"), MaxResults: ptr(int32(timelinePage))}
	if events != "" {
		in.NextToken = &events
	}
	if out, err := c.svc.ListTimelineEvents(ctx, in); err == nil {
		st.Events, st.NextPage = out.EventSummaries, deref(out.NextToken)
	} else {
		refuse(err)
	}
	notes := &model.ListTimelineEventsInput{IncidentRecordArn: &arn, SortOrder: ptr("DESCENDING"), MaxResults: ptr(int32(timelinePage)),
		Filters: []model.Filter{{Key: ptr("eventType"), Condition: &model.Condition{Equals: &model.AttributeValueList{StringValues: []string{"Note"}}}}}}
	if out, err := c.svc.ListTimelineEvents(ctx, notes); err == nil {
		st.Notes = out.EventSummaries
	} else {
		refuse(err)
	}
	if out, err := c.svc.ListRelatedItems(ctx, &model.ListRelatedItemsInput{IncidentRecordArn: &arn}); err == nil {
		st.Items = out.RelatedItems
	} else {
		refuse(err)
	}
	if out, err := c.svc.ListIncidentFindings(ctx, &model.ListIncidentFindingsInput{IncidentRecordArn: &arn, MaxResults: ptr(int32(20))}); err == nil {
		st.Findings = out.Findings
	} else {
		refuse(err)
	}
	if out, err := c.svc.ListTagsForResource(ctx, &model.ListTagsForResourceRequest{ResourceArn: &arn}); err == nil {
		st.Tags = out.Tags
	} else {
		refuse(err)
	}
	return st, nil
}

// incidentView is an incident's page.
type incidentView struct {
	*incidentState
	Events   []model.TimelineEvent
	Notes    []model.TimelineEvent
	Findings []model.Finding
	// ItemTypes are the types a related item may have.
	ItemTypes []string
	// sent is the form of a refused action the page is shown for.
	sent url.Values
}

// Field is what the page's field name shows: what the user changed in it
// and sent with a refused form, else now, what the incident holds.
func (v incidentView) Field(name, now string) string {
	if v.changed(name) {
		return v.sent.Get(name)
	}
	return now
}

// Was is what the NAME_was field of the field name holds: what the field
// held when the user changed it, else now. Sending the form again then
// changes what the user changed, and only that.
func (v incidentView) Was(name, now string) string {
	if v.changed(name) {
		return v.sent.Get(name + "_was")
	}
	return now
}

// changed reports whether the user changed the field name of a refused
// form: it was sent, and differs from what it held.
func (v incidentView) changed(name string) bool {
	got, ok := v.sent[name]
	if !ok {
		return false
	}
	was, ok := v.sent[name+"_was"]
	return !ok || edited(got[0], was[0])
}

// itemTypes are the related items' types of the model, as the form offers them.
var itemTypes = []string{"ANALYSIS", "INCIDENT", "METRIC", "PARENT", "ATTACHMENT", "OTHER", "AUTOMATION", "INVOLVED_RESOURCE", "TASK"}

// incidentPage shows an incident: its banner, summary, a page of its
// timeline (newest first), its notes, related items, findings, properties
// and tags, and the forms that change them.
func (c *Console) incidentPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showIncident(w, r, s, r.URL.Query().Get("arn"), http.StatusOK, "")
}

// showIncident renders the page of the incident arn with msg, the refusal
// or failure of an action, above it when there is one: a refused action
// leaves the user on the page it was tried from.
func (c *Console) showIncident(w http.ResponseWriter, r *http.Request, s *session, arn string, status int, msg string) {
	q := r.URL.Query()
	st, err := c.incidentState(r.Context(), arn, q.Get("events"))
	if err != nil {
		c.failWith(w, r, s, err)
		return
	}
	page := &view{Title: deref(st.Record.Title), Session: s, Notice: notice(r)}
	lq := url.Values{"arn": {arn}}
	if e := q.Get("events"); e != "" {
		lq.Set("events", e)
	}
	page.Live, page.Page = liveURL("incident", lq, version(st)), Path+"incident?"+lq.Encode()
	v := incidentView{incidentState: st, ItemTypes: itemTypes}
	if r.Method == http.MethodPost {
		v.sent = r.PostForm
	}
	var refused []string
	// The events themselves, each read once for the timeline and the notes.
	read := map[string]*model.TimelineEvent{}
	get := func(id *string) *model.TimelineEvent {
		if e, ok := read[deref(id)]; ok {
			return e
		}
		got, err := c.svc.GetTimelineEvent(r.Context(), &model.GetTimelineEventInput{IncidentRecordArn: &arn, EventId: id})
		var gone *domain.NotFoundError
		if errors.As(err, &gone) {
			// Deleted since it was listed: the page shows it no more.
			read[deref(id)] = nil
			return nil
		}
		if err != nil {
			_, m := c.errorMessage(err)
			refused = append(refused, m)
			read[deref(id)] = nil
			return nil
		}
		read[deref(id)] = got.Event
		return got.Event
	}
	for _, e := range st.Events {
		if got := get(e.EventId); got != nil {
			v.Events = append(v.Events, *got)
		}
	}
	for _, e := range st.Notes {
		if got := get(e.EventId); got != nil {
			v.Notes = append(v.Notes, *got)
		}
	}
	if len(st.Findings) > 0 {
		ids := make([]string, len(st.Findings))
		for i, f := range st.Findings {
			ids[i] = deref(f.Id)
		}
		if got, err := c.svc.BatchGetIncidentFindings(r.Context(), &model.BatchGetIncidentFindingsInput{IncidentRecordArn: &arn, FindingIds: ids}); err == nil {
			v.Findings = got.Findings
		} else {
			_, m := c.errorMessage(err)
			refused = append(refused, m)
		}
	}
	page.Error = joinMessages(dedupe(append(append([]string{msg}, st.Refused...), refused...))...)
	page.Data = v
	c.render(w, status, "incident.html", page)
}

// dedupe is msgs without repeats, in their order.
func dedupe(msgs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range msgs {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
