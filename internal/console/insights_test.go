package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents"
	"github.com/aws/aws-sdk-go-v2/service/ssmincidents/types"
	"github.com/aws/smithy-go"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/incidentd/incidentd/internal/app"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/testserver"
)

// insightsJSON is the JSON of /console/insights.json, as a client reads it.
type insightsJSON struct {
	Account     string    `json:"account"`
	GeneratedAt time.Time `json:"generatedAt"`
	Windows     []struct {
		Days           int       `json:"days"`
		Since          time.Time `json:"since"`
		Started        int       `json:"started"`
		Resolved       figures   `json:"resolved"`
		ByImpact       []figures `json:"byImpact"`
		ByResponsePlan []figures `json:"byResponsePlan"`
	} `json:"windows"`
	IncidentsPerWeek []struct {
		Start   time.Time `json:"start"`
		End     time.Time `json:"end"`
		Started int       `json:"started"`
	} `json:"incidentsPerWeek"`
	Open struct {
		Total    int `json:"total"`
		ByImpact []struct {
			Impact int32 `json:"impact"`
			Count  int   `json:"count"`
		} `json:"byImpact"`
	} `json:"open"`
	Limits struct {
		MaxRecords      int  `json:"maxRecords"`
		RecentRead      int  `json:"recentRead"`
		RecentTruncated bool `json:"recentTruncated"`
		OpenRead        int  `json:"openRead"`
		OpenTruncated   bool `json:"openTruncated"`
		CacheSeconds    int  `json:"cacheSeconds"`
	} `json:"limits"`
}

// figures is a time to resolve: of an impact, a plan, or all.
type figures struct {
	Impact        int32    `json:"impact,omitempty"`
	ResponsePlan  string   `json:"responsePlan,omitempty"`
	Count         int      `json:"count"`
	MedianSeconds *float64 `json:"medianSeconds"`
	P90Seconds    *float64 `json:"p90Seconds"`
}

// nearestRank is the p-th percentile of ds by nearest rank, computed
// apart from the console's own.
func nearestRank(ds []time.Duration, p float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(math.Ceil(p/100*float64(len(s))))-1].Seconds()
}

// wantFigures are the figures of ds, as the JSON has them.
func wantFigures(ds []time.Duration) figures {
	if len(ds) == 0 {
		return figures{}
	}
	med, p90 := nearestRank(ds, 50), nearestRank(ds, 90)
	return figures{Count: len(ds), MedianSeconds: &med, P90Seconds: &p90}
}

func sameFigures(got, want figures) bool {
	eq := func(a, b *float64) bool {
		return a == nil && b == nil || a != nil && b != nil && math.Abs(*a-*b) < 0.0005
	}
	return got.Count == want.Count && eq(got.MedianSeconds, want.MedianSeconds) && eq(got.P90Seconds, want.P90Seconds)
}

func (f figures) String() string {
	b, _ := json.Marshal(f)
	return string(b)
}

// getJSON asks the console for path as JSON.
func (b *browser) getJSON(path string, v any) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			b.t.Fatalf("%s: %v", path, err)
		}
	} else if v != nil {
		json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type")
}

const day = 24 * time.Hour

// insightsWorld is world with a clock set by the test, and incidents
// started and resolved at chosen times of it: the clock then reads now,
// 200 days after world's incident. a is a client of account A that signs
// at the clock's time; arns are the incidents, world's first.
type insightsWorld struct {
	s    *testserver.Server
	clk  *testserver.Clock
	now  time.Time
	a    *ssmincidents.Client
	arns []string
}

func startInsights(t *testing.T) *insightsWorld {
	t.Helper()
	clk := testserver.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	s, first := world(t, func(c *app.Config) { c.Now = clk.Now })
	now := clk.Now().Add(200 * day)
	a := s.A(clk.Signs)
	if _, err := a.CreateResponsePlan(ctx, &ssmincidents.CreateResponsePlanInput{Name: aws.String("payments"),
		IncidentTemplate: &types.IncidentTemplate{Title: aws.String("Payments fail"), Impact: aws.Int32(2)}}); err != nil {
		t.Fatal(err)
	}
	incidents := []struct {
		plan   string
		impact int32
		age    time.Duration // at now
		took   time.Duration // to resolve; 0 leaves it open
	}{
		{"checkout", 1, 1 * day, 30 * time.Minute},
		{"checkout", 1, 2 * day, 2 * time.Hour},
		{"payments", 2, 3 * day, 45 * time.Minute},
		{"payments", 3, 5 * day, 0},
		{"payments", 2, 7 * day, 20 * time.Minute}, // on the 7-day window's edge: out of it
		{"payments", 1, 10 * day, 85 * time.Minute},
		{"checkout", 2, 20 * day, 10 * time.Hour},
		{"checkout", 4, 40 * day, 3 * day},
		{"payments", 1, 60 * day, 0},
		{"checkout", 5, 89 * day, 5 * time.Minute},
		{"checkout", 1, 95 * day, time.Hour}, // before every window
	}
	arns := []string{first}
	for _, inc := range incidents {
		clk.Set(now.Add(-inc.age))
		out, err := a.StartIncident(ctx, &ssmincidents.StartIncidentInput{ResponsePlanArn: aws.String("arn:aws:ssm-incidents::" + testserver.AccountA + ":response-plan/" + inc.plan),
			Impact: aws.Int32(inc.impact), Title: aws.String(hostile)})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.IncidentRecordArn))
		if inc.took > 0 {
			clk.Set(now.Add(-inc.age + inc.took))
			if _, err := a.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: out.IncidentRecordArn, Status: "RESOLVED"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	clk.Set(now)
	return &insightsWorld{s: s, clk: clk, now: now, a: a, arns: arns}
}

// TestInsightsFigures reads the insights of startInsights' incidents as
// JSON and as the page, and checks them against the records as the API
// reads them.
func TestInsightsFigures(t *testing.T) {
	iw := startInsights(t)
	s, clk, now, a, arns := iw.s, iw.clk, iw.now, iw.a, iw.arns

	// What the figures should be, from the records as the API reads them.
	type want struct {
		started          int
		all              []time.Duration
		byImpact, byPlan map[any][]time.Duration
	}
	w := map[int]*want{}
	var weeks [13]int
	open := map[int32]int{}
	for _, days := range []int{7, 30, 90} {
		w[days] = &want{byImpact: map[any][]time.Duration{}, byPlan: map[any][]time.Duration{}}
	}
	for _, arn := range arns {
		got, err := a.GetIncidentRecord(ctx, &ssmincidents.GetIncidentRecordInput{Arn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		r := got.IncidentRecord
		created := aws.ToTime(r.CreationTime)
		if r.Status == "OPEN" {
			open[aws.ToInt32(r.Impact)]++
		}
		if age := now.Sub(created); age < 91*day {
			weeks[12-int(age/(7*day))]++
		}
		plan := strings.Split(arn, "/")[1]
		for days, x := range w {
			if !created.After(now.Add(-time.Duration(days) * day)) {
				continue
			}
			x.started++
			if r.Status != "RESOLVED" {
				continue
			}
			took := aws.ToTime(r.ResolvedTime).Sub(created)
			x.all = append(x.all, took)
			x.byImpact[aws.ToInt32(r.Impact)] = append(x.byImpact[aws.ToInt32(r.Impact)], took)
			x.byPlan[plan] = append(x.byPlan[plan], took)
		}
	}

	b := newBrowser(t, s)
	if p := b.signIn("responder", password); p.status != 200 {
		t.Fatalf("sign-in: %d", p.status)
	}
	var got insightsJSON
	status, ctype := b.getJSON(consolePath+"insights.json", &got)
	if status != 200 || ctype != "application/json" {
		t.Fatalf("insights.json: %d %s", status, ctype)
	}
	if got.Account != testserver.AccountA || !got.GeneratedAt.Equal(now) {
		t.Errorf("account %s at %s; want %s at %s", got.Account, got.GeneratedAt, testserver.AccountA, now)
	}
	if len(got.Windows) != 3 {
		t.Fatalf("%d windows; want 7, 30 and 90 days", len(got.Windows))
	}
	for i, days := range []int{7, 30, 90} {
		gw, x := got.Windows[i], w[days]
		if gw.Days != days || !gw.Since.Equal(now.Add(-time.Duration(days)*day)) || gw.Started != x.started {
			t.Errorf("window %d: %d days since %s, %d started; want %d days since %s, %d started", i, gw.Days, gw.Since, gw.Started, days, now.Add(-time.Duration(days)*day), x.started)
		}
		if want := wantFigures(x.all); !sameFigures(gw.Resolved, want) {
			t.Errorf("%d days: resolved %s; want %s", days, gw.Resolved, want)
		}
		if len(gw.ByImpact) != 5 {
			t.Fatalf("%d days: %d impacts; want 1 to 5", days, len(gw.ByImpact))
		}
		for j, f := range gw.ByImpact {
			if want := wantFigures(x.byImpact[int32(j+1)]); f.Impact != int32(j+1) || !sameFigures(f, want) {
				t.Errorf("%d days, impact %d: %s; want %s", days, j+1, f, want)
			}
		}
		if len(gw.ByResponsePlan) != len(x.byPlan) {
			t.Errorf("%d days: %d plans; want %d", days, len(gw.ByResponsePlan), len(x.byPlan))
		}
		for _, f := range gw.ByResponsePlan {
			if want := wantFigures(x.byPlan[f.ResponsePlan]); !sameFigures(f, want) {
				t.Errorf("%d days, plan %s: %s; want %s", days, f.ResponsePlan, f, want)
			}
		}
	}
	// The same, said outright: of 30 m, 45 m and 2 h.
	if r := got.Windows[0].Resolved; r.Count != 3 || *r.MedianSeconds != 2700 || *r.P90Seconds != 7200 {
		t.Errorf("the last 7 days: %s; want 3 resolved, median 2700 s, p90 7200 s", r)
	}
	if started := []int{got.Windows[0].Started, got.Windows[1].Started, got.Windows[2].Started}; !slices.Equal(started, []int{4, 7, 10}) {
		t.Errorf("started %v; want 4, 7 and 10", started)
	}
	if len(got.IncidentsPerWeek) != 13 {
		t.Fatalf("%d weeks; want 13", len(got.IncidentsPerWeek))
	}
	var gotWeeks [13]int
	for i, wk := range got.IncidentsPerWeek {
		gotWeeks[i] = wk.Started
		end := now.Add(-time.Duration(12-i) * 7 * day)
		if !wk.End.Equal(end) || !wk.Start.Equal(end.Add(-7*day)) {
			t.Errorf("week %d: %s to %s; want the 7 days to %s", i, wk.Start, wk.End, end)
		}
	}
	if gotWeeks != weeks || weeks != [13]int{1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 2, 4} {
		t.Errorf("incidents per week %v; want %v", gotWeeks, weeks)
	}
	var gotOpen []int
	for _, o := range got.Open.ByImpact {
		gotOpen = append(gotOpen, o.Count)
	}
	if got.Open.Total != 3 || !slices.Equal(gotOpen, []int{open[1], open[2], open[3], open[4], open[5]}) || !slices.Equal(gotOpen, []int{1, 0, 2, 0, 0}) {
		t.Errorf("open: %d, by impact %v; want 3, %v", got.Open.Total, gotOpen, open)
	}
	if l := got.Limits; l.MaxRecords != 100000 || l.RecentRead != 10 || l.OpenRead != 3 || l.RecentTruncated || l.OpenTruncated || l.CacheSeconds != 30 {
		t.Errorf("limits %+v", l)
	}

	var one insightsJSON
	if status, _ := b.getJSON(consolePath+"insights.json?days=30", &one); status != 200 || len(one.Windows) != 1 || one.Windows[0].Days != 30 || one.Windows[0].Started != 7 {
		t.Errorf("?days=30: %d, %+v", status, one.Windows)
	}
	var bad struct{ Message string }
	if status, _ := b.getJSON(consolePath+"insights.json?days=8", &bad); status != http.StatusBadRequest || bad.Message != "The window (days) is 7, 30 or 90." {
		t.Errorf("?days=8: %d %q", status, bad.Message)
	}

	p := b.get(consolePath + "insights")
	if p.status != 200 {
		t.Fatalf("the insights page: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{
		"median 45m, p90 2h",  // the last 7 days
		"median 45m, p90 10h", // 30 days
		"median 45m, p90 3d",  // 90 days
		`<th scope="row">1 · critical</th><td>2</td><td>30m</td><td>2h</td>`,    // the 7 days' impact 1
		`<th scope="row">1 · critical</th><td>3</td><td>1h 25m</td><td>2h</td>`, // the 30 days'
		`<th scope="row">checkout</th><td>2</td>`,
		"nearest-rank",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page does not show %q:\n%s", want, p.body)
		}
	}
	svgs, titles, tables := strings.Count(p.body, "<svg "), strings.Count(p.body, "<title id="), strings.Count(p.body, "<table")
	if svgs != 8 || strings.Count(p.body, `role="img"`) != svgs || titles != svgs || tables != svgs {
		t.Errorf("%d charts, %d titled, %d tables; want 8 of each (3 windows × 2, weeks, open)", svgs, titles, tables)
	}
	if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "onerror") || strings.Contains(p.body, html.EscapeString(hostile)) {
		t.Errorf("the page shows the incidents' titles")
	}
	if p := b.get(consolePath + "insights?days=7"); p.status != 200 || strings.Count(p.body, "<svg ") != 4 || !strings.Contains(p.body, `aria-current="page">7 days`) {
		t.Errorf("the page of 7 days: %d, %d charts", p.status, strings.Count(p.body, "<svg "))
	}

	// A change shows once the figures kept have aged.
	if _, err := a.UpdateIncidentRecord(ctx, &ssmincidents.UpdateIncidentRecordInput{Arn: aws.String(arns[4]), Status: "RESOLVED"}); err != nil {
		t.Fatal(err)
	}
	var kept, fresh insightsJSON
	b.getJSON(consolePath+"insights.json", &kept)
	clk.Set(now.Add(31 * time.Second))
	b.getJSON(consolePath+"insights.json", &fresh)
	if kept.Open.Total != 3 || !kept.GeneratedAt.Equal(now) {
		t.Errorf("within 30 s: %d open at %s; want the figures kept (3 open at %s)", kept.Open.Total, kept.GeneratedAt, now)
	}
	if fresh.Open.Total != 2 || fresh.Windows[0].Resolved.Count != 4 || !fresh.GeneratedAt.Equal(now.Add(31*time.Second)) {
		t.Errorf("after 31 s: %d open, %d resolved in 7 days; want 2 and 4", fresh.Open.Total, fresh.Windows[0].Resolved.Count)
	}

	// The viewer, who may only read, sees the same.
	v := newBrowser(t, s)
	v.signIn("viewer", password)
	var viewed insightsJSON
	if status, _ := v.getJSON(consolePath+"insights.json", &viewed); status != 200 || viewed.Open.Total != 2 || viewed.Windows[0].Resolved.Count != 4 {
		t.Errorf("the viewer's insights: %d, %d open", status, viewed.Open.Total)
	}
	if p := v.get(consolePath + "insights"); p.status != 200 || !strings.Contains(p.body, "<svg ") {
		t.Errorf("the viewer's insights page: %d", p.status)
	}
}

// TestInsightsRefused: a user who may not list incident records is shown
// the API's AccessDenied, also when another user's figures are kept, and
// also after a revocation within the time figures are kept.
func TestInsightsRefused(t *testing.T) {
	clk := testserver.NewClock(time.Now().UTC())
	s, _ := world(t, func(c *app.Config) { c.Now = clk.Now })
	for _, user := range []string{"nobody", "revoked"} {
		doc := []string{readOnly}
		if user == "nobody" {
			doc = nil
		}
		s.User(testserver.AccountA, user, doc...)
		if err := s.Main.Directory.SetConsolePassword(ctx, testserver.AccountA, user, password); err != nil {
			t.Fatal(err)
		}
	}
	responder := newBrowser(t, s)
	responder.signIn("responder", password)
	if p := responder.get(consolePath + "insights"); p.status != 200 {
		t.Fatalf("the responder's insights: %d", p.status)
	}
	denied := func(user string) string {
		key, secret := s.User(testserver.AccountA, user+"-api")
		_, err := s.Client(key, secret).ListIncidentRecords(ctx, &ssmincidents.ListIncidentRecordsInput{})
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
			t.Fatalf("the API's refusal: %v", err)
		}
		return strings.ReplaceAll(api.ErrorMessage(), user+"-api", user)
	}
	want := denied("nobody")
	nobody := newBrowser(t, s)
	nobody.signIn("nobody", password)
	p := nobody.get(consolePath + "insights")
	if p.status != http.StatusForbidden || !strings.Contains(p.body, html.EscapeString(want)) || !strings.Contains(p.body, `action="/console/logout"`) || strings.Contains(p.body, "<svg") {
		t.Errorf("the insights of a user without a policy: %d, want the page with %q\n%s", p.status, want, p.body)
	}
	var msg struct{ Message string }
	if status, ctype := nobody.getJSON(consolePath+"insights.json", &msg); status != http.StatusForbidden || ctype != "application/json" || msg.Message != want {
		t.Errorf("insights.json of a user without a policy: %d %s %q", status, ctype, msg.Message)
	}

	revoked := newBrowser(t, s)
	revoked.signIn("revoked", password)
	if status, _ := revoked.getJSON(consolePath+"insights.json", nil); status != 200 {
		t.Fatalf("the reader's insights: %d", status)
	}
	if err := s.Main.Directory.DeletePolicy(ctx, testserver.AccountA, domain.HolderUser, "revoked", "policy-1"); err != nil {
		t.Fatal(err)
	}
	msg.Message = ""
	if status, _ := revoked.getJSON(consolePath+"insights.json", &msg); status != http.StatusForbidden || !strings.Contains(msg.Message, "user/revoked is not authorized") {
		t.Errorf("the insights kept for a user whose policy is gone: %d %q", status, msg.Message)
	}

	// Without a session: the sign-in page.
	if p := newBrowser(t, s).get(consolePath + "insights.json"); p.url != consolePath+"login" {
		t.Errorf("insights.json without a session ends on %s", p.url)
	}
}

// TestInsightsInABrowser looks at the insights page in headless Chromium,
// on a wide screen and on a phone's: the charts are drawn, styled by
// the console's stylesheet, break no rule of the Content-Security-Policy, and fit.
func TestInsightsInABrowser(t *testing.T) {
	iw := startInsights(t)
	ctx := chromium(t)
	dir := screenshots(t)
	type look struct {
		Charts, Tables int
		Fill           string
		Violations     []string
		Overflows      bool
	}
	var seen []look
	read := chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		l, err := chromedp.Evaluate[look](`({
			charts: document.querySelectorAll("svg.chart[role=img] > title").length,
			tables: document.querySelectorAll("table.figures").length,
			fill: getComputedStyle(document.querySelector("rect.bar-p90")).fill,
			violations: window.cspViolations,
			overflows: document.documentElement.scrollWidth > window.innerWidth,
		})`)(ctx, tab)
		seen = append(seen, l)
		return err
	})
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: `window.cspViolations = [];
				document.addEventListener("securitypolicyviolation", e => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));`})
			return err
		}),
		signInSteps(iw.s.Endpoint, "responder"),
		chromedp.Navigate(iw.s.Endpoint+"/console/insights"),
		chromedp.WaitVisible(chromedp.CSS(`svg.chart`)),
		read,
		shot(dir, "insights"),
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(iw.s.Endpoint+"/console/insights?days=30"),
		chromedp.WaitVisible(chromedp.CSS(`svg.chart`)),
		read,
		shot(dir, "insights-phone"),
	)
	if err != nil {
		t.Fatalf("the browser: %v", err)
	}
	for i, want := range []int{8, 4} {
		l := seen[i]
		if l.Charts != want || l.Tables != want || l.Fill != "rgb(91, 143, 208)" || len(l.Violations) != 0 || l.Overflows {
			t.Errorf("page %d: %+v; want %d titled charts and tables, the p90 bars styled, no violation, no overflow", i, l, want)
		}
	}
}
