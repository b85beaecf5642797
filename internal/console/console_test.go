package console_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/testserver"
)

var ctx = context.Background()

// hostile is a title that breaks a page that does not escape it.
const hostile = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`

const (
	password    = "correct horse battery staple"
	allowAll    = `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ssm-incidents:*", "Resource": "*"}}`
	readOnly    = `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["ssm-incidents:Get*", "ssm-incidents:List*"], "Resource": "*"}}`
	consolePath = "/console/"
)

// browser is a client of the console with its own cookies.
type browser struct {
	t    *testing.T
	base string
	http *http.Client
}

func newBrowser(t *testing.T, s *testserver.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.Endpoint, http: &http.Client{Jar: jar}}
}

// page is an answer: its status, its final URL and its body.
type page struct {
	status int
	url    string
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	req.Header.Set("Accept", "text/html")
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL.Path, body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrf is the CSRF token of a page's forms.
func csrf(t *testing.T, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token on %s:\n%s", p.url, p.body)
	}
	return m[1]
}

// signIn signs in as user of account A and returns the incidents page.
func (b *browser) signIn(user, pass string) page {
	b.t.Helper()
	login := b.get(consolePath + "login")
	return b.post(consolePath+"login", url.Values{"csrf": {csrf(b.t, login)}, "account": {testserver.AccountA}, "user": {user}, "password": {pass}})
}

// world starts a server with an incident of a hostile title and two console
// users of account A: responder (allowed everything) and viewer (reads only).
func world(t *testing.T, configure ...func(*app.Config)) (*testserver.Server, string) {
	t.Helper()
	s := testserver.Start(t, configure...)
	a := s.A()
	if _, err := a.CreateReplicationSet(ctx, &ssmincidents.CreateReplicationSetInput{Regions: map[string]types.RegionMapInputValue{"us-east-1": {}}}); err != nil {
		t.Fatal(err)
	}
	plan, err := a.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String("checkout"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String(hostile), Impact: aws.Int32(3)}})
	if err != nil {
		t.Fatal(err)
	}
	started, err := a.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: plan.Arn})
	if err != nil {
		t.Fatal(err)
	}
	for user, doc := range map[string]string{"responder": allowAll, "viewer": readOnly} {
		s.User(testserver.AccountA, user, doc)
		if err := s.Main.Directory.SetConsolePassword(ctx, testserver.AccountA, user, password); err != nil {
			t.Fatal(err)
		}
	}
	return s, aws.ToString(started.IncidentRecordArn)
}

func TestSignInListUpdateNoteAndSignOut(t *testing.T) {
	s, incident := world(t)
	b := newBrowser(t, s)
	if p := b.get(consolePath); p.url != consolePath+"login" || !strings.Contains(p.body, `action="/console/login"`) {
		t.Fatalf("a visitor is not sent to the sign-in page: %s %d", p.url, p.status)
	}
	if p := b.signIn("responder", "wrong password!"); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "The account, user name or password is wrong.") {
		t.Fatalf("a wrong password: %d\n%s", p.status, p.body)
	}
	list := b.signIn("responder", password)
	if list.status != 200 || list.url != consolePath {
		t.Fatalf("sign-in: %d %s\n%s", list.status, list.url, list.body)
	}
	if strings.Contains(list.body, "<script>alert") || strings.Contains(list.body, "<img src=x") || !strings.Contains(list.body, html.EscapeString(hostile)) {
		t.Fatalf("the incidents page does not escape the title:\n%s", list.body)
	}
	// html/template escapes the query with lower-case hex digits.
	if !strings.Contains(list.body, `href="/console/incident?arn=`+strings.ToLower(url.QueryEscape(incident))+`"`) {
		t.Fatalf("the incidents page does not link the incident:\n%s", list.body)
	}

	p := b.get(consolePath + "incident?arn=" + url.QueryEscape(incident))
	if p.status != 200 || !strings.Contains(p.body, incident) || strings.Contains(p.body, "<script>alert") {
		t.Fatalf("the incident page: %d\n%s", p.status, p.body)
	}
	token := csrf(t, p)
	p = b.post(consolePath+"incident/update", url.Values{"csrf": {token}, "arn": {incident}, "title": {"Checkout is down"}, "impact": {"1"}, "summary": {"Payments fail."}})
	if p.status != 200 || !strings.Contains(p.body, "Incident updated.") || !strings.Contains(p.body, "impact 1") {
		t.Fatalf("update: %d\n%s", p.status, p.body)
	}
	p = b.post(consolePath+"incident/note", url.Values{"csrf": {token}, "arn": {incident}, "note": {"Rolled back the deployment."}})
	if p.status != 200 || !strings.Contains(p.body, "Rolled back the deployment.") {
		t.Fatalf("note: %d\n%s", p.status, p.body)
	}
	got, err := s.A().GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &incident})
	if err != nil {
		t.Fatal(err)
	}
	r := got.IncidentRecord
	if aws.ToInt32(r.Impact) != 1 || aws.ToString(r.Title) != "Checkout is down" || aws.ToString(r.LastModifiedBy) != "arn:aws:iam::"+testserver.AccountA+":user/responder" {
		t.Errorf("the API reads impact %d, title %q, lastModifiedBy %s", aws.ToInt32(r.Impact), aws.ToString(r.Title), aws.ToString(r.LastModifiedBy))
	}
	events, err := s.A().ListTimelineEvents(ctx, &ssmincidents.ListTimelineEventsInput{IncidentRecordArn: &incident})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range events.EventSummaries {
		kinds[aws.ToString(e.EventType)]++
	}
	if kinds["Note"] != 1 || kinds["SSM Incident Record Update"] != 1 {
		t.Errorf("the timeline holds %v; want one Note and one update, as the API writes them", kinds)
	}
	if !strings.Contains(s.Log.String(), `principal=arn:aws:iam::`+testserver.AccountA+`:user/responder action=ssm-incidents:UpdateIncidentRecord`) {
		t.Errorf("the console's update has no audit line:\n%s", s.Log.String())
	}

	p = b.post(consolePath+"incident/update", url.Values{"csrf": {token}, "arn": {incident}, "status": {"RESOLVED"}})
	if p.status != 200 || !strings.Contains(p.body, `<strong class="status">RESOLVED</strong>`) || !strings.Contains(p.body, "Reopen") {
		t.Fatalf("resolve: %d\n%s", p.status, p.body)
	}
	p = b.post(consolePath+"logout", url.Values{"csrf": {token}})
	if p.url != consolePath+"login" {
		t.Fatalf("sign-out ends on %s", p.url)
	}
	if p := b.get(consolePath); p.url != consolePath+"login" {
		t.Fatalf("after sign-out the console is still open: %s", p.url)
	}
}

func TestFormsNeedTheSessionsCSRFToken(t *testing.T) {
	s, incident := world(t)
	b := newBrowser(t, s)
	b.signIn("responder", password)
	for _, token := range []string{"", strings.Repeat("0", 64)} {
		p := b.post(consolePath+"incident/update", url.Values{"csrf": {token}, "arn": {incident}, "impact": {"1"}})
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "CSRF token does not match") {
			t.Errorf("an update with CSRF token %q: %d\n%s", token, p.status, p.body)
		}
	}
	got, err := s.A().GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: &incident})
	if err != nil || aws.ToInt32(got.IncidentRecord.Impact) != 3 {
		t.Fatalf("a refused form changed the incident: %v", err)
	}
	// The sign-in form too: without its cookie's token it is refused.
	anon := newBrowser(t, s)
	p := anon.post(consolePath+"login", url.Values{"account": {testserver.AccountA}, "user": {"responder"}, "password": {password}})
	if p.status != http.StatusForbidden {
		t.Errorf("a sign-in without the form's token: %d", p.status)
	}
}

func TestRefusedActionShowsAccessDenied(t *testing.T) {
	s, incident := world(t)
	b := newBrowser(t, s)
	b.signIn("viewer", password)
	p := b.get(consolePath + "incident?arn=" + url.QueryEscape(incident))
	if p.status != 200 {
		t.Fatalf("the viewer reads the incident: %d\n%s", p.status, p.body)
	}
	p = b.post(consolePath+"incident/update", url.Values{"csrf": {csrf(t, p)}, "arn": {incident}, "impact": {"1"}})
	want := "User: arn:aws:iam::" + testserver.AccountA + ":user/viewer is not authorized to perform: ssm-incidents:UpdateIncidentRecord on resource: " +
		incident + " because no identity-based policy allows the ssm-incidents:UpdateIncidentRecord action"
	if p.status != http.StatusForbidden || !strings.Contains(p.body, html.EscapeString(want)) {
		t.Fatalf("the viewer's update: %d, want the message %q\n%s", p.status, want, p.body)
	}
	if !strings.Contains(p.body, `action="/console/logout"`) {
		t.Errorf("the refusal's page does not render the rest of the page")
	}
}

func TestSignInIsRateLimited(t *testing.T) {
	s, _ := world(t)
	b := newBrowser(t, s)
	var last page
	for range 6 {
		last = b.signIn("responder", "not the password")
	}
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("the 6th wrong sign-in within seconds: %d", last.status)
	}
	if p := b.signIn("responder", password); p.status != http.StatusTooManyRequests {
		t.Fatalf("the right password while limited: %d", p.status)
	}
}

func TestBrowserAtTheRootIsSentToTheConsole(t *testing.T) {
	s, _ := world(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, s.Endpoint+"/", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != consolePath {
		t.Fatalf("GET / from a browser: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	off := testserver.Start(t, func(c *app.Config) { c.NoConsole = true })
	resp, err = http.Get(off.Endpoint + consolePath + "login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("the console of a server started with --console=false: %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
}
