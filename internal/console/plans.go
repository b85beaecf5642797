package console

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/incidentd/incidentd/internal/model"
)

// The response plans' pages (list, view, create, edit, delete) and the
// replication set's page. Like the incidents' pages they read and change
// through the service methods as the signed-in user: each form's input is
// validated as the API validates it, a refusal or an invalid form shows
// the page it was sent from with the message, and a change ends on the
// plan's page (POST, redirect, GET).

// planListPage is how many plans a page of the list shows.
const planListPage = 25

// planRoutes serves the response plans' pages and the replication set's.
func (c *Console) planRoutes() {
	c.mux.Handle("GET "+Path+"plans", c.signedIn(c.plansPage))
	c.mux.Handle("GET "+Path+"plans/new", c.signedIn(c.newPlanPage))
	c.mux.Handle("GET "+Path+"plan", c.signedIn(c.planPage))
	c.mux.Handle("POST "+Path+"plan/create", c.signedIn(c.createPlan))
	c.mux.Handle("POST "+Path+"plan/update", c.signedIn(c.updatePlan))
	c.mux.Handle("POST "+Path+"plan/delete", c.signedIn(c.deletePlan))
	c.mux.Handle("GET "+Path+"replication-set", c.signedIn(c.replicationSetPage))
}

// plansView is a page of the list of response plans.
type plansView struct {
	Plans    []model.ResponsePlanSummary
	NextPage template.URL // the address of the next page, if any
}

// plansPage lists the account's response plans by name, a page at a time.
func (c *Console) plansPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	v := &plansView{}
	page := &view{Title: "Response plans", Session: s, Notice: notice(r), Data: v}
	in := &model.ListResponsePlansInput{MaxResults: ptr(int32(planListPage))}
	if next := q.Get("next"); next != "" {
		in.NextToken = &next
	}
	if err := in.Validate(); err != nil {
		page.Error = err.Error()
		c.render(w, http.StatusBadRequest, "plans.html", page)
		return
	}
	out, err := c.svc.ListResponsePlans(r.Context(), in)
	if err != nil {
		status, msg := c.errorMessage(err)
		page.Error = msg
		c.render(w, status, "plans.html", page)
		return
	}
	v.Plans = out.ResponsePlanSummaries
	if next := deref(out.NextToken); next != "" {
		v.NextPage = template.URL(Path + "plans?" + url.Values{"next": {next}}.Encode())
	}
	c.render(w, http.StatusOK, "plans.html", page)
}

// planForm is what the forms of a plan hold, as their fields show it:
// text areas hold one topic a line; Impact is "" for none chosen.
type planForm struct {
	Name, DisplayName, Title, Impact, Summary, Dedupe, Targets, Chat string
	// Token is the create form's client token: sending the form twice
	// creates the plan once.
	Token string
}

// planImpact is an option of the impact's select.
type planImpact struct {
	Value, Label string
	Selected     bool
}

// planImpactLabels are the impacts' names, by value.
var planImpactLabels = [...]string{1: "1 · critical", 2: "2 · high", 3: "3 · medium", 4: "4 · low", 5: "5 · no impact"}

// Impacts are the options of the impact's select, f's selected.
func (f planForm) Impacts() []planImpact {
	out := make([]planImpact, 0, 5)
	for i := 1; i <= 5; i++ {
		v := strconv.Itoa(i)
		out = append(out, planImpact{Value: v, Label: planImpactLabels[i], Selected: v == f.Impact})
	}
	return out
}

// planFormOf is the form of plan p as it is.
func planFormOf(p *model.GetResponsePlanOutput) planForm {
	t := deref(p.IncidentTemplate)
	f := planForm{Name: deref(p.Name), DisplayName: deref(p.DisplayName), Title: deref(t.Title), Summary: deref(t.Summary),
		Dedupe: deref(t.DedupeString), Targets: strings.Join(topicsOf(t.NotificationTargets), "\n")}
	if t.Impact != nil {
		f.Impact = strconv.Itoa(int(*t.Impact))
	}
	if p.ChatChannel != nil {
		f.Chat = strings.Join(p.ChatChannel.ChatbotSns, "\n")
	}
	return f
}

// readPlanForm is the form of r as sent.
func readPlanForm(r *http.Request) planForm {
	return planForm{Name: planLine(r.PostFormValue("name")), DisplayName: r.PostFormValue("displayName"), Title: r.PostFormValue("title"),
		Impact: r.PostFormValue("impact"), Summary: r.PostFormValue("summary"), Dedupe: r.PostFormValue("dedupe"),
		Targets: r.PostFormValue("targets"), Chat: r.PostFormValue("chat"), Token: r.PostFormValue("token")}
}

// readPlanWas is what the fields of r's form held when it was rendered
// (its NAME_was fields).
func readPlanWas(r *http.Request) planForm {
	return planForm{DisplayName: r.PostFormValue("displayName_was"), Title: r.PostFormValue("title_was"),
		Impact: r.PostFormValue("impact_was"), Summary: r.PostFormValue("summary_was"), Dedupe: r.PostFormValue("dedupe_was"),
		Targets: r.PostFormValue("targets_was"), Chat: r.PostFormValue("chat_was")}
}

// planLine is the value of a one-line input as a browser sends what it
// shows: without line breaks (which a text input cannot hold), trimmed.
func planLine(v string) string {
	return strings.TrimSpace(strings.NewReplacer("\r", "", "\n", "").Replace(v))
}

// planView is a plan's page.
type planView struct {
	Plan     *model.GetResponsePlanOutput
	Template model.IncidentTemplate
	Targets  []string
	Chat     []string
	Tags     map[string]string
	// Form is what the edit form shows (the plan, or what was sent when it
	// is shown again with a refusal); Was is the plan as the form's *_was
	// fields tell it.
	Form, Was planForm
	Actions   []planAutomation
	Kept      bool // the plan has engagements, actions or integrations
}

// planAutomation is an SSM Automation action of a plan, as the page shows it.
type planAutomation struct {
	*model.SsmAutomation
	Parameters        []string // NAME = VALUE, VALUE, …
	DynamicParameters []string // NAME = VARIABLE
}

// planPage shows a plan: its properties, incident template, chat channel,
// what incidentd keeps of it without acting on it, its tags, and the forms
// that change and delete it.
func (c *Console) planPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showPlan(w, r, s, r.URL.Query().Get("arn"), http.StatusOK, "", nil)
}

// showPlan renders the page of the plan arn with msg, the refusal or
// failure of an action, above it when there is one, and the edit form
// holding sent when it is not nil.
func (c *Console) showPlan(w http.ResponseWriter, r *http.Request, s *session, arn string, status int, msg string, sent *planForm) {
	in := &model.GetResponsePlanInput{Arn: &arn}
	if err := in.Validate(); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, err.Error())
		return
	}
	p, err := c.svc.GetResponsePlan(r.Context(), in)
	if err != nil {
		st, m := c.errorMessage(err)
		c.fail(w, r, s, st, joinMessages(msg, m))
		return
	}
	v := &planView{Plan: p, Template: deref(p.IncidentTemplate), Form: planFormOf(p)}
	v.Was, v.Targets = v.Form, topicsOf(v.Template.NotificationTargets)
	if p.ChatChannel != nil {
		v.Chat = p.ChatChannel.ChatbotSns
	}
	if sent != nil {
		// The fields the user changed show what was sent, and what they
		// held when the form was rendered; the others what the plan holds
		// now, so that sending the form again changes what the user
		// changed, and only that.
		was := readPlanWas(r)
		fields := func(f *planForm) []*string {
			return []*string{&f.DisplayName, &f.Title, &f.Impact, &f.Summary, &f.Dedupe, &f.Targets, &f.Chat}
		}
		now, sentf, wasf, shownWas := fields(&v.Form), fields(sent), fields(&was), fields(&v.Was)
		for i := range now {
			if edited(*sentf[i], *wasf[i]) {
				*now[i], *shownWas[i] = *sentf[i], *wasf[i]
			}
		}
		v.Form.Token = sent.Token
	}
	for _, a := range p.Actions {
		if a.SsmAutomation != nil {
			v.Actions = append(v.Actions, automationOf(a.SsmAutomation))
		}
	}
	v.Kept = len(p.Engagements) > 0 || len(p.Actions) > 0 || len(p.Integrations) > 0
	page := &view{Title: planTitle(p), Session: s, Notice: notice(r), Data: v}
	refused := []string{msg}
	if tags, err := c.svc.ListTagsForResource(r.Context(), &model.ListTagsForResourceRequest{ResourceArn: &arn}); err == nil {
		v.Tags = tags.Tags
	} else {
		_, m := c.errorMessage(err)
		refused = append(refused, m)
	}
	page.Error = joinMessages(refused...)
	c.render(w, status, "plan.html", page)
}

// planTitle is what a plan is called: its display name, else its name.
func planTitle(p *model.GetResponsePlanOutput) string {
	if d := strings.TrimSpace(deref(p.DisplayName)); d != "" {
		return d
	}
	return deref(p.Name)
}

func automationOf(a *model.SsmAutomation) planAutomation {
	out := planAutomation{SsmAutomation: a}
	for k, vs := range a.Parameters {
		out.Parameters = append(out.Parameters, k+" = "+strings.Join(vs, ", "))
	}
	for k, v := range a.DynamicParameters {
		out.DynamicParameters = append(out.DynamicParameters, k+" = "+deref(v.Variable))
	}
	sort.Strings(out.Parameters)
	sort.Strings(out.DynamicParameters)
	return out
}

// newPlanPage shows the form that creates a plan.
func (c *Console) newPlanPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showNewPlan(w, s, http.StatusOK, "", planForm{Token: uuid.NewString()})
}

func (c *Console) showNewPlan(w http.ResponseWriter, s *session, status int, msg string, f planForm) {
	c.render(w, status, "plan-new.html", &view{Title: "New response plan", Session: s, Error: msg, Data: f})
}

// createPlan creates a plan of the form's name, display name, incident
// template (title, impact, summary, dedupe string, notification targets)
// and chat channel, as CreateResponsePlan does. Its client token comes
// with the form, so a form sent twice creates one plan.
func (c *Console) createPlan(w http.ResponseWriter, r *http.Request, s *session) {
	f := readPlanForm(r)
	if f.Token == "" {
		f.Token = uuid.NewString()
	}
	t := &model.IncidentTemplate{Title: ptr(planLine(f.Title))}
	in := &model.CreateResponsePlanInput{Name: &f.Name, ClientToken: &f.Token, IncidentTemplate: t}
	if v := planLine(f.DisplayName); v != "" {
		in.DisplayName = &v
	}
	if v := formText(f.Summary); v != "" {
		t.Summary = &v
	}
	if v := planLine(f.Dedupe); v != "" {
		t.DedupeString = &v
	}
	var bad string
	if f.Impact == "" {
		bad = "Choose the impact of the plan's incidents."
	} else {
		t.Impact, bad = formImpact(f.Impact)
	}
	if topics := topicList(f.Targets); len(topics) > 0 {
		t.NotificationTargets = targetItems(topics)
		bad = joinMessages(bad, checkTopics("notification targets", topics))
	}
	if topics := topicList(f.Chat); len(topics) > 0 {
		in.ChatChannel = &model.ChatChannel{ChatbotSns: topics}
		bad = joinMessages(bad, checkTopics("chat channel's topics", topics))
	}
	show := func(status int, msg string) { c.showNewPlan(w, s, status, msg, f) }
	if bad != "" {
		show(http.StatusBadRequest, bad)
		return
	}
	if err := in.Validate(); err != nil {
		show(http.StatusBadRequest, err.Error())
		return
	}
	out, err := c.svc.CreateResponsePlan(r.Context(), in)
	if err != nil {
		show(c.errorMessage(err))
		return
	}
	redirect(w, r, "plan", deref(out.Arn), "Response plan created.")
}

// updatePlan changes a plan's display name, incident template (title,
// impact, summary, dedupe string, notification targets) or chat channel, as
// UpdateResponsePlan does. As for incidents, a member is sent only when its
// field is in the form and, when the form says what the field held
// (NAME_was), differs from it: saving the form unchanged calls nothing,
// and what someone else changed meanwhile in other fields stays. An
// emptied chat channel is removed with the empty channel, as the API
// removes it; emptied notification targets are cleared with [].
func (c *Console) updatePlan(w http.ResponseWriter, r *http.Request, s *session) {
	arn := r.PostFormValue("arn")
	in := &model.UpdateResponsePlanInput{Arn: &arn, ClientToken: ptr(uuid.NewString())}
	changed := func(name string, norm func(string) string) (string, bool) {
		v, ok := formChange(r, name, norm)
		return norm(v), ok
	}
	some := false
	if v, ok := changed("displayName", planLine); ok {
		in.DisplayName, some = &v, true
	}
	if v, ok := changed("title", planLine); ok {
		in.IncidentTemplateTitle, some = &v, true
	}
	if v, ok := changed("summary", formText); ok {
		in.IncidentTemplateSummary, some = &v, true
	}
	if v, ok := changed("dedupe", planLine); ok {
		in.IncidentTemplateDedupeString, some = &v, true
	}
	var bad string
	if v, ok := changed("impact", strings.TrimSpace); ok {
		in.IncidentTemplateImpact, bad = formImpact(v)
		if v == "" {
			bad = "Choose the impact of the plan's incidents."
		}
		some = true
	}
	if v, ok := changed("targets", topicText); ok {
		topics := topicList(v)
		in.IncidentTemplateNotificationTargets, some = targetItems(topics), true
		bad = joinMessages(bad, checkTopics("notification targets", topics))
	}
	if v, ok := changed("chat", topicText); ok {
		topics := topicList(v)
		in.ChatChannel, some = &model.ChatChannel{Empty: &model.EmptyChatChannel{}}, true
		if len(topics) > 0 {
			in.ChatChannel = &model.ChatChannel{ChatbotSns: topics}
		}
		bad = joinMessages(bad, checkTopics("chat channel's topics", topics))
	}
	sent := readPlanForm(r)
	show := func(status int, msg string) { c.showPlan(w, r, s, arn, status, msg, &sent) }
	if bad != "" {
		show(http.StatusBadRequest, bad)
		return
	}
	if err := in.Validate(); err != nil {
		show(http.StatusBadRequest, err.Error())
		return
	}
	if !some {
		// Nothing changed: no call, so no change of the plan, no API-call
		// event and no test message either.
		redirect(w, r, "plan", arn, "Nothing to change.")
		return
	}
	if _, err := c.svc.UpdateResponsePlan(r.Context(), in); err != nil {
		show(c.errorMessage(err))
		return
	}
	redirect(w, r, "plan", arn, "Response plan updated.")
}

// deletePlan deletes a plan, as DeleteResponsePlan does, when the form's
// box confirming it is ticked, and goes to the list of plans.
func (c *Console) deletePlan(w http.ResponseWriter, r *http.Request, s *session) {
	arn := r.PostFormValue("arn")
	in := &model.DeleteResponsePlanInput{Arn: &arn}
	if r.PostFormValue("confirm") != "yes" {
		c.showPlan(w, r, s, arn, http.StatusBadRequest, "Tick the box that confirms the deletion: the plan was not deleted.", nil)
		return
	}
	if err := in.Validate(); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := c.svc.DeleteResponsePlan(r.Context(), in); err != nil {
		status, msg := c.errorMessage(err)
		c.showPlan(w, r, s, arn, status, msg, nil)
		return
	}
	http.Redirect(w, r, Path+"plans?"+url.Values{"done": {"Response plan deleted."}}.Encode(), http.StatusSeeOther)
}

// replicationView is the replication set's page; Set is nil when the
// account has none.
type replicationView struct {
	Set       *model.ReplicationSet
	Protected bool
	Regions   []replicationRegion
}

// replicationRegion is a region of the set, as the page's table shows it.
type replicationRegion struct {
	Name string
	model.RegionInfo
}

// replicationSetPage shows the account's replication set: its ARN,
// status, deletion protection, who created and last changed it and when,
// and its regions.
func (c *Console) replicationSetPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := &replicationView{}
	page := &view{Title: "Replication set", Session: s, Data: v}
	fail := func(err error) {
		status, msg := c.errorMessage(err)
		page.Error = msg
		c.render(w, status, "replication-set.html", page)
	}
	list, err := c.svc.ListReplicationSets(r.Context(), &model.ListReplicationSetsInput{})
	if err != nil {
		fail(err)
		return
	}
	if len(list.ReplicationSetArns) == 0 {
		c.render(w, http.StatusOK, "replication-set.html", page)
		return
	}
	in := &model.GetReplicationSetInput{Arn: &list.ReplicationSetArns[0]}
	if err := in.Validate(); err != nil {
		page.Error = err.Error()
		c.render(w, http.StatusInternalServerError, "replication-set.html", page)
		return
	}
	got, err := c.svc.GetReplicationSet(r.Context(), in)
	if err != nil {
		fail(err)
		return
	}
	v.Set, v.Protected = got.ReplicationSet, deref(got.ReplicationSet.DeletionProtected)
	for name, info := range got.ReplicationSet.RegionMap {
		v.Regions = append(v.Regions, replicationRegion{Name: name, RegionInfo: info})
	}
	sort.Slice(v.Regions, func(i, j int) bool { return v.Regions[i].Name < v.Regions[j].Name })
	c.render(w, http.StatusOK, "replication-set.html", page)
}
