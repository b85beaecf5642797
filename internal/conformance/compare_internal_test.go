package conformance

import (
	"slices"
	"strings"
	"testing"
)

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// TestComparerFindsDifferences makes sure that the comparison can fail:
// each case is a difference that AWS's examples have shown or could show,
// and the comparer must report it, of its kind and at its path.
func TestComparerFindsDifferences(t *testing.T) {
	m := loadModel(t)
	const awsRecord = `{"incidentRecord": {"arn": "arn:aws:ssm-incidents::111122223333:incident-record/P/6ebcc812-85f5-b7eb-8b2f-283e4d844308",
		"automationExecutions": [], "creationTime": "2021-05-21T18:16:57.579000+00:00", "impact": 5, "status": "OPEN",
		"title": "Example-Incident", "incidentRecordSource": {"createdBy": "arn:aws:iam::111122223333:user/draliatp", "source": "aws.ssm-incidents.custom"}}}`
	const oursRecord = `{"incidentRecord": {"arn": "arn:aws:ssm-incidents::111122223333:incident-record/P/0f7c0b3e-7a43-4f0e-9d57-9d6b9b1c8e01",
		"automationExecutions": [], "creationTime": "2026-01-01T00:00:00.123000+00:00", "impact": 5, "status": "OPEN",
		"title": "Example-Incident", "incidentRecordSource": {"createdBy": "arn:aws:iam::111122223333:user/draliatp", "source": "aws.ssm-incidents.custom"}}}`
	subst := map[string]string{"6ebcc812-85f5-b7eb-8b2f-283e4d844308": "0f7c0b3e-7a43-4f0e-9d57-9d6b9b1c8e01"}
	inputs := map[string]bool{"Example-Incident": true, "5": true}
	// Ours, changed by each case.
	cases := []struct {
		name, op, aws, ours, path, kind string
	}{
		{"the same", "GetIncidentRecord", awsRecord, oursRecord, "", ""},
		{"an empty list left out", "GetIncidentRecord", awsRecord, strings.Replace(oursRecord, `"automationExecutions": [], `, "", 1), "incidentRecord.automationExecutions", kindMissing},
		{"whole seconds for milliseconds", "GetIncidentRecord", awsRecord, strings.Replace(oursRecord, "00:00:00.123000", "00:00:00", 1), "incidentRecord.creationTime", kindPrecision},
		{"another enum value", "GetIncidentRecord", awsRecord, strings.Replace(oursRecord, `"OPEN"`, `"RESOLVED"`, 1), "incidentRecord.status", kindValue},
		{"another title than the example gave", "GetIncidentRecord", awsRecord, strings.Replace(oursRecord, `"Example-Incident"`, `"example-incident"`, 1), "incidentRecord.title", kindValue},
		{"another impact than the example gave", "GetIncidentRecord", awsRecord, strings.Replace(oursRecord, `"impact": 5`, `"impact": 3`, 1), "incidentRecord.impact", kindValue},
		{"another incident", "GetIncidentRecord", awsRecord, strings.Replace(oursRecord, "0f7c0b3e", "1f7c0b3e", 1), "incidentRecord.arn", kindValue},
		{"another kind of principal", "GetIncidentRecord", awsRecord, strings.Replace(oursRecord, "user/draliatp", "root", 1), "incidentRecord.incidentRecordSource.createdBy", kindShape},
		{"a region in the ARN", "GetIncidentRecord", awsRecord, strings.Replace(oursRecord, "ssm-incidents::", "ssm-incidents:us-east-1:", 1), "incidentRecord.arn", kindValue},
		{"a number for a string", "GetIncidentRecord", awsRecord, strings.Replace(oursRecord, `"aws.ssm-incidents.custom"`, `7`, 1), "incidentRecord.incidentRecordSource.source", kindType},
		{"a member the model lacks", "GetIncidentRecord", awsRecord, strings.Replace(oursRecord, `"impact": 5`, `"impact": 5, "severity": "x"`, 1), "incidentRecord.severity", kindNotInModel},
		{"an empty list", "ListTimelineEvents",
			`{"eventSummaries": [{"eventId": "8cbcc889-35e1-a42d-2429-d6f100799915", "eventType": "SSM Incident Record Update"}]}`,
			`{"eventSummaries": []}`, "eventSummaries", kindEmpty},
		{"ascending for descending", "ListTimelineEvents",
			`{"eventSummaries": [{"eventTime": "2021-05-21T22:36:13.766000+00:00"}, {"eventTime": "2021-05-21T18:58:46.443000+00:00"}]}`,
			`{"eventSummaries": [{"eventTime": "2026-01-01T00:00:00.100000+00:00"}, {"eventTime": "2026-01-01T00:00:01.100000+00:00"}]}`,
			"eventSummaries", kindOrder},
		{"whole seconds in an automatic event", "ListTimelineEvents",
			`{"eventSummaries": [{"eventType": "SSM Incident Record Update", "eventTime": "2021-05-21T22:36:13.766000+00:00"}, {"eventType": "Custom Event", "eventTime": "2021-05-21T18:16:57+00:00"}]}`,
			`{"eventSummaries": [{"eventType": "Custom Event", "eventTime": "2021-05-21T18:16:57+00:00"}, {"eventType": "SSM Incident Record Update", "eventTime": "2026-01-01T00:00:00+00:00"}]}`,
			"eventSummaries[].eventTime", kindPrecision},
		{"an element the example set up is missing", "ListTimelineEvents",
			`{"eventSummaries": [{"eventId": "6ebcc812-85f5-b7eb-8b2f-283e4d844308"}]}`,
			`{"eventSummaries": [{"eventId": "9f7c0b3e-7a43-4f0e-9d57-9d6b9b1c8e01"}]}`,
			"eventSummaries[]", kindUnmatched},
		{"a UUID for a related item id", "ListRelatedItems",
			`{"relatedItems": [{"generatedId": "related-item/OTHER/F95638BAA087E072DC56189CB4D2ADEC", "title": "Example-Incident"}]}`,
			`{"relatedItems": [{"generatedId": "0f7c0b3e-7a43-4f0e-9d57-9d6b9b1c8e01", "title": "Example-Incident"}]}`,
			"relatedItems[].generatedId", kindShape},
		{"a JSON text member left out", "GetTimelineEvent",
			`{"event": {"eventData": "{\"modifiedBy\":\"arn:aws:iam::111122223333:root\",\"incidentTitle\":\"t\"}"}}`,
			`{"event": {"eventData": "{\"incidentTitle\":\"t\"}"}}`,
			"event.eventData<json>.modifiedBy", kindMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmp := newComparer(m, subst, inputs)
			cmp.compare("", mustJSON(t, c.aws), mustJSON(t, c.ours), m.outputShape(c.op))
			if c.kind == "" {
				if len(cmp.diffs) > 0 {
					t.Fatalf("differences where there are none: %v", cmp.diffs)
				}
				return
			}
			if !slices.ContainsFunc(cmp.diffs, func(d diff) bool { return d.Path == c.path && d.Kind == c.kind }) {
				t.Fatalf("no %s difference at %q; found %v", c.kind, c.path, cmp.diffs)
			}
		})
	}
}

func TestResponseSyntaxCheckFindsDifferences(t *testing.T) {
	syn, err := parseResponseSyntax([]string{"HTTP/1.1 200", "", `{ "event": { "eventId": "string", "eventTime": number, "eventReferences": [ { ... } ] } }`})
	if err != nil {
		t.Fatal(err)
	}
	var found []diff
	checkAgainstSyntax("", mustJSON(t, `{"event": {"eventId": 1, "eventTime": 1.5, "extra": true, "eventReferences": [{"resource": "x"}]}}`), syn.Body, func(d diff) { found = append(found, d) })
	want := []diff{{"event.eventId", kindSyntaxType, "", ""}, {"event.extra", kindNotInSyntax, "", ""}}
	if len(found) != len(want) {
		t.Fatalf("found %v, want %v", found, want)
	}
	for i := range want {
		if found[i].Path != want[i].Path || found[i].Kind != want[i].Kind {
			t.Fatalf("found %v, want %v", found, want)
		}
	}
}

func TestKnownDifferencesMustStillShow(t *testing.T) {
	known := []KnownDifference{{Path: "a", Kind: kindMissing, Why: "x"}, {Path: "b", Kind: kindValue, Why: "y"}}
	unlisted, gone := matchKnown("", []diff{{Path: "a", Kind: kindMissing}, {Path: "c", Kind: kindShape}}, known)
	if len(unlisted) != 1 || unlisted[0].Path != "c" || len(gone) != 1 || gone[0].Path != "b" {
		t.Fatalf("unlisted %v, gone %v", unlisted, gone)
	}
}
