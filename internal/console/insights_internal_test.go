package console

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

func TestInsightPercentile(t *testing.T) {
	seq := func(n int) []time.Duration {
		var ds []time.Duration
		for i := 1; i <= n; i++ {
			ds = append(ds, time.Duration(i))
		}
		return ds
	}
	for _, c := range []struct {
		n, p int
		want time.Duration
	}{
		{1, 50, 1}, {1, 90, 1},
		{2, 50, 1}, {2, 90, 2},
		{3, 50, 2}, {3, 90, 3},
		{4, 50, 2}, {4, 90, 4}, // the lower middle one; rank ⌈3.6⌉
		{10, 50, 5}, {10, 90, 9}, // rank 9 exactly, not 10
		{11, 90, 10},
		{20, 90, 18}, {20, 100, 20},
		{100, 50, 50}, {100, 90, 90}, {101, 90, 91},
	} {
		if got := percentile(seq(c.n), c.p); got != c.want {
			t.Errorf("p%d of 1…%d = %d; want %d", c.p, c.n, got, c.want)
		}
	}
}

func TestInsightHumanSeconds(t *testing.T) {
	for _, c := range []struct {
		s    float64
		want string
	}{
		{0, "0s"}, {0.004, "under 1s"}, {1, "1s"}, {45, "45s"}, {60, "1m"}, {61, "1m 1s"},
		{25*60 + 10, "25m 10s"}, {3600, "1h"}, {5100, "1h 25m"}, {5159, "1h 25m"},
		{86400, "1d"}, {3*86400 + 4*3600 + 59, "3d 4h"}, {40 * 86400, "40d"},
	} {
		if got := humanSeconds(c.s); got != c.want {
			t.Errorf("humanSeconds(%v) = %q; want %q", c.s, got, c.want)
		}
	}
}

func TestInsightPlanName(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:ssm-incidents::111122223333:incident-record/checkout/0a1b": "checkout",
		"arn:aws:ssm-incidents::111122223333:incident-record/checkout":      "",
		"arn:aws:ssm-incidents::111122223333:response-plan/checkout":        "",
		"": "",
	} {
		if got := planName(arn); got != want {
			t.Errorf("planName(%q) = %q; want %q", arn, got, want)
		}
	}
}

// fakeRecords lists records, newest first, as ListIncidentRecords does,
// with its creationTime-after and status filters, and counts its calls.
type fakeRecords struct {
	recs  []model.IncidentRecordSummary
	calls int
	err   error
}

func (f *fakeRecords) list(ctx context.Context, in *model.ListIncidentRecordsInput) (*model.ListIncidentRecordsOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var match []model.IncidentRecordSummary
	for _, r := range f.recs {
		ok := true
		for _, flt := range in.Filters {
			switch *flt.Key {
			case "creationTime":
				ok = ok && r.CreationTime.Time().After(flt.Condition.After.Time())
			case "status":
				ok = ok && slices.Contains(flt.Condition.Equals.StringValues, *r.Status)
			}
		}
		if ok {
			match = append(match, r)
		}
	}
	from := 0
	if in.NextToken != nil {
		from, _ = strconv.Atoi(*in.NextToken)
	}
	to := min(from+int(deref(in.MaxResults)), len(match))
	out := &model.ListIncidentRecordsOutput{IncidentRecordSummaries: match[from:to]}
	if to < len(match) {
		out.NextToken = ptr(strconv.Itoa(to))
	}
	return out, nil
}

// record is a summary of an incident of plan created at created, resolved
// took later (open when took is negative).
func record(plan string, impact int32, created time.Time, took time.Duration) model.IncidentRecordSummary {
	r := model.IncidentRecordSummary{Arn: ptr(fmt.Sprintf("arn:aws:ssm-incidents::111122223333:incident-record/%s/%d", plan, created.UnixMilli())),
		Impact: ptr(impact), CreationTime: model.NewTimestamp(created), Status: ptr("OPEN")}
	if took >= 0 {
		r.Status, r.ResolvedTime = ptr("RESOLVED"), model.NewTimestamp(created.Add(took))
	}
	return r
}

var insightNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestInsightEdges(t *testing.T) {
	f := &fakeRecords{recs: []model.IncidentRecordSummary{
		record("a", 1, insightNow.Add(time.Hour), time.Minute),                        // in the future: nowhere
		record("a", 1, insightNow, time.Minute),                                       // now: in every window and the newest week
		record("a", 2, insightNow.Add(-7*insightsDay+time.Millisecond), time.Hour),    // just in the 7 days
		record("b", 2, insightNow.Add(-7*insightsDay), 2*time.Hour),                   // on the edge: out of the 7 days, in the second week
		record("b", 3, insightNow.Add(-8*insightsDay), -time.Minute),                  // resolved before it was created: 0
		record("", 4, insightNow.Add(-20*insightsDay), -1),                            // open
		record("c", 5, insightNow.Add(-91*insightsDay+time.Millisecond), time.Second), // the oldest week, out of the 90 days
		record("c", 5, insightNow.Add(-91*insightsDay), time.Second),                  // before the oldest week: not read
	}}
	f.recs[4].Status, f.recs[4].ResolvedTime = ptr("RESOLVED"), model.NewTimestamp(insightNow.Add(-8*insightsDay-time.Minute))
	rep, err := computeInsights(context.Background(), f.list, "111122223333", insightNow, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var started []int
	for _, w := range rep.Windows {
		started = append(started, w.Started)
	}
	if !slices.Equal(started, []int{2, 5, 5}) {
		t.Errorf("started %v; want 2, 5, 5", started)
	}
	w7 := rep.Windows[0]
	if w7.Resolved.Count != 2 || *w7.Resolved.MedianSeconds != 60 || *w7.Resolved.P90Seconds != 3600 {
		t.Errorf("7 days: %+v", w7.Resolved)
	}
	w30 := rep.Windows[1]
	if w30.Resolved.Count != 4 || *w30.Resolved.MedianSeconds != 60 || *w30.ByImpact[2].MedianSeconds != 0 || w30.ByImpact[2].Impact != 3 {
		t.Errorf("30 days: %+v, impact 3 %+v", w30.Resolved, w30.ByImpact[2])
	}
	var plans []string
	for _, p := range rep.Windows[2].ByResponsePlan {
		plans = append(plans, fmt.Sprintf("%s:%d", p.ResponsePlan, p.Count))
	}
	if !slices.Equal(plans, []string{"a:2", "b:2"}) {
		t.Errorf("90 days' plans %v; want a:2, b:2 (the open one of no plan is not resolved)", plans)
	}
	var weeks []int
	for _, wk := range rep.IncidentsPerWeek {
		weeks = append(weeks, wk.Started)
	}
	if want := []int{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2}; !slices.Equal(weeks, want) {
		t.Errorf("weeks %v; want %v", weeks, want)
	}
	if rep.Limits.RecentRead != 7 || rep.Open.Total != 1 || rep.Open.ByImpact[3].Count != 1 || rep.Limits.OpenRead != 1 {
		t.Errorf("read %d, open %+v", rep.Limits.RecentRead, rep.Open)
	}
}

func TestInsightBound(t *testing.T) {
	for _, c := range []struct {
		records, limit, read int
		truncated            bool
	}{
		{0, 250, 0, false}, {249, 250, 249, false}, {250, 250, 250, false}, {251, 250, 250, true}, {1000, 250, 250, true}, {1000, 50, 50, true},
	} {
		f := &fakeRecords{}
		for i := range c.records {
			f.recs = append(f.recs, record("a", 1, insightNow.Add(-time.Duration(i)*time.Minute), -1))
		}
		rep, err := computeInsights(context.Background(), f.list, "111122223333", insightNow, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		l := rep.Limits
		if l.RecentRead != c.read || l.RecentTruncated != c.truncated || l.OpenRead != c.read || l.OpenTruncated != c.truncated || rep.Open.Total != c.read {
			t.Errorf("%d records, at most %d: %+v, %d open", c.records, c.limit, l, rep.Open.Total)
		}
		if want := 2 * max((c.read+99)/100, 1); f.calls != want {
			t.Errorf("%d records, at most %d: %d calls; want %d", c.records, c.limit, f.calls, want)
		}
	}
}

func TestInsightCache(t *testing.T) {
	now := insightNow
	f := &fakeRecords{recs: []model.IncidentRecordSummary{record("a", 1, now.Add(-time.Hour), time.Minute)}}
	in := newInsights(f.list, func() time.Time { return now })
	ctx := context.Background()
	first, err := in.report(ctx, "111122223333", "arn:aws:iam::111122223333:user/a")
	if err != nil || f.calls != 2 {
		t.Fatalf("the first report: %v, %d calls", err, f.calls)
	}
	f.recs = append(f.recs, record("a", 1, now.Add(-time.Minute), -1))
	now = now.Add(insightsTTL - time.Millisecond)
	again, err := in.report(ctx, "111122223333", "arn:aws:iam::111122223333:user/a")
	if err != nil || again != first || f.calls != 3 {
		t.Errorf("within the TTL: kept %v, %v, %d calls (want one: the check of authorization)", again == first, err, f.calls)
	}
	other, err := in.report(ctx, "111122223333", "arn:aws:iam::111122223333:user/b")
	if err != nil || other == first || other.Open.Total != 1 || f.calls != 5 {
		t.Errorf("another principal: a report of its own? %v, %v, %d calls", other != first, err, f.calls)
	}
	now = now.Add(time.Millisecond)
	fresh, err := in.report(ctx, "111122223333", "arn:aws:iam::111122223333:user/a")
	if err != nil || fresh == first || fresh.Open.Total != 1 {
		t.Errorf("after the TTL: %v, %+v", err, fresh.Open)
	}
	// A refusal of the check forgets what was kept.
	denied := &domain.AccessDeniedError{Message: "no"}
	f.err = denied
	if _, err := in.report(ctx, "111122223333", "arn:aws:iam::111122223333:user/a"); !errors.Is(err, denied) {
		t.Errorf("a refused check: %v", err)
	}
	f.err = nil
	calls := f.calls
	if _, err := in.report(ctx, "111122223333", "arn:aws:iam::111122223333:user/a"); err != nil || f.calls != calls+2 {
		t.Errorf("after a refusal the figures are computed again: %v, %d calls", err, f.calls-calls)
	}
	// A clock set back does not show figures of the future.
	now = now.Add(-time.Hour)
	if back, err := in.report(ctx, "111122223333", "arn:aws:iam::111122223333:user/a"); err != nil || !back.GeneratedAt.Equal(now) {
		t.Errorf("a clock set back: %v, %v", err, back.GeneratedAt)
	}
}

func TestInsightCacheIsBounded(t *testing.T) {
	now := insightNow
	f := &fakeRecords{}
	in := newInsights(f.list, func() time.Time { return now })
	for i := range insightsMaxCached + 10 {
		if _, err := in.report(context.Background(), "111122223333", fmt.Sprint("user/", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(in.cache); n > insightsMaxCached {
		t.Errorf("%d reports kept; want at most %d", n, insightsMaxCached)
	}
}
