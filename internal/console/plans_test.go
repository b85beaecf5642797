package console_test

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/aws/smithy-go/middleware"
	xhtml "golang.org/x/net/html"

	"github.com/incidentd/incidentd/internal/testserver"
)

// topic is the ARN of an SNS topic of account A.
func topic(name string) string { return "arn:aws:sns:us-east-1:" + testserver.AccountA + ":" + name }

// planARN is the ARN of account A's response plan name.
func planARN(name string) string {
	return "arn:aws:ssm-incidents::" + testserver.AccountA + ":response-plan/" + name
}

// formValues is what a browser sends of the form of p whose action is
// action, as the page shows it: its inputs (checkboxes when checked), text
// areas and selects (the selected option, else the first).
func formValues(t *testing.T, p page, action string) url.Values {
	t.Helper()
	doc, err := xhtml.Parse(strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *xhtml.Node, key string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val, true
			}
		}
		return "", false
	}
	text := func(n *xhtml.Node) string {
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == xhtml.TextNode {
				b.WriteString(c.Data)
			}
		}
		return b.String()
	}
	var form *xhtml.Node
	var find func(n *xhtml.Node)
	find = func(n *xhtml.Node) {
		if a, _ := attr(n, "action"); n.Type == xhtml.ElementNode && n.Data == "form" && a == action && form == nil {
			form = n
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if form == nil {
		t.Fatalf("no form of %s on %s:\n%s", action, p.url, p.body)
	}
	v := url.Values{}
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		name, named := attr(n, "name")
		if n.Type == xhtml.ElementNode && named {
			switch n.Data {
			case "input":
				typ, _ := attr(n, "type")
				_, checked := attr(n, "checked")
				if typ != "checkbox" || checked {
					val, _ := attr(n, "value")
					v.Add(name, val)
				}
			case "textarea":
				v.Add(name, text(n))
			case "select":
				var first, chosen *string
				for o := n.FirstChild; o != nil; o = o.NextSibling {
					if o.Type != xhtml.ElementNode || o.Data != "option" {
						continue
					}
					val, ok := attr(o, "value")
					if !ok {
						val = text(o)
					}
					if first == nil {
						first = &val
					}
					if _, sel := attr(o, "selected"); sel && chosen == nil {
						chosen = &val
					}
				}
				if chosen == nil {
					chosen = first
				}
				if chosen != nil {
					v.Add(name, *chosen)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	return v
}

// readPlan reads the plan arn with the SDK, its result metadata aside.
func readPlan(t *testing.T, s *testserver.Server, arn string) *ssmincidents.GetResponsePlanOutput {
	t.Helper()
	got, err := s.A().GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	got.ResultMetadata = middleware.Metadata{}
	return got
}

func noPlan(t *testing.T, s *testserver.Server, arn string) {
	t.Helper()
	_, err := s.A().GetResponsePlan(ctx, &ssmincidents.GetResponsePlanInput{Arn: &arn})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("the plan %s: %v, want ResourceNotFoundException", arn, err)
	}
}

func targetsOf(ts []types.NotificationTargetItem) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.(*types.NotificationTargetItemMemberSnsTopicArn).Value)
	}
	return out
}

// fullPlan creates, with the SDK, a plan of every member.
func fullPlan(t *testing.T, s *testserver.Server, name string) string {
	t.Helper()
	out, err := s.A().CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{
		Name: aws.String(name), DisplayName: aws.String("Payments " + hostile),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Payments fail " + hostile), Impact: aws.Int32(2),
			Summary: aws.String("Card payments\r\nare refused.\n"), DedupeString: aws.String("payments-dedupe"),
			NotificationTargets: []types.NotificationTargetItem{&types.NotificationTargetItemMemberSnsTopicArn{Value: topic("pager")}},
			IncidentTags:        map[string]string{"team": "payments"}},
		ChatChannel: &types.ChatChannelMemberChatbotSns{Value: []string{topic("chat-ops")}},
		Engagements: []string{"arn:aws:ssm-contacts:us-east-1:" + testserver.AccountA + ":contact/oncall"},
		Actions: []types.Action{&types.ActionMemberSsmAutomation{Value: types.SsmAutomation{DocumentName: aws.String("RestartPayments"),
			RoleArn: aws.String("arn:aws:iam::" + testserver.AccountA + ":role/runbook"), Parameters: map[string][]string{"service": {"payments"}}}}},
		Integrations: []types.Integration{&types.IntegrationMemberPagerDutyConfiguration{Value: types.PagerDutyConfiguration{Name: aws.String("pd-payments"),
			SecretId: aws.String("pagerduty-secret"), PagerDutyIncidentConfiguration: &types.PagerDutyIncidentConfiguration{ServiceId: aws.String("PSERVICE")}}}},
		Tags: map[string]string{"owner": "payments-team"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Arn)
}

func TestPlanListAndView(t *testing.T) {
	s, _ := world(t)
	arn := fullPlan(t, s, "payments")
	b := newBrowser(t, s)
	b.signIn("responder", password)

	list := b.get(consolePath + "plans")
	if list.status != 200 {
		t.Fatalf("the plans page: %d\n%s", list.status, list.body)
	}
	for _, want := range []string{
		`href="/console/plan?arn=` + strings.ToLower(url.QueryEscape(arn)) + `"`,
		`href="/console/plan?arn=` + strings.ToLower(url.QueryEscape(planARN("checkout"))) + `"`,
		">payments</a>", ">checkout</a>", html.EscapeString("Payments " + hostile), `href="/console/plans/new"`,
	} {
		if !strings.Contains(list.body, want) {
			t.Errorf("the plans page does not show %s:\n%s", want, list.body)
		}
	}
	if strings.Contains(list.body, "<script>alert") || strings.Contains(list.body, "<img src=x") {
		t.Errorf("the plans page does not escape the display name:\n%s", list.body)
	}

	p := b.get(consolePath + "plan?arn=" + url.QueryEscape(arn))
	if p.status != 200 {
		t.Fatalf("the plan page: %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "<img src=x") {
		t.Errorf("the plan page does not escape:\n%s", p.body)
	}
	for _, want := range []string{
		arn, html.EscapeString("Payments fail " + hostile), html.EscapeString("Payments " + hostile), "<dd>2</dd>",
		"Card payments", "payments-dedupe", topic("pager"), topic("chat-ops"), "<code>team</code> = payments",
		"contact/oncall", "RestartPayments", "role/runbook", "service = payments", "pd-payments", "PSERVICE",
		"does not act on them", "runs no SSM Automation", "<code>owner</code> = payments-team",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the plan page does not show %q", want)
		}
	}

	// The viewer reads them too.
	v := newBrowser(t, s)
	v.signIn("viewer", password)
	if p := v.get(consolePath + "plan?arn=" + url.QueryEscape(arn)); p.status != 200 || !strings.Contains(p.body, "payments-dedupe") {
		t.Errorf("the viewer's plan page: %d", p.status)
	}
	// A plan that is not there, and an ARN that is none.
	if p := b.get(consolePath + "plan?arn=" + url.QueryEscape(planARN("nothing"))); p.status != http.StatusNotFound || !strings.Contains(p.body, "not found") {
		t.Errorf("a missing plan: %d\n%s", p.status, p.body)
	}
	if p := b.get(consolePath + "plan?arn=not-an-arn"); p.status != http.StatusBadRequest {
		t.Errorf("a bad ARN: %d\n%s", p.status, p.body)
	}
}

func TestPlanListPaginates(t *testing.T) {
	s, _ := world(t)
	for i := range 25 {
		if _, err := s.A().CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String(fmt.Sprintf("p-%02d", i)),
			IncidentTemplate: &types.IncidentTemplate{Title: aws.String("t"), Impact: aws.Int32(3)}}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, s)
	b.signIn("responder", password)
	first := b.get(consolePath + "plans")
	if first.status != 200 || !strings.Contains(first.body, ">checkout</a>") || !strings.Contains(first.body, ">p-23</a>") || strings.Contains(first.body, ">p-24</a>") {
		t.Fatalf("the first page: %d\n%s", first.status, first.body)
	}
	next := regexpFind(first.body, `href="(/console/plans\?next=[^"]+)"`)
	if next == "" {
		t.Fatalf("the first page has no link to the next:\n%s", first.body)
	}
	second := b.get(html.UnescapeString(next))
	if second.status != 200 || !strings.Contains(second.body, ">p-24</a>") || strings.Contains(second.body, ">checkout</a>") || strings.Contains(second.body, "next=") {
		t.Fatalf("the second page: %d\n%s", second.status, second.body)
	}
	if p := b.get(consolePath + "plans?next=forged"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "<h1>Response plans") {
		t.Errorf("a forged page token: %d\n%s", p.status, p.body)
	}
}

func regexpFind(s, re string) string {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestPlanCreateThroughTheForm(t *testing.T) {
	s, _ := world(t)
	b := newBrowser(t, s)
	b.signIn("responder", password)
	p := b.get(consolePath + "plans/new")
	if p.status != 200 {
		t.Fatalf("the new plan page: %d\n%s", p.status, p.body)
	}
	form := formValues(t, p, "/console/plan/create")
	if form.Get("token") == "" || form.Get("csrf") == "" {
		t.Fatalf("the form has no client token or CSRF token: %v", form)
	}
	form.Set("name", "search")
	form.Set("displayName", "Search "+hostile)
	form.Set("title", "Search is slow "+hostile)
	form.Set("impact", "2")
	form.Set("summary", "Queries time out.\r\nSee the dashboard.")
	form.Set("dedupe", "search-latency")
	form.Set("targets", topic("pager")+"\r\n\r\n "+topic("search-team")+" \r\n")
	form.Set("chat", topic("chat-ops"))
	p = b.post(consolePath+"plan/create", form)
	arn := planARN("search")
	if p.status != 200 || p.url != consolePath+"plan" || !strings.Contains(p.body, "Response plan created.") || !strings.Contains(p.body, arn) {
		t.Fatalf("create: %d %s\n%s", p.status, p.url, p.body)
	}
	if strings.Contains(p.body, "<script>alert") {
		t.Errorf("the new plan's page does not escape")
	}
	got := readPlan(t, s, arn)
	tpl := got.IncidentTemplate
	if aws.ToString(got.Name) != "search" || aws.ToString(got.DisplayName) != "Search "+hostile || aws.ToString(tpl.Title) != "Search is slow "+hostile ||
		aws.ToInt32(tpl.Impact) != 2 || aws.ToString(tpl.Summary) != "Queries time out.\nSee the dashboard." || aws.ToString(tpl.DedupeString) != "search-latency" {
		t.Errorf("the API reads name %q display %q title %q impact %d summary %q dedupe %q", aws.ToString(got.Name), aws.ToString(got.DisplayName),
			aws.ToString(tpl.Title), aws.ToInt32(tpl.Impact), aws.ToString(tpl.Summary), aws.ToString(tpl.DedupeString))
	}
	if ts := targetsOf(tpl.NotificationTargets); !reflect.DeepEqual(ts, []string{topic("pager"), topic("search-team")}) {
		t.Errorf("the API reads targets %v", ts)
	}
	if c, ok := got.ChatChannel.(*types.ChatChannelMemberChatbotSns); !ok || !reflect.DeepEqual(c.Value, []string{topic("chat-ops")}) {
		t.Errorf("the API reads chat channel %#v", got.ChatChannel)
	}
	if len(tpl.IncidentTags) != 0 || len(got.Engagements) != 0 || len(got.Actions) != 0 || len(got.Integrations) != 0 {
		t.Errorf("the form set more: %+v", got)
	}
	// The same form sent again (a double click, a reload) creates nothing
	// more and is no conflict: it has the same client token.
	if p := b.post(consolePath+"plan/create", form); p.status != 200 || p.url != consolePath+"plan" {
		t.Errorf("the form sent twice: %d %s\n%s", p.status, p.url, p.body)
	}
	// Without a chat channel, and with the fewest fields, the plan has none.
	p = b.get(consolePath + "plans/new")
	form = formValues(t, p, "/console/plan/create")
	form.Set("name", "bare")
	form.Set("title", "Bare")
	form.Set("impact", "5")
	form.Set("chat", "none")
	if p := b.post(consolePath+"plan/create", form); p.status != 200 || p.url != consolePath+"plan" {
		t.Fatalf("create bare: %d\n%s", p.status, p.body)
	}
	bare := readPlan(t, s, planARN("bare"))
	if bare.ChatChannel != nil || bare.DisplayName != nil || bare.IncidentTemplate.Summary != nil || bare.IncidentTemplate.DedupeString != nil || len(bare.IncidentTemplate.NotificationTargets) != 0 {
		t.Errorf("the bare plan reads %+v %+v", bare, bare.IncidentTemplate)
	}
	// A name that is taken is refused in the service's words, on the form.
	p = b.get(consolePath + "plans/new")
	form = formValues(t, p, "/console/plan/create")
	form.Set("name", "bare")
	form.Set("title", "Again")
	form.Set("impact", "4")
	if p := b.post(consolePath+"plan/create", form); p.status != http.StatusConflict || !strings.Contains(p.body, "already exists") || !strings.Contains(p.body, `value="Again"`) {
		t.Errorf("a taken name: %d\n%s", p.status, p.body)
	}
}

func TestPlanUpdateThroughTheForm(t *testing.T) {
	s, _ := world(t)
	arn := fullPlan(t, s, "payments")
	b := newBrowser(t, s)
	b.signIn("responder", password)
	p := b.get(consolePath + "plan?arn=" + url.QueryEscape(arn))
	form := formValues(t, p, "/console/plan/update")
	form.Set("title", "Payments are down")
	form.Set("impact", "1")
	form.Set("targets", topic("pager-2")+"\n"+topic("finance"))
	form.Set("chat", "")
	p = b.post(consolePath+"plan/update", form)
	if p.status != 200 || !strings.Contains(p.body, "Response plan updated.") || !strings.Contains(p.body, "Payments are down") {
		t.Fatalf("update: %d\n%s", p.status, p.body)
	}
	got := readPlan(t, s, arn)
	tpl := got.IncidentTemplate
	if aws.ToString(tpl.Title) != "Payments are down" || aws.ToInt32(tpl.Impact) != 1 {
		t.Errorf("the API reads title %q impact %d", aws.ToString(tpl.Title), aws.ToInt32(tpl.Impact))
	}
	if ts := targetsOf(tpl.NotificationTargets); !reflect.DeepEqual(ts, []string{topic("pager-2"), topic("finance")}) {
		t.Errorf("the API reads targets %v", ts)
	}
	if _, ok := got.ChatChannel.(*types.ChatChannelMemberEmpty); !ok {
		t.Errorf("the emptied chat channel reads %#v, want the empty channel", got.ChatChannel)
	}
	// What the form did not change is as it was.
	if aws.ToString(got.DisplayName) != "Payments "+hostile || aws.ToString(tpl.Summary) != "Card payments\r\nare refused.\n" ||
		aws.ToString(tpl.DedupeString) != "payments-dedupe" || tpl.IncidentTags["team"] != "payments" || len(got.Engagements) != 1 || len(got.Actions) != 1 || len(got.Integrations) != 1 {
		t.Errorf("the update changed other members: %+v %+v", got, tpl)
	}
	if !strings.Contains(s.Log.String(), `principal=arn:aws:iam::`+testserver.AccountA+`:user/responder action=ssm-incidents:UpdateResponsePlan`) {
		t.Errorf("the console's update has no audit line")
	}

	// Clearing the targets, setting the chat channel, display name,
	// summary and dedupe string.
	p = b.get(consolePath + "plan?arn=" + url.QueryEscape(arn))
	form = formValues(t, p, "/console/plan/update")
	form.Set("targets", "")
	form.Set("chat", topic("chat-a")+"\r\n"+topic("chat-b"))
	form.Set("displayName", "Payments")
	form.Set("summary", "Refunds too.")
	form.Set("dedupe", "payments-2")
	if p := b.post(consolePath+"plan/update", form); p.status != 200 || !strings.Contains(p.body, "Response plan updated.") {
		t.Fatalf("second update: %d\n%s", p.status, p.body)
	}
	got = readPlan(t, s, arn)
	tpl = got.IncidentTemplate
	if len(tpl.NotificationTargets) != 0 || aws.ToString(got.DisplayName) != "Payments" || aws.ToString(tpl.Summary) != "Refunds too." || aws.ToString(tpl.DedupeString) != "payments-2" {
		t.Errorf("the API reads targets %v display %q summary %q dedupe %q", targetsOf(tpl.NotificationTargets), aws.ToString(got.DisplayName), aws.ToString(tpl.Summary), aws.ToString(tpl.DedupeString))
	}
	if c, ok := got.ChatChannel.(*types.ChatChannelMemberChatbotSns); !ok || !reflect.DeepEqual(c.Value, []string{topic("chat-a"), topic("chat-b")}) {
		t.Errorf("the API reads chat channel %#v", got.ChatChannel)
	}
}

func TestPlanSavedUnchangedChangesNothing(t *testing.T) {
	s, _ := world(t)
	for _, arn := range []string{fullPlan(t, s, "payments"), planARN("checkout")} {
		b := newBrowser(t, s)
		b.signIn("responder", password)
		before := readPlan(t, s, arn)
		p := b.get(consolePath + "plan?arn=" + url.QueryEscape(arn))
		p = b.post(consolePath+"plan/update", formValues(t, p, "/console/plan/update"))
		if p.status != 200 || !strings.Contains(p.body, "Nothing to change.") {
			t.Fatalf("%s saved unchanged: %d\n%s", arn, p.status, p.body)
		}
		if after := readPlan(t, s, arn); !reflect.DeepEqual(after, before) {
			t.Errorf("%s saved unchanged reads\n%+v\nwas\n%+v", arn, after, before)
		}
	}
	if strings.Contains(s.Log.String(), "action=ssm-incidents:UpdateResponsePlan") {
		t.Errorf("saving unchanged called UpdateResponsePlan")
	}

	// A form changes what its user changed, and leaves what someone else
	// changed meanwhile in the other fields.
	arn := planARN("checkout")
	b := newBrowser(t, s)
	b.signIn("responder", password)
	form := formValues(t, b.get(consolePath+"plan?arn="+url.QueryEscape(arn)), "/console/plan/update")
	if _, err := s.A().UpdateResponsePlan(ctx, &ssmincidents.UpdateResponsePlanInput{Arn: &arn, IncidentTemplateSummary: aws.String("Set elsewhere."),
		ChatChannel: &types.ChatChannelMemberChatbotSns{Value: []string{topic("elsewhere")}}}); err != nil {
		t.Fatal(err)
	}
	form.Set("impact", "4")
	if p := b.post(consolePath+"plan/update", form); p.status != 200 || !strings.Contains(p.body, "Response plan updated.") {
		t.Fatalf("update: %d\n%s", p.status, p.body)
	}
	got := readPlan(t, s, arn)
	if aws.ToInt32(got.IncidentTemplate.Impact) != 4 || aws.ToString(got.IncidentTemplate.Summary) != "Set elsewhere." {
		t.Errorf("the API reads impact %d summary %q", aws.ToInt32(got.IncidentTemplate.Impact), aws.ToString(got.IncidentTemplate.Summary))
	}
	if c, ok := got.ChatChannel.(*types.ChatChannelMemberChatbotSns); !ok || !reflect.DeepEqual(c.Value, []string{topic("elsewhere")}) {
		t.Errorf("the chat channel set elsewhere reads %#v", got.ChatChannel)
	}
}

func TestPlanDeleteThroughTheForm(t *testing.T) {
	s, _ := world(t)
	arn := fullPlan(t, s, "payments")
	b := newBrowser(t, s)
	b.signIn("responder", password)
	p := b.get(consolePath + "plan?arn=" + url.QueryEscape(arn))
	form := formValues(t, p, "/console/plan/delete")
	if form.Has("confirm") {
		t.Fatalf("the delete form is confirmed before the user ticks the box: %v", form)
	}
	p = b.post(consolePath+"plan/delete", form)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Tick the box") || !strings.Contains(p.body, arn) {
		t.Errorf("a delete not confirmed: %d\n%s", p.status, p.body)
	}
	readPlan(t, s, arn)
	form.Set("confirm", "yes")
	p = b.post(consolePath+"plan/delete", form)
	if p.status != 200 || p.url != consolePath+"plans" || !strings.Contains(p.body, "Response plan deleted.") || strings.Contains(p.body, ">payments</a>") {
		t.Fatalf("delete: %d %s\n%s", p.status, p.url, p.body)
	}
	noPlan(t, s, arn)
}

func TestPlanViewerIsRefused(t *testing.T) {
	s, _ := world(t)
	arn := fullPlan(t, s, "payments")
	before := readPlan(t, s, arn)
	b := newBrowser(t, s)
	b.signIn("viewer", password)
	denied := func(op, resource string) string {
		return html.EscapeString("User: arn:aws:iam::" + testserver.AccountA + ":user/viewer is not authorized to perform: ssm-incidents:" + op +
			" on resource: " + resource + " because no identity-based policy allows the ssm-incidents:" + op + " action")
	}

	form := formValues(t, b.get(consolePath+"plans/new"), "/console/plan/create")
	form.Set("name", "viewers")
	form.Set("title", "Viewer's plan")
	form.Set("impact", "3")
	p := b.post(consolePath+"plan/create", form)
	if p.status != http.StatusForbidden || !strings.Contains(p.body, denied("CreateResponsePlan", "*")) || !strings.Contains(p.body, `action="/console/logout"`) {
		t.Errorf("the viewer's create: %d\n%s", p.status, p.body)
	}
	noPlan(t, s, planARN("viewers"))

	page := b.get(consolePath + "plan?arn=" + url.QueryEscape(arn))
	form = formValues(t, page, "/console/plan/update")
	form.Set("impact", "1")
	form.Set("chat", "")
	p = b.post(consolePath+"plan/update", form)
	if p.status != http.StatusForbidden || !strings.Contains(p.body, denied("UpdateResponsePlan", arn)) || !strings.Contains(p.body, "payments-dedupe") {
		t.Errorf("the viewer's update: %d\n%s", p.status, p.body)
	}
	form = formValues(t, page, "/console/plan/delete")
	form.Set("confirm", "yes")
	p = b.post(consolePath+"plan/delete", form)
	if p.status != http.StatusForbidden || !strings.Contains(p.body, denied("DeleteResponsePlan", arn)) || !strings.Contains(p.body, "payments-dedupe") {
		t.Errorf("the viewer's delete: %d\n%s", p.status, p.body)
	}
	if after := readPlan(t, s, arn); !reflect.DeepEqual(after, before) {
		t.Errorf("the viewer's refused forms changed the plan:\n%+v\nwas\n%+v", after, before)
	}
}

func TestPlanFormsNeedTheSessionsCSRFToken(t *testing.T) {
	s, _ := world(t)
	arn := planARN("checkout")
	before := readPlan(t, s, arn)
	b := newBrowser(t, s)
	b.signIn("responder", password)
	page := b.get(consolePath + "plan?arn=" + url.QueryEscape(arn))
	create := formValues(t, b.get(consolePath+"plans/new"), "/console/plan/create")
	create.Set("name", "forged")
	create.Set("title", "Forged")
	create.Set("impact", "1")
	update := formValues(t, page, "/console/plan/update")
	update.Set("impact", "1")
	del := formValues(t, page, "/console/plan/delete")
	del.Set("confirm", "yes")
	for path, form := range map[string]url.Values{"plan/create": create, "plan/update": update, "plan/delete": del} {
		for _, token := range []string{"", strings.Repeat("0", 64)} {
			form.Set("csrf", token)
			if p := b.post(consolePath+path, form); p.status != http.StatusForbidden || !strings.Contains(p.body, "CSRF token does not match") {
				t.Errorf("%s with CSRF token %q: %d\n%s", path, token, p.status, p.body)
			}
		}
		form.Del("csrf")
		if p := b.post(consolePath+path, form); p.status != http.StatusForbidden {
			t.Errorf("%s without a CSRF token: %d", path, p.status)
		}
	}
	if after := readPlan(t, s, arn); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused form changed the plan")
	}
	noPlan(t, s, planARN("forged"))
	// Without a session, a form is refused too.
	anon := newBrowser(t, s)
	if p := anon.post(consolePath+"plan/delete", del); p.status != http.StatusForbidden {
		t.Errorf("a delete without a session: %d", p.status)
	}
	readPlan(t, s, arn)
}

func TestPlanFormsValidate(t *testing.T) {
	s, _ := world(t)
	arn := planARN("checkout")
	before := readPlan(t, s, arn)
	b := newBrowser(t, s)
	b.signIn("responder", password)
	newForm := b.get(consolePath + "plans/new")
	for _, c := range []struct {
		name  string
		set   map[string]string
		wants []string
	}{
		{"impact 9", map[string]string{"impact": "9"}, []string{"incidentTemplate.impact", "less than or equal to 5"}},
		{"no impact", map[string]string{"impact": ""}, []string{"Choose the impact"}},
		{"impact no number", map[string]string{"impact": "high"}, []string{"The impact is a number from 1 to 5."}},
		{"bad topic", map[string]string{"targets": topic("ok") + "\nnot-an-arn"}, []string{"notification targets are SNS topic ARNs", `&#34;not-an-arn&#34; is not one`}},
		{"bad chat topic", map[string]string{"chat": "arn:aws:iam::" + testserver.AccountA + ":user/x"}, []string{"chat channel&#39;s topics are SNS topic ARNs"}},
		{"eleven targets", map[string]string{"targets": strings.Repeat(topic("t")+"\n", 11)}, []string{"incidentTemplate.notificationTargets", "length less than or equal to 10"}},
		{"bad name", map[string]string{"name": "no spaces"}, []string{"at &#39;name&#39;", "regular expression pattern"}},
		{"long title", map[string]string{"title": strings.Repeat("x", 201)}, []string{"incidentTemplate.title", "length less than or equal to 200"}},
	} {
		form := formValues(t, newForm, "/console/plan/create")
		form.Set("name", "invalid")
		form.Set("title", "Invalid "+hostile)
		form.Set("impact", "3")
		for k, v := range c.set {
			form.Set(k, v)
		}
		p := b.post(consolePath+"plan/create", form)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `action="/console/plan/create"`) || strings.Contains(p.body, "<script>alert") {
			t.Errorf("create, %s: %d\n%s", c.name, p.status, p.body)
			continue
		}
		for _, want := range c.wants {
			if !strings.Contains(p.body, want) {
				t.Errorf("create, %s: the page does not say %q:\n%s", c.name, want, p.body)
			}
		}
	}
	noPlan(t, s, planARN("invalid"))

	page := b.get(consolePath + "plan?arn=" + url.QueryEscape(arn))
	for _, c := range []struct {
		name  string
		set   map[string]string
		wants []string
	}{
		{"impact 9", map[string]string{"impact": "9"}, []string{"incidentTemplateImpact", "less than or equal to 5"}},
		{"bad topic", map[string]string{"targets": "not-an-arn"}, []string{"notification targets are SNS topic ARNs"}},
		{"bad chat topic", map[string]string{"chat": "chat-ops"}, []string{"chat channel&#39;s topics are SNS topic ARNs"}},
		{"six chat topics", map[string]string{"chat": strings.Repeat(topic("c")+"\n", 6)}, []string{"chatChannel.chatbotSns", "length less than or equal to 5"}},
	} {
		form := formValues(t, page, "/console/plan/update")
		form.Set("title", "Changed too")
		for k, v := range c.set {
			form.Set(k, v)
		}
		p := b.post(consolePath+"plan/update", form)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `action="/console/plan/update"`) {
			t.Errorf("update, %s: %d\n%s", c.name, p.status, p.body)
			continue
		}
		for _, want := range append(c.wants, `value="Changed too"`) {
			if !strings.Contains(p.body, want) {
				t.Errorf("update, %s: the page does not say %q:\n%s", c.name, want, p.body)
			}
		}
	}
	if after := readPlan(t, s, arn); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused update changed the plan:\n%+v\nwas\n%+v", after, before)
	}
}

func TestReplicationSetPage(t *testing.T) {
	s, _ := world(t)
	list, err := s.A().ListReplicationSets(ctx, &ssmincidents.ListReplicationSetsInput{})
	if err != nil || len(list.ReplicationSetArns) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	set := list.ReplicationSetArns[0]
	if _, err := s.A().UpdateReplicationSet(ctx, &ssmincidents.UpdateReplicationSetInput{Arn: &set, Actions: []types.UpdateReplicationSetAction{
		&types.UpdateReplicationSetActionMemberAddRegionAction{Value: types.AddRegionAction{RegionName: aws.String("eu-west-1"), SseKmsKeyId: aws.String("alias/incidents")}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.A().UpdateDeletionProtection(ctx, &ssmincidents.UpdateDeletionProtectionInput{Arn: &set, DeletionProtected: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s)
	b.signIn("viewer", password)
	p := b.get(consolePath + "replication-set")
	if p.status != 200 {
		t.Fatalf("the replication set page: %d\n%s", p.status, p.body)
	}
	rows := regexp.MustCompile(`<th scope="row">([a-z0-9-]+)</th><td>([A-Z]+)</td><td>[^<]*</td><td><code>([^<]*)</code></td>`).FindAllStringSubmatch(p.body, -1)
	var got []string
	for _, r := range rows {
		got = append(got, r[1]+" "+r[2]+" "+r[3])
	}
	if want := []string{"eu-west-1 ACTIVE alias/incidents", "us-east-1 ACTIVE DefaultKey"}; !reflect.DeepEqual(got, want) {
		t.Errorf("the regions' table reads %q, want %q\n%s", got, want, p.body)
	}
	for _, want := range []string{set, "<strong>ACTIVE</strong>", "on: the set", "arn:aws:iam::" + testserver.AccountA + ":root", "<time datetime="} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the replication set page does not show %q:\n%s", want, p.body)
		}
	}

	// An account without a replication set is told so.
	bare := testserver.Start(t)
	bare.User(testserver.AccountA, "viewer", readOnly)
	if err := bare.Main.Directory.SetConsolePassword(ctx, testserver.AccountA, "viewer", password); err != nil {
		t.Fatal(err)
	}
	nb := newBrowser(t, bare)
	nb.signIn("viewer", password)
	if p := nb.get(consolePath + "replication-set"); p.status != 200 || !strings.Contains(p.body, "has no replication set") {
		t.Errorf("no replication set: %d\n%s", p.status, p.body)
	}
}
