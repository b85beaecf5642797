package console

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/incidentd/incidentd/internal/model"
)

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                           "less than a minute",
		59 * time.Second:            "less than a minute",
		25 * time.Minute:            "25m",
		3*time.Hour + 5*time.Minute: "3h 5m",
		52 * time.Hour:              "2d 4h",
		3 * time.Hour:               "3h",
		90*time.Second + 59:         "1m",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPlanARN(t *testing.T) {
	rec := "arn:aws:ssm-incidents::111122223333:incident-record/checkout/01a233e6-77dd-7d2c-885d-4fb35628918c"
	if got, want := planARN(&rec), "arn:aws:ssm-incidents::111122223333:response-plan/checkout"; got != want {
		t.Errorf("planARN = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "arn:aws:ssm-incidents::111122223333:response-plan/checkout", "arn:aws:ssm-incidents::1:incident-record/noid"} {
		if got := planARN(&bad); got != "" {
			t.Errorf("planARN(%q) = %q, want none", bad, got)
		}
	}
}

func TestDescribe(t *testing.T) {
	event := func(kind, data string) model.TimelineEvent {
		return model.TimelineEvent{EventType: &kind, EventData: &data}
	}
	for _, c := range []struct {
		event model.TimelineEvent
		want  string
	}{
		{event("SSM Incident Record Update", `{"modifiedBy":"arn:aws:iam::111122223333:user/alice","modifiedAttributes":[{"attributeName":"impact","newValue":"1","oldValue":"2"},{"attributeName":"title","newValue":"Down"}],"incidentTitle":"Down"}`),
			"Changed by arn:aws:iam::111122223333:user/alice:\nimpact: 2 → 1\ntitle: Down"},
		{event("SSM Incident Start", `{"createdIncident":"arn","incidentTitle":"Down","incidentSource":"aws.ssm-incidents.custom","createdBy":"arn:aws:iam::111122223333:root","impact":3}`),
			"Started by arn:aws:iam::111122223333:root (aws.ssm-incidents.custom) with impact 3: Down"},
		{event("SSM Incident Record Update", `not JSON`), "not JSON"},
		{event("Note", `{"modifiedBy":"a note that looks like JSON"}`), `{"modifiedBy":"a note that looks like JSON"}`},
	} {
		if got := describe(c.event); got != c.want {
			t.Errorf("describe(%s) = %q, want %q", *c.event.EventData, got, c.want)
		}
	}
}

func TestLimitersKeepAUsersBucketUnderAFlood(t *testing.T) {
	l := limiters{limit: rate.Every(time.Minute), burst: 5}
	now := time.Now()
	for range 5 {
		if !l.allow(now, "user 111122223333 alice") {
			t.Fatal("the first five attempts are refused")
		}
	}
	if l.allow(now, "user 111122223333 alice") {
		t.Fatal("the sixth attempt is allowed")
	}
	// A flood of other keys, each used once, fills the buckets.
	for i := range maxLimiters {
		l.allow(now, fmt.Sprintf("ip 10.0.%d.%d", i/256, i%256))
	}
	if l.allow(now, "user 111122223333 alice") {
		t.Fatal("a flood of addresses reset the user's bucket")
	}
	if l.allow(now, "ip 192.0.2.1") {
		t.Error("a new key is allowed while every bucket is in use")
	}
	// A minute later the flood's buckets have one token back, not five;
	// five minutes later they are full, and dropped for new keys.
	later := now.Add(5 * time.Minute)
	if !l.allow(later, "ip 192.0.2.1") {
		t.Error("a new key is refused once the other buckets have filled up again")
	}
	if !l.allow(later, "user 111122223333 alice") {
		t.Error("the user may not try again after five minutes")
	}
}
