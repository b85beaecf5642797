package console

import (
	"testing"
	"time"

	"github.com/incidentd/incidentd/internal/model"
)

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                           "less than a minute",
		59 * time.Second:            "less than a minute",
		25 * time.Minute:            "25m",
		3*time.Hour + 5*time.Minute: "3h 5m",
		52 * time.Hour:              "2d 4h",
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
