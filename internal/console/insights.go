package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/incidentd/incidentd/internal/model"
)

// The insights: how long the signed-in user's account takes to resolve
// its incidents, how many it starts a week and how many are open, on the
// page /console/insights (bar charts drawn as inline SVG on the server,
// each beside a table of its figures) and as JSON at
// /console/insights.json.
//
// The figures are read as the signed-in user, through the service's
// ListIncidentRecords, so that its authorization applies: a user who may
// not list incident records is shown AWS's AccessDenied message instead.
// Two listings are read, newest first, a page of 100 at a time:
//
//   - the recent incidents, created after now − 91 days (the creationTime
//     filter's after condition, which is strict), for the time to resolve
//     and the incidents per week;
//   - the open incidents (the status filter OPEN), whenever created.
//
// Definitions:
//
//   - Time to resolve is ResolvedTime − CreationTime of an incident whose
//     status is RESOLVED (a negative difference counts as 0). A reopened
//     incident is open, and not counted.
//   - The windows are the last 7, 30 and 90 days by creation time: an
//     incident is in the window of N days when it was created after
//     now − N×24 h (and not after now).
//   - The median and the p90 are nearest-rank percentiles: the p-th
//     percentile of n durations sorted from the shortest is the one of
//     rank ⌈p·n/100⌉, counting from 1. It is always one of the durations;
//     the median of an even count is the lower of the two middle ones.
//   - The weeks are 13 periods of 7×24 h back from now, not calendar
//     weeks: the newest is (now − 7 days, now], the oldest begins 91 days
//     ago. Every period is listed, those without an incident with 0.
//   - The response plan of an incident is the plan name of its ARN,
//     arn:aws:ssm-incidents::ACCOUNT:incident-record/PLAN/ID.
//
// Bounds: each listing reads at most insightsMaxRecords records (the
// newest); the figures then say they are truncated. The figures of a
// principal of an account are kept insightsTTL (by the console's clock),
// and at most insightsMaxComputing are computed at once; a kept figure is
// shown only after a ListIncidentRecords of one record as the same user
// succeeds, so that a revoked permission applies at once.

// Bounds of the insights.
const (
	insightsMaxRecords   = 100_000
	insightsTTL          = 30 * time.Second
	insightsMaxCached    = 1000
	insightsMaxComputing = 4
	insightsWeeks        = 13
	insightsListPage     = 100
	insightsDay          = 24 * time.Hour
	insightsWeek         = 7 * insightsDay
)

// insightsWindows are the windows of the time to resolve, in days.
var insightsWindows = []int{7, 30, 90}

// impactNames are the incident impacts' names, 1 to 5.
var impactNames = [...]string{1: "critical", 2: "high", 3: "medium", 4: "low", 5: "no impact"}

// lister is ListIncidentRecords of the service.
type lister func(context.Context, *model.ListIncidentRecordsInput) (*model.ListIncidentRecordsOutput, error)

// InsightsReport is the JSON of GET /console/insights.json. Field names
// are stable; times are RFC 3339 in UTC, durations are seconds (with
// milliseconds as decimals), and a median or p90 of no incident is null.
//
//	{
//	  "account": "111122223333",
//	  "generatedAt": "2025-03-01T12:00:00Z",   // "now" of the figures
//	  "windows": [                             // 7, 30 and 90 days, or the one of ?days=
//	    {"days": 7, "since": "2025-02-22T12:00:00Z",
//	     "started": 4,                         // incidents created in the window
//	     "resolved": {"count": 3, "medianSeconds": 2700, "p90Seconds": 7200},
//	     "byImpact": [{"impact": 1, "count": 2, "medianSeconds": 1800, "p90Seconds": 7200}, …],  // always 1 to 5
//	     "byResponsePlan": [{"responsePlan": "checkout", "count": 2, …}, …]}                  // most resolved first
//	  ],
//	  "incidentsPerWeek": [{"start": "…", "end": "…", "started": 0}, …],  // 13, oldest first; (start, end]
//	  "open": {"total": 2, "byImpact": [{"impact": 1, "count": 1}, …]},  // always 1 to 5
//	  "limits": {"maxRecords": 100000, "recentRead": 10, "recentTruncated": false,
//	             "openRead": 2, "openTruncated": false, "cacheSeconds": 30}
//	}
type InsightsReport struct {
	Account          string          `json:"account"`
	GeneratedAt      time.Time       `json:"generatedAt"`
	Windows          []ResolveWindow `json:"windows"`
	IncidentsPerWeek []WeekCount     `json:"incidentsPerWeek"`
	Open             OpenCounts      `json:"open"`
	Limits           InsightsLimits  `json:"limits"`
}

// ResolveWindow is the time to resolve of the incidents created in the
// last Days days, after Since.
type ResolveWindow struct {
	Days           int           `json:"days"`
	Since          time.Time     `json:"since"`
	Started        int           `json:"started"`
	Resolved       ResolveStats  `json:"resolved"`
	ByImpact       []ImpactStats `json:"byImpact"`
	ByResponsePlan []PlanStats   `json:"byResponsePlan"`
}

// ResolveStats is how many incidents were resolved and the median and p90
// of their time to resolve, in seconds (null when Count is 0).
type ResolveStats struct {
	Count         int      `json:"count"`
	MedianSeconds *float64 `json:"medianSeconds"`
	P90Seconds    *float64 `json:"p90Seconds"`
}

// ImpactStats is the time to resolve of the incidents of an impact.
type ImpactStats struct {
	Impact int32 `json:"impact"`
	ResolveStats
}

// PlanStats is the time to resolve of the incidents of a response plan.
type PlanStats struct {
	ResponsePlan string `json:"responsePlan"`
	ResolveStats
}

// WeekCount is how many incidents were created in (Start, End].
type WeekCount struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Started int       `json:"started"`
}

// OpenCounts is how many incidents are open, in all and by impact.
type OpenCounts struct {
	Total    int           `json:"total"`
	ByImpact []ImpactCount `json:"byImpact"`
}

// ImpactCount is how many incidents of an impact are open.
type ImpactCount struct {
	Impact int32 `json:"impact"`
	Count  int   `json:"count"`
}

// InsightsLimits says how much was read: a listing stops at MaxRecords
// records, and is then Truncated (its oldest records are left out).
type InsightsLimits struct {
	MaxRecords      int  `json:"maxRecords"`
	RecentRead      int  `json:"recentRead"`
	RecentTruncated bool `json:"recentTruncated"`
	OpenRead        int  `json:"openRead"`
	OpenTruncated   bool `json:"openTruncated"`
	CacheSeconds    int  `json:"cacheSeconds"`
}

// percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted,
// durations from the shortest: the one of rank ⌈p·n/100⌉, from 1.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) *float64 {
	s := float64(d.Milliseconds()) / 1000
	return &s
}

// stats is the ResolveStats of ds, which it sorts.
func stats(ds []time.Duration) ResolveStats {
	if len(ds) == 0 {
		return ResolveStats{}
	}
	slices.Sort(ds)
	return ResolveStats{Count: len(ds), MedianSeconds: seconds(percentile(ds, 50)), P90Seconds: seconds(percentile(ds, 90))}
}

// planName is the response plan's name in an incident record's ARN, or "".
func planName(arn string) string {
	_, rest, ok := strings.Cut(arn, ":incident-record/")
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	return name
}

// listAll calls each with the records of list's filters, newest first,
// at most limit of them; truncated says there were more.
func listAll(ctx context.Context, list lister, filters []model.Filter, limit int, each func(*model.IncidentRecordSummary)) (read int, truncated bool, err error) {
	in := &model.ListIncidentRecordsInput{Filters: filters}
	for read < limit {
		in.MaxResults = ptr(int32(min(insightsListPage, limit-read)))
		if err := in.Validate(); err != nil {
			return read, false, err
		}
		out, err := list(ctx, in)
		if err != nil {
			return read, false, err
		}
		for i := range out.IncidentRecordSummaries {
			each(&out.IncidentRecordSummaries[i])
		}
		read += len(out.IncidentRecordSummaries)
		if deref(out.NextToken) == "" {
			return read, false, nil
		}
		in.NextToken = out.NextToken
	}
	return read, true, nil
}

// computeInsights reads the insights of the caller of ctx at now.
func computeInsights(ctx context.Context, list lister, account string, now time.Time, limit int) (*InsightsReport, error) {
	// The store keeps milliseconds.
	now = now.UTC().Truncate(time.Millisecond)
	rep := &InsightsReport{Account: account, GeneratedAt: now, Limits: InsightsLimits{MaxRecords: limit}}

	// The recent incidents.
	type durations struct {
		all      []time.Duration
		byImpact [6][]time.Duration
		byPlan   map[string][]time.Duration
	}
	wins := make([]durations, len(insightsWindows))
	for i := range wins {
		wins[i].byPlan = map[string][]time.Duration{}
	}
	started := make([]int, len(insightsWindows))
	weeks := make([]int, insightsWeeks)
	oldest := now.Add(-insightsWeeks * insightsWeek)
	recent := []model.Filter{{Key: ptr("creationTime"), Condition: &model.Condition{After: model.NewTimestamp(oldest)}}}
	var err error
	rep.Limits.RecentRead, rep.Limits.RecentTruncated, err = listAll(ctx, list, recent, limit, func(r *model.IncidentRecordSummary) {
		if r.CreationTime == nil {
			return
		}
		created := r.CreationTime.Time()
		age := now.Sub(created)
		if age < 0 || !created.After(oldest) {
			return
		}
		weeks[insightsWeeks-1-int(age/insightsWeek)]++
		var took time.Duration
		resolved := deref(r.Status) == "RESOLVED" && r.ResolvedTime != nil
		if resolved {
			took = max(r.ResolvedTime.Time().Sub(created), 0)
		}
		impact := deref(r.Impact)
		plan := planName(deref(r.Arn))
		for i, days := range insightsWindows {
			if !created.After(now.Add(-time.Duration(days) * insightsDay)) {
				continue
			}
			started[i]++
			if !resolved {
				continue
			}
			w := &wins[i]
			w.all = append(w.all, took)
			if impact >= 1 && impact <= 5 {
				w.byImpact[impact] = append(w.byImpact[impact], took)
			}
			w.byPlan[plan] = append(w.byPlan[plan], took)
		}
	})
	if err != nil {
		return nil, err
	}
	for i, days := range insightsWindows {
		w := ResolveWindow{Days: days, Since: now.Add(-time.Duration(days) * insightsDay), Started: started[i], Resolved: stats(wins[i].all),
			ByImpact: []ImpactStats{}, ByResponsePlan: []PlanStats{}}
		for impact := int32(1); impact <= 5; impact++ {
			w.ByImpact = append(w.ByImpact, ImpactStats{Impact: impact, ResolveStats: stats(wins[i].byImpact[impact])})
		}
		for plan, ds := range wins[i].byPlan {
			w.ByResponsePlan = append(w.ByResponsePlan, PlanStats{ResponsePlan: plan, ResolveStats: stats(ds)})
		}
		slices.SortFunc(w.ByResponsePlan, func(a, b PlanStats) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.ResponsePlan, b.ResponsePlan)
		})
		rep.Windows = append(rep.Windows, w)
	}
	for i, n := range weeks {
		end := now.Add(-time.Duration(insightsWeeks-1-i) * insightsWeek)
		rep.IncidentsPerWeek = append(rep.IncidentsPerWeek, WeekCount{Start: end.Add(-insightsWeek), End: end, Started: n})
	}

	// The open incidents.
	var open [6]int
	status := []model.Filter{{Key: ptr("status"), Condition: &model.Condition{Equals: &model.AttributeValueList{StringValues: []string{"OPEN"}}}}}
	rep.Limits.OpenRead, rep.Limits.OpenTruncated, err = listAll(ctx, list, status, limit, func(r *model.IncidentRecordSummary) {
		rep.Open.Total++
		if i := deref(r.Impact); i >= 1 && i <= 5 {
			open[i]++
		}
	})
	if err != nil {
		return nil, err
	}
	rep.Open.ByImpact = []ImpactCount{}
	for i := int32(1); i <= 5; i++ {
		rep.Open.ByImpact = append(rep.Open.ByImpact, ImpactCount{Impact: i, Count: open[i]})
	}
	return rep, nil
}

// only is rep with the window of days alone (all windows for 0).
func (rep *InsightsReport) only(days int) *InsightsReport {
	if days == 0 {
		return rep
	}
	out := *rep
	out.Windows = nil
	for _, w := range rep.Windows {
		if w.Days == days {
			out.Windows = append(out.Windows, w)
		}
	}
	return &out
}

// insights computes and keeps the figures of each principal.
type insights struct {
	list      lister
	now       func() time.Time
	ttl       time.Duration
	limit     int
	computing chan struct{} // a slot for each computation at once

	mu    sync.Mutex
	cache map[insightsKey]*InsightsReport
}

// insightsKey is whose figures are kept: authorization depends on both.
type insightsKey struct{ account, principal string }

func newInsights(list lister, now func() time.Time) *insights {
	return &insights{list: list, now: now, ttl: insightsTTL, limit: insightsMaxRecords,
		computing: make(chan struct{}, insightsMaxComputing), cache: map[insightsKey]*InsightsReport{}}
}

// cached is the kept figures of key that are still fresh at now, or nil.
func (in *insights) cached(key insightsKey, now time.Time) *InsightsReport {
	in.mu.Lock()
	defer in.mu.Unlock()
	rep := in.cache[key]
	if rep == nil || now.Before(rep.GeneratedAt) || !now.Before(rep.GeneratedAt.Add(in.ttl)) {
		return nil
	}
	return rep
}

func (in *insights) keep(key insightsKey, rep *InsightsReport, now time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.cache) >= insightsMaxCached {
		for k, r := range in.cache {
			if !now.Before(r.GeneratedAt.Add(in.ttl)) || now.Before(r.GeneratedAt) {
				delete(in.cache, k)
			}
		}
		if len(in.cache) >= insightsMaxCached {
			clear(in.cache)
		}
	}
	in.cache[key] = rep
}

func (in *insights) forget(key insightsKey) {
	in.mu.Lock()
	defer in.mu.Unlock()
	delete(in.cache, key)
}

// report is the figures of the caller of ctx, principal of account:
// kept ones if fresh and the caller may still list incident records, new
// ones otherwise. It returns the service's error.
func (in *insights) report(ctx context.Context, account, principal string) (*InsightsReport, error) {
	key := insightsKey{account, principal}
	fromCache := func(rep *InsightsReport) (*InsightsReport, error) {
		if _, err := in.list(ctx, &model.ListIncidentRecordsInput{MaxResults: ptr(int32(1))}); err != nil {
			in.forget(key)
			return nil, err
		}
		return rep, nil
	}
	if rep := in.cached(key, in.now()); rep != nil {
		return fromCache(rep)
	}
	select {
	case in.computing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-in.computing }()
	// Another request of the same user may have computed them meanwhile.
	now := in.now()
	if rep := in.cached(key, now); rep != nil {
		return fromCache(rep)
	}
	rep, err := computeInsights(ctx, in.list, account, now, in.limit)
	if err != nil {
		in.forget(key)
		return nil, err
	}
	rep.Limits.CacheSeconds = int(in.ttl / time.Second)
	in.keep(key, rep, now)
	return rep, nil
}

// readDays reads ?days=: 7, 30 or 90, or 0 when absent (every window).
func readDays(q string) (int, string) {
	if q == "" {
		return 0, ""
	}
	n, err := strconv.Atoi(q)
	if err == nil && slices.Contains(insightsWindows, n) {
		return n, ""
	}
	return 0, "The window (days) is 7, 30 or 90."
}

// insightRoutes serves the insights page and its JSON.
func (c *Console) insightRoutes() {
	in := newInsights(c.svc.ListIncidentRecords, c.now)
	c.mux.Handle("GET "+Path+"insights", c.signedIn(func(w http.ResponseWriter, r *http.Request, s *session) {
		c.insightsPage(w, r, s, in)
	}))
	c.mux.Handle("GET "+Path+"insights.json", c.signedIn(func(w http.ResponseWriter, r *http.Request, s *session) {
		c.insightsJSON(w, r, s, in)
	}))
}

// insightsPage shows the insights of the signed-in user's account:
// every window, or the one of ?days=7|30|90.
func (c *Console) insightsPage(w http.ResponseWriter, r *http.Request, s *session, in *insights) {
	page := &view{Title: "Insights", Session: s}
	days, bad := readDays(r.URL.Query().Get("days"))
	if bad != "" {
		page.Error = bad
		c.render(w, http.StatusBadRequest, "insights.html", page)
		return
	}
	rep, err := in.report(r.Context(), s.caller.Account, s.caller.Principal)
	if err != nil {
		status, msg := c.errorMessage(err)
		page.Error = msg
		c.render(w, status, "insights.html", page)
		return
	}
	page.Data = newInsightsView(rep.only(days), days)
	c.render(w, http.StatusOK, "insights.html", page)
}

// insightsJSON serves InsightsReport: every window, or the one of
// ?days=7|30|90. A refusal or a bad query is {"message": "…"} with the
// status of the page's error (403 for AccessDenied, 400 for a bad window).
// Like every page of the console it needs a session: without one, it
// redirects to the sign-in page.
func (c *Console) insightsJSON(w http.ResponseWriter, r *http.Request, s *session, in *insights) {
	write := func(status int, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			c.log.Error("console insights", "error", err)
			status, b = http.StatusInternalServerError, []byte(`{"message":"The insights could not be written."}`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(append(b, '\n'))
	}
	days, bad := readDays(r.URL.Query().Get("days"))
	if bad != "" {
		write(http.StatusBadRequest, map[string]string{"message": bad})
		return
	}
	rep, err := in.report(r.Context(), s.caller.Account, s.caller.Principal)
	if err != nil {
		status, msg := c.errorMessage(err)
		write(status, map[string]string{"message": msg})
		return
	}
	write(http.StatusOK, rep.only(days))
}

// The page's view: figures as text, and charts.

// chart is a bar chart, drawn as SVG, and the table of its figures: each
// bar is a row of the table.
type chart struct {
	ID, Title     string
	Columns       bool // vertical bars (the weeks), else horizontal ones
	Width, Height int
	Bars          []chartBar
	Head          []string   // the table's heading
	Rows          [][]string // the table's rows, one per bar
	Note          string     // said under the table
}

// chartBar is a bar with its label and the text of its value.
type chartBar struct {
	Label          string
	LabelX, LabelY int
	Rects          []chartRect
	Value          string
	ValueX, ValueY int
}

// chartRect is a bar's rectangle; Class is bar-count, bar-median or
// bar-p90 (the stylesheet colours them, as the fill attribute does
// without it).
type chartRect struct {
	X, Y, W, H int
	Class      string
}

// Fill is the colour of the rectangle's class.
func (r chartRect) Fill() string {
	switch r.Class {
	case "bar-median":
		return "#0b2a4a"
	case "bar-p90":
		return "#5b8fd0"
	}
	return "#0972d3"
}

// Geometry of the charts, in the SVG's units.
const (
	rowsWidth  = 520
	rowsLabel  = 126 // the labels' column
	rowsBarMax = 196
	rowHeight  = 30
	colsWidth  = 640
	colsHeight = 215
	colsBarMax = 150
	colsTop    = 30
)

// maxPlanBars is how many response plans a chart shows, the most
// resolved first; the JSON has them all.
const maxPlanBars = 15

// barLength is the length of v of at most most in units of full, at least
// 2 when v is not 0, so that it shows.
func barLength(v, most float64, full int) int {
	if v <= 0 || most <= 0 {
		return 0
	}
	return max(int(v/most*float64(full)+0.5), 2)
}

// shorten is s of at most n characters.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// resolveChart is the time to resolve of rows: a light bar to the p90 and
// a dark one to the median.
func resolveChart(id, title, what string, labels []string, rows []ResolveStats) chart {
	ch := chart{ID: id, Title: title, Width: rowsWidth, Height: len(rows)*rowHeight + 10,
		Head: []string{what, "Resolved", "Median", "p90"}}
	most := 0.0
	for _, r := range rows {
		if r.P90Seconds != nil {
			most = max(most, *r.P90Seconds)
		}
	}
	for i, r := range rows {
		y := 5 + i*rowHeight
		// The values make a column of their own, right of the longest bar.
		b := chartBar{Label: shorten(labels[i], 16), LabelX: 8, LabelY: y + 17, ValueX: rowsLabel + rowsBarMax + 8, ValueY: y + 17}
		med, p90 := "—", "—"
		if r.Count == 0 {
			b.Value = "none resolved"
		} else {
			med, p90 = humanSeconds(*r.MedianSeconds), humanSeconds(*r.P90Seconds)
			pw, mw := barLength(*r.P90Seconds, most, rowsBarMax), barLength(*r.MedianSeconds, most, rowsBarMax)
			b.Rects = []chartRect{{X: rowsLabel, Y: y + 2, W: pw, H: 20, Class: "bar-p90"}, {X: rowsLabel, Y: y + 7, W: mw, H: 10, Class: "bar-median"}}
			b.Value = "median " + med + " · p90 " + p90
		}
		ch.Bars = append(ch.Bars, b)
		ch.Rows = append(ch.Rows, []string{labels[i], strconv.Itoa(r.Count), med, p90})
	}
	return ch
}

// countChart is counts as horizontal bars.
func countChart(id, title, what, count string, labels []string, counts []int) chart {
	ch := chart{ID: id, Title: title, Width: rowsWidth, Height: len(counts)*rowHeight + 10, Head: []string{what, count}}
	most := float64(slices.Max(append([]int{0}, counts...)))
	for i, n := range counts {
		y := 5 + i*rowHeight
		w := barLength(float64(n), most, rowsBarMax)
		ch.Bars = append(ch.Bars, chartBar{Label: labels[i], LabelX: 8, LabelY: y + 17, Value: strconv.Itoa(n), ValueX: rowsLabel + w + 6, ValueY: y + 17,
			Rects: []chartRect{{X: rowsLabel, Y: y + 2, W: w, H: 20, Class: "bar-count"}}})
		ch.Rows = append(ch.Rows, []string{labels[i], strconv.Itoa(n)})
	}
	return ch
}

// weeksChart is the incidents per week as columns.
func weeksChart(weeks []WeekCount) chart {
	ch := chart{ID: "weeks", Title: "Incidents started per 7-day period, last 13 periods", Columns: true, Width: colsWidth, Height: colsHeight,
		Head: []string{"Period (UTC)", "Started"}}
	slot := (colsWidth - 16) / max(len(weeks), 1)
	most := 0.0
	for _, wk := range weeks {
		most = max(most, float64(wk.Started))
	}
	base := colsTop + colsBarMax
	for i, wk := range weeks {
		h := barLength(float64(wk.Started), most, colsBarMax)
		x := 8 + i*slot + slot/2
		ch.Bars = append(ch.Bars, chartBar{Label: wk.Start.Format("Jan 2"), LabelX: x, LabelY: base + 20,
			Value: strconv.Itoa(wk.Started), ValueX: x, ValueY: base - h - 6,
			Rects: []chartRect{{X: x - slot/3, Y: base - h, W: 2 * (slot / 3), H: h, Class: "bar-count"}}})
		ch.Rows = append(ch.Rows, []string{wk.Start.Format(weekTime) + " – " + wk.End.Format(weekTime), strconv.Itoa(wk.Started)})
	}
	ch.Note = "Labels under the bars are the periods' first days."
	return ch
}

const weekTime = "2006-01-02 15:04"

func impactLabel(i int32) string { return fmt.Sprintf("%d · %s", i, impactNames[i]) }

// humanSeconds is a duration of s seconds in readable units: the two
// largest of days, hours, minutes and seconds (1h 25m, 3d 4h, 45s).
func humanSeconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d > 0 && d < time.Second {
		return "under 1s"
	}
	d = d.Round(time.Second)
	units := []struct {
		size time.Duration
		name string
	}{{insightsDay, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for i, u := range units {
		if d < u.size && u.size != time.Second {
			continue
		}
		out := strconv.FormatInt(int64(d/u.size), 10) + u.name
		if rest := d % u.size; i+1 < len(units) && rest >= units[i+1].size {
			out += " " + strconv.FormatInt(int64(rest/units[i+1].size), 10) + units[i+1].name
		}
		return out
	}
	return "0s"
}

// insightsView is the insights page.
type insightsView struct {
	Days        int // the window asked for, 0 for all
	GeneratedAt string
	Windows     []windowView
	Weeks       chart
	Open        chart
	OpenTotal   int
	Limits      InsightsLimits
	TTL         string
}

// windowView is a window's summary and charts.
type windowView struct {
	Days             int
	Since            string
	Started          int
	Resolved         int
	Median, P90      string
	ByImpact, ByPlan chart
}

func newInsightsView(rep *InsightsReport, days int) *insightsView {
	v := &insightsView{Days: days, GeneratedAt: rep.GeneratedAt.Format("2006-01-02 15:04:05 UTC"), Limits: rep.Limits,
		OpenTotal: rep.Open.Total, TTL: humanSeconds(float64(rep.Limits.CacheSeconds))}
	for _, w := range rep.Windows {
		wv := windowView{Days: w.Days, Since: w.Since.Format(weekTime + " UTC"), Started: w.Started, Resolved: w.Resolved.Count, Median: "—", P90: "—"}
		if w.Resolved.Count > 0 {
			wv.Median, wv.P90 = humanSeconds(*w.Resolved.MedianSeconds), humanSeconds(*w.Resolved.P90Seconds)
		}
		var labels []string
		var rows []ResolveStats
		for _, s := range w.ByImpact {
			labels, rows = append(labels, impactLabel(s.Impact)), append(rows, s.ResolveStats)
		}
		wv.ByImpact = resolveChart(fmt.Sprintf("resolve-%d-impact", w.Days), fmt.Sprintf("Time to resolve by impact, incidents created in the last %d days", w.Days), "Impact", labels, rows)
		labels, rows = nil, nil
		for i, s := range w.ByResponsePlan {
			if i == maxPlanBars {
				break
			}
			name := s.ResponsePlan
			if name == "" {
				name = "(no plan in the ARN)"
			}
			labels, rows = append(labels, name), append(rows, s.ResolveStats)
		}
		wv.ByPlan = resolveChart(fmt.Sprintf("resolve-%d-plan", w.Days), fmt.Sprintf("Time to resolve by response plan, incidents created in the last %d days", w.Days), "Response plan", labels, rows)
		if more := len(w.ByResponsePlan) - maxPlanBars; more > 0 {
			wv.ByPlan.Note = fmt.Sprintf("%d more response plans with fewer resolved incidents are in the JSON.", more)
		}
		v.Windows = append(v.Windows, wv)
	}
	v.Weeks = weeksChart(rep.IncidentsPerWeek)
	var labels []string
	var counts []int
	for _, o := range rep.Open.ByImpact {
		labels, counts = append(labels, impactLabel(o.Impact)), append(counts, o.Count)
	}
	v.Open = countChart("open", "Open incidents by impact", "Impact", "Open", labels, counts)
	return v
}
